// Real OpenSSH sshd instances for the benchmark's host fleet (bench/fleet.ts),
// the tests and the reliability suite (through test/support/sshd.ts).
//
// Why real: the provisioner's promises (strict host keys, timeouts, retries,
// forks, a server that dies mid-run) only mean something against the server
// operators actually run. Nothing here mocks SSH.
//
// API
//   const s = await startSshd({ address: '127.0.0.2' });   // loopback, free port
//   s.host, s.port, s.user, s.identityFile                  // connect with these
//   s.hostKeyFingerprint                                    // 'SHA256:...' (pin it)
//   s.knownHostsLine                                        // '[127.0.0.2]:PORT ssh-ed25519 AAAA...'
//   startSshd({ hostKeyTypes: ['ed25519', 'rsa'] }); s.hostKeys // several host keys, each with its line
//   s.connections()                                         // accepted logins so far (from the log)
//   s.log()                                                 // sshd's stderr (-e) so far
//   await s.restart({ newHostKey: true })                   // same address/port, optionally a new key
//   s.kill('SIGKILL')                                       // kill the listener AND its sessions
//   await s.stop()                                          // kill by pid, wait, remove the temp dir
//
//   const ns = await createNetns();                         // own address inside a network namespace
//   const s2 = await startSshd({ netns: ns });              // sshd listens on ns.address:22
//   await ns.destroy();
//
//   startSshd({ netns: ns, wrapper: ['unshare', '-m', ...] }) // run sshd through a setup command that execs it
//                                                           // (test/support/fake-kernel.ts: own /run, simulated modules)
//   startSshd({ hostCertificate: { caKeyFile }, trustedUserCAKeys: caPub }) // host certificate / user CA
//   const key = makeClientKey(dir)                          // an extra ed25519 client key pair
//   sshdSupport()                                           // { ok, reason } for test skips
//
// Each instance gets its own temp dir with generated host keys (ed25519 unless asked), a
// per-instance client key in authorized_keys, and a config run with
// `sshd -D -e -f config`. Processes are started by this module and killed by
// their pid only. Network namespaces use 10.201.<n>.0/30 veth pairs that exist
// only while the test runs.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fingerprintOfLine } from '../lib/ssh/fingerprint.js';

const SSHD = '/usr/sbin/sshd';

export interface ClientKey {
  privateKeyFile: string;
  publicKey: string;
}

export interface Netns {
  name: string;
  /** Address of sshd's side (inside the namespace). */
  address: string;
  /** Address of our side of the veth pair (in the test's namespace). */
  peerAddress: string;
  /** The veth end inside the namespace (sshd's NIC) and its MAC (set by createNetns). */
  interface?: string;
  mac?: string;
  destroy(): Promise<void>;
}

export type HostKeyType = 'ed25519' | 'rsa' | 'ecdsa';

export interface SshdOptions {
  /** Host key types, first = the one `hostKeyFingerprint`/`knownHostsLine` describe (default ['ed25519']). */
  hostKeyTypes?: HostKeyType[];
  /** Listen address (default 127.0.0.1; any 127.0.0.0/8 address works on Linux). */
  address?: string;
  /** Listen port (default: a free port; 22 inside a netns). */
  port?: number;
  /** Run inside this namespace and listen on its address. */
  netns?: Netns;
  /** Extra sshd_config lines, e.g. ['MaxStartups 1']. */
  extraConfig?: string[];
  /** Also authorize this public key (e.g. a second client). */
  extraAuthorizedKeys?: string[];
  /**
   * Sign the first host key with this CA (ssh-keygen -s; a private key file) and serve the
   * certificate (HostCertificate): principals default to the listen address, validity to
   * five minutes ago until an hour from now (ssh-keygen -V syntax).
   */
  hostCertificate?: { caKeyFile: string; principals?: string[]; validity?: string };
  /** TrustedUserCAKeys: accept user certificates signed by the CA whose public key file this is. */
  trustedUserCAKeys?: string;
  /** Milliseconds to wait for the listener (default 10000). */
  readyTimeoutMs?: number;
  /**
   * Start sshd through this command prefix (inside the netns, if any), which must end by
   * exec'ing its arguments so the spawned pid stays sshd's: e.g. a mount-namespace setup
   * (test/support/fake-kernel.ts) that gives the host its own /run and module state.
   */
  wrapper?: string[];
}

