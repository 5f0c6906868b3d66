// Reading a user-named input file without trusting what it is: a FIFO blocks a
// plain read forever (until some writer comes), a device such as /dev/zero
// never ends, and a huge file is read whole before any size check. The file is
// opened without blocking, checked on the open descriptor (no swap between a
// stat and the read), and read only when it is a regular file within the limit.
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';

export type ReadFailure = { kind: 'not-regular'; what: string } | { kind: 'too-large'; size: number } | { kind: 'unreadable'; code: string };

export class ReadRefused extends Error {
  constructor(
    readonly path: string,
    readonly failure: ReadFailure,
    maxBytes: number,
  ) {
    super(
      failure.kind === 'not-regular'
        ? `${path} is ${failure.what}, not a regular file`
        : failure.kind === 'too-large'
          ? `${path} is ${failure.size} bytes; at most ${maxBytes}`
          : `cannot read ${path} (${failure.code})`,
    );
    this.name = 'ReadRefused';
  }
}

/** What a non-regular file is, in words for an error message. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The bytes of a regular file of at most maxBytes; ReadRefused otherwise. */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ReadRefused(path, { kind: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? String(e) }, maxBytes);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReadRefused(path, { kind: 'not-regular', what: fileKind(st) }, maxBytes);
    if (st.size > maxBytes) throw new ReadRefused(path, { kind: 'too-large', size: st.size }, maxBytes);
    const bytes = readFileSync(fd);
    // It grew between the stat and the read.
    if (bytes.length > maxBytes) throw new ReadRefused(path, { kind: 'too-large', size: bytes.length }, maxBytes);
    return bytes;
  } catch (e) {
    if (e instanceof ReadRefused) throw e;
    throw new ReadRefused(path, { kind: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? String(e) }, maxBytes);
  } finally {
    closeSync(fd);
  }
}
