// Running the compiled `vrio` CLI as a user would (a real child process), timed,
// with its --json output split into the event lines and the final document.
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { packageRoot } from '../lib/paths.js';
import { secondsSince } from './stats.js';

export interface CliEvent {
  type: string;
  time: string;
  message?: string;
  [k: string]: unknown;
}

export interface CliRun {
  code: number | null;
  seconds: number;
  /** Wall-clock start, to place events on a timeline. */
  startedAt: number;
  stdout: string;
  events: CliEvent[];
  /** The last multi-line JSON document printed (the verb's result), if any. */
  doc?: unknown;
}

/** Split --json output: one-line event objects, then a pretty-printed result document. */
export function parseJsonOutput(stdout: string): { events: CliEvent[]; doc?: unknown } {
  const lines = stdout.split('\n');
  const events: CliEvent[] = [];
  let docStart = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '{') {
      docStart = i;
      continue;
    }
    if (docStart < 0 && l.startsWith('{') && l.endsWith('}')) {
      try {
        const e = JSON.parse(l) as CliEvent;
        if (typeof e.type === 'string') events.push(e);
        else docStart = i; // a one-line result document
      } catch {
        /* not JSON: ignore */
      }
      if (docStart === i) break;
    }
  }
  let doc: unknown;
  if (docStart >= 0) {
    try {
      doc = JSON.parse(lines.slice(docStart).join('\n'));
    } catch {
      doc = undefined;
    }
  }
  return { events, doc };
}

export async function runVrio(
  args: string[],
  o: { logFile?: string; signal?: AbortSignal; cwd?: string; timeoutMs?: number; allowFail?: boolean } = {},
): Promise<CliRun> {
  const bin = join(packageRoot(), 'dist', 'cli', 'bin.js');
  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const r = await run(process.execPath, [bin, ...args], {
    cwd: o.cwd,
    logFile: o.logFile,
    signal: o.signal,
    allowFail: o.allowFail,
    timeoutMs: o.timeoutMs ?? 60 * 60_000,
    env: { NO_COLOR: '1' },
  });
  const seconds = secondsSince(t0);
  return { code: r.code, seconds, startedAt, stdout: r.stdout, ...parseJsonOutput(r.stdout) };
}

/** Step events as consecutive spans (each step lasts until the next one, the last until the end). */
export function stepSpans(run: Pick<CliRun, 'events' | 'startedAt' | 'seconds'>, prefix = ''): { name: string; start: number; end: number }[] {
  const steps = run.events.filter((e) => e.type === 'step' && typeof e.message === 'string');
  return steps.map((e, i) => {
    const start = Math.max(0, (Date.parse(e.time) - run.startedAt) / 1000);
    const next = steps[i + 1];
    const end = next ? Math.max(start, (Date.parse(next.time) - run.startedAt) / 1000) : run.seconds;
    return { name: prefix + shortStep(String(e.message)), start, end };
  });
}

/** "compiling the kernel for iohyp (make -j2; log: ...)" -> "compiling the kernel for iohyp". */
export function shortStep(msg: string): string {
  const s = msg.replace(/\s*\(.*$/, '').replace(/:.*$/, '');
  if (s.length <= 60) return s;
  // Cut at a word boundary so a chart legend never shows half a word.
  const cut = s.slice(0, 59);
  return cut.slice(0, cut.lastIndexOf(' ') > 20 ? cut.lastIndexOf(' ') : 59) + '…';
}
