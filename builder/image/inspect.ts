// What an image holds: accepts an image directory (out/images/<role>), its
// manifest.json, a .iso, an initramfs or a rootfs.tar, and reads the content
// description and file list straight from the artefact (so it also works on
// a copy that travelled without its manifest).
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { ExitCode, MissingToolError, UsageError, VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { readCpioStream } from '../cpio-stream.js';
import { readImageManifest, type ImageManifest } from './image-manifest.js';
import { reportElTorito } from './iso.js';

/**
 * The most an initramfs may decompress to here. vrio's are tens of MiB; the
 * limit stops a decompression bomb (a 6.5 MB gzip used 3 GB of memory and
 * 33 s) early. The archive is streamed, so memory does not grow with it.
 */
export const MAX_INITRAMFS_BYTES = 512 * 1024 * 1024;
/** The most of /etc/vrio/image.json read. */
const MAX_CONTENT_BYTES = 1024 * 1024;

export interface InspectFile {
  path: string;
  type: string;
  mode: string;
  size: number;
  target?: string;
}

export interface InspectReport {
  source: string;
  kind: 'dir' | 'iso' | 'initramfs' | 'tar';
  /** /etc/vrio/image.json (role, kernel, packages, host keys) when present. */
  content?: Record<string, unknown>;
  /** manifest.json beside the image, when present (and of this vrio's format). */
  manifest?: ImageManifest;
  boot?: { bios: boolean; uefi: boolean };
  files: InspectFile[];
  modules: string[];
}

function detectCompression(b: Buffer): 'gzip' | 'zstd' | 'xz' | 'none' {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 6 && b[0] === 0xfd && b.toString('latin1', 1, 6) === '7zXZ\0') return 'xz';
  return 'none';
}

/** The first `n` bytes of a file (without reading the rest). */
function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** Count what passes and stop (destroying the source) past `limit` bytes. */
async function* capped(src: AsyncIterable<Buffer>, file: string, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of src) {
    total += chunk.length;
    if (total > limit) {
      throw new VrioError(`${file}: decompresses to more than ${limit / (1024 * 1024)} MiB, the limit for an initramfs [max-decompressed-size]`, {
        exitCode: ExitCode.USAGE,
        hint: 'a decompression bomb, or not a vrio image; vrio stops reading there',
      });
    }
    yield chunk;
  }
}

/**
 * The uncompressed bytes of an initramfs, streamed (zstd through a pipe, never
 * a temp file), handed to `use`; the decompressor is stopped when `use` returns
 * or throws.
 */
async function withDecompressed<T>(file: string, use: (data: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
  const kind = detectCompression(readHead(file, 6));
  if (kind === 'xz') throw new VrioError(`${file}: xz-compressed; vrio writes gzip, zstd or uncompressed initramfs images`);
  let stream: Readable;
  let stderr = '';
  let exited: Promise<number | null> | undefined;
  const child = kind === 'zstd' ? spawn('zstd', ['-q', '-d', '-c', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] }) : undefined;
  if (child) {
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    exited = new Promise((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? new MissingToolError([{ tool: 'zstd', debianPackage: 'zstd', why: 'zstd-compressed initramfs images' }]) : e),
      );
      child.once('close', resolve);
    });
    exited.catch(() => undefined);
    stream = child.stdout!;
  } else {
    const raw = createReadStream(file);
    stream = kind === 'gzip' ? raw.pipe(createGunzip()) : raw;
    if (kind === 'gzip') raw.once('error', (e) => stream.destroy(e));
  }
  try {
    const r = await use(capped(stream, file, MAX_INITRAMFS_BYTES));
    if (exited) {
      const code = await exited;
      if (code !== 0) throw new VrioError(`${file}: zstd -d failed (exit ${code}): ${stderr.trim()}`);
    }
    return r;
  } finally {
    stream.destroy();
    child?.kill('SIGKILL');
  }
}

function modeString(m: number): string {
  return m.toString(8).padStart(4, '0');
}

function modulesOf(files: InspectFile[]): string[] {
  return files
    .map((f) => /^lib\/modules\/[^/]+\/.*\/([^/]+)\.ko(\.\w+)?$/.exec(f.path)?.[1])
    .filter((x): x is string => !!x)
    .map((x) => x.replace(/-/g, '_'))
    .sort();
}

