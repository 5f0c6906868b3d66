// The 'openssh' transport (connection.transport: openssh): the system ssh
// client behind the same Session as the in-process ssh2 one, for what ssh2
// cannot do: host certificates (@cert-authority lines in known_hosts), user
// certificates (CertificateFile) and ssh_config read by OpenSSH itself (-F).
// Trust decisions are OpenSSH's (BatchMode, StrictHostKeyChecking=yes or
// accept-new, the inventory's known_hosts files); inventory pins are checked
// soundly through KnownHostsCommand: it is given the key the server presented
// and vouches for it only when its fingerprint is pinned.
//
// One master connection per host (ControlMaster), its ControlPath in a private
// 0700 directory removed on close; every command is a mux client of it. The
// master is our child and its own session is a remote `cat` reading our stdin,
// so when this process ends, even killed, that session ends and the master
// exits: no orphaned masters and no ControlPersist idle timer for a host that
// waits minutes for the others.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readPrivateKeyFile, UnprotectedKeyError } from '../keyfile.js';
import { commandLine, quote } from '../shell.js';
import {
  commandStart,
  checkCommand,
  Output,
  PendingCommand,
  TransportError,
  type ConnectOptions,
  type Connection,
  type Endpoint,
  type ExecResult,
  type Session,
} from './session.js';
import { hostToken } from './hostkeys.js';

/** The first stderr line of every command: the remote shell's pid, which leads the command's process group. */
const PGID_MARK = 'vrio-pgid';
/** A mux client whose master is gone would connect on its own: its ProxyCommand says so instead. */
const NO_MASTER = 'vrio: no master connection';

// OpenSSH expands %-tokens in paths and commands given with -o: ours are literal.
const pct = (s: string) => s.replace(/%/g, '%%');
// Paths in -o values may hold spaces: OpenSSH reads "..." as one word.
const word = (s: string) => `"${pct(s)}"`;
const opt = (k: string, v: string | number) => ['-o', `${k}=${v}`];

/** Masters and directories to remove if the process exits without closing its sessions. */
const open = new Set<() => void>();
let exitHook = false;

/**
 * KnownHostsCommand: records the presented key (type and blob, for
 * Session.hostKey) and prints it as a known_hosts line only when its
 * fingerprint is one of the pins. No % in the script: OpenSSH expands those.
 */
function knownHostsCommand(pins: string[], record: string): string {
  const script = 'echo "$3 $4" > "$5"; case " $6 " in *" $1 "*) echo "$2 $3 $4";; esac';
  return `/bin/sh -c '${script}' vrio-hostkey %f %H %t %K ${word(record)} "${pins.join(' ')}"`;
}

/** Options that say how to reach and trust one endpoint (the target, or a jump host's own ssh). */
function endpointOptions(ep: Endpoint, acceptNew: boolean, record: string): string[] {
  const pins = ep.hostKeys.pins;
  // Pins replace known_hosts, as with ssh2; accept-new is about first contact, which a pin is not.
  // With no known_hosts file, --accept-new records to ~/.ssh/known_hosts, as with ssh2.
  const files = pins.length ? [] : ep.hostKeys.knownHostsFiles.length || !acceptNew ? ep.hostKeys.knownHostsFiles : [join(homedir(), '.ssh', 'known_hosts')];
  return [
    '-F',
    ep.sshConfigFile ?? 'none',
    ...opt('BatchMode', 'yes'),
    ...opt('StrictHostKeyChecking', acceptNew && !pins.length ? 'accept-new' : 'yes'),
    ...opt('UserKnownHostsFile', files.length ? files.map(word).join(' ') : 'none'),
    ...opt('GlobalKnownHostsFile', 'none'),
    ...opt('KnownHostsCommand', knownHostsCommand(pins, record)),
    // A pin is the fingerprint of a plain host key: do not negotiate a certificate instead.
    ...(pins.length ? opt('HostKeyAlgorithms', '-*-cert-v01@openssh.com') : []),
    ...opt('ConnectTimeout', Math.max(1, Math.ceil(ep.connectTimeoutMs / 1000))),
    ...(ep.keepaliveMs > 0 ? [...opt('ServerAliveInterval', Math.max(1, Math.round(ep.keepaliveMs / 1000))), ...opt('ServerAliveCountMax', 3)] : []),
    ...opt('IdentityAgent', ep.agent ? word(ep.agent) : 'none'),
    ...(ep.identityFile ? ['-i', pct(ep.identityFile), ...opt('IdentitiesOnly', 'yes')] : []),
    ...(ep.certificateFile ? opt('CertificateFile', word(ep.certificateFile)) : []),
    // What a config's Host block could add and a provisioner must not do.
    ...opt('RemoteCommand', 'none'),
    ...opt('ClearAllForwardings', 'yes'),
    ...opt('PermitLocalCommand', 'no'),
    ...opt('ForkAfterAuthentication', 'no'),
    ...opt('HostName', pct(ep.address)),
    '-p',
    String(ep.port),
    '-l',
    ep.user,
  ];
}

