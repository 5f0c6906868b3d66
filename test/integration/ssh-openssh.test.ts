// connection.transport: openssh against REAL OpenSSH servers: host
// certificates trusted through an @cert-authority line only, certificates of
// another CA or expired ones refused, user certificates where sshd trusts only
// the CA, pins checked through KnownHostsCommand, command timeouts that kill the
// remote process group and keep the connection, a lost master, the private
// ControlPath directory; and the ssh2 transport's clear refusal of a host known
// only through a CA. Certificates are made with the real ssh-keygen -s.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, TransportError, type Connection } from '../../lib/ssh/client.js';
import { fingerprintOfLine } from '../../lib/ssh/fingerprint.js';
import { childPids, freePort, makeClientKey, sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const support = sshdSupport();
const skip = prerequisite(support.ok ? (existsSync('/usr/bin/ssh') ? false : 'ssh not found (apt-get install openssh-client)') : support.reason);

interface Ca {
  key: string;
  pub: string;
  fingerprint: string;
}

function makeCa(dir: string, name: string): Ca {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key], { stdio: 'ignore' });
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  return { key, pub, fingerprint: fingerprintOfLine(pub) };
}

/** A user certificate for `key` (its private key file) signed by `ca`, for these principals. */
function userCert(ca: Ca, key: string, principals: string[]): string {
  execFileSync('ssh-keygen', ['-q', '-s', ca.key, '-I', 'vrio-test-user', '-n', principals.join(','), '-V', '-5m:+1h', `${key}.pub`], { stdio: 'ignore' });
  // Away from KEY-cert.pub, which ssh would load next to the key by itself: only certificateFile names it.
  renameSync(`${key}-cert.pub`, `${key}.certificate`);
  return `${key}.certificate`;
}

async function refused(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TransportError, `expected a TransportError, got ${e}`);
    return e;
  }
  assert.fail('expected the connection to be refused');
}

/** The ControlPath of a live master this process started (from its command line). */
function controlPaths(): string[] {
  return childPids(process.pid).flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv.filter((a) => a.startsWith('ControlPath=')).map((a) => a.slice('ControlPath='.length));
    } catch {
      return [];
    }
  });
}

