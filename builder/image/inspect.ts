// What an image holds: accepts an image directory (out/images/<role>), its
// manifest.json, a .iso, an initramfs or a rootfs.tar, and reads the content
// description and file list straight from the artefact (so it also works on
// a copy that travelled without its manifest).
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { UsageError, VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { readCpio } from '../cpio.js';
import { reportElTorito } from './iso.js';

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
  /** manifest.json beside the image, when present. */
  manifest?: Record<string, unknown>;
  boot?: { bios: boolean; uefi: boolean };
  files: InspectFile[];
  modules: string[];
}

function detectCompression(b: Buffer): 'gzip' | 'zstd' | 'xz' | 'none' {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b[0] === 0xfd && b.toString('latin1', 1, 6) === '7zXZ\0') return 'xz';
  return 'none';
}

async function decompress(file: string): Promise<Buffer> {
  const raw = readFileSync(file);
  switch (detectCompression(raw)) {
    case 'gzip':
      return gunzipSync(raw);
    case 'zstd': {
      const out = join(mkdtempSync(join(tmpdir(), 'vrio-inspect-')), 'x');
      try {
        await run('zstd', ['-q', '-d', file, '-o', out]);
        return readFileSync(out);
      } finally {
        rmSync(join(out, '..'), { recursive: true, force: true });
      }
    }
    case 'xz':
      throw new VrioError(`${file}: xz-compressed; vrio writes gzip, zstd or uncompressed initramfs images`);
    default:
      return raw;
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
    entries = readCpio(await decompress(file));
  } catch (e) {
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
    files.push({ path, type: h.type === 'directory' ? 'dir' : h.type, mode: modeString(h.mode ?? 0), size: h.size ?? 0, target: h.type === 'symlink' ? h.linkname : undefined });
    if (path === 'etc/vrio/image.json') {
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
    if (e instanceof VrioError && !/initramfs/.test(e.message)) throw new VrioError(`${file}: not a vRIO ISO (no /boot/initrd.img): ${e.message.split('\n')[0]}`);
    throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function inspectImage(target: string): Promise<InspectReport> {
  if (!existsSync(target)) throw new UsageError(`${target}: no such file or directory`, 'give an image directory (out/images/<role>), a .iso, an initramfs or a rootfs.tar');
  let dir: string | undefined;
  let file = target;
  if (statSync(target).isDirectory()) dir = target;
  else if (basename(target) === 'manifest.json') dir = join(target, '..');
  let manifest: Record<string, unknown> | undefined;
  if (dir) {
    const mf = join(dir, 'manifest.json');
    if (!existsSync(mf)) throw new UsageError(`${dir}: no manifest.json here: not an image directory`);
    manifest = JSON.parse(readFileSync(mf, 'utf8')) as Record<string, unknown>;
    const role = String(manifest.role ?? '');
    const pick = [`${role}.iso`, 'initramfs.img', 'rootfs.tar'].map((n) => join(dir as string, n)).find((p) => existsSync(p));
    if (!pick) throw new VrioError(`${dir}: none of ${role}.iso, initramfs.img, rootfs.tar is present`);
    file = pick;
  } else if (existsSync(join(target, '..', 'manifest.json'))) {
    try {
      manifest = JSON.parse(readFileSync(join(target, '..', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      manifest = undefined;
    }
  }
  const head = readFileSync(file).subarray(0, 0x8006);
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
