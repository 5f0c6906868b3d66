// The one SSH client (ssh2), for provision, smoke and the lab: one connection
// per host reused for all its commands, strict host-key checking before
// anything runs (pins and/or known_hosts), key or agent auth, an optional jump
// host, connect/command timeouts, keepalive, and bounded retries with backoff
// for connection errors only (never for a refused key or auth). Booted VMs are
// waited for with waitForSsh (wait.ts). A connection with transport 'openssh'
// gets the same Session from the system ssh client instead (openssh.ts): ssh2
// has no certificate algorithms.
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { readPrivateKeyFile, UnprotectedKeyError } from '../keyfile.js';
import { keyType } from './fingerprint.js';
import { openSshSession } from './openssh.js';
import { checkCommand, commandStart, PendingCommand, TransportError } from './session.js';
import type { ConnectOptions, Connection, Endpoint, ExecResult, Session } from './session.js';
import { preferredKeyTypes, verifyHostKey, type HostKeyVerdict } from './hostkeys.js';

export * from './session.js';

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
      const { start, cmd } = commandStart(conn, where, command, o);
      return new Promise<ExecResult>((resolve, reject) => {
        const p = new PendingCommand(start, live, resolve, reject);
        let channel: ClientChannel | undefined;
        p.armTimeout(() => {
          // Ask the server to kill it; close our side regardless.
          try {
            channel?.signal('KILL');
          } catch {
            /* not supported */
          }
          channel?.close();
          p.finish({ code: null, signal: 'TIMEOUT' });
        });
        client.exec(cmd, (e, stream) => {
          if (e) return p.drop(new TransportError('disconnected', `cannot run a command on ${where}: ${e.message}`));
          channel = stream;
          let code: number | null = null;
          let sig: string | undefined;
          stream.on('exit', (c: number | null, s?: string) => {
            code = c;
            sig = s ?? undefined;
          });
          stream.on('data', (b: Buffer) => p.out.add(b));
          stream.stderr.on('data', (b: Buffer) => p.err.add(b));
          stream.on('close', () => {
            // No exit status at all means the channel died with the connection.
            if (code === null && sig === undefined && !p.timedOut) {
              setTimeout(() => (lost ? p.drop(lost) : p.finish({ code: null, signal: 'LOST' })), 50);
              return;
            }
            p.finish({ code, signal: sig });
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
