// Starting and stopping one QEMU process. Every QEMU we start is remembered
// by pid and killed by that pid on every way out: normal return, error,
// timeout, Ctrl-C (the CLI aborts its signal; callers kill in `finally`) and
// process exit (the 'exit' hook below, for anything a caller forgot).
// Lab VMs outlive the CLI process; they are started detached and stopped by
// the pid recorded in the lab's state dir (see killRecordedPid).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { commandLine, which } from '../lib/exec.js';
import { MissingToolError, VrioError } from '../lib/errors.js';
import { log } from '../lib/log.js';
import { qemuArgs, type VmSpec } from './args.js';
import { ConsoleFollower } from './console.js';
import { ConsoleSession } from './console-session.js';

export const QEMU = 'qemu-system-x86_64';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<number>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export function qemuBinary(): string {
  const q = which(QEMU);
  if (!q) throw new MissingToolError([{ tool: QEMU, debianPackage: 'qemu-system-x86', why: 'boots images for smoke tests and the lab' }]);
  return q;
}

/** First line of `qemu-system-x86_64 --version`; "missing" when it is not installed, "unknown" when it says nothing. */
export function qemuVersion(): string {
  try {
    return (
      execFileSync(QEMU, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 })
        .trim()
        .split('\n')[0]
        ?.trim() || 'unknown'
    );
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unknown';
  }
}

export interface StartOptions {
  /** QEMU's own stdout/stderr (its error messages) go here. */
  stderrLog: string;
  /** Keep running after this process exits (lab VMs). */
  detached?: boolean;
}

export class RunningVm {
  readonly serial: ConsoleFollower;
  readonly firmware?: ConsoleFollower;
  /** The console's keyboard and screen, when the spec asked for serial 'session'. */
  readonly console?: ConsoleSession;
  exit?: ExitInfo;
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly spec: VmSpec,
    readonly pid: number,
    readonly t0: number,
    readonly stderrLog: string,
    readonly command: string,
    child: ChildProcess,
  ) {
    this.serial = new ConsoleFollower(spec.serialLog, t0).start();
    if (spec.firmwareLog) this.firmware = new ConsoleFollower(spec.firmwareLog, t0).start();
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(pid);
        this.exit = { code, signal };
        this.serial.stop();
        this.firmware?.stop();
        resolve(this.exit);
      });
    });
    if (spec.serial === 'session') this.console = new ConsoleSession(spec.name, child.stdin!, child.stdout!, () => this.exitReason(), this.exited);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Why the VM is no longer running, with QEMU's own last words; undefined while it runs. */
  exitReason(): string | undefined {
    if (!this.exit) return undefined;
    const how = this.exit.signal ? `killed by ${this.exit.signal}` : `exit code ${this.exit.code}`;
    const err = readTail(this.stderrLog, 5);
    return `QEMU (${this.spec.name}) ended (${how})${err ? `: ${err}` : ''}`;
  }

  /** Kill this QEMU by its pid and wait for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    try {
      process.kill(this.pid, signal);
    } catch {
      /* exited meanwhile */
    }
    return this.exited;
  }

  /** Wait for QEMU to end by itself (e.g. after the guest powered off); kill it after the timeout. */
  async waitOrKill(timeoutMs: number): Promise<{ exit: ExitInfo; killed: boolean }> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (r !== 'timeout') return { exit: r, killed: false };
    return { exit: await this.kill(), killed: true };
  }
}

function readTail(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => !/warning: host doesn't support requested feature/.test(l))
      .slice(-n)
      .join(' | ');
  } catch {
    return '';
  }
}

export function startVm(spec: VmSpec, opts: StartOptions): RunningVm {
  if (spec.serial === 'terminal') throw new VrioError('internal: a VM on this terminal runs with runOnTerminal');
  if (spec.serial === 'session' && opts.detached) throw new VrioError('internal: a console session needs an attached VM');
  const bin = qemuBinary();
  for (const f of [spec.serialLog, spec.firmwareLog, opts.stderrLog, spec.pidFile]) {
    if (!f) continue;
    mkdirSync(dirname(f), { recursive: true });
    rmSync(f, { force: true });
  }
  const args = qemuArgs(spec);
  const command = commandLine(bin, args);
  log().debug(`$ ${command}`);
  const errFd = openSync(opts.stderrLog, 'a');
  const t0 = Date.now();
  let child: ChildProcess;
  try {
    // A console session talks to QEMU's stdin/stdout (the serial console); QEMU's own messages stay on stderr.
    const stdio = spec.serial === 'session' ? (['pipe', 'pipe', errFd] as const) : (['ignore', errFd, errFd] as const);
    child = spawn(bin, args, { stdio: [...stdio], detached: Boolean(opts.detached) });
  } finally {
    closeSync(errFd);
  }
  if (child.pid === undefined) throw new VrioError(`could not start ${QEMU} for ${spec.name}`);
  if (opts.detached) child.unref();
  else {
    hookExit();
    live.add(child.pid);
  }
  return new RunningVm(spec, child.pid, t0, opts.stderrLog, command, child);
}

/**
 * Boot with the serial console (and QEMU's monitor, Ctrl-A C) on this
 * process's terminal and wait until QEMU ends: `vrio run`. Returns QEMU's exit status.
 */
export function runOnTerminal(spec: VmSpec): number | null {
  if (spec.serial !== 'terminal') throw new VrioError("internal: runOnTerminal needs serial 'terminal'");
  const args = qemuArgs(spec);
  const bin = qemuBinary();
  log().debug(`$ ${commandLine(bin, args)}`);
  const r = spawnSync(bin, args, { stdio: 'inherit' });
  if (r.error) throw new VrioError(`cannot run QEMU: ${r.error.message}`);
  return r.status;
}

/** The command line of a live process, or undefined when it is gone. */
export function processCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * Kill a process recorded earlier (e.g. in a lab state file), but only if the
 * pid still belongs to the process we started: its command line must contain
 * `mustContain` (a state-dir path), so a recycled pid is never touched.
 * Returns true when a process was killed.
 */
export async function killRecordedPid(pid: number, mustContain: string, timeoutMs = 5000): Promise<boolean> {
  const cmd = processCmdline(pid);
  if (!cmd || !cmd.includes(mustContain)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processCmdline(pid)?.includes(mustContain)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 50 && processCmdline(pid)?.includes(mustContain); i++) await new Promise((r) => setTimeout(r, 100));
  return true;
}
