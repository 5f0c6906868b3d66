// Reading and writing inside a root directory (the rootfs stage, an unpacked
// package) without ever following a symlink on the host. Packages are
// untrusted: each archive is checked on its own at extraction, but merged
// they can combine, e.g. package A ships `usr/share/evil -> /etc` and package
// B ships `usr/share/evil/planted`. A plain write of B's file would land in
// the host's /etc. So here:
//   - every parent of a path written is checked with lstat and must be a real
//     directory (a symlink is refused, naming who made it),
//   - files are created with O_CREAT|O_EXCL|O_NOFOLLOW, never opened if they exist,
//   - links are resolved the way the booted image will see them (chroot
//     semantics: an absolute target starts at the root, `..` stops at the root),
//     one component at a time, by resolvePath below and never by the host kernel.
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  readSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';
import { VrioError } from '../../lib/errors.js';

/** What is at a root-relative path, without following it. */
export type Node = { kind: 'dir' | 'file' | 'other' } | { kind: 'link'; target: string } | undefined;

/** Symlinks followed in one resolution at most (Linux's limit). */
const MAX_LINKS = 40;

/**
 * Resolve `path` (root-relative, or absolute = from the root) inside a root
 * described by `lookup`, as the kernel would inside a chroot. Returns the
 * root-relative path of what it names (`followLast: false`: the last
 * component is not followed), or undefined when a component on the way is
 * missing or not a directory. Throws on a symlink loop.
 */
export function resolvePath(path: string, lookup: (rel: string) => Node, followLast = true): string | undefined {
  const done: string[] = [];
  const todo = path.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  while (todo.length) {
    const seg = todo.shift() as string;
    if (seg === '..') {
      done.pop(); // `..` of the root is the root
      continue;
    }
    if (seg === '.' || seg === '') continue;
    const rel = [...done, seg].join('/');
    const node = lookup(rel);
    const last = todo.length === 0;
    if (node?.kind === 'link' && (!last || followLast)) {
      if (++links > MAX_LINKS) throw new VrioError(`symlink loop resolving '${path}' (at '${rel}')`);
      if (node.target.startsWith('/')) done.length = 0;
      todo.unshift(...node.target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    if (!last && node?.kind !== 'dir') return undefined;
    done.push(seg);
  }
  return done.join('/');
}

function lstatOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A Node for `lookup` from the file system under `root` (never follows anything). */
export function fsLookup(root: string): (rel: string) => Node {
  return (rel) => {
    const st = lstatOrUndefined(join(root, rel));
    if (!st) return undefined;
    if (st.isSymbolicLink()) return { kind: 'link', target: readlinkSync(join(root, rel)) };
    return { kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' };
  };
}

/**
 * Read a regular file at `rel` inside `root`, links resolved inside the root.
 * Undefined when there is none (or a symlink loop), or when it is a FIFO, a device or anything but
 * a regular file (O_NONBLOCK: opening a FIFO must not hang). At most `maxBytes`.
 */
export function readRegularFileIn(root: string, rel: string, maxBytes: number): Buffer | undefined {
  let real: string | undefined;
  try {
    real = resolvePath(rel, fsLookup(root));
  } catch {
    return undefined; // a symlink loop names no file either
  }
  if (real === undefined || real === '') return undefined;
  let fd: number;
  try {
    fd = openSync(join(root, real), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, maxBytes));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export type PlaceFrom =
  { kind: 'file'; src: string; mode: number } | { kind: 'symlink'; target: string } | { kind: 'data'; data: string | Buffer; mode: number };

/** A staging root written only through real directories. `who` names the package or layer in errors. */
export class Stage {
  /** Who made each symlink in the stage, for the error when something tries to write through it. */
  private readonly linkOwners = new Map<string, string>();

  constructor(readonly dir: string) {}

  private refuse(who: string, rel: string, at: string, why: string): never {
    const owner = this.linkOwners.get(at);
    throw new VrioError(`rootfs: ${who}: refused '${rel}': '${at}' ${why}${owner ? ` (made by ${owner})` : ''} [through-symlink]`, {
      hint: 'packages, overlays and generated files may not write through a symlink another layer put in the image; one of the packages is broken or hostile',
    });
  }

  /** lstat of a path whose parents are all real directories; undefined if missing or reached only through a symlink. */
  lstat(rel: string): Stats | undefined {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const st = lstatOrUndefined(join(this.dir, ...parts.slice(0, i)));
      if (!st?.isDirectory()) return undefined;
    }
    return lstatOrUndefined(join(this.dir, ...parts));
  }

  /** Create directory `rel` and its parents; each existing one must be a real directory. */
  mkdirs(rel: string, who: string, mode = 0o755): void {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const at = parts.slice(0, i).join('/');
      const abs = join(this.dir, at);
      let st = lstatOrUndefined(abs);
      if (!st) {
        try {
          mkdirSync(abs, { mode });
          continue;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          st = lstatSync(abs);
        }
      }
      if (st.isSymbolicLink()) this.refuse(who, rel, at, `is a symlink (-> ${readlinkSync(abs)})`);
      if (!st.isDirectory()) this.refuse(who, rel, at, 'is not a directory');
    }
  }

  /** Put a file, symlink or generated data at `rel`; a later layer replaces a file or link, never a directory. */
  place(rel: string, from: PlaceFrom, who: string): void {
    const parent = posix.dirname(rel);
    this.mkdirs(parent === '.' ? '' : parent, who);
    const abs = join(this.dir, rel);
    const st = lstatOrUndefined(abs);
    if (st?.isDirectory()) throw new VrioError(`rootfs: ${who}: '${rel}' is a directory and cannot be replaced by a file`);
    if (st) unlinkSync(abs); // unlink never follows: a link is removed, not its target
    if (from.kind === 'symlink') {
      symlinkSync(from.target, abs);
      this.linkOwners.set(rel, who);
      return;
    }
    this.linkOwners.delete(rel);
    writeNew(abs, from.kind === 'data' ? from.data : { from: from.src }, from.mode);
  }
}

/** Create `abs` (O_EXCL|O_NOFOLLOW: nothing that exists is opened) with `data` or a copy of a file, then set `mode` exactly. */
function writeNew(abs: string, data: string | Buffer | { from: string }, mode: number): void {
  const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
    } else {
      const src = openSync(data.from, constants.O_RDONLY);
      try {
        const chunk = Buffer.alloc(1 << 20);
        for (let n; (n = readSync(src, chunk, 0, chunk.length, null)) > 0;) {
          for (let off = 0; off < n;) off += writeSync(fd, chunk, off, n - off);
        }
      } finally {
        closeSync(src);
      }
    }
    fchmodSync(fd, mode); // on the file we created, not on whatever its name may point to by now
  } finally {
    closeSync(fd);
  }
}