async function inspectInitramfs(file: string): Promise<Pick<InspectReport, 'files' | 'content'>> {
  let entries;
  try {
    entries = await withDecompressed(file, (data) => readCpioStream(data, (path, size) => path === 'etc/vrio/image.json' && size <= MAX_CONTENT_BYTES));
  } catch (e) {
    if (e instanceof VrioError) throw e;
    throw new VrioError(`${file}: not a (compressed) newc initramfs: ${(e as Error).message}`);
  }
  const files = entries.map((e) => ({ path: e.path, type: e.type, mode: modeString(e.mode), size: e.size, target: e.target }));
  const c = entries.find((e) => e.path === 'etc/vrio/image.json');
  return { files, content: c?.data ? (JSON.parse(c.data.toString('utf8')) as Record<string, unknown>) : undefined };
}

async function inspectTar(file: string): Promise<Pick<InspectReport, 'files' | 'content'>> {
  const files: InspectFile[] = [];
  let content: Record<string, unknown> | undefined;
  const ex = tarExtract();
  createReadStream(file).pipe(ex);
  for await (const entry of ex) {
    const h = entry.header;
    const path = h.name.replace(/^\.?\//, '');
    files.push({
      path,
      type: h.type === 'directory' ? 'dir' : h.type,
      mode: modeString(h.mode ?? 0),
      size: h.size ?? 0,
      target: h.type === 'symlink' ? h.linkname : undefined,
    });
    if (path === 'etc/vrio/image.json') {
      if ((h.size ?? 0) > MAX_CONTENT_BYTES)
        throw new VrioError(`${file}: etc/vrio/image.json is ${h.size} bytes, over the ${MAX_CONTENT_BYTES}-byte limit`, { exitCode: ExitCode.USAGE });
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      content = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } else entry.resume();
  }
  return { files, content };
}

async function inspectIso(file: string): Promise<Pick<InspectReport, 'files' | 'content' | 'boot'>> {
  const tmp = mkdtempSync(join(tmpdir(), 'vrio-inspect-'));
  try {
    await run('xorriso', ['-osirrox', 'on', '-indev', file, '-extract', '/boot/initrd.img', join(tmp, 'initrd.img')], { env: { LC_ALL: 'C' } });
    const r = await inspectInitramfs(join(tmp, 'initrd.img'));
    const boot = await reportElTorito(file);
    return { ...r, boot: { bios: boot.bios, uefi: boot.uefi } };
  } catch (e) {
    if (e instanceof VrioError && !/initramfs/.test(e.message))
      throw new VrioError(`${file}: not a vRIO ISO (no /boot/initrd.img): ${e.message.split('\n')[0]}`);
    throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function inspectImage(target: string): Promise<InspectReport> {
  if (!existsSync(target))
    throw new UsageError(`${target}: no such file or directory`, 'give an image directory (out/images/<role>), a .iso, an initramfs or a rootfs.tar');
  let dir: string | undefined;
  let file = target;
  if (statSync(target).isDirectory()) dir = target;
  else if (basename(target) === 'manifest.json') dir = join(target, '..');
  let manifest: ImageManifest | undefined;
  if (dir) {
    const mf = join(dir, 'manifest.json');
    if (!existsSync(mf)) throw new UsageError(`${dir}: no manifest.json here: not an image directory`);
    manifest = readImageManifest(mf);
    const role = manifest.role;
    const pick = [`${role}.iso`, 'initramfs.img', 'rootfs.tar'].map((n) => join(dir as string, n)).find((p) => existsSync(p));
    if (!pick) throw new VrioError(`${dir}: none of ${role}.iso, initramfs.img, rootfs.tar is present`);
    file = pick;
  } else if (existsSync(join(target, '..', 'manifest.json'))) {
    // The artefact itself is what is inspected: a sibling manifest this vrio cannot read is left out.
    try {
      manifest = readImageManifest(join(target, '..', 'manifest.json'));
    } catch {
      manifest = undefined;
    }
  }
  const head = readHead(file, 0x8006);
  let kind: InspectReport['kind'];
  let part: Pick<InspectReport, 'files' | 'content' | 'boot'>;
  if (head.length >= 0x8006 && head.toString('latin1', 0x8001, 0x8006) === 'CD001') {
    kind = 'iso';
    part = await inspectIso(file);
  } else if (head.length > 262 && head.toString('latin1', 257, 262) === 'ustar') {
    kind = 'tar';
    part = await inspectTar(file);
  } else {
    kind = 'initramfs';
    part = await inspectInitramfs(file);
  }
  return { source: file, kind: dir ? 'dir' : kind, manifest, ...part, modules: modulesOf(part.files) };
}
