// The one SSH client (ssh2), for provision, smoke and the lab: one connection
// per host reused for all its commands, strict host-key checking before
// anything runs (pins and/or known_hosts), key or agent auth, an optional jump
// host, connect/command timeouts, keepalive, and bounded retries with backoff
// for connection errors only (never for a refused key or auth). Booted VMs are
// waited for with waitForSsh (wait.ts). A connection with transport 'openssh'
// gets the same Session from the system ssh client instead (openssh.ts): ssh2
// has no certificate algorithms.
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { VrioError } from '../errors.js';
import { readPrivateKeyFile, UnprotectedKeyError } from '../keyfile.js';
import { commandLine } from '../shell.js';
import { keyType } from './fingerprint.js';
import { openSshSession } from './openssh.js';
import { preferredKeyTypes, verifyHostKey, type HostKeyPolicy, type HostKeyVerdict } from './hostkeys.js';

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

export const MAX_OUTPUT = 8 * 1024 * 1024;

/** ssh2's default host-key algorithm order (the fallback after the types known_hosts has). */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function classify(e: Error & { level?: string; code?: string }, ep: Endpoint): TransportError {
  if (e instanceof TransportError) return e;
  const where = `${ep.user}@${ep.address}:${ep.port}`;
  if (e.level === 'client-authentication')
    return new TransportError(
      'auth',
      `authentication failed for ${where} (tried: ${[ep.identityFile && `key ${ep.identityFile}`, ep.agent && 'agent'].filter(Boolean).join(', ') || 'nothing'})`,
      {
        hint: 'check identityFile/agent in the inventory and the authorized_keys of the user on the host',
      },
    );
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT')
    return new TransportError('timeout', `no SSH handshake with ${where} within ${ep.connectTimeoutMs / 1000}s`);
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(e.code ?? ''))
    return new TransportError('unreachable', `cannot reach ${where}: ${e.code}${e.code === 'ENOTFOUND' ? ' (name does not resolve)' : ''}`);
  if (e.level === 'client-socket') return new TransportError('unreachable', `connection to ${where} failed: ${e.message}`);
  return new TransportError('unreachable', `SSH to ${where} failed: ${e.message}`);
}

/** ssh2 refuses the identity file before connecting: say which file and what to do (the inventory holds no passphrases). */
function keyFileError(e: Error, ep: Endpoint): TransportError | undefined {
  if (!ep.identityFile || !/privateKey/.test(e.message)) return undefined;
  if (/passphrase/i.test(e.message))
    return new TransportError('config', `identity file ${ep.identityFile} is passphrase-protected, and inventories hold no passphrases`, {
      hint: `load it into an agent once (ssh-add ${ep.identityFile}) and set connection.agent: true (or leave identityFile out)`,
    });
  return new TransportError(
    'config',
    `identity file ${ep.identityFile} is not a private key ssh2 can use (${e.message.replace(/^Cannot parse privateKey: /, '')})`,
    {
      hint: 'connection.identityFile names the PRIVATE key file (e.g. ~/.ssh/id_ed25519, not the .pub)',
    },
  );
}

interface Connected {
  client: Client;
  verdict: HostKeyVerdict;
  hostKey: Buffer;
}

