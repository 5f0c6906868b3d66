// connection.become: sudo against a real OpenSSH server on loopback, logged
// into as a non-root user (created here, with a sudoers drop-in, and removed
// after): facts and changes run through sudo -n as root, and a sudo that asks
// for a password is a clear error naming the host and the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { events, tempDir, vrio } from '../support/cli.js';
import { prerequisite } from '../support/prereq.js';
import { sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';

const USER = `vriobecome${process.pid % 100000}`;
const SUDOERS = `/etc/sudoers.d/vrio-test-${USER}`;
const missing =
  process.getuid?.() !== 0
    ? 'creating a test user needs root'
    : !sshdSupport().ok
      ? sshdSupport().reason
      : !existsSync('/usr/bin/sudo')
        ? 'sudo not installed (apt-get install sudo)'
        : !existsSync('/usr/sbin/useradd')
          ? 'useradd not found (apt-get install passwd)'
          : false;
const skip = prerequisite(missing);

describe('connection.become: sudo (real sshd, non-root login)', { skip }, () => {
  const { dir, cleanup } = tempDir('vrio-become-');
  const rootOnly = join(dir, 'root-only');
  let s: SshdInstance;
  let inv: string;
  before(async () => {
    chmodSync(dir, 0o755);
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', USER]);
    // '*': no password, but not a locked account (sshd refuses those).
    execFileSync('usermod', ['-p', '*', USER]);
    writeFileSync(SUDOERS, `${USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    mkdirSync(rootOnly, { mode: 0o700 });
    // The user must be able to read its authorized keys: its own file, not the root-only default.
    s = await startSshd({ address: '127.0.0.1', extraConfig: [`Match User ${USER}`, `  AuthorizedKeysFile ${join(dir, 'authorized_keys')}`] });
    writeFileSync(join(dir, 'authorized_keys'), s.clientPublicKey + '\n', { mode: 0o644 });
    inv = join(dir, 'inv.yaml');
  });
  after(async () => {
    await s?.stop();
    rmSync(SUDOERS, { force: true });
    try {
      execFileSync('userdel', [USER], { stdio: 'ignore' });
    } catch {
      /* not created */
    }
    cleanup();
  });
  const write = (become: boolean, transport = 'ssh2') =>
    writeFileSync(
      inv,
      [
        'version: 1',
        'iohyps:',
        '  a:',
        `    address: ${s.host}`,
        `    connection: { port: ${s.port}, user: ${USER}, identityFile: ${s.identityFile}, agent: false, connectTimeout: 5, retries: 0${become ? ', become: sudo' : ''}, transport: ${transport} }`,
        `    hostKey: "${s.hostKeyFingerprint}"`,
        '    l2: { interface: lo }',
        '    modules: [ { name: vrio_test } ]',
        '    files:',
        `      - { path: ${rootOnly}/vrio.conf, content: "x\\n", mode: "0600" }`,
      ].join('\n') + '\n',
    );
  const run = (...args: string[]) => {
    const r = vrio(['provision', ...args, '-i', inv, '--json'], { env: { SSH_AUTH_SOCK: '' } });
    return { ...r, errors: events(r).filter((e) => e.type === 'host-error' || (e.type === 'status' && e.errors?.length)) };
  };

  it('without become the non-root login cannot write a root-only path', () => {
    write(false);
    const r = run('apply', '--only', 'files');
    assert.equal(r.code, 1, r.stdout);
    assert.ok(!existsSync(join(rootOnly, 'vrio.conf')));
  });

  it('become: sudo runs facts and changes as root through sudo -n', () => {
    write(true);
    const st = run('status');
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const r = run('apply', '--only', 'files');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const f = statSync(join(rootOnly, 'vrio.conf'));
    assert.deepEqual([f.uid, (f.mode & 0o777).toString(8)], [0, '600']);
    const plan = run('plan', '--only', 'files');
    assert.deepEqual(events(plan).find((e) => e.type === 'plan' && e.host === 'a')?.changes, [], 'facts read the root-only file: nothing left to change');
  });

  it('become: sudo over the openssh transport: facts and changes run as root through sudo -n', () => {
    rmSync(join(rootOnly, 'vrio.conf'), { force: true });
    write(true, 'openssh');
    const st = run('status');
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const r = run('apply', '--only', 'files');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const f = statSync(join(rootOnly, 'vrio.conf'));
    assert.deepEqual([f.uid, (f.mode & 0o777).toString(8)], [0, '600']);
    const plan = run('plan', '--only', 'files');
    assert.deepEqual(events(plan).find((e) => e.type === 'plan' && e.host === 'a')?.changes, [], 'facts read the root-only file: nothing left to change');
  });

  it('a sudo that asks for a password is an error naming the host, the user and the fix', () => {
    rmSync(SUDOERS);
    write(true);
    const r = run('status');
    assert.equal(r.code, 1, r.stdout);
    const text = JSON.stringify(r.errors);
    assert.match(text, /sudo on a \(127\.0\.0\.1:\d+\) asks vriobecome\d+ for a password/);
    assert.match(text, /NOPASSWD/);
  });
});