/** The jump host as a ProxyCommand: its own ssh with its own key, known_hosts and pins (-J would give it none of ours). */
function proxyCommand(j: Endpoint, acceptNew: boolean, dir: string): string {
  const argv = [
    'ssh',
    '-E',
    join(dir, 'jump.log'),
    '-v',
    ...endpointOptions(j, acceptNew, join(dir, 'jump-hostkey')),
    '-W',
    '%h:%p',
    '--',
    j.alias ?? j.address,
  ];
  return argv.map((w) => (w === '%h:%p' ? w : quote(w).replace(/%/g, '%%'))).join(' ');
}

/** The identity and certificate files must be readable (and the key private) before ssh is started: a clear error, not a failed login. */
function checkFiles(ep: Endpoint): void {
  if (ep.identityFile) {
    try {
      readPrivateKeyFile(ep.identityFile);
    } catch (e) {
      if (e instanceof UnprotectedKeyError) throw new TransportError('config', e.message, { hint: e.hint });
      throw new TransportError('config', `cannot read identity file ${ep.identityFile}: ${(e as NodeJS.ErrnoException).code}`, {
        hint: 'fix connection.identityFile in the inventory',
      });
    }
  }
  if (ep.certificateFile) {
    try {
      accessSync(ep.certificateFile, constants.R_OK);
    } catch (e) {
      throw new TransportError('config', `cannot read certificate file ${ep.certificateFile}: ${(e as NodeJS.ErrnoException).code}`, {
        hint: 'fix connection.certificateFile in the inventory (the -cert.pub file ssh-keygen -s wrote)',
      });
    }
  }
}

const readText = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
/** What ssh logged that is not debug output: its errors and warnings. */
const plainLines = (log: string) =>
  log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^debug\d:/.test(l) && !/^OpenSSH_/.test(l) && !/^Authenticated to/.test(l));

/** The key the server presented, from ssh's -v log: a certificate names its CA. */
function presented(log: string): { fingerprint: string; ca?: string } | undefined {
  const cert = /Server host certificate: \S+ (SHA256:[A-Za-z0-9+/]+), serial \d+ ID "[^"]*" CA \S+ (SHA256:[A-Za-z0-9+/]+)/.exec(log);
  if (cert) return { fingerprint: cert[1], ca: cert[2] };
  const key = /Server host key: \S+ (SHA256:[A-Za-z0-9+/]+)/.exec(log);
  return key ? { fingerprint: key[1] } : undefined;
}

