// A streaming reader of newc cpio archives, for looking into images we did not
// necessarily build (`vrio inspect`): it never holds more than one header and
// the few file bodies the caller asks for, so memory stays small whatever the
// archive says, and the caller bounds the bytes it is fed.
import { parseHeader, readEntry, typeOfMode, type CpioReadEntry } from './cpio.js';

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Pulls exact byte counts out of a chunk stream. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  /** Bytes consumed so far: newc pads to 4 from the start of the stream. */
  pos = 0;
  private readonly it: AsyncIterator<Buffer>;
  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** Make at least `n` unread bytes available; false at the end of the stream. */
  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.off < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.buf = this.off < this.buf.length ? Buffer.concat([this.buf.subarray(this.off), r.value]) : r.value;
      this.off = 0;
    }
    return true;
  }

  /** Skip NUL padding (between concatenated archives); false at the end of the stream. */
  async skipZeros(): Promise<boolean> {
    for (;;) {
      if (!(await this.fill(1))) return false;
      while (this.off < this.buf.length && this.buf[this.off] === 0) {
        this.off++;
        this.pos++;
      }
      if (this.off < this.buf.length) return true;
    }
  }

  async take(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw new Error(`cpio: truncated ${what}`);
    const out = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    this.pos += n;
    return out;
  }

  async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      if (!(await this.fill(1))) throw new Error(`cpio: truncated ${what}`);
      const k = Math.min(n, this.buf.length - this.off);
      this.off += k;
      this.pos += k;
      n -= k;
    }
  }
}

/**
 * Every entry of the archive(s) in `src`, like readCpio, but a file's data is
 * kept only when `keep(path, size)` says so (symlink targets always).
 */
export async function readCpioStream(src: AsyncIterable<Buffer>, keep: (path: string, size: number) => boolean): Promise<CpioReadEntry[]> {
  const r = new ByteReader(src);
  const out: CpioReadEntry[] = [];
  while (await r.skipZeros()) {
    const h = parseHeader((await r.take(110, 'header')).toString('ascii'));
    if (h.magic !== '070701' && h.magic !== '070702') throw new Error(`cpio: bad magic in entry ${out.length + 1}`);
    const { namesize, size } = h;
    if (!(namesize >= 1 && namesize <= 4096)) throw new Error(`cpio: bad name size ${namesize} in entry ${out.length + 1}`);
    const name = (await r.take(namesize, 'name')).toString('utf8', 0, namesize - 1);
    await r.skip(pad4(r.pos), 'header');
    const type = typeOfMode(h.mode);
    if (type === 'symlink' && size > 4096) throw new Error(`cpio: symlink '${name}' has a ${size}-byte target`);
    let data: Buffer | undefined;
    if (name !== 'TRAILER!!!' && (type === 'symlink' || (type === 'file' && keep(name.replace(/^\.?\//, ''), size))))
      data = await r.take(size, `data of '${name}'`);
    else await r.skip(size, `data of '${name}'`);
    await r.skip(pad4(r.pos), `data of '${name}'`);
    if (name === 'TRAILER!!!') continue;
    out.push(readEntry(h, name, data));
  }
  return out;
}
