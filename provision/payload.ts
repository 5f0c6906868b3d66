// Bytes a remote command reads on its stdin: a managed file's content. They
// never go into the command line (another user on the host sees every
// process's arguments in `ps`, and Linux caps one argument at 128 KiB) and
// never into plans, logs or --json: everything that serializes or prints a
// Payload gets only its sha256 and size.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

export class Payload {
  readonly sha256: string;
  readonly size: number;
  // A private field: not an own enumerable property, so no spread, JSON or
  // inspect of a change can reach it.
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.size = bytes.length;
    this.sha256 = createHash('sha256').update(bytes).digest('hex');
  }

  /** The content itself: for the transport's stdin only. */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): { sha256: string; size: number } {
    return { sha256: this.sha256, size: this.size };
  }

  [inspect.custom](): string {
    return `Payload(${this.size} bytes, sha256:${this.sha256.slice(0, 12)})`;
  }
}