/** Why ssh (exit 255 before the master was up) failed, as a TransportError kind and a message naming the host. */
function failure(ep: Endpoint, log: string, stderr: string, jumped = false): TransportError {
  const where = `${ep.user}@${ep.address}:${ep.port}`;
  const lines = [...plainLines(log), ...plainLines(stderr)];
  const text = lines.join('\n');
  const said = lines.slice(-3).join(' | ') || 'ssh exited without saying why';
  const key = presented(log);
  const token = hostToken(ep.address, ep.port);
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(text)) {
    if (ep.hostKeys.pins.length && key)
      return new TransportError(
        'host-key',
        `host key of ${token} is ${key.fingerprint}, which matches none of the pinned fingerprints (${ep.hostKeys.pins.join(', ')}): refusing to connect (possible man-in-the-middle, or the host was rebuilt)`,
        {
          hint: `if the host was reinstalled, update hostKey in the inventory to ${key.fingerprint} after checking it on the console`,
          fingerprint: key.fingerprint,
        },
      );
    const why = lines.filter((l) => !/Host key verification failed|^@+$|^@\s/.test(l)).slice(0, 4);
    const files = ep.hostKeys.knownHostsFiles.join(', ') || 'none';
    return new TransportError(
      'host-key',
      `OpenSSH refused the host key of ${token}${key ? ` (${key.ca ? `a certificate signed by CA ${key.ca}, key ${key.fingerprint}` : key.fingerprint})` : ''}${why.length ? `: ${why.join(' | ')}` : ''} (known_hosts: ${files}); refusing to connect`,
      {
        hint: key?.ca
          ? 'the known_hosts files need a matching @cert-authority line for this host, and the certificate must be valid now, for this host name, and not revoked'
          : `check the key on the console, then add it to known_hosts or pin it (hostKey: ${key?.fingerprint ?? 'SHA256:...'}), or run once with --accept-new`,
        fingerprint: key?.fingerprint,
      },
    );
  }
  if (/Permission denied \(/.test(text)) {
    const tried = [ep.identityFile && `key ${ep.identityFile}`, ep.certificateFile && `certificate ${ep.certificateFile}`, ep.agent && 'agent'].filter(Boolean);
    return new TransportError('auth', `authentication failed for ${where} (tried: ${tried.join(', ') || 'nothing'}): ${said}`, {
      hint: ep.certificateFile
        ? "check the certificate's principals (ssh-keygen -Lf) against the login user, its validity, and the server's TrustedUserCAKeys"
        : 'check identityFile/agent in the inventory and the authorized_keys of the user on the host',
    });
  }
  if (/timed out|Connection timed out/i.test(text))
    return new TransportError('timeout', `no SSH handshake with ${where} within ${ep.connectTimeoutMs / 1000}s: ${said}`);
  if (
    /Bad configuration option|bad configuration options|Bad owner or permissions|Unsupported option|Load key|invalid format|no such identity|certificate file/i.test(
      text,
    )
  )
    return new TransportError('config', `ssh refused the settings for ${where}: ${said}`, { hint: 'check the connection settings and the ssh_config (-F)' });
  return new TransportError('unreachable', `${jumped ? 'via the jump host, ' : ''}cannot reach ${where}: ${said}`);
}

