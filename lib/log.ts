// The one place that writes to the terminal. Human lines go to stderr so that
// stdout stays clean for data (`--json`, `config show`, `inventory schema`).
//
// --json is one contract for every verb (cli/events.schema.json): stdout is a
// stream of JSON lines, each a typed event carrying `v` (the schema version),
// ending in exactly one `result` line with the exit code. `v` is on every line
// rather than in a first start-of-stream line so that a line read on its own
// (grep, tail, a log shipper that splits the stream) still says which contract
// it follows.
import type { InputIssue } from './errors.js';

/** The version of the --json event contract (cli/events.schema.json); bumped on an incompatible change. */
export const EVENTS_VERSION = 1;

export interface ErrorDetail {
  exitCode?: number;
  hint?: string;
  issues?: InputIssue[];
}

/** -q, default, -v (external and remote commands), -vv (and their output). */
export type Verbosity = 'quiet' | 'normal' | 'verbose' | 'trace';

export interface LoggerOptions {
  verbosity?: Verbosity;
  /** Machine mode: events are JSON lines on stdout, no colour, no bars. */
  json?: boolean;
  color?: boolean;
  /** Whether stderr is a terminal (progress bars instead of plain lines). */
  tty?: boolean;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

export interface Progress {
  /** Set absolute progress; `total` may be learned late. */
  update(done: number, total?: number, detail?: string): void;
  done(detail?: string): void;
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Color = keyof typeof codes;

export class Logger {
  readonly json: boolean;
  readonly verbosity: Verbosity;
  readonly color: boolean;
  readonly tty: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  private barActive = false;
  private resultWritten = false;

  constructor(o: LoggerOptions = {}) {
    this.json = o.json ?? false;
    this.verbosity = o.verbosity ?? 'normal';
    this.out = o.out ?? process.stdout;
    this.err = o.err ?? process.stderr;
    this.tty = !this.json && (o.tty ?? Boolean((process.stderr as { isTTY?: boolean }).isTTY));
    this.color = !this.json && (o.color ?? (this.tty && !process.env.NO_COLOR));
  }

  paint(c: Color, s: string): string {
    return this.color ? `\x1b[${codes[c]}m${s}\x1b[0m` : s;
  }

  private line(s: string): void {
    if (this.barActive) {
      this.err.write('\r\x1b[K');
      this.barActive = false;
    }
    this.err.write(s + '\n');
  }

  /** Structured event; in JSON mode one object per line on stdout. */
  event(type: string, data: Record<string, unknown> = {}): void {
    if (!this.json) return;
    // type, v and time lead every line and cannot be overridden by the data.
    const head = { type, v: EVENTS_VERSION, time: new Date().toISOString() };
    this.out.write(JSON.stringify(Object.assign({ ...head }, data, head)) + '\n');
  }

  /** The last line of a --json stream: written once, whatever path the CLI ends by. */
  result(exitCode: number): void {
    if (!this.json || this.resultWritten) return;
    this.resultWritten = true;
    this.event('result', { exitCode });
  }

