// Safe, in-process extraction of a tar stream (a .deb's data archive) into a
// directory. Package contents are untrusted input: an entry may try to write
// outside the target (`..`, absolute paths, writing through a symlink it made
// earlier), plant device nodes, or exhaust the disk. Every such entry is an
// error naming the package and the path, and the caller's target directory is
// removed so nothing half-extracted is ever used.
import { chmodSync, linkSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Header } from 'tar-stream';
import { VrioError } from '../../lib/errors.js';

export interface ExtractLimits {
  /** Largest single file. */
  maxEntryBytes: number;
  /** Sum of all file sizes. */
  maxTotalBytes: number;
  maxEntries: number;
}

export const defaultLimits: ExtractLimits = {
  maxEntryBytes: 256 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxEntries: 100_000,
};

export interface ExtractedEntry {
  /** Normalised path relative to the root, without a leading "./" or "/". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Permission bits as the package gives them, setuid/setgid/sticky included (0o7777). */
  mode: number;
  size: number;
  /** Symlink target as stored, or the hard link's source path (normalised). */
  target?: string;
}

/** A refused archive entry. `label` names the package (or file) it came from. */
export class UnsafeArchiveError extends VrioError {
  readonly label: string;
  readonly entry: string;
  readonly rule: string;
  constructor(label: string, entry: string, rule: string, why: string) {
    super(`${label}: refused entry '${entry}': ${why} [${rule}]`, {
      hint: 'the package or archive is corrupt or hostile; nothing from it was used',
    });
    this.name = 'UnsafeArchiveError';
    this.label = label;
    this.entry = entry;
    this.rule = rule;
  }
}

/**
 * Normalise an archive member name to a root-relative path. Returns '' for the
 * root itself. Throws (via `fail`) for absolute names and any `..` component:
 * Debian archives never need either, so refusing them is simpler and safer
 * than resolving them.
 */
export function normaliseMemberName(name: string, fail: (rule: string, why: string) => never): string {
  if (name.includes('\0')) fail('nul-byte', 'name contains a NUL byte');
  if (name.startsWith('/')) fail('absolute-path', 'absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) fail('dot-dot', "path contains '..'");
  return parts.join('/');
}

/**
 * Where a symlink at `linkPath` (root-relative) with `target` points, as a
 * root-relative path, or undefined when it climbs above the root. An absolute
 * target means "from the image's root", as it will once the image boots.
 */
export function resolveLinkTarget(linkPath: string, target: string): string | undefined {
  const base = target.startsWith('/')
    ? []
    : posix
        .dirname(linkPath)
        .split('/')
        .filter((p) => p && p !== '.');
  const parts = [...base];
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join('/');
}

function kindOf(t: Header['type']): ExtractedEntry['type'] | 'device' | 'fifo' | 'other' {
  switch (t) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
    case 'block-device':
      return 'device';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

/**
 * Make sure every existing component above `rel` is a real directory (never a
 * symlink: writing through one would escape the root) and create the missing ones.
 */
function ensureParents(root: string, rel: string, fail: (rule: string, why: string) => never): void {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    cur = posix.join(cur, parts[i]);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) fail('through-symlink', `parent '${parts.slice(0, i + 1).join('/')}' is a symlink`);
    if (!st.isDirectory()) fail('parent-not-dir', `parent '${parts.slice(0, i + 1).join('/')}' is not a directory`);
  }
}

/** Remove whatever is at `p` (not following symlinks) unless it is a directory. */
function clearSlot(p: string): 'dir' | 'none' {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return 'none';
  }
  if (st.isDirectory()) return 'dir';
  unlinkSync(p);
  return 'none';
}

/**
 * Extract `input` (an uncompressed tar stream) into `dest`, which must be a
 * fresh directory owned by the caller. On any refusal or error `dest` is removed.
 */
