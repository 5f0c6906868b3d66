// Whole lines from a byte stream that arrives in arbitrary chunks: a pipe
// splits output wherever it likes (mid-line, mid-UTF-8 character), so a line
// is handed on only when its end arrives. "\r" ends a line too: progress meters
// (git --progress, curl) redraw one line with it.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const parts = text.split(/\r\n|\r|\n/);
    // A chunk ending in "\r" may be the first half of "\r\n": the empty line that follows is skipped below.
    this.partial = parts.pop() ?? '';
    for (const p of parts) if (p) this.onLine(p);
  }

  /** The last line, when the stream ended without a newline. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.onLine(rest);
  }
}