function connectOnce(ep: Endpoint, opts: ConnectOptions, sock?: NodeJS.ReadableStream): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let verdict: HostKeyVerdict | undefined;
    let presented: Buffer | undefined;
    let settled = false;
    const fail = (err: TransportError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A caller retrying with one signal (waitForSsh: hundreds of attempts) must not pile up listeners.
      opts.signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      reject(err);
    };
    // readyTimeout only starts after TCP connects; this bounds the whole handshake.
    const timer = setTimeout(
      () => fail(new TransportError('timeout', `no SSH handshake with ${ep.user}@${ep.address}:${ep.port} within ${ep.connectTimeoutMs / 1000}s`)),
      ep.connectTimeoutMs,
    );
    const onAbort = () => fail(new TransportError('disconnected', 'interrupted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let privateKey: Buffer | undefined;
    if (ep.identityFile) {
      try {
        privateKey = readPrivateKeyFile(ep.identityFile);
      } catch (e) {
        if (e instanceof UnprotectedKeyError) return fail(new TransportError('config', e.message, { hint: e.hint }));
        return fail(
          new TransportError('config', `cannot read identity file ${ep.identityFile}: ${(e as NodeJS.ErrnoException).code}`, {
            hint: 'fix connection.identityFile in the inventory',
          }),
        );
      }
    }
    const types = preferredKeyTypes(ep.hostKeys, ep.address, ep.port).filter((t) => HOST_KEY_ALGORITHMS.includes(t));
    const cfg: ConnectConfig = {
      host: sock ? undefined : ep.address,
      port: sock ? undefined : ep.port,
      sock: sock as ConnectConfig['sock'],
      username: ep.user,
      privateKey,
      agent: ep.agent,
      readyTimeout: ep.connectTimeoutMs,
      keepaliveInterval: ep.keepaliveMs,
      keepaliveCountMax: 3,
      tryKeyboard: false,
      // ssh2's "prepend" leaves algorithms already listed where they are, so give the whole order.
      algorithms: types.length
        ? ({ serverHostKey: [...types, ...HOST_KEY_ALGORITHMS.filter((t) => !types.includes(t))] } as ConnectConfig['algorithms'])
        : undefined,
      hostVerifier: (key: Buffer) => {
        presented = key;
        verdict = verifyHostKey({ policy: ep.hostKeys, host: ep.address, port: ep.port, blob: key, acceptNew: Boolean(opts.acceptNew) });
        return verdict.ok;
      },
    };
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Small request/response packets: Nagle would add ~40 ms per round trip.
      client.setNoDelay(true);
      resolve({ client, verdict: verdict!, hostKey: presented! });
    });
    client.on('error', (e: Error & { level?: string; code?: string }) => {
      if (verdict && !verdict.ok) return fail(new TransportError('host-key', verdict.message, { hint: verdict.hint, fingerprint: verdict.fingerprint }));
      fail(classify(e, ep));
    });
    client.on('close', () => {
      if (verdict && !verdict.ok) return fail(new TransportError('host-key', verdict.message, { hint: verdict.hint, fingerprint: verdict.fingerprint }));
      fail(new TransportError('unreachable', `${ep.address}:${ep.port} closed the connection during the handshake`));
    });
    try {
      client.connect(cfg);
    } catch (e) {
      fail(keyFileError(e as Error, ep) ?? new TransportError('config', `cannot connect to ${ep.address}:${ep.port}: ${(e as Error).message}`));
    }
  });
}

async function viaJump(jump: Client, target: Endpoint): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
      if (err) reject(new TransportError('unreachable', `jump host cannot reach ${target.address}:${target.port}: ${err.message}`));
      else resolve(stream);
    });
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const wake = () => (clearTimeout(t), signal?.removeEventListener('abort', wake), r());
    const t = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });

/** Connect (through the jump host if any) with bounded retries for connection errors. */
export async function connect(conn: Connection, opts: ConnectOptions = {}): Promise<Session> {
  if (conn.transport === 'openssh') return withRetries(conn, opts, (attempt) => openSshSession(conn, opts, attempt));
  return withRetries(conn, opts, async (attempt) => {
    let jumpClient: Client | undefined;
    try {
      let sock: NodeJS.ReadableStream | undefined;
      if (conn.jump) {
        const j = await connectOnce(conn.jump, opts).catch((e: TransportError) => {
          throw new TransportError(e.kind, `jump host ${conn.jump!.name}: ${e.message}`, { hint: e.hint, fingerprint: e.fingerprint });
        });
        jumpClient = j.client;
        sock = await viaJump(j.client, conn);
      }
      return makeSession(conn, await connectOnce(conn, opts, sock), attempt, jumpClient);
    } catch (e) {
      jumpClient?.end();
      throw e instanceof TransportError ? e : classify(e as Error, conn);
    }
  });
}

/** One attempt after another while the error is a connection error, with doubling delays. */
async function withRetries(conn: Connection, opts: ConnectOptions, once: (attempt: number) => Promise<Session>): Promise<Session> {
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      return await once(attempt);
    } catch (e) {
      const err = e instanceof TransportError ? e : classify(e as Error, conn);
      if (!err.retryable || attempt > conn.retries || opts.signal?.aborted) throw err;
      const delay = Math.min(8000, (opts.backoffMs ?? 500) * 2 ** (attempt - 1));
      opts.onRetry?.(attempt, err, delay);
      await sleep(delay, opts.signal);
    }
  }
}

