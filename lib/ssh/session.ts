// What both SSH transports share (client.ts: ssh2 in-process; openssh.ts: the
// system ssh client): the endpoint and connection settings, the Session a
// caller drives, TransportError's kinds, and the pieces of exec both use.
import { VrioError } from '../errors.js';
import { commandLine } from '../shell.js';
import type { HostKeyPolicy } from './hostkeys.js';

export interface Endpoint {
  /** Inventory name when the endpoint is an inventory host (the VM's name for smoke and the lab). */
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  /** OpenSSH user certificate for the identity (transport 'openssh' only: ssh2 has no certificate support). */
  certificateFile?: string;
  /** How to reach it: 'ssh2' (in-process, the default) or 'openssh' (the system ssh client, openssh.ts). */
  transport?: 'ssh2' | 'openssh';
  /** The ssh_config alias the address came from (OpenSSH applies that Host block itself); default: address. */
  alias?: string;
  /** The ssh_config file OpenSSH reads (-F FILE), or 'none'; the openssh transport only. */
  sshConfigFile?: string;
  /** Agent socket path, or undefined for none. */
  agent?: string;
  hostKeys: HostKeyPolicy;
  connectTimeoutMs: number;
  /** 0: no keepalive. */
  keepaliveMs: number;
  retries: number;
}

export interface Connection extends Endpoint {
  commandTimeoutMs: number;
  jump?: Endpoint;
  /** 'sudo': every command runs through `sudo -n` (a non-root login with passwordless sudo). */
  become?: 'sudo';
}

/** `command-timeout`: a command ran past its timeout (only with onTimeout: 'throw'). */
export type TransportErrorKind = 'unreachable' | 'timeout' | 'host-key' | 'auth' | 'disconnected' | 'config' | 'command-timeout';

export class TransportError extends VrioError {
  readonly kind: TransportErrorKind;
  /** The server's key fingerprint when the error is about it. */
  readonly fingerprint?: string;
  constructor(kind: TransportErrorKind, message: string, opts: { hint?: string; fingerprint?: string } = {}) {
    super(message, { hint: opts.hint });
    this.name = 'TransportError';
    this.kind = kind;
    this.fingerprint = opts.fingerprint;
  }
  /** Worth another attempt: the network, not the server's identity or our credentials. */
  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'timeout';
  }
}

export interface ExecResult {
  /** null when the command was killed by a signal, timed out or its channel died. */
  code: number | null;
  signal?: string;
  stdout: string;
  /** stdout as bytes (binary data such as a block device's contents). */
  stdoutBuf: Buffer;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Default: the connection's commandTimeoutMs. */
  timeoutMs?: number;
  /** The command's stdin (content that must not be in its arguments). */
  input?: string | Buffer;
  /**
   * What a command over its timeout gives: 'throw' (default) rejects with a
   * 'command-timeout' TransportError naming the host and command; 'result'
   * resolves with timedOut: true (the provisioner reports it per change).
   * Either way the command is killed and the connection stays usable.
   */
  onTimeout?: 'throw' | 'result';
}

export interface ConnectOptions {
  /** Like OpenSSH StrictHostKeyChecking=accept-new: record unknown keys, still refuse changed ones. */
  acceptNew?: boolean;
  signal?: AbortSignal;
  /** Told about each retry (attempt number, error, delay). */
  onRetry?: (attempt: number, err: TransportError, delayMs: number) => void;
  /** First retry delay; doubles each time (default 500 ms, capped at 8 s). */
  backoffMs?: number;
}

