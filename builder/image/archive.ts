// Turn a staged root file system into archives: the initramfs (our newc cpio
// writer, then gzip/zstd) and a plain tar (tar-stream) for people who want to
// look inside or build a container from it. Both are deterministic: sorted
// paths, owner root:root, every mtime = SOURCE_DATE_EPOCH, modes as staged.
import { createWriteStream, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync, constants as zc } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { run } from '../../lib/exec.js';
import { comparePaths, writeCpio, type CpioEntry } from '../cpio.js';

/** Device nodes the kernel needs before /init can mount devtmpfs. */
export const INITRAMFS_NODES: CpioEntry[] = [
  // Without /dev/console the kernel starts /init with no stdin/stdout/stderr.
  { path: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
];

/** Every entry under `stage`, sorted, with file contents loaded. */
export function collectEntries(stage: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(stage, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(stage, r);
      const st = lstatSync(abs);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode });
        walk(r);
      } else if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', mode: 0o777, target: readlinkSync(abs) });
      else if (st.isFile()) out.push({ path: r, type: 'file', mode, data: readFileSync(abs) });
    }
  };
  walk('');
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** Compress `data`; `scratch` is a free path for the external compressor. */
export async function compress(data: Buffer, how: Compression, scratch: string): Promise<Buffer> {
  if (how === 'none') return data;
  // zlib's gzip header has mtime 0 and a fixed OS byte: same input, same bytes.
  if (how === 'gzip') return gzipSync(data, { level: 9, strategy: zc.Z_DEFAULT_STRATEGY });
  // zstd single-threaded at a fixed level: deterministic, and a frame the kernel reads.
  writeFileSync(scratch, data);
  try {
    await run('zstd', ['-q', '-f', '-19', '-T1', '--no-progress', scratch, '-o', `${scratch}.zst`]);
    return readFileSync(`${scratch}.zst`);
  } finally {
    rmSync(scratch, { force: true });
    rmSync(`${scratch}.zst`, { force: true });
  }
}

export function initramfsBytes(entries: readonly CpioEntry[], mtime: number): Buffer {
  const have = new Set(entries.map((e) => e.path));
  return writeCpio([...entries, ...INITRAMFS_NODES.filter((n) => !have.has(n.path))], mtime);
}

/** Write the rootfs as a tar (no device nodes: a container runtime provides /dev). */
export async function writeTar(entries: readonly CpioEntry[], mtime: number, file: string): Promise<void> {
  const p = tarPack();
  const done = pipeline(p, createWriteStream(file));
  const date = new Date(mtime * 1000);
  for (const e of entries) {
    const common = { name: e.path, mode: e.mode, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: date };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'dir') p.entry({ ...common, type: 'directory' }, cb);
      else if (e.type === 'symlink') p.entry({ ...common, type: 'symlink', linkname: e.target }, cb);
      else if (e.type === 'file') p.entry({ ...common, type: 'file' }, e.data ?? Buffer.alloc(0), cb);
      else resolve();
    });
  }
  p.finalize();
  await done;
}
