// Turn a staged root file system into archives: the initramfs (our newc cpio
// writer, then gzip/zstd) and a plain tar (tar-stream) for people who want to
// look inside or build a container from it. Both are deterministic: sorted
// paths, owner root:root, every mtime = SOURCE_DATE_EPOCH, modes as staged.
import { createWriteStream, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zc } from 'node:zlib';
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

const gzip = promisify(gzipCb);

/**
 * Codec levels. gzip -6 instead of -9: on a 16 MiB initramfs -9 took 1.05 s
 * against 0.37 s for an output only 0.2% smaller. zstd -9 instead of -19:
 * 0.4 s against 9.7 s, 14% larger and still ~13% smaller than gzip. Part of
 * the image cache key (CODECS below), so a change here rebuilds images.
 */
const GZIP_LEVEL = 6;
const ZSTD_LEVEL = 9;
export const CODECS = `gzip-${GZIP_LEVEL} zstd-${ZSTD_LEVEL}`;

/**
 * Compress `data`; `scratch` is a free path for the external compressor.
 * gzip runs on libuv's thread pool, so other image stages (the tar, the EFI
 * image) go on meanwhile.
 */
export async function compress(data: Buffer, how: Compression, scratch: string): Promise<Buffer> {
  if (how === 'none') return data;
  // zlib's gzip header has mtime 0 and a fixed OS byte: same input, same bytes.
  if (how === 'gzip') return gzip(data, { level: GZIP_LEVEL, strategy: zc.Z_DEFAULT_STRATEGY });
  // zstd single-threaded at a fixed level: deterministic, and a frame the kernel reads.
  writeFileSync(scratch, data);
  try {
    await run('zstd', ['-q', '-f', `-${ZSTD_LEVEL}`, '-T1', '--no-progress', scratch, '-o', `${scratch}.zst`]);
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

/**
 * Write the rootfs as a tar (no device nodes: a container runtime provides /dev).
 * Returns its sha256 and size, hashed on the way out rather than read back.
 */
export async function writeTar(entries: readonly CpioEntry[], mtime: number, file: string): Promise<{ sha256: string; size: number }> {
  const p = tarPack();
  const hash = createHash('sha256');
  let size = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const done = pipeline(p, tee, createWriteStream(file));
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
  return { sha256: hash.digest('hex'), size };
}