export async function extractTarSafe(input: Readable, dest: string, label: string, limits: ExtractLimits = defaultLimits): Promise<ExtractedEntry[]> {
  mkdirSync(dest, { recursive: true });
  const entries: ExtractedEntry[] = [];
  const files = new Set<string>();
  let total = 0;
  const ex = tarExtract();
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex);
  try {
    for await (const entry of ex) {
      const header = entry.header;
      const name = header.name;
      const fail = (rule: string, why: string): never => {
        throw new UnsafeArchiveError(label, name, rule, why);
      };
      if (entries.length >= limits.maxEntries) fail('max-entries', `more than ${limits.maxEntries} entries`);
      const rel = normaliseMemberName(name, fail);
      const kind = kindOf(header.type);
      if (kind === 'device') fail('device-node', `${header.type} nodes are not allowed`);
      if (kind === 'fifo') fail('fifo', 'FIFOs are not allowed');
      // tar-stream names the types it knows and gives null for any other flag.
      if (kind === 'other') fail('entry-type', header.type ? `unsupported entry type '${header.type}'` : 'unknown entry type flag');
      if (rel === '') {
        // The archive root ("./"): nothing to create.
        entry.resume();
        continue;
      }
      // The entry keeps the package's setuid/setgid/sticky bits for the image;
      // the unpacked copy on this machine (a cache of untrusted files) never has them.
      const mode = (header.mode ?? 0o644) & 0o7777;
      const diskMode = mode & 0o777;
      const abs = posix.join(dest, rel);
      ensureParents(dest, rel, fail);
      if (kind === 'dir') {
        if (clearSlot(abs) === 'none') mkdirSync(abs, { mode: 0o755 });
        chmodSync(abs, diskMode | 0o700);
        entries.push({ path: rel, type: 'dir', mode, size: 0 });
        entry.resume();
        continue;
      }
      if (kind === 'symlink') {
        const target = header.linkname ?? '';
        if (!target) fail('symlink-target', 'symlink with an empty target');
        if (target.includes('\0')) fail('nul-byte', 'symlink target contains a NUL byte');
        if (resolveLinkTarget(rel, target) === undefined) fail('symlink-escape', `symlink to '${target}' points outside the root`);
        if (clearSlot(abs) === 'dir') fail('replace-dir', 'a symlink would replace a directory');
        symlinkSync(target, abs);
        entries.push({ path: rel, type: 'symlink', mode: 0o777, size: 0, target });
        entry.resume();
        continue;
      }
      if (kind === 'hardlink') {
        const src = normaliseMemberName(header.linkname ?? '', (rule, why) => fail(`hardlink-${rule}`, `hard link source: ${why}`));
        if (!files.has(src)) fail('hardlink-source', `hard link to '${header.linkname}', which is not a regular file earlier in the archive`);
        if (clearSlot(abs) === 'dir') fail('replace-dir', 'a hard link would replace a directory');
        linkSync(posix.join(dest, src), abs);
        files.add(rel);
        entries.push({ path: rel, type: 'hardlink', mode, size: 0, target: src });
        entry.resume();
        continue;
      }
      // Regular file: check the declared size before reading a byte, then count
      // what actually arrives.
      const size = header.size ?? 0;
      if (size > limits.maxEntryBytes) fail('max-entry-size', `${size} bytes is over the per-file limit of ${limits.maxEntryBytes}`);
      if (total + size > limits.maxTotalBytes) fail('max-total-size', `archive content exceeds ${limits.maxTotalBytes} bytes`);
      if (clearSlot(abs) === 'dir') fail('replace-dir', 'a file would replace a directory');
      // 'wx' = O_CREAT|O_EXCL: never opens (and follows) something that appeared meanwhile.
      const fh = await open(abs, 'wx', diskMode | 0o600);
      let got = 0;
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          got += chunk.length;
          if (got > size) fail('size-mismatch', 'more data than the header declares');
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      total += got;
      chmodSync(abs, diskMode);
      files.add(rel);
      entries.push({ path: rel, type: 'file', mode, size: got });
    }
  } catch (e) {
    input.unpipe(ex);
    input.destroy();
    rmSync(dest, { recursive: true, force: true });
    if (e instanceof UnsafeArchiveError) throw e;
    throw new VrioError(`${label}: cannot read the archive: ${(e as Error).message}`, { cause: e });
  }
  return entries;
}