/** Connect once: start the master, wait for its control socket, read what it logged about the host key. */
export async function openSshSession(conn: Connection, opts: ConnectOptions, attempt: number): Promise<Session> {
  checkFiles(conn);
  if (conn.jump) checkFiles(conn.jump);
  const acceptNew = Boolean(opts.acceptNew);
  // ssh records accepted keys in the first known_hosts file but creates no directory for it (ssh2's accept-new does).
  const recordTo = acceptNew && !conn.hostKeys.pins.length ? conn.hostKeys.knownHostsFiles[0] : undefined;
  if (recordTo) mkdirSync(dirname(recordTo), { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(tmpdir(), 'vrio-ssh-'));
  const ctl = join(dir, 'cm');
  const log = join(dir, 'master.log');
  const record = join(dir, 'hostkey');
  const argv = [
    '-E',
    log,
    '-v',
    ...endpointOptions(conn, acceptNew, record),
    ...(conn.jump ? opt('ProxyCommand', proxyCommand(conn.jump, acceptNew, dir)) : []),
    ...opt('ControlMaster', 'yes'),
    ...opt('ControlPersist', 'no'),
    ...opt('ControlPath', pct(ctl)),
    '-T',
    '--',
    conn.alias ?? conn.address,
    'exec cat >/dev/null',
  ];
  const master = spawn('ssh', argv, { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = new Output();
  master.stderr!.on('data', (b: Buffer) => stderr.add(b));
  master.stdin!.on('error', () => undefined);
  const cleanup = () => {
    open.delete(cleanup);
    if (master.exitCode === null && master.signalCode === null) master.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  open.add(cleanup);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => [...open].forEach((f) => f()));
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const end = (err?: TransportError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const where = `${conn.user}@${conn.address}:${conn.port}`;
      const timer = setTimeout(
        () => end(new TransportError('timeout', `no SSH handshake with ${where} within ${conn.connectTimeoutMs / 1000}s`)),
        conn.connectTimeoutMs,
      );
      const onAbort = () => end(new TransportError('disconnected', 'interrupted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // The master listens on its control socket once logged in.
      const poll = setInterval(() => existsSync(ctl) && end(), 20);
      master.once('error', (e: NodeJS.ErrnoException) =>
        end(
          new TransportError('config', `cannot run ssh for the openssh transport: ${e.code ?? e.message}`, {
            hint: 'install the OpenSSH client (apt-get install openssh-client), or use connection.transport: ssh2',
          }),
        ),
      );
      master.once('exit', () => {
        const jumpLog = readText(join(dir, 'jump.log'));
        if (
          conn.jump &&
          /Host key verification failed|Permission denied|Connection refused|timed out|Could not resolve/i.test(plainLines(jumpLog).join('\n'))
        ) {
          const e = failure(conn.jump, jumpLog, '');
          return end(new TransportError(e.kind, `jump host ${conn.jump.name}: ${e.message}`, { hint: e.hint, fingerprint: e.fingerprint }));
        }
        end(failure(conn, readText(log), stderr.bytes().toString('utf8'), Boolean(conn.jump)));
      });
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  return makeSession(conn, master, { dir, ctl, log, record }, attempt, cleanup);
}

function makeSession(
  conn: Connection,
  master: ChildProcess,
  paths: { dir: string; ctl: string; log: string; record: string },
  attempts: number,
  cleanup: () => void,
): Session {
  const where = `${conn.name} (${conn.address}:${conn.port})`;
  const masterLog = readText(paths.log);
  const key = presented(masterLog);
  const [recType, recB64] = readText(paths.record).trim().split(' ');
  let closed = false;
  let lost: TransportError | undefined;
  const live = new Set<(e: TransportError) => void>();
  master.once('exit', () => {
    if (closed) return;
    closed = true;
    const why = plainLines(readText(paths.log)).slice(-2).join(' | ');
    lost = new TransportError('disconnected', `connection to ${where} lost: ${why || 'the server closed it'}`);
    for (const f of live) f(lost);
  });
  // A mux client of the master: -F none, so a config's RequestTTY or SendEnv cannot change what a command gets.
  const mux = (remote: string) =>
    spawn(
      'ssh',
      [
        '-F',
        'none',
        ...opt('ControlMaster', 'no'),
        ...opt('ControlPath', pct(paths.ctl)),
        ...opt('ProxyCommand', `/bin/sh -c 'echo ${NO_MASTER} >&2'`),
        ...opt('BatchMode', 'yes'),
        '-T',
        '-p',
        String(conn.port),
        '-l',
        conn.user,
        '--',
        conn.address,
        remote,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
  const how = key?.ca
    ? `certificate signed by CA ${key.ca}`
    : conn.hostKeys.pins.length
      ? 'pinned'
      : /Permanently added/.test(masterLog)
        ? 'accepted-new'
        : 'known_hosts';
  /** Kill a timed-out command's process group (as root with become, as sudo started it), bounded. */
  const killGroup = (pgid: number) =>
    new Promise<void>((resolve) => {
      const kill = ['kill', '-s', 'KILL', '--', `-${pgid}`];
      const k = mux(commandLine(conn.become === 'sudo' ? ['sudo', '-n', '--', ...kill] : kill));
      k.stdin!.end();
      k.stdout!.resume();
      k.stderr!.resume();
      const t = setTimeout(() => k.kill('SIGKILL'), 5000);
      k.once('close', () => (clearTimeout(t), resolve()));
    });
  const session: Session = {
    host: conn.name,
    fingerprint: key?.fingerprint ?? '',
    hostKeyHow: how,
    hostKey: { type: recType ?? '', blob: Buffer.from(recB64 ?? '', 'base64') },
    attempts,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      master.stdin?.end();
      cleanup();
    },
    exec(command, o = {}) {
      if (lost) return Promise.reject(lost);
      if (closed) return Promise.reject(new TransportError('disconnected', `connection to ${where} is closed`));
      const { start, cmd } = commandStart(conn, where, command, o);
      return new Promise<ExecResult>((resolve, reject) => {
        const child = mux(`echo ${PGID_MARK} $$ >&2\n${cmd}`);
        const p = new PendingCommand(start, live, resolve, reject, () => child.kill('SIGKILL'));
        let head = '';
        let pgid: number | undefined;
        // Settled once the mark arrived (or ssh ended): a timeout can come first on a slow start.
        let marked!: () => void;
        const markSeen = new Promise<void>((r) => (marked = r));
        p.armTimeout(() => {
          let wait: NodeJS.Timeout | undefined;
          void Promise.race([markSeen, new Promise((r) => (wait = setTimeout(r, 5000)))])
            .then(() => (clearTimeout(wait), pgid !== undefined && pgid > 0 ? killGroup(pgid) : undefined))
            .then(() => {
              child.kill('SIGKILL');
              p.finish({ code: null, signal: 'TIMEOUT' });
            });
        });
        child.stdout!.on('data', (b: Buffer) => p.out.add(b));
        child.stderr!.on('data', (b: Buffer) => {
          if (pgid !== undefined) return p.err.add(b);
          // The first line is our pgid mark; everything after it is the command's stderr.
          head += b.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0 && head.length < 64) return;
          const m = new RegExp(`^${PGID_MARK} (\\d+)$`).exec(head.slice(0, nl));
          if (m) pgid = Number(m[1]);
          p.err.add(Buffer.from(m ? head.slice(nl + 1) : head, 'latin1'));
          head = '';
          if (!m) pgid = -1;
          marked();
        });
        child.stdin!.on('error', () => undefined);
        child.once('error', (e) => p.drop(new TransportError('disconnected', `cannot run ssh for a command on ${where}: ${e.message}`)));
        child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
          marked();
          // A timed-out command is finished by its timer, after its process group is killed.
          if (p.settled || p.timedOut) return;
          if (head) p.err.add(Buffer.from(head, 'latin1'));
          if (code === 255) {
            // 255: the command's own status, or ssh failed. Our mark says whether the command
            // started; the master's exit (its handler runs within moments) whether the connection died.
            const said = p.err
              .bytes()
              .toString('utf8')
              .split('\n')
              .map((l) => l.trim())
              .find((l) => l && !l.includes(NO_MASTER));
            return setTimeout(() => {
              if (!lost && (master.exitCode !== null || master.signalCode !== null)) {
                closed = true;
                lost = new TransportError('disconnected', `connection to ${where} lost: its master connection is gone`);
              }
              if (lost) return p.drop(lost);
              if (pgid !== undefined && pgid > 0) return p.finish({ code });
              // The master lives but would not run it (e.g. the server refused another session).
              p.drop(new TransportError('disconnected', `cannot run a command on ${where}: ${said || 'ssh exited 255'}`));
            }, 100);
          }
          p.finish(code === null ? { code: null, signal: signal ?? 'LOST' } : { code });
        });
        if (o.input !== undefined) child.stdin!.end(o.input);
        else child.stdin!.end();
      });
    },
    check: (command, o = {}) => checkCommand(session, where, command, o),
  };
  return session;
}
