// Real archives for tests: tar streams and minimal .deb files (an ar archive
// of debian-binary, control.tar and data.tar) that dpkg-deb reads.
import { pack, type Header } from 'tar-stream';

export type Entry = Partial<Header> & { name: string; body?: string | Buffer };

/** An uncompressed tar holding exactly these entries (tar-stream writes what it is told). */
export async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) p.entry({ mode: 0o644, ...h }, body, cb);
      else p.entry({ mode: 0o755, ...h }, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A minimal .deb: an ar archive of debian-binary, control.tar and data.tar (uncompressed). */
export function makeDeb(control: Buffer, data: Buffer): Buffer {
  const member = (name: string, body: Buffer) => {
    const h = Buffer.alloc(60, ' ');
    h.write(name.padEnd(16), 0, 'latin1');
    h.write('0'.padEnd(12), 16, 'latin1');
    h.write('0'.padEnd(6), 28, 'latin1');
    h.write('0'.padEnd(6), 34, 'latin1');
    h.write('100644'.padEnd(8), 40, 'latin1');
    h.write(String(body.length).padEnd(10), 48, 'latin1');
    h.write('`\n', 58, 'latin1');
    return Buffer.concat([h, body, body.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
  };
  return Buffer.concat([Buffer.from('!<arch>\n'), member('debian-binary', Buffer.from('2.0\n')), member('control.tar', control), member('data.tar', data)]);
}

export async function controlTar(pkg: string): Promise<Buffer> {
  return makeTar([
    { name: './', type: 'directory' },
    { name: './control', body: `Package: ${pkg}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: test <t@example.invalid>\nDescription: test\n` },
  ]);
}
