// Run the compiled `vrio` CLI as a user would (a real child process).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function vrio(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'dist/cli/bin.js'), ...args], {
    cwd: opts.cwd ?? packageRoot(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI as a running child, for tests that act while it works (e.g. kill a host mid-apply). */
export function vrioSpawn(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [join(packageRoot(), 'dist/cli/bin.js'), ...args], {
    cwd: opts.cwd ?? packageRoot(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** A temp directory removed when the returned function is called. */
export function tempDir(prefix = 'vrio-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The JSON events a --json run printed on stdout, one object per line. */
export function events(r: CliResult): Record<string, any>[] {
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** The one event of `type` (`config`, `inventory`, `error`...) in a --json run's stdout; throws unless there is exactly one. */
export function eventOf(stdout: string, type: string): Record<string, any> {
  const found = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((e) => e.type === type);
  if (found.length !== 1) throw new Error(`${found.length} '${type}' events in:\n${stdout.slice(0, 2000)}`);
  return found[0];
}