export interface Session {
  readonly host: string;
  readonly fingerprint: string;
  readonly hostKeyHow: string;
  /** The host key the server presented (it passed the check): the lab writes a known_hosts for OpenSSH from it. */
  readonly hostKey: { type: string; blob: Buffer };
  /** Connection attempts it took (1 = first try). */
  readonly attempts: number;
  /**
   * Run a command: an argv array is quoted word by word (lib/shell.ts); a
   * string is a command line for the remote shell as it is (a script of ours,
   * never user input pasted in).
   */
  exec(command: string | readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Run and require exit 0; returns stdout. The error names the command, host, exit code and stderr's last lines. */
  check(command: string | readonly string[], opts?: Omit<ExecOptions, 'onTimeout'>): Promise<string>;
  close(): void;
  readonly closed: boolean;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

/** Session.check for either transport: exit 0 or an error naming the command, host, exit code and stderr's last lines. */
export async function checkCommand(session: Session, where: string, command: string | readonly string[], o: Omit<ExecOptions, 'onTimeout'>): Promise<string> {
  const r = await session.exec(command, { ...o, onTimeout: 'throw' });
  if (r.code !== 0) {
    const why = r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
    throw new VrioError(`'${typeof command === 'string' ? command : commandLine(command)}' failed on ${where} (exit ${r.code ?? r.signal})${why}`);
  }
  return r.stdout;
}

/**
 * become: sudo could not run the command at all (as opposed to the command
 * failing): sudo wants a password (-n refuses to ask) or is not installed.
 */
export function sudoRefusal(code: number | null, stderr: string, conn: Connection, where: string): TransportError | undefined {
  if (code === 1 && /^sudo: (a password is required|a terminal is required)/m.test(stderr))
    return new TransportError('auth', `sudo on ${where} asks ${conn.user} for a password (become: sudo runs sudo -n, which never prompts)`, {
      hint: `allow ${conn.user} passwordless sudo (a sudoers line '${conn.user} ALL=(ALL) NOPASSWD: ALL'), or log in as root`,
    });
  if (code === 127 && /sudo: (command )?not found/.test(stderr))
    return new TransportError('auth', `become: sudo, but sudo is not installed on ${where}`, { hint: 'install sudo there, or log in as root' });
  return undefined;
}

/** What a transport knows about a command when it ends. */
export interface CommandEnd {
  conn: Connection;
  where: string;
  /** The command as the user's log names it (before sudo). */
  line: string;
  timeoutMs: number;
  onTimeout: ExecOptions['onTimeout'];
  timedOut: boolean;
  started: number;
  out: Output;
  err: Output;
}

/**
 * How a command that ended settles, the same for both transports: a timeout
 * error (unless the caller asked for a result), sudo's refusal to run it at
 * all, or the result with its output decoded once.
 */
export function commandOutcome(r: Pick<ExecResult, 'code' | 'signal'>, e: CommandEnd): ExecResult | TransportError {
  if (e.timedOut && e.onTimeout !== 'result')
    return new TransportError('command-timeout', `command timed out after ${Math.round(e.timeoutMs / 1000)} s on ${e.where}: ${e.line}`);
  const stderr = e.err.bytes().toString('utf8');
  const refused = e.conn.become === 'sudo' ? sudoRefusal(r.code, stderr, e.conn, e.where) : undefined;
  if (refused) return refused;
  const stdoutBuf = e.out.bytes();
  return { ...r, stdout: stdoutBuf.toString('utf8'), stdoutBuf, stderr, timedOut: e.timedOut, durationMs: Date.now() - e.started };
}

/** What a transport knows of a command as it starts (the rest of CommandEnd is gathered while it runs). */
export type CommandStart = Omit<CommandEnd, 'timedOut' | 'started' | 'out' | 'err'>;

/**
 * An exec's start, the same for both transports: the line the user's log
 * names, and `cmd`, what goes to the host. Under become: sudo the whole line,
 * pipes and redirections included, runs as root; -n: never a password prompt
 * that would hang until the command timeout.
 */
export function commandStart(conn: Connection, where: string, command: string | readonly string[], o: ExecOptions): { start: CommandStart; cmd: string } {
  const line = typeof command === 'string' ? command : commandLine(command);
  const cmd = conn.become === 'sudo' ? commandLine(['sudo', '-n', '--', 'sh', '-c', line]) : line;
  return { start: { conn, where, line, timeoutMs: o.timeoutMs ?? conn.commandTimeoutMs, onTimeout: o.onTimeout }, cmd };
}

/**
 * One running command's once-only end, the same for both transports: the
 * first of its exit (finish), its timeout and the loss of its connection
 * (drop, registered in the session's `live` set) settles the caller's
 * promise; whatever comes after is ignored.
 */
export class PendingCommand {
  readonly out = new Output();
  readonly err = new Output();
  timedOut = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly start: CommandStart,
    private readonly live: Set<(e: TransportError) => void>,
    private readonly resolve: (r: ExecResult) => void,
    private readonly reject: (e: TransportError) => void,
    /** Called once when the connection's loss ends the command (e.g. kill the local ssh). */
    private readonly onDrop: () => void = () => undefined,
  ) {
    live.add(this.drop);
  }

  get settled(): boolean {
    return this.done;
  }

  /** Arms the command timeout: `onTimeout` must stop the command and call finish. */
  armTimeout(onTimeout: () => void): void {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      onTimeout();
    }, this.start.timeoutMs);
  }

  readonly finish = (r: Pick<ExecResult, 'code' | 'signal'>): void => {
    if (!this.settle()) return;
    const end = commandOutcome(r, { ...this.start, timedOut: this.timedOut, started: this.started, out: this.out, err: this.err });
    if (end instanceof TransportError) this.reject(end);
    else this.resolve(end);
  };

  readonly drop = (e: TransportError): void => {
    if (!this.settle()) return;
    this.onDrop();
    this.reject(e);
  };

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    clearTimeout(this.timer);
    this.live.delete(this.drop);
    return true;
  }
}

/**
 * A command's output as bytes, up to MAX_OUTPUT: decoded once at the end, so a
 * UTF-8 character split across two SSH packets is not mangled.
 */
export class Output {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  add(b: Buffer): void {
    if (this.size >= MAX_OUTPUT) return;
    this.chunks.push(b);
    this.size += b.length;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
