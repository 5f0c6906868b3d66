// A program at the keyboard of a VM's serial console (VmSpec.serial 'session'):
// for images without SSH, such as a test initramfs whose init leaves a shell on
// ttyS0. Guest output arrives on QEMU's stdout and is kept whole, unprocessed
// (the serial log file gets the same bytes); input goes to QEMU's stdin.
import type { Readable, Writable } from 'node:stream';
import { VrioError } from '../lib/errors.js';

/** Kernel messages share the console with a command's output: "[   12.345678] ..." lines. */
const KERNEL_LINE = /\[ *\d+\.\d+\] [^\n]*\n/g;

export class ConsoleSession {
  /** Everything the guest wrote to the console since QEMU started (latin1). */
  text = '';
  private seq = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly name: string,
    private readonly input: Writable,
    output: Readable,
    /** Why the VM is gone (QEMU ended), or undefined while it runs. */
    private readonly stopped: () => string | undefined,
    exited: Promise<unknown>,
  ) {
    output.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.wake();
    });
    // Writes after QEMU is gone fail with EPIPE; the wait that follows reports the exit.
    input.on('error', () => undefined);
    void exited.then(() => this.wake());
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Type `s` on the console. */
  send(s: string): void {
    this.input.write(s);
  }

  /**
   * Wait until the console text from offset `from` on matches `re`. Rejects
   * when QEMU ends first or after the timeout, with the console's tail.
   */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text.slice(from));
      if (m) return m;
      const gone = this.stopped();
      if (gone) throw new VrioError(`${this.name}: VM stopped (${gone}); console tail:\n${this.text.slice(-2500)}`);
      const left = end - Date.now();
      if (left <= 0) throw new VrioError(`${this.name}: no ${re} within ${timeoutMs} ms; console tail:\n${this.text.slice(-2500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /**
   * Run a command on the shell that reads the console; resolves with its exit
   * status and what it printed (kernel messages cut out: they stay in `text`).
   * The shell must not echo its input (the guest's init runs `stty -echo`).
   */
  async run(cmd: string, timeoutMs = 120_000): Promise<{ rc: number; out: string }> {
    const n = ++this.seq;
    const from = this.text.length;
    this.send(`${cmd}\necho "@@RC=$?@@${n}@@"\n`);
    const m = await this.waitFor(new RegExp(`@@RC=(\\d+)@@${n}@@`), timeoutMs, from);
    return { rc: Number(m[1]), out: this.text.slice(from, from + m.index).replace(KERNEL_LINE, '') };
  }
}
