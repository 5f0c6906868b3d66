// A private L2 segment for lab VMs: a tiny Ethernet hub over UDP on the
// loopback interface. Each QEMU NIC sends its frames as datagrams to the hub's
// port (`-netdev socket,udp=127.0.0.1:HUB,localaddr=127.0.0.1:MINE`); the hub
// repeats every frame to all other members. QEMU's own listen/connect socket
// joins only two VMs; a segment with an IOhyp and several guests needs more.
// Like a real Ethernet wire, the hub pads frames shorter than the 60-byte
// minimum (virtio-net does not pad; physical NICs and e1000 do). This matters:
// the vRIO guest receive path crashes on frames under 54 bytes (upstream bug),
// e.g. an ARP request sent by another guest's vRIO NIC. The fix checks turn
// padding off (`--no-pad`) to reproduce exactly that.
// Loss: vRIO has no per-frame retransmission (a lost frame of a 128 KiB block
// message costs a whole request resend), and a busy hub under TCG lost ~1,500
// datagrams to a full 208 KiB receive buffer during an mkfs (RcvbufErrors),
// which ended in dropped block requests. So the hub asks for 4 MiB buffers
// (the kernel caps them at net.core.rmem_max / wmem_max).
// Safety: the hub binds 127.0.0.1, accepts datagrams only from its members'
// loopback ports, and sends only to them. Nothing reaches any other network.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { fileURLToPath } from 'node:url';

export interface HubStats {
  frames: number;
  bytes: number;
  dropped: number;
  padded: number;
}

/** Minimum Ethernet frame without the FCS. */
export const MIN_FRAME = 60;

/** Socket buffers the hub asks for (bytes). */
export const HUB_BUFFER = 4 << 20;

export interface Hub {
  port: number;
  stats: HubStats;
  close(): Promise<void>;
}

export function startHub(port: number, members: number[], o: { host?: string; pad?: boolean } = {}): Promise<Hub> {
  const host = o.host ?? '127.0.0.1';
  const pad = o.pad ?? true;
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp4', recvBufferSize: HUB_BUFFER, sendBufferSize: HUB_BUFFER });
    const stats: HubStats = { frames: 0, bytes: 0, dropped: 0, padded: 0 };
    const known = new Set(members);
    sock.on('message', (msg: Buffer, from: RemoteInfo) => {
      if (from.address !== host || !known.has(from.port)) {
        stats.dropped++;
        return;
      }
      stats.frames++;
      stats.bytes += msg.length;
      let frame = msg;
      if (pad && frame.length < MIN_FRAME) {
        frame = Buffer.concat([msg, Buffer.alloc(MIN_FRAME - msg.length)]);
        stats.padded++;
      }
      for (const m of members) if (m !== from.port) sock.send(frame, m, host);
    });
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      // A member that is not up yet answers with ICMP port unreachable: not an error for a hub.
      sock.on('error', () => undefined);
      resolve({ port: sock.address().port, stats, close: () => new Promise((r) => sock.close(() => r())) });
    });
  });
}

/** Run as a process: node hub.js --port P --member P1 --member P2 ... [--no-pad] [--tag TEXT] */
async function main(argv: string[]): Promise<void> {
  let port = 0;
  let pad = true;
  const members: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--port') (port = Number(v)), i++;
    else if (argv[i] === '--member') members.push(Number(v)), i++;
    else if (argv[i] === '--no-pad') pad = false;
    else if (argv[i] === '--tag') i++; // identifies the lab in `ps` and for pid checks
  }
  if (!(port > 0) || members.length < 2 || members.some((m) => !(m > 0 && m < 65536))) {
    process.stderr.write('usage: hub --port P --member P1 --member P2 [...] [--no-pad] [--tag T]\n');
    process.exit(2);
  }
  await startHub(port, members, { pad });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`hub: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