export interface SshdInstance {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  clientPublicKey: string;
  hostKeyFingerprint: string;
  hostPublicKey: string;
  /** Every host key the server offers (restart({ newHostKey }) replaces the first). */
  hostKeys: { type: HostKeyType; publicKey: string; fingerprint: string; knownHostsLine: string }[];
  knownHostsLine: string;
  dir: string;
  pid: number | undefined;
  logFile: string;
  log(): string;
  connections(): number;
  kill(signal?: NodeJS.Signals): void;
  restart(o?: { newHostKey?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function sshdSupport(): { ok: boolean; reason?: string } {
  if (!existsSync(SSHD)) return { ok: false, reason: `${SSHD} not found (apt-get install openssh-server)` };
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'ssh-keygen not found (apt-get install openssh-client)' };
  }
  return { ok: true };
}

export function netnsSupport(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return { ok: true };
  } catch {
    return { ok: false, reason: 'ip netns unavailable' };
  }
}

export function makeClientKey(dir: string, name = 'id_ed25519'): ClientKey {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vrio-test', '-f', file], { stdio: 'ignore' });
  return { privateKeyFile: file, publicKey: readFileSync(`${file}.pub`, 'utf8').trim() };
}

export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Remove a namespace and our end of its veth pair; either may already be gone. */
export function removeNetns(name: string, outerLink: string): void {
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    ip('link', 'del', outerLink);
  } catch {
    /* gone with the namespace */
  }
  try {
    ip('netns', 'del', name);
  } catch {
    /* already gone */
  }
}

let nsCounter = 0;