  info(msg: string): void {
    if (this.json) return this.event('info', { message: msg });
    if (this.verbosity !== 'quiet') this.line(msg);
  }
  step(msg: string): void {
    if (this.json) return this.event('step', { message: msg });
    if (this.verbosity !== 'quiet') this.line(this.paint('bold', '==> ') + msg);
  }
  debug(msg: string): void {
    if ((this.verbosity === 'verbose' || this.verbosity === 'trace') && !this.json) this.line(this.paint('dim', msg));
  }
  /** Only with -vv: what commands printed. */
  trace(msg: string): void {
    if (this.verbosity === 'trace' && !this.json) this.line(this.paint('dim', msg));
  }
  warn(msg: string): void {
    if (this.json) return this.event('warning', { message: msg });
    this.line(this.paint('yellow', 'warning: ') + msg);
  }
  /** An error; its hint is an event field in JSON mode and an indented line on stderr otherwise. */
  error(msg: string, detail: ErrorDetail = {}): void {
    if (this.json)
      return this.event('error', {
        message: msg,
        exitCode: detail.exitCode ?? 1,
        ...(detail.hint ? { hint: detail.hint } : {}),
        ...(detail.issues ? { issues: detail.issues } : {}),
      });
    this.line(this.paint('red', 'error: ') + msg);
    if (detail.hint) this.hint(detail.hint);
  }
  /** A hint line (stderr), or a `hint` event in JSON mode. */
  hint(msg: string): void {
    if (this.json) return this.event('hint', { message: msg });
    this.line(`  hint: ${msg}`);
  }
  /**
   * Data for stdout (tables, documents): always printed, even with --quiet. In
   * JSON mode text becomes an `output` event, so no verb can break the stream;
   * verbs with structured results emit their own typed event instead.
   */
  print(text: string): void {
    if (this.json) return this.event('output', { text });
    this.out.write(text.endsWith('\n') ? text : text + '\n');
  }

  /**
   * A progress indicator: a redrawn bar on a TTY, otherwise a plain line at most
   * every `plainEverySec` seconds (so CI logs stay readable).
   */
  progress(label: string, opts: { plainEverySec?: number; jsonEverySec?: number; unit?: 'count' | 'bytes' } = {}): Progress {
    const started = Date.now();
    let lastPlain = 0;
    let lastJson = 0;
    let lastBar = 0;
    const every = (opts.plainEverySec ?? 15) * 1000;
    // --json: a `progress` event at most every 2 s, so a long step is never silent
    // and a fast one (thousands of updates) does not flood the stream.
    const jsonEvery = (opts.jsonEverySec ?? 2) * 1000;
    const fmt = (n: number) => (opts.unit === 'bytes' ? formatBytes(n) : String(n));
    const render = (done: number, total: number | undefined, detail?: string): string => {
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      let s = `${label} ${fmt(done)}`;
      if (total && total > 0) {
        const frac = Math.min(1, done / total);
        const width = 24;
        const fill = Math.round(frac * width);
        const eta = rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
        s = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${fmt(done)}/${fmt(total)}`;
        if (opts.unit === 'bytes') s += ` ${formatBytes(rate)}/s`;
        if (eta !== undefined && done > 0) s += ` ETA ${formatDuration(eta)}`;
      }
      return detail ? `${s} ${detail}` : s;
    };
    return {
      update: (done, total, detail) => {
        if (this.json) {
          if (Date.now() - lastJson < jsonEvery) return;
          lastJson = Date.now();
          return this.event('progress', {
            label,
            done,
            ...(total !== undefined ? { total } : {}),
            ...(detail ? { detail } : {}),
            seconds: (Date.now() - started) / 1000,
          });
        }
        if (this.verbosity === 'quiet') return;
        if (this.tty) {
          // A redraw at most every 100 ms: git and make report far more often than a terminal needs.
          if (Date.now() - lastBar < 100) return;
          lastBar = Date.now();
          const cols = (process.stderr as { columns?: number }).columns ?? 100;
          this.err.write('\r\x1b[K' + render(done, total, detail).slice(0, cols - 1));
          this.barActive = true;
        } else if (Date.now() - lastPlain >= every) {
          lastPlain = Date.now();
          this.line(render(done, total, detail));
        }
      },
      done: (detail) => {
        const secs = (Date.now() - started) / 1000;
        if (this.json) return this.event('progress-done', { label, seconds: secs, detail });
        if (this.verbosity === 'quiet') return;
        this.line(`${label} done in ${formatDuration(secs)}${detail ? ` (${detail})` : ''}`);
      },
    };
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export function formatDuration(sec: number): string {
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)}s`;
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** Render rows as an aligned text table (LinuxKit-style output). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

let current = new Logger();
export function setLogger(l: Logger): void {
  current = l;
}
export function log(): Logger {
  return current;
}
