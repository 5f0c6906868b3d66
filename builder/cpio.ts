// Our own deterministic cpio "newc" (SVR4, no CRC) writer and reader: the
// format the kernel unpacks as an initramfs. Output depends only on the entry
// list: entries are sorted by path, owners are 0, every mtime is the given
// SOURCE_DATE_EPOCH, inode numbers are assigned in order, and there is no
// hard-link sharing (each file carries its own data).

export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block';

export interface CpioEntry {
  /** Root-relative path without a leading "/" (e.g. "bin/busybox"). */
  path: string;
  type: CpioEntryType;
  /** Permission bits (0o7777). */
  mode: number;
  /** File contents. */
  data?: Buffer;
  /** Symlink target. */
  target?: string;
  /** Device numbers for char/block nodes. */
  major?: number;
  minor?: number;
}

const typeBits: Record<CpioEntryType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
};

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0').toUpperCase();
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Byte-wise path order, so the result never depends on locale or insertion order. */
export function comparePaths(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

function header(name: string, ino: number, mode: number, nlink: number, size: number, mtime: number, major: number, minor: number): Buffer {
  const nameBuf = Buffer.from(name + '\0');
  const fields = [
    MAGIC,
    hex8(ino),
    hex8(mode),
    hex8(0), // uid
    hex8(0), // gid
    hex8(nlink),
    hex8(mtime),
    hex8(size),
    hex8(0), // dev major
    hex8(0), // dev minor
    hex8(major), // rdev major
    hex8(minor), // rdev minor
    hex8(nameBuf.length),
    hex8(0), // check (unused in newc)
  ].join('');
  const head = Buffer.from(fields);
  return Buffer.concat([head, nameBuf, Buffer.alloc(pad4(head.length + nameBuf.length))]);
}

/** Serialise entries to one newc archive (uncompressed). */
export function writeCpio(entries: readonly CpioEntry[], mtime: number): Buffer {
  const seen = new Set<string>();
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const e of sorted) {
    // An empty segment also catches '', a leading '/', a trailing '/' and '//'.
    if (e.path.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new Error(`cpio: bad entry path '${e.path}'`);
    }
    if (seen.has(e.path)) throw new Error(`cpio: duplicate entry '${e.path}'`);
    seen.add(e.path);
    let body: Buffer = Buffer.alloc(0);
    if (e.type === 'file') body = e.data ?? Buffer.alloc(0);
    else if (e.type === 'symlink') {
      if (!e.target) throw new Error(`cpio: symlink '${e.path}' has no target`);
      body = Buffer.from(e.target);
    }
    const mode = typeBits[e.type] | (e.mode & 0o7777);
    const nlink = e.type === 'dir' ? 2 : 1;
    chunks.push(header(e.path, ino++, mode, nlink, body.length, mtime, e.major ?? 0, e.minor ?? 0));
    chunks.push(body, Buffer.alloc(pad4(body.length)));
  }
  chunks.push(header(TRAILER, 0, 0, 1, 0, 0, 0, 0));
  return Buffer.concat(chunks);
}

export interface CpioReadEntry extends CpioEntry {
  mtime: number;
  uid: number;
  gid: number;
  size: number;
}

/** The fields of a newc header (110 ASCII bytes from the magic on) a reader needs. */
export interface CpioHeader {
  magic: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  rmaj: number;
  rmin: number;
  namesize: number;
}

export function parseHeader(head: string): CpioHeader {
  const field = (i: number) => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
  return {
    magic: head.slice(0, 6),
    mode: field(1),
    uid: field(2),
    gid: field(3),
    mtime: field(5),
    size: field(6),
    rmaj: field(9),
    rmin: field(10),
    namesize: field(11),
  };
}

/** The entry type a header's mode names, if it is one we read. */
export function typeOfMode(mode: number): CpioEntryType | undefined {
  const fmt = mode & 0o170000;
  return (Object.keys(typeBits) as CpioEntryType[]).find((t) => typeBits[t] === fmt);
}

/** One read entry from its header, name and (when kept) data: shared by the buffer and the streaming reader. */
export function readEntry(h: CpioHeader, name: string, data: Buffer | undefined): CpioReadEntry {
  const type = typeOfMode(h.mode);
  if (!type) throw new Error(`cpio: unsupported mode ${h.mode.toString(8)} for '${name}'`);
  return {
    path: name.replace(/^\.?\//, ''),
    type,
    mode: h.mode & 0o7777,
    mtime: h.mtime,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    ...(type === 'file' && data ? { data } : {}),
    ...(type === 'symlink' && data ? { target: data.toString('utf8') } : {}),
    ...(type === 'char' || type === 'block' ? { major: h.rmaj, minor: h.rmin } : {}),
  };
}

/**
 * Read a newc archive (uncompressed). Concatenated archives (as the kernel
 * accepts: e.g. an early microcode archive followed by the main one) are read
 * in order, zero padding between them is skipped.
 */
export function readCpio(buf: Buffer): CpioReadEntry[] {
  const out: CpioReadEntry[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) {
      off++;
      continue;
    }
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== MAGIC && magic !== '070702') throw new Error(`cpio: bad magic at offset ${off}`);
    if (off + 110 > buf.length) throw new Error('cpio: truncated header');
    const h = parseHeader(buf.toString('ascii', off, off + 110));
    const nameStart = off + 110;
    if (nameStart + h.namesize > buf.length) throw new Error('cpio: truncated name');
    const name = buf.toString('utf8', nameStart, nameStart + h.namesize - 1);
    let dataStart = nameStart + h.namesize;
    dataStart += pad4(dataStart);
    if (dataStart + h.size > buf.length) throw new Error(`cpio: truncated data of '${name}'`);
    const data = buf.subarray(dataStart, dataStart + h.size);
    off = dataStart + h.size;
    off += pad4(off);
    if (name === TRAILER) continue;
    out.push(readEntry(h, name, Buffer.from(data)));
  }
  return out;
}