describe('openssh transport (real sshd, real certificates)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-openssh-test-'));
  let ca: Ca;
  let otherCa: Ca;
  let certified: SshdInstance;
  let otherSigned: SshdInstance;
  let expired: SshdInstance;
  let knownHosts: string;
  before(async () => {
    ca = makeCa(dir, 'host_ca');
    otherCa = makeCa(dir, 'other_ca');
    [certified, otherSigned, expired] = await Promise.all([
      startSshd({ address: '127.0.0.61', hostCertificate: { caKeyFile: ca.key }, trustedUserCAKeys: `${ca.key}.pub` }),
      startSshd({ address: '127.0.0.62', hostCertificate: { caKeyFile: otherCa.key } }),
      startSshd({ address: '127.0.0.63', hostCertificate: { caKeyFile: ca.key, validity: '20200101:20200102' } }),
    ]);
    // The CA vouches for the 127.0.0.6x hosts; no plain key of any of them is known.
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `# hosts signed by the lab CA\n@cert-authority [127.0.0.6?]:* ${ca.pub}\n`);
  });
  after(async () => {
    await Promise.all([certified?.stop(), otherSigned?.stop(), expired?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  const conn = (s: SshdInstance, o: Partial<Connection> = {}): Connection => ({
    name: 'h',
    address: s.host,
    port: s.port,
    user: s.user,
    identityFile: s.identityFile,
    hostKeys: { knownHostsFiles: [knownHosts], pins: [] },
    connectTimeoutMs: 5000,
    commandTimeoutMs: 10000,
    keepaliveMs: 5000,
    retries: 0,
    transport: 'openssh',
    ...o,
  });

  it('a host certificate is accepted through an @cert-authority line only; commands, stdin, binary stdout, exit codes and stderr work', async () => {
    const s = await connect(conn(certified));
    try {
      assert.equal(s.hostKeyHow, `certificate signed by CA ${ca.fingerprint}`);
      assert.equal(s.fingerprint, certified.hostKeyFingerprint);
      const r = await s.exec(['sh', '-c', 'echo oops >&2; exit 7']);
      assert.equal(r.code, 7);
      assert.equal(r.stderr, 'oops\n');
      // ssh's own failure status, but here the command's: it started, and the connection lives.
      assert.equal((await s.exec(['sh', '-c', 'exit 255'])).code, 255);
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0x80]);
      const cat = await s.exec(['cat'], { input: bytes });
      assert.deepEqual(cat.stdoutBuf, bytes);
      assert.equal(await s.check(['printf', '[%s]', "it's a b"]), "[it's a b]");
      assert.equal(certified.connections(), 1, 'every command goes over the one master connection');
    } finally {
      s.close();
    }
  });

  it('a host certificate signed by another CA is refused (host-key), naming the CA and the known_hosts file', async () => {
    const e = await refused(connect(conn(otherSigned)));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.62.*signed by CA ${otherCa.fingerprint.replace(/[+/]/g, '\\$&')}`));
    assert.ok(e.message.includes(knownHosts), e.message);
    assert.equal(otherSigned.connections(), 0);
  });

  it('an expired host certificate is refused (host-key)', async () => {
    const e = await refused(connect(conn(expired)));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, /127\.0\.0\.63/);
    assert.match(e.message, /expired|not yet valid|Certificate invalid/i, e.message);
    assert.equal(expired.connections(), 0);
  });

  it('a user certificate logs in where sshd trusts only the CA (the key is in no authorized_keys)', async () => {
    const key = makeClientKey(join(dir, 'user-ok'), 'id_ed25519').privateKeyFile;
    const cert = userCert(ca, key, [certified.user]);
    const s = await connect(conn(certified, { identityFile: key, certificateFile: cert }));
    try {
      assert.equal((await s.exec(['true'])).code, 0);
    } finally {
      s.close();
    }
    assert.match(certified.log(), /Accepted publickey for \S+ .* ED25519-CERT/);
    // The same key without its certificate is not authorized: the certificate made the difference.
    const e = await refused(connect(conn(certified, { identityFile: key })));
    assert.equal(e.kind, 'auth');
  });

  it('a user certificate for another principal is refused (auth), naming the host and the certificate', async () => {
    const key = makeClientKey(join(dir, 'user-bad'), 'id_ed25519').privateKeyFile;
    const cert = userCert(ca, key, ['somebody-else']);
    const e = await refused(connect(conn(certified, { identityFile: key, certificateFile: cert })));
    assert.equal(e.kind, 'auth');
    assert.match(e.message, /authentication failed for \S+@127\.0\.0\.61:\d+/);
    assert.ok(e.message.includes(cert), e.message);
    assert.match(e.hint ?? '', /principals/);
  });

  it('pins are checked through KnownHostsCommand: a pinned key connects, another pin is refused (host-key)', async () => {
    const ok = await connect(conn(certified, { hostKeys: { knownHostsFiles: [], pins: [certified.hostKeyFingerprint] } }));
    assert.equal(ok.fingerprint, certified.hostKeyFingerprint);
    assert.equal(ok.hostKey.blob.length > 0, true);
    ok.close();
    const wrong = otherCa.fingerprint;
    const e = await refused(connect(conn(otherSigned, { hostKeys: { knownHostsFiles: [], pins: [wrong] } })));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, /matches none of the pinned fingerprints/);
  });

  it('the ssh2 transport refuses a host known only through @cert-authority, naming the file and line and the openssh transport', async () => {
    const e = await refused(connect(conn(certified, { transport: 'ssh2' })));
    assert.equal(e.kind, 'host-key');
    assert.ok(e.message.includes(`${knownHosts}:2`), e.message);
    assert.match(e.message, /@cert-authority/);
    assert.match(e.hint ?? '', /connection\.transport: openssh/);
    // --accept-new must not record the plain key behind the CA's back.
    const again = await refused(connect(conn(certified, { transport: 'ssh2' }), { acceptNew: true }));
    assert.equal(again.kind, 'host-key');
    assert.doesNotMatch(readFileSync(knownHosts, 'utf8'), /ssh-ed25519 AAAA\S+\s*$/m);
  });

  it('a command over its timeout is killed on the host (its whole process group) and the connection stays usable', async () => {
    const s = await connect(conn(certified));
    const logins = certified.connections();
    try {
      const mark = `vrio-openssh-timeout-${process.pid}`;
      const r = await s.exec(`sh -c 'sleep 30; echo late' ${mark}; echo never`, { timeoutMs: 700, onTimeout: 'result' });
      assert.equal(r.timedOut, true);
      assert.equal(r.code, null);
      assert.doesNotMatch(r.stdout, /late|never/);
      const e = await refused(s.exec('sleep 30', { timeoutMs: 500 }));
      assert.equal(e.kind, 'command-timeout');
      assert.match(e.message, /command timed out after 1 s on h \(127\.0\.0\.61:\d+\): sleep 30/);
      assert.equal((await s.exec(['echo', 'still here'])).stdout, 'still here\n');
      // sshd runs on this machine: the remote sleep is gone, not merely abandoned.
      const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(mark) && !l.includes('ps -eo'));
      assert.deepEqual(left, []);
      assert.equal(certified.connections(), logins, 'no new login for the commands after the timeouts');
    } finally {
      s.close();
    }
  });

  it('the ControlPath directory is private (0700) while the session lives and gone after close', async () => {
    const earlier = controlPaths();
    const s = await connect(conn(certified));
    const paths = controlPaths().filter((p) => !earlier.includes(p));
    assert.equal(paths.length, 1, `one master: ${paths.join(', ')}`);
    const ctlDir = join(paths[0], '..');
    assert.equal(statSync(ctlDir).mode & 0o777, 0o700);
    assert.ok(statSync(paths[0]).isSocket());
    s.close();
    assert.equal(existsSync(ctlDir), false);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!controlPaths().includes(paths[0]), 'the master exited');
  });

  it('a jump host is its own ssh (ProxyCommand) with its own key and pins; an unknown jump host key is refused as the jump host', async () => {
    const j = await startSshd({ address: '127.0.0.66' });
    try {
      const jump = { ...conn(j), name: 'bastion', hostKeys: { knownHostsFiles: [], pins: [j.hostKeyFingerprint] } };
      const s = await connect(conn(certified, { jump }));
      assert.equal(s.hostKeyHow, `certificate signed by CA ${ca.fingerprint}`);
      assert.equal((await s.exec(['echo', 'via bastion'])).stdout, 'via bastion\n');
      s.close();
      assert.equal(j.connections(), 1);
      const e = await refused(connect(conn(certified, { jump: { ...jump, hostKeys: { knownHostsFiles: [knownHosts], pins: [] } } })));
      assert.equal(e.kind, 'host-key');
      assert.match(e.message, /^jump host bastion: .*127\.0\.0\.66/);
    } finally {
      await j.stop();
    }
  });

  it('--accept-new records an unknown plain key in the known_hosts file (then it is known); without it the key is refused', async () => {
    const plain = await startSshd({ address: '127.0.0.67' });
    try {
      const kh = join(dir, 'accept-new', 'known_hosts');
      const c = conn(plain, { hostKeys: { knownHostsFiles: [kh], pins: [] } });
      assert.equal((await refused(connect(c))).kind, 'host-key');
      const first = await connect(c, { acceptNew: true });
      assert.equal(first.hostKeyHow, 'accepted-new');
      assert.equal(first.fingerprint, plain.hostKeyFingerprint);
      first.close();
      assert.ok(readFileSync(kh, 'utf8').includes(plain.hostPublicKey.split(' ')[1]));
      const again = await connect(c);
      assert.equal(again.hostKeyHow, 'known_hosts');
      again.close();
    } finally {
      await plain.stop();
    }
  });

  it('a command the server refuses to start (no session left) is an error naming the host, not an exit status', async () => {
    const tight = await startSshd({
      address: '127.0.0.68',
      hostCertificate: { caKeyFile: ca.key },
      extraConfig: ['Match LocalAddress 127.0.0.68', '  MaxSessions 1'],
    });
    try {
      const s = await connect(conn(tight));
      const e = await refused(s.exec(['true']));
      assert.equal(e.kind, 'disconnected');
      assert.match(e.message, /cannot run a command on h \(127\.0\.0\.68:\d+\): .*(refused|failed)/i);
      s.close();
    } finally {
      await tight.stop();
    }
  });

  it('a closed port is unreachable after the retries; a server that never speaks SSH times out (both name the host)', async () => {
    const port = await freePort('127.0.0.70');
    const seen: number[] = [];
    const e = await refused(
      connect({ ...conn(certified), address: '127.0.0.70', port, retries: 2 }, { backoffMs: 10, onRetry: (_n, _e, delay) => seen.push(delay) }),
    );
    assert.equal(e.kind, 'unreachable');
    assert.match(e.message, new RegExp(`cannot reach \\S+@127\\.0\\.0\\.70:${port}: .*Connection refused`));
    assert.deepEqual(seen, [10, 20]);
    const silent: Server = createServer(() => {
      /* hold the socket, say nothing */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.71', r));
    try {
      const p = (silent.address() as { port: number }).port;
      const t = await refused(connect({ ...conn(certified), address: '127.0.0.71', port: p, connectTimeoutMs: 1500 }));
      assert.equal(t.kind, 'timeout');
      assert.match(t.message, /127\.0\.0\.71/);
    } finally {
      silent.close();
    }
  });

  it('a master connection killed with the server is reported as lost (disconnected), not run again on a new login', async () => {
    const lone = await startSshd({ address: '127.0.0.64', hostCertificate: { caKeyFile: ca.key } });
    try {
      const s = await connect(conn(lone));
      assert.equal((await s.exec(['true'])).code, 0);
      lone.kill('SIGKILL');
      const e = await refused(s.exec(['sleep', '5']));
      assert.equal(e.kind, 'disconnected');
      assert.match(e.message, /connection to h \(127\.0\.0\.64:\d+\) lost/);
      assert.equal(s.closed, true);
      s.close();
    } finally {
      await lone.stop();
    }
  });
});
