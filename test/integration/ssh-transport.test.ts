// The SSH transport against a REAL OpenSSH sshd (test/support/sshd.ts):
// key auth, pinned keys, known_hosts, unknown/changed keys refused before any
// command, --accept-new (and the modes of what it creates), key types, identity
// file modes, jump hosts, quoting, timeouts, retries.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { getEventListeners } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, TransportError, type Connection } from '../../lib/ssh/client.js';
import { waitForSsh } from '../../lib/ssh/wait.js';
import { freePort, makeClientKey, sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const support = sshdSupport();
const skip = prerequisite(support.ok ? false : support.reason);

function conn(s: SshdInstance, o: Partial<Connection> = {}): Connection {
  return {
    name: 'h',
    address: s.host,
    port: s.port,
    user: s.user,
    identityFile: s.identityFile,
    hostKeys: { knownHostsFiles: [], pins: [s.hostKeyFingerprint] },
    connectTimeoutMs: 5000,
    commandTimeoutMs: 10000,
    keepaliveMs: 5000,
    retries: 0,
    ...o,
  };
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

const sessionsStarted = (s: SshdInstance) => (s.log().match(/Starting session/g) ?? []).length;

describe('ssh transport (real sshd)', { skip }, () => {
  let a: SshdInstance;
  let b: SshdInstance;
  const dir = mkdtempSync(join(tmpdir(), 'vrio-ssh-test-'));
  before(async () => {
    [a, b] = await Promise.all([startSshd({ address: '127.0.0.21' }), startSshd({ address: '127.0.0.22' })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('key auth with a pinned key; one connection carries every command', async () => {
    const before = a.connections();
    const s = await connect(conn(a));
    assert.equal(s.hostKeyHow, 'pinned');
    assert.equal(s.fingerprint, a.hostKeyFingerprint);
    for (let i = 0; i < 3; i++) assert.equal((await s.exec(['true'])).code, 0);
    s.close();
    assert.equal(a.connections() - before, 1);
  });

  it('arguments arrive intact: spaces, quotes, $(), globs, newlines', async () => {
    const s = await connect(conn(a));
    const args = ["it's", 'a b', '$(touch /tmp/pwned-vrio)', '*', 'x\ny', '`id`', ''];
    const r = await s.exec(['printf', '[%s]\\n', ...args]);
    s.close();
    assert.equal(r.stdout, args.map((x) => `[${x}]\n`).join(''));
  });

  it('exit codes and stderr come back', async () => {
    const s = await connect(conn(a));
    const r = await s.exec(['sh', '-c', 'echo oops >&2; exit 7']);
    s.close();
    assert.equal(r.code, 7);
    assert.equal(r.stderr, 'oops\n');
  });

  it('accepts a key listed in known_hosts', async () => {
    const kh = join(dir, 'kh-ok');
    writeFileSync(kh, `# comment\n${b.knownHostsLine}\n${a.knownHostsLine}\n`);
    const s = await connect(conn(a, { hostKeys: { knownHostsFiles: [kh], pins: [] } }));
    assert.equal(s.hostKeyHow, 'known_hosts');
    s.close();
  });

  it('asks for the key type known_hosts has (like OpenSSH): an RSA entry works when the server also has ed25519', async () => {
    const s0 = await startSshd({ address: '127.0.0.27', hostKeyTypes: ['ed25519', 'rsa'] });
    try {
      const kh = join(dir, 'kh-rsa');
      const rsa = s0.hostKeys.find((k) => k.type === 'rsa')!;
      writeFileSync(kh, rsa.knownHostsLine + '\n');
      const s = await connect(conn(s0, { hostKeys: { knownHostsFiles: [kh], pins: [] } }));
      assert.equal(s.hostKeyHow, 'known_hosts');
      assert.equal(s.fingerprint, rsa.fingerprint);
      s.close();
    } finally {
      await s0.stop();
    }
  });

  it('refuses an unknown key before any command, showing the fingerprint and how to pin it', async () => {
    const started = sessionsStarted(a);
    const e = await refused(connect(conn(a, { hostKeys: { knownHostsFiles: [join(dir, 'none')], pins: [] } })));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, /not known/);
    assert.ok(e.message.includes(a.hostKeyFingerprint));
    assert.match(e.hint ?? '', /hostKey: SHA256:|--accept-new/);
    assert.equal(sessionsStarted(a), started, 'no session was opened');
  });

  it('refuses a key that does not match the pin', async () => {
    const e = await refused(connect(conn(a, { hostKeys: { knownHostsFiles: [], pins: [b.hostKeyFingerprint] } })));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, /matches none of the pinned fingerprints/);
  });

  it('--accept-new records an unknown key, then a changed key is refused (even with --accept-new)', async () => {
    const s0 = await startSshd({ address: '127.0.0.23' });
    try {
      const kh = join(dir, 'kh-new');
      const policy = { knownHostsFiles: [kh], pins: [] };
      const s = await connect(conn(s0, { hostKeys: policy }), { acceptNew: true });
      assert.equal(s.hostKeyHow, 'accepted-new');
      s.close();
      assert.match(readFileSync(kh, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.23\\]:${s0.port} ssh-ed25519 `));
      const again = await connect(conn(s0, { hostKeys: policy }));
      assert.equal(again.hostKeyHow, 'known_hosts');
      again.close();
      await s0.restart({ newHostKey: true });
      const started = sessionsStarted(s0);
      const e = await refused(connect(conn(s0, { hostKeys: policy }), { acceptNew: true }));
      assert.equal(e.kind, 'host-key');
      assert.match(e.message, /HOST KEY CHANGED/);
      assert.ok(e.message.includes(s0.hostKeyFingerprint), 'shows the new fingerprint');
      assert.match(e.hint ?? '', /ssh-keygen -R/);
      assert.equal(sessionsStarted(s0), started, 'no command ran');
    } finally {
      await s0.stop();
    }
  });

  it('a key of another type than known_hosts has for the host is a changed key, refused even with --accept-new', async () => {
    // The server has only ed25519; known_hosts remembers an RSA key for it. We ask for
    // RSA first (like OpenSSH), so a server offering ed25519 instead does not have the
    // key we know: what a man-in-the-middle without that key looks like.
    const s0 = await startSshd({ address: '127.0.0.28' });
    try {
      const rsaFile = join(dir, 'other_rsa');
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsaFile], { stdio: 'ignore' });
      const rsaPub = readFileSync(`${rsaFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      const kh = join(dir, 'kh-other-type');
      const khText = `[127.0.0.28]:${s0.port} ${rsaPub}\n`;
      writeFileSync(kh, khText);
      const policy = { knownHostsFiles: [kh], pins: [] };
      const started = sessionsStarted(s0);
      for (const acceptNew of [false, true]) {
        const e = await refused(connect(conn(s0, { hostKeys: policy }), { acceptNew }));
        assert.equal(e.kind, 'host-key');
        assert.match(e.message, /HOST KEY CHANGED/, `acceptNew=${acceptNew}`);
        assert.match(e.message, /ssh-ed25519/);
        assert.match(e.message, /ssh-rsa/);
        assert.ok(e.message.includes(s0.hostKeyFingerprint), 'shows the offered fingerprint');
        assert.ok(e.message.includes(`${kh}:1`), 'names the known_hosts line');
        assert.match(e.hint ?? '', /ssh-keygen -R/);
      }
      assert.equal(readFileSync(kh, 'utf8'), khText, '--accept-new recorded nothing');
      assert.equal(sessionsStarted(s0), started, 'no command ran');
    } finally {
      await s0.stop();
    }
  });

  it('--accept-new creates a missing ~/.ssh as 0700 and known_hosts as 0600 (like ssh)', async () => {
    const home = join(dir, 'home-new');
    mkdirSync(home, { mode: 0o755 });
    const saved = process.env.HOME;
    const mask = process.umask(0o022);
    process.env.HOME = home;
    try {
      const s = await connect(conn(a, { hostKeys: { knownHostsFiles: [], pins: [] } }), { acceptNew: true });
      assert.equal(s.hostKeyHow, 'accepted-new');
      s.close();
    } finally {
      process.env.HOME = saved;
      process.umask(mask);
    }
    assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, '.ssh/known_hosts')).mode & 0o777, 0o600);
  });

  it('refuses an identity file group or others may read (UNPROTECTED PRIVATE KEY FILE, as ssh does), before connecting', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const key = join(dir, `loose-${mode.toString(8)}`);
      copyFileSync(a.identityFile, key);
      chmodSync(key, mode);
      const before = a.connections();
      const e = await refused(connect(conn(a, { identityFile: key, retries: 2 })));
      assert.equal(e.kind, 'config');
      assert.match(e.message, /UNPROTECTED PRIVATE KEY FILE/);
      assert.ok(e.message.includes(`0${mode.toString(8)}`) && e.message.includes(key), 'names the file and its mode');
      assert.equal(e.hint, `chmod 600 ${key}`);
      assert.equal(a.connections(), before, 'no login with it');
      // ssh itself refuses the same file: the rule is OpenSSH's.
      const ssh = spawnSync(
        'ssh',
        [
          '-F',
          'none',
          '-i',
          key,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-p',
          String(a.port),
          `${a.user}@${a.host}`,
          'true',
        ],
        { encoding: 'utf8' },
      );
      assert.match(ssh.stderr, /UNPROTECTED PRIVATE KEY FILE/);
      // The smoke/lab client follows the same rule, and does not retry it until its timeout.
      const t0 = Date.now();
      await assert.rejects(
        waitForSsh({ name: 'a', address: a.host, port: a.port, user: a.user, identityFile: key, pins: [a.hostKeyFingerprint] }, { timeoutMs: 20_000 }),
        /UNPROTECTED PRIVATE KEY FILE/,
      );
      assert.ok(Date.now() - t0 < 5000, 'refused at once');
      chmodSync(key, 0o600);
      const s = await connect(conn(a, { identityFile: key }));
      assert.equal((await s.exec(['true'])).code, 0, 'the same key at 0600 works');
      s.close();
    }
  });

  it('authenticates with an ssh-agent holding the key (no key file given)', async () => {
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', [a.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const s = await connect(conn(a, { identityFile: undefined, agent: sock }));
      assert.equal((await s.exec(['echo', 'via agent'])).stdout, 'via agent\n');
      s.close();
    } finally {
      agent.kill('SIGTERM');
    }
  });

  it('reports a wrong client key as an auth failure, without retrying', async () => {
    const other = makeClientKey(join(dir, 'other'));
    let retries = 0;
    const e = await refused(connect(conn(a, { identityFile: other.privateKeyFile, retries: 3 }), { onRetry: () => retries++ }));
    assert.equal(e.kind, 'auth');
    assert.equal(retries, 0);
  });

  it('a closed port is unreachable after the configured retries with backoff', async () => {
    const port = await freePort('127.0.0.24');
    const seen: number[] = [];
    const e = await refused(connect({ ...conn(a), address: '127.0.0.24', port, retries: 2 }, { backoffMs: 10, onRetry: (n, _e, delay) => seen.push(delay) }));
    assert.equal(e.kind, 'unreachable');
    assert.match(e.message, /ECONNREFUSED/);
    assert.deepEqual(seen, [10, 20]);
  });

  it('a server that accepts TCP but never speaks SSH times out', async () => {
    const silent: Server = createServer(() => {
      /* hold the socket, say nothing */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.25', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const e = await refused(connect({ ...conn(a), address: '127.0.0.25', port, connectTimeoutMs: 700 }));
      assert.equal(e.kind, 'timeout');
    } finally {
      silent.close();
    }
  });

  it('a command over its timeout is stopped and the connection stays usable', async () => {
    const s = await connect(conn(a));
    const r = await s.exec(['sleep', '30'], { timeoutMs: 500, onTimeout: 'result' });
    assert.equal(r.timedOut, true);
    assert.equal((await s.exec(['echo', 'still here'])).stdout, 'still here\n');
    // By default a timeout is an error naming the host and the command, not an exit code to misread.
    const e = await refused(s.exec('sleep 30; echo late', { timeoutMs: 500 }));
    assert.equal(e.kind, 'command-timeout');
    assert.equal(e.message, `command timed out after 1 s on h (${a.host}:${a.port}): sleep 30; echo late`);
    assert.equal((await s.exec(['echo', 'still here'])).stdout, 'still here\n');
    s.close();
  });

  it('reaches a host through a jump host', async () => {
    const before = a.connections();
    const s = await connect(conn(b, { jump: { ...conn(a), name: 'a' } }));
    const r = await s.exec(['sh', '-c', 'echo $SSH_CONNECTION']);
    s.close();
    assert.match(r.stdout, /^127\.0\.0\.1 \d+ 127\.0\.0\.22 /, 'b sees the connection coming from a (forwarded)');
    assert.equal(a.connections() - before, 1);
  });

  it('a jump host with an unknown key is refused too', async () => {
    const e = await refused(connect(conn(b, { jump: { ...conn(a), name: 'a', hostKeys: { knownHostsFiles: [], pins: [b.hostKeyFingerprint] } } })));
    assert.equal(e.kind, 'host-key');
    assert.match(e.message, /^jump host a:/);
  });

  it('a connection killed mid-command is reported as lost', async () => {
    const s0 = await startSshd({ address: '127.0.0.26' });
    try {
      const s = await connect(conn(s0));
      const p = s.exec(['sleep', '30']);
      await new Promise((r) => setTimeout(r, 300));
      s0.kill('SIGKILL');
      const e = await refused(p);
      assert.equal(e.kind, 'disconnected');
      await refused(s.exec(['true']));
    } finally {
      await s0.stop();
    }
  });
});

// Smoke and the lab log in to the VMs they boot with the same client: shell
// lines of their own, check(), binary output, waiting for a late sshd, pins
// from the image manifest.
describe('the one SSH client for smoke and the lab (real sshd)', { skip }, () => {
  let a: SshdInstance;
  before(async () => {
    a = await startSshd({ address: '127.0.0.28' });
  });
  after(async () => {
    await a?.stop();
  });
  const target = (s: SshdInstance, pins = [s.hostKeyFingerprint]) => ({
    name: 'vm1',
    address: s.host,
    port: s.port,
    user: s.user,
    identityFile: s.identityFile,
    pins,
  });

  it('check(): stdout on exit 0; otherwise an error naming the command, the VM, host:port, exit code and the last stderr lines', async () => {
    const s = await waitForSsh(target(a), { timeoutMs: 20_000 });
    try {
      assert.equal(await s.check('echo one; echo two'), 'one\ntwo\n');
      await assert.rejects(s.check('echo a >&2; echo b >&2; echo c >&2; echo d >&2; exit 3'), (e: Error) => {
        assert.equal(e.message, `'echo a >&2; echo b >&2; echo c >&2; echo d >&2; exit 3' failed on vm1 (${a.host}:${a.port}) (exit 3): b | c | d`);
        return true;
      });
      // An argv is quoted word by word, also in the error.
      await assert.rejects(s.check(['ls', '/no such dir']), /^VrioError: 'ls '\/no such dir'' failed on vm1 .*\(exit [12]\): .*no such dir/);
      await assert.rejects(s.check('sleep 30', { timeoutMs: 500 }), /command timed out after 1 s on vm1 \(127\.0\.0\.28:\d+\): sleep 30/);
    } finally {
      s.close();
    }
  });

  it('stdin input, binary stdout as bytes, and UTF-8 split across SSH packets arrives intact', async () => {
    const s = await waitForSsh(target(a), { timeoutMs: 20_000 });
    try {
      const bin = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff));
      const r = await s.exec('cat', { input: bin });
      assert.equal(r.code, 0);
      assert.ok(r.stdoutBuf.equals(bin), 'the bytes come back unchanged');
      // 3-byte lines ('é' is 2 bytes): 32 KiB SSH packets end inside a character.
      const text = 'é\n'.repeat(100_000);
      const t = await s.exec(['cat'], { input: text });
      assert.equal(t.stdout.length, text.length);
      assert.ok(!t.stdout.includes('\ufffd'), 'no character was split into replacement characters');
      assert.equal(t.stdout, text);
    } finally {
      s.close();
    }
  });

  it('waitForSsh: retries until a late sshd answers, then gives the key it presented (for known_hosts)', async () => {
    const port = await freePort('127.0.0.29');
    let late: SshdInstance | undefined;
    const starting = new Promise<void>((r) => setTimeout(r, 1500)).then(async () => {
      late = await startSshd({ address: '127.0.0.29', port });
    });
    try {
      // The pin is only known once the server exists: take it from the key it will have.
      await starting;
      const s = await waitForSsh(target(late!), { timeoutMs: 20_000 });
      assert.equal(s.hostKey.type, 'ssh-ed25519');
      assert.equal(`${s.hostKey.type} ${s.hostKey.blob.toString('base64')}`, late!.hostPublicKey.split(' ').slice(0, 2).join(' '));
      assert.equal(s.fingerprint, late!.hostKeyFingerprint);
      s.close();
    } finally {
      await starting.catch(() => undefined);
      await late?.stop();
    }
  });

  it('waitForSsh: nobody listening gives "not ready after" with the last error; a key matching no pin is final at once', async () => {
    const port = await freePort('127.0.0.29');
    const t0 = Date.now();
    await assert.rejects(waitForSsh({ ...target(a), port }, { timeoutMs: 2000 }), (e: Error) => {
      assert.match(e.message, new RegExp(`^SSH to vm1 \\(127\\.0\\.0\\.28:${port}\\) not ready after 2 s \\(last error: cannot reach .*ECONNREFUSED\\)$`));
      return true;
    });
    assert.ok(Date.now() - t0 >= 2000, 'it kept trying until its deadline');
    const t1 = Date.now();
    const pin = 'SHA256:' + 'A'.repeat(43);
    await assert.rejects(waitForSsh(target(a, [pin]), { timeoutMs: 20_000 }), (e: Error) => {
      assert.ok(e instanceof TransportError && e.kind === 'host-key');
      assert.ok(e.message.includes(`is ${a.hostKeyFingerprint}, which matches none of the pinned fingerprints (${pin})`), e.message);
      return true;
    });
    assert.ok(Date.now() - t1 < 5000, 'refused at once, not retried until the deadline');
  });

  it("failed attempts leave no listener on the caller's abort signal (waitForSsh makes hundreds of them)", async () => {
    const ac = new AbortController();
    const port = await freePort('127.0.0.29');
    await assert.rejects(connect({ ...conn(a), address: '127.0.0.29', port, retries: 3 }, { signal: ac.signal, backoffMs: 10 }), /cannot reach/);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    await assert.rejects(waitForSsh({ ...target(a), port }, { timeoutMs: 1500, signal: ac.signal }), /not ready after/);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });
});
