// Follows a file QEMU writes (serial console, firmware debug port) and turns it
// into timestamped lines. QEMU owns the file; we only read what it appended,
// polling, because fs.watch is unreliable for files written by another process.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { VrioError } from '../lib/errors.js';

export interface ConsoleLine {
  /** Seconds since the VM was started. */
  t: number;
  text: string;
}

// Bootloaders and firmware paint the serial console with ANSI/VT100 sequences.
// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>78cDEHM]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

export function cleanLine(raw: string): string {
  return raw.replace(ansi, '').replace(/\r/g, '').trimEnd();
}

export class ConsoleFollower {
  readonly lines: ConsoleLine[] = [];
  private offset = 0;
  private partial = '';
  private timer?: NodeJS.Timeout;
  private waiters: (() => void)[] = [];

  constructor(
    readonly path: string,
    /** Date.now() of the QEMU start; line times are relative to it. */
    readonly t0: number,
  ) {}

  start(intervalMs = 50): this {
    this.timer ??= setInterval(() => this.poll(), intervalMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
    if (this.partial) {
      this.push(this.partial);
      this.partial = '';
    }
  }

  /** Read whatever was appended since the last poll. */
  poll(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const parts = (this.partial + buf.subarray(0, n).toString('latin1')).split('\n');
        this.partial = parts.pop() ?? '';
        for (const p of parts) this.push(p);
      }
    } finally {
      closeSync(fd);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private push(raw: string): void {
    const text = cleanLine(raw);
    if (text) this.lines.push({ t: (Date.now() - this.t0) / 1000, text });
  }

  find(re: RegExp, from = 0): ConsoleLine | undefined {
    for (let i = from; i < this.lines.length; i++) if (re.test(this.lines[i].text)) return this.lines[i];
    return undefined;
  }

  /**
   * Wait until a line matches. Rejects on timeout, on abort, or when `stopIf`
   * (e.g. "QEMU exited") becomes true, so no wait outlives its VM.
   */
  async waitFor(re: RegExp, o: { timeoutMs: number; signal?: AbortSignal; stopIf?: () => string | undefined; what?: string }): Promise<ConsoleLine> {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      this.poll();
      const hit = this.find(re);
      if (hit) return hit;
      if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new VrioError('interrupted');
      const stop = o.stopIf?.();
      if (stop) throw new VrioError(`${o.what ?? `console line /${re.source}/`} never appeared: ${stop}`);
      if (Date.now() >= deadline)
        throw new VrioError(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what ?? `console line /${re.source}/`}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  tail(n = 30): string {
    this.poll();
    const rest = this.partial ? [cleanLine(this.partial)] : [];
    return [...this.lines.slice(-n).map((l) => l.text), ...rest].slice(-n).join('\n');
  }
}
