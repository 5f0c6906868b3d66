// Running host tools. Every command is built from an argument array (zx quotes
// each element), its output is appended to a per-step log file, and a failure
// raises a CommandError carrying the command line, exit code and log tail.
import { accessSync, constants, createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { $, quote } from 'zx';
import { CommandError } from './errors.js';
import { LineSplitter } from './lines.js';
import { log } from './log.js';

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment. */
  env?: Record<string, string | undefined>;
  /** Append stdout+stderr to this file (created with its directory). */
  logFile?: string;
  /** Data for stdin. */
  input?: string | Buffer;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  /** Called with each complete output line (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Lines of log tail shown in the error (default 25). */
  tailLines?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : quote(a))).join(' ');
}

export async function run(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const line = commandLine(cmd, args);
  log().debug(`$ ${line}`);
  let logStream: WriteStream | undefined;
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    logStream = createWriteStream(opts.logFile, { flags: 'a' });
    logStream.write(`\n$ ${line}\n`);
  }
  const env = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const p = $({
    cwd: opts.cwd,
    env,
    quiet: true,
    nothrow: true,
    input: opts.input,
    signal: opts.signal,
    timeout: opts.timeoutMs ? `${opts.timeoutMs}ms` : undefined,
    timeoutSignal: 'SIGKILL',
  })`${cmd} ${args}`;

  const tailMax = opts.tailLines ?? 25;
  const tail: string[] = [];
  const onOutputLine = (l: string) => {
    tail.push(l);
    if (tail.length > tailMax) tail.shift();
    opts.onLine?.(l);
  };
  // One splitter per stream: a chunk boundary is not a line boundary, and
  // stdout and stderr lines must not be glued together.
  const streams = [p.stdout, p.stderr].map((s) => {
    const split = new LineSplitter(onOutputLine);
    s.on('data', (chunk: Buffer) => {
      logStream?.write(chunk);
      if (opts.onLine || opts.logFile) split.push(chunk);
    });
    return split;
  });
  const out = await p;
  for (const s of streams) s.end();
  await new Promise<void>((r) => (logStream ? logStream.end(r) : r()));
  const result: RunResult = { stdout: out.stdout, stderr: out.stderr, code: out.exitCode, signal: out.signal };
  if (out.exitCode !== 0 && !opts.allowFail) {
    const shown = tail.length ? tail.join('\n') : (out.stderr || out.stdout).trim().split('\n').slice(-tailMax).join('\n');
    throw new CommandError(line, out.exitCode, shown, opts.logFile, out.signal);
  }
  return result;
}

/** Full path of an executable on PATH, or undefined. */
export function which(tool: string, pathEnv: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(':')) {
    if (!dir) continue;
    const p = `${dir}/${tool}`;
    try {
      accessSync(p, constants.X_OK);
      if (!statSync(p).isFile()) continue;
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
