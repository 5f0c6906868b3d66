// Just enough of ELF to find what a binary needs at run time: the program
// interpreter (PT_INTERP) and the shared libraries (DT_NEEDED), plus a
// library's own SONAME. Read from the bytes (never by running ldd on the host),
// so the closure comes from the packages that go into the image. Input is
// untrusted: every offset is bounds-checked and a malformed file is "not ELF".

export interface ElfInfo {
  bits: 32 | 64;
  machine: number;
  /** ET_EXEC 2, ET_DYN 3. */
  type: number;
  interp?: string;
  needed: string[];
  soname?: string;
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export function isElf(buf: Buffer): boolean {
  return buf.length >= 16 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** Parse an ELF file's dynamic-linking facts; undefined if not a (sane) little-endian ELF. */
export function readElf(buf: Buffer): ElfInfo | undefined {
  try {
    return parse(buf);
  } catch {
    return undefined;
  }
}

function parse(buf: Buffer): ElfInfo | undefined {
  if (!isElf(buf)) return undefined;
  const cls = buf[4];
  if (buf[5] !== 1) return undefined; // big-endian: not on our targets
  const b64 = cls === 2;
  if (!b64 && cls !== 1) return undefined;
  const need = (off: number, len: number) => {
    if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError('truncated ELF');
  };
  const u16 = (o: number) => (need(o, 2), buf.readUInt16LE(o));
  const u32 = (o: number) => (need(o, 4), buf.readUInt32LE(o));
  const addr = (o: number) => (b64 ? (need(o, 8), Number(buf.readBigUInt64LE(o))) : u32(o));

  const type = u16(16);
  const machine = u16(18);
  const phoff = addr(b64 ? 32 : 28);
  const phentsize = u16(b64 ? 54 : 42);
  const phnum = u16(b64 ? 56 : 44);
  if (phnum > 4096) throw new RangeError('too many program headers');

  interface Ph {
    type: number;
    offset: number;
    vaddr: number;
    filesz: number;
  }
  const phs: Ph[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (b64) phs.push({ type: u32(o), offset: addr(o + 8), vaddr: addr(o + 16), filesz: addr(o + 32) });
    else phs.push({ type: u32(o), offset: u32(o + 4), vaddr: u32(o + 8), filesz: u32(o + 16) });
  }
  const cstr = (o: number, max = 4096): string => {
    need(o, 1);
    let end = o;
    while (end < buf.length && buf[end] !== 0 && end - o < max) end++;
    return buf.subarray(o, end).toString('latin1');
  };
  const info: ElfInfo = { bits: b64 ? 64 : 32, machine, type, needed: [], runpath: [] };
  const interp = phs.find((p) => p.type === PT_INTERP);
  if (interp) {
    need(interp.offset, interp.filesz);
    info.interp = cstr(interp.offset, interp.filesz).replace(/\0+$/, '');
  }
  const dyn = phs.find((p) => p.type === PT_DYNAMIC);
  if (!dyn) return info;
  need(dyn.offset, dyn.filesz);
  const entSize = b64 ? 16 : 8;
  const tags: [number, number][] = [];
  for (let o = dyn.offset; o + entSize <= dyn.offset + dyn.filesz; o += entSize) {
    const tag = b64 ? Number(buf.readBigInt64LE(o)) : buf.readInt32LE(o);
    const val = addr(o + (b64 ? 8 : 4));
    if (tag === DT_NULL) break;
    tags.push([tag, val]);
  }
  const strtabVaddr = tags.find(([t]) => t === DT_STRTAB)?.[1];
  if (strtabVaddr === undefined) return info;
  // DT_STRTAB is a virtual address: map it to a file offset through PT_LOAD.
  const load = phs.find((p) => p.type === PT_LOAD && strtabVaddr >= p.vaddr && strtabVaddr < p.vaddr + p.filesz);
  if (!load) return info;
  const strtab = strtabVaddr - load.vaddr + load.offset;
  for (const [tag, val] of tags) {
    if (tag === DT_NEEDED) info.needed.push(cstr(strtab + val));
    else if (tag === DT_SONAME) info.soname = cstr(strtab + val);
    else if (tag === DT_RUNPATH || tag === DT_RPATH)
      info.runpath.push(
        ...cstr(strtab + val)
          .split(':')
          .filter(Boolean),
      );
  }
  return info;
}
