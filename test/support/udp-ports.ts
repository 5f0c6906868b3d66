// Free UDP ports on loopback for tests that wire QEMU NICs to each other
// directly (the product's lab uses TCP hubs: vm/hub.ts).
import { createSocket } from 'node:dgram';

const LOOPBACK = '127.0.0.1';

/** Distinct free UDP ports (asked one after another while all stay bound, so they differ). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const socks = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
          const s = createSocket('udp4');
          s.once('error', reject);
          s.bind(0, LOOPBACK, () => resolve(s));
        }),
    ),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}