/** A network namespace with a veth pair: 10.201.N.1 (ours) <-> 10.201.N.2 (inside). */
export async function createNetns(): Promise<Netns> {
  // Skip /30s another test process already uses: two namespaces with one
  // address would route our connections to the wrong sshd.
  const used = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  let n = ((process.pid % 50) * 5 + nsCounter++) % 250;
  for (let k = 0; k < 250 && used.includes(` 10.201.${n}.1/30 `); k++) n = ((process.pid % 50) * 5 + nsCounter++) % 250;
  const name = `vrio-t${process.pid}-${n}`;
  const outer = `vt${process.pid % 10000}o${n}`.slice(0, 15);
  const inner = `vt${process.pid % 10000}i${n}`.slice(0, 15);
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('netns', 'add', name);
  try {
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', name);
    ip('addr', 'add', `10.201.${n}.1/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('-n', name, 'addr', 'add', `10.201.${n}.2/30`, 'dev', inner);
    ip('-n', name, 'link', 'set', inner, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (e) {
    try {
      ip('link', 'del', outer);
    } catch {
      /* may not exist */
    }
    ip('netns', 'del', name);
    throw e;
  }
  const mac = JSON.parse(execFileSync('ip', ['-j', '-n', name, 'link', 'show', 'dev', inner], { encoding: 'utf8' }))[0].address as string;
  return {
    name,
    interface: inner,
    mac,
    address: `10.201.${n}.2`,
    peerAddress: `10.201.${n}.1`,
    destroy: async () => removeNetns(name, outer),
  };
}

function writeHostKey(dir: string, type: HostKeyType = 'ed25519'): { file: string; pub: string } {
  const file = join(dir, `ssh_host_${type}_key`);
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', 'vrio-test-host', '-f', file], { stdio: 'ignore' });
  return { file, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
}

async function waitListening(child: ChildProcess, logFile: string, timeoutMs: number, fromByte = 0): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}):\n${readFileSync(logFile, 'utf8')}`);
    }
    // Only this launch's lines count: a restart appends to the same log.
    if (/Server listening on/.test(readFileSync(logFile, 'utf8').slice(fromByte))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sshd did not start listening within ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8')}`);
}

/** Direct children of a pid, from /proc (no procps needed). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export async function startSshd(opts: SshdOptions = {}): Promise<SshdInstance> {
  const sup = sshdSupport();
  if (!sup.ok) throw new Error(sup.reason);
  // sshd refuses to start without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'vrio-sshd-'));
  const user = userInfo().username;
  const client = makeClientKey(dir, 'client_ed25519');
  const types = opts.hostKeyTypes ?? ['ed25519'];
  let hostKey = writeHostKey(dir, types[0]);
  const extraKeys = types.slice(1).map((t) => ({ type: t, ...writeHostKey(dir, t) }));
  const host = opts.netns ? opts.netns.address : (opts.address ?? '127.0.0.1');
  const port = opts.port ?? (opts.netns ? 22 : await freePort(host));
  const hostCert = opts.hostCertificate && `${hostKey.file}-cert.pub`;
  if (opts.hostCertificate) {
    const c = opts.hostCertificate;
    execFileSync(
      'ssh-keygen',
      ['-q', '-s', c.caKeyFile, '-h', '-I', 'vrio-test-host', '-n', (c.principals ?? [host]).join(','), '-V', c.validity ?? '-5m:+1h', `${hostKey.file}.pub`],
      {
        stdio: 'ignore',
      },
    );
  }
  const logFile = join(dir, 'sshd.log');
  const config = join(dir, 'sshd_config');
  writeFileSync(join(dir, 'authorized_keys'), [client.publicKey, ...(opts.extraAuthorizedKeys ?? [])].join('\n') + '\n', { mode: 0o600 });
  writeFileSync(
    config,
    [
      `ListenAddress ${host}:${port}`,
      `HostKey ${hostKey.file}`,
      ...extraKeys.map((k) => `HostKey ${k.file}`),
      ...(hostCert ? [`HostCertificate ${hostCert}`] : []),
      ...(opts.trustedUserCAKeys ? [`TrustedUserCAKeys ${opts.trustedUserCAKeys}`] : []),
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      'AllowTcpForwarding yes',
      'PrintMotd no',
      'MaxStartups 200',
      'MaxSessions 64',
      ...(opts.extraConfig ?? []),
    ].join('\n') + '\n',
  );

  const knownLine = (pub: string) => {
    const [type, b64] = pub.split(/\s+/);
    return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${b64}`;
  };
  let child: ChildProcess | undefined;
  const launch = async () => {
    writeFileSync(logFile, '', { flag: 'a' });
    const { openSync, closeSync, statSync } = await import('node:fs');
    const fromByte = statSync(logFile).size;
    const fd = openSync(logFile, 'a');
    const argv = [...(opts.wrapper ?? []), SSHD, '-D', '-e', '-f', config];
    const cmd = opts.netns ? 'ip' : argv[0];
    const args = opts.netns ? ['netns', 'exec', opts.netns.name, ...argv] : argv.slice(1);
    child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: false });
    closeSync(fd);
    child.unref();
    await waitListening(child, logFile, opts.readyTimeoutMs ?? 10_000, fromByte);
  };
  await launch();

  const killTree = (signal: NodeJS.Signals) => {
    const c = child;
    if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
    // Per-connection sshd children are in our process group only via the
    // listener; kill them by their parent pid so "sshd died" is total.
    for (const k of childPids(c.pid)) {
      try {
        process.kill(k, signal);
      } catch {
        /* already gone */
      }
    }
    try {
      process.kill(c.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const waitExit = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      const t = setTimeout(r, 5000);
      c.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  };

  const inst: SshdInstance = {
    host,
    port,
    user,
    identityFile: client.privateKeyFile,
    clientPublicKey: client.publicKey,
    get hostKeyFingerprint() {
      return fingerprintOfLine(hostKey.pub);
    },
    get hostPublicKey() {
      return hostKey.pub;
    },
    get knownHostsLine() {
      return knownLine(hostKey.pub);
    },
    get hostKeys() {
      return [{ type: types[0], file: hostKey.file, pub: hostKey.pub }, ...extraKeys].map((k) => ({
        type: k.type,
        publicKey: k.pub,
        fingerprint: fingerprintOfLine(k.pub),
        knownHostsLine: knownLine(k.pub),
      }));
    },
    dir,
    get pid() {
      return child?.pid;
    },
    logFile,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    connections: () => (inst.log().match(/Accepted publickey for /g) ?? []).length,
    kill: (signal = 'SIGKILL') => killTree(signal),
    async restart(o = {}) {
      killTree('SIGTERM');
      await waitExit();
      if (o.newHostKey) hostKey = writeHostKey(dir, types[0]);
      await launch();
    },
    async stop() {
      killTree('SIGTERM');
      await waitExit();
      killTree('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return inst;
}