function makeSession(conn: Connection, { client, verdict, hostKey }: Connected, attempts: number, jump?: Client): Session {
  const where = `${conn.name} (${conn.address}:${conn.port})`;
  let closed = false;
  let lost: TransportError | undefined;
  const live = new Set<(e: TransportError) => void>();
  const onLost = (why: string) => {
    if (closed) return;
    closed = true;
    lost = new TransportError('disconnected', `connection to ${where} lost: ${why}`);
    for (const f of live) f(lost);
  };
  client.on('close', () => onLost('the server closed it'));
  client.on('error', (e) => onLost(e.message));
  const session: Session = {
    host: conn.name,
    fingerprint: verdict.fingerprint,
    hostKeyHow: verdict.ok ? verdict.how : 'refused',
    hostKey: { type: keyType(hostKey), blob: hostKey },
    attempts,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      client.end();
      jump?.end();
    },
    exec(command, o = {}) {
      if (lost) return Promise.reject(lost);
      if (closed) return Promise.reject(new TransportError('disconnected', `connection to ${where} is closed`));
      const line = typeof command === 'string' ? command : commandLine(command);
      // The whole line, pipes and redirections included, runs as root; -n: never
      // a password prompt that would hang until the command timeout.
      const cmd = conn.become === 'sudo' ? commandLine(['sudo', '-n', '--', 'sh', '-c', line]) : line;
      const timeoutMs = o.timeoutMs ?? conn.commandTimeoutMs;
      const started = Date.now();
      return new Promise<ExecResult>((resolve, reject) => {
        const out = new Output();
        const err = new Output();
        let timedOut = false;
        let done = false;
        let channel: ClientChannel | undefined;
        const settle = () => {
          if (done) return false;
          done = true;
          clearTimeout(timer);
          live.delete(onDrop);
          return true;
        };
        const finish = (r: Pick<ExecResult, 'code' | 'signal'>) => {
          if (!settle()) return;
          if (timedOut && o.onTimeout !== 'result')
            return reject(new TransportError('command-timeout', `command timed out after ${Math.round(timeoutMs / 1000)} s on ${where}: ${line}`));
          const stderr = err.bytes().toString('utf8');
          const refused = conn.become === 'sudo' ? sudoRefusal(r.code, stderr, conn, where) : undefined;
          if (refused) return reject(refused);
          const stdoutBuf = out.bytes();
          resolve({ ...r, stdout: stdoutBuf.toString('utf8'), stdoutBuf, stderr, timedOut, durationMs: Date.now() - started });
        };
        const onDrop = (e: TransportError) => settle() && reject(e);
        live.add(onDrop);
        const timer = setTimeout(() => {
          timedOut = true;
          // Ask the server to kill it; close our side regardless.
          try {
            channel?.signal('KILL');
          } catch {
            /* not supported */
          }
          channel?.close();
          finish({ code: null, signal: 'TIMEOUT' });
        }, timeoutMs);
        client.exec(cmd, (e, stream) => {
          if (e) return onDrop(new TransportError('disconnected', `cannot run a command on ${where}: ${e.message}`));
          channel = stream;
          let code: number | null = null;
          let sig: string | undefined;
          stream.on('exit', (c: number | null, s?: string) => {
            code = c;
            sig = s ?? undefined;
          });
          stream.on('data', (b: Buffer) => out.add(b));
          stream.stderr.on('data', (b: Buffer) => err.add(b));
          stream.on('close', () => {
            // No exit status at all means the channel died with the connection.
            if (code === null && sig === undefined && !timedOut) {
              setTimeout(() => (lost ? onDrop(lost) : finish({ code: null, signal: 'LOST' })), 50);
              return;
            }
            finish({ code, signal: sig });
          });
          if (o.input !== undefined) stream.end(o.input);
          else stream.end();
        });
      });
    },
    check: (command, o = {}) => checkCommand(session, where, command, o),
  };
  return session;
}

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
