// Managed files against a real OpenSSH sshd whose every session runs under
// strace: what a host's `ps` could show is captured exactly (each execve's
// argv, and the command sshd was asked to run), then searched for a 0600
// secret. Also: content that used to overrun the argument limit (40 KB of
// quotes; two 10 kB files in one batch), a symlink planted at every name the
// old temp file could have had, and a FIFO (and a link to /dev/zero) at a
// managed path, which the facts script used to read forever.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';

const strace = spawnSync('strace', ['-V']).status === 0;
const skip = !sshdSupport().ok ? sshdSupport().reason : !strace ? 'strace not installed (apt-get install strace)' : false;

describe('provision files: no content in process arguments, hostile paths', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-files-hostile-'));
  const root = join(dir, 'host');
  const trace = join(dir, 'trace');
  const secret = `vrio-secret-${randomBytes(16).toString('hex')}`;
  let s: SshdInstance;
  let inv: string;
  const inventory = (files: string[]) => {
    const yaml = [
      'version: 1',
      'connection: { user: root, connectTimeout: 10, commandTimeout: 30, retries: 0 }',
      'iohyps:',
      '  h:',
      `    address: ${s.host}`,
      `    connection: { port: ${s.port}, identityFile: ${s.identityFile} }`,
      `    hostKey: "${s.hostKeyFingerprint}"`,
      '    l2: { interface: lo }',
      '    modules: [ { name: vrio_test } ]',
      '    files:',
      ...files.map((f) => `      - ${f}`),
    ];
    writeFileSync(inv, yaml.join('\n') + '\n');
  };
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args, '-i', inv], {
      encoding: 'utf8',
      timeout: 90_000,
      killSignal: 'SIGKILL',
      env: { ...process.env, NO_COLOR: '1' },
    });
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    return { code: r.status, signal: r.signal, out: r.stdout + r.stderr, events };
  };
  /** Everything the host was asked to run and every argv it executed, as one text. */
  const captured = () =>
    readdirSync(trace)
      .map((f) => readFileSync(join(trace, f), 'utf8'))
      .join('\n');

  before(async () => {
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(trace);
    // sshd runs the wrapper instead of the command: it records the command (it
    // is the argv of the session's shell) and runs it under strace -f, which
    // logs the full argv of every process the command starts.
    const wrapper = join(dir, 'wrapper.sh');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$SSH_ORIGINAL_COMMAND" > ${trace}/command.$$`,
        `exec strace -f -qq -e trace=execve -s 1000000 -o ${trace}/execve.$$ /bin/sh -c "$SSH_ORIGINAL_COMMAND"`,
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
    s = await startSshd({ address: '127.0.0.1', extraConfig: [`ForceCommand ${wrapper}`] });
    inv = join(dir, 'inv.yaml');
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 0600 secret is in no output, no --json, no command line on the host (batch and single write)', () => {
    const target = join(root, 'etc/secret.conf');
    inventory([`{ path: ${target}, content: "${secret}\\n", mode: "0600" }`, `{ path: ${root}/etc/other.conf, content: "not secret\\n" }`]);
    const runs = [
      cli(['provision', 'plan', '--only', 'files', '--diff', '-v']),
      cli(['provision', 'plan', '--only', 'files', '--json']),
      cli(['provision', 'apply', '--only', 'files', '-v', '--diff']),
    ];
    assert.equal(runs[2].code, 0, runs[2].out);
    assert.equal(readFileSync(target, 'utf8'), `${secret}\n`);
    assert.equal(statSync(target).mode & 0o777, 0o600);
    // Drift on the secret alone: one change, which runs outside a batch.
    writeFileSync(target, 'edited\n');
    runs.push(cli(['provision', 'apply', '--only', 'files', '--json']));
    assert.equal(runs[3].code, 0, runs[3].out);
    assert.deepEqual(
      runs[3].events.filter((e) => e.type === 'change').map((e) => e.kind),
      ['file-write'],
    );
    assert.equal(readFileSync(target, 'utf8'), `${secret}\n`);
    const b64 = Buffer.from(`${secret}\n`).toString('base64').slice(0, 40);
    for (const r of runs) {
      assert.ok(!r.out.includes(secret), `secret in the CLI's output:\n${r.out}`);
      assert.ok(!r.out.includes(b64), 'nor its base64');
    }
    const plan = runs[1].events.find((e) => e.type === 'plan')!.changes.find((c: any) => c.kind === 'file-write' && c.data.path === target);
    assert.equal(plan.data.bytes, secret.length + 1, 'the plan shows the size');
    assert.match(plan.data.sha256, /^[0-9a-f]{64}$/, 'and the sha256');
    const seen = captured();
    assert.match(seen, /execve\("[^"]*mktemp"/, 'the capture sees the write commands');
    assert.ok(!seen.includes(secret), 'the secret is in no argv the host ran');
    assert.ok(!seen.includes(b64), 'nor its base64');
  });

  it('a 40,000-byte file of quotes, and two 10 kB files in one batch, are written', () => {
    writeFileSync(join(dir, 'quotes'), "'".repeat(40_000));
    const ten = (c: string) => Buffer.from(`${c}'"$\`\\ `.repeat(1250)).subarray(0, 10_000);
    writeFileSync(join(dir, 'ten-a'), ten('a'));
    writeFileSync(join(dir, 'ten-b'), ten('b'));
    inventory([`{ path: ${root}/etc/quotes, source: quotes }`, `{ path: ${root}/etc/ten-a, source: ten-a }`, `{ path: ${root}/etc/ten-b, source: ten-b }`]);
    const r = cli(['provision', 'apply', '--only', 'files', '--json']);
    assert.equal(r.code, 0, r.out);
    assert.equal(readFileSync(join(root, 'etc/quotes'), 'utf8'), "'".repeat(40_000));
    assert.deepEqual(readFileSync(join(root, 'etc/ten-a')), ten('a'));
    assert.deepEqual(readFileSync(join(root, 'etc/ten-b')), ten('b'));
  });

  it('a symlink planted at every old temp name does not redirect the write', () => {
    const target = join(root, 'etc/planted.conf');
    const stolen = join(dir, 'stolen');
    // The old temp name was "$1.vrio-tmp.$$": one link per possible pid (with a
    // huge pid_max, the next 60,000 pids: they are handed out in order).
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    const pids =
      pidMax <= 65_536 ? Array.from({ length: pidMax - 1 }, (_, i) => i + 2) : Array.from({ length: 60_000 }, (_, i) => (last + 1 + i) % pidMax || 1);
    for (const pid of pids) symlinkSync(stolen, `${target}.vrio-tmp.${pid}`);
    try {
      inventory([`{ path: ${target}, content: "${secret}\\n", mode: "0600" }`, `{ path: ${root}/etc/other.conf, content: "other\\n" }`]);
      const r = cli(['provision', 'apply', '--only', 'files', '--json']);
      assert.equal(r.code, 0, r.out);
      assert.ok(!existsSync(stolen), 'nothing was written through a link');
      assert.ok(lstatSync(target).isFile(), 'the target is a regular file, not the planted link');
      assert.equal(readFileSync(target, 'utf8'), `${secret}\n`);
      assert.deepEqual(
        readdirSync(join(root, 'etc')).filter((f) => f.startsWith('planted.conf.vrio-') && !f.startsWith('planted.conf.vrio-tmp.')),
        [],
        'no temp file left',
      );
    } finally {
      for (const f of readdirSync(join(root, 'etc'))) if (f.startsWith('planted.conf.vrio-tmp.')) rmSync(join(root, 'etc', f), { force: true });
    }
  });

  it('a FIFO and a link to /dev/zero at managed paths: facts finish, each is reported, nothing hangs', () => {
    const fifo = join(root, 'etc/fifo.conf');
    const zero = join(root, 'etc/zero.conf');
    execFileSync('mkfifo', [fifo]);
    symlinkSync('/dev/zero', zero);
    inventory([`{ path: ${fifo}, content: "x" }`, `{ path: ${zero}, content: "y" }`]);
    // commandTimeout is 30 s: a facts script stuck on the FIFO ends as "timed out".
    for (const only of [['--only', 'files'], []]) {
      const r = cli(['provision', 'plan', ...only, '--json']);
      assert.equal(r.signal, null, 'the CLI ended by itself');
      assert.equal(r.code, 1, r.out);
      assert.ok(!/timed out/.test(r.out), `facts finished:\n${r.out}`);
      const errors = r.events.find((e) => e.type === 'plan')!.errors as string[];
      assert.ok(
        errors.includes(
          `${fifo} exists as a FIFO, device or socket, not a regular file (vrio does not write through links, over directories or into special files)`,
        ),
        errors.join('\n'),
      );
      assert.ok(
        errors.some((e) => e.startsWith(`${zero} exists as a link, not a regular file`)),
        errors.join('\n'),
      );
    }
  });
});
