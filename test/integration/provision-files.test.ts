// The files operation end to end against real OpenSSH servers on loopback:
// `vrio provision apply --only files` writes directories and files with their
// content and modes, a second apply changes nothing, drift (content, mode) is
// found by plan and fixed, state: absent removes, and a host whose path is in
// the way fails alone while the other host is still done.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const skip = prerequisite(sshdSupport().ok ? false : sshdSupport().reason);
// Bytes no command line carries as text: NUL, invalid UTF-8.
const BLOB = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0xff, 0xfe, 0x0a, 0x00, 0x27]);

describe('provision files against real sshd hosts', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-files-test-'));
  const roots = { a: join(dir, 'host-a'), b: join(dir, 'host-b') };
  let a: SshdInstance, b: SshdInstance;
  let inv: string;
  const write = (extraA = '') => {
    writeFileSync(join(dir, 'issue.txt'), 'from a source file\n');
    writeFileSync(join(dir, 'blob.bin'), BLOB);
    const files = (root: string) => [
      `      - { path: ${root}/etc/vrio, type: directory }`,
      `      - { path: ${root}/etc/vrio/modules.conf, content: "vrio_eth l2_packet_size=8100\\n", mode: "0600" }`,
      `      - { path: ${root}/etc/issue, source: issue.txt, mode: "0640" }`,
      `      - { path: ${root}/old, state: absent }`,
      `      - { path: ${root}/bin/blob, source: blob.bin, mode: "0755" }`,
    ];
    const hostYaml = (name: string, s: SshdInstance, root: string, extra = '') =>
      [
        `  ${name}:`,
        `    address: ${s.host}`,
        `    connection: { port: ${s.port}, identityFile: ${s.identityFile} }`,
        `    hostKey: "${s.hostKeyFingerprint}"`,
        '    l2: { interface: lo }',
        '    modules: [ { name: vrio_test } ]',
        '    files:',
        ...files(root),
        extra,
      ]
        .filter(Boolean)
        .join('\n');
    writeFileSync(
      inv,
      ['version: 1', 'connection: { user: root, connectTimeout: 5, retries: 0 }', 'iohyps:', hostYaml('a', a, roots.a, extraA), hostYaml('b', b, roots.b)].join(
        '\n',
      ) + '\n',
    );
  };
  before(async () => {
    [a, b] = await Promise.all([startSshd({ address: '127.0.0.1' }), startSshd({ address: '127.0.0.1' })]);
    inv = join(dir, 'inv.yaml');
    write();
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    return { code: r.status, events, stderr: r.stderr, recap: events.find((e) => e.type === 'recap') };
  };
  const changed = (events: Record<string, any>[]) =>
    events.filter((e) => e.type === 'change' && e.status === 'changed').map((e) => `${e.host} ${e.change?.kind ?? e.kind}`);
  const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

  it('apply writes every entry with its content and mode, on both hosts', () => {
    mkdirSync(roots.a, { recursive: true });
    writeFileSync(join(roots.a, 'old'), 'to be removed');
    const r = cli(['provision', 'apply', '-i', inv, '--only', 'files', '--json']);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.type === 'host-error')));
    for (const root of [roots.a, roots.b]) {
      assert.equal(readFileSync(join(root, 'etc/vrio/modules.conf'), 'utf8'), 'vrio_eth l2_packet_size=8100\n');
      assert.equal(mode(join(root, 'etc/vrio/modules.conf')), '600');
      assert.equal(mode(join(root, 'etc/vrio')), '755');
      assert.equal(readFileSync(join(root, 'etc/issue'), 'utf8'), 'from a source file\n');
      assert.equal(mode(join(root, 'etc/issue')), '640');
      assert.deepEqual(readFileSync(join(root, 'bin/blob')), BLOB, 'binary content arrives byte for byte');
      assert.equal(mode(join(root, 'bin/blob')), '755');
    }
    assert.ok(!existsSync(join(roots.a, 'old')), 'state: absent removed the file');
    assert.equal(changed(r.events).length, 9, '4 entries per host + one removal on a');
  });

  it('a second apply changes nothing', () => {
    const r = cli(['provision', 'apply', '-i', inv, '--only', 'files', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(changed(r.events), []);
  });

  it('plan finds drift in content and mode without touching the host; apply repairs it', () => {
    writeFileSync(join(roots.b, 'etc/vrio/modules.conf'), 'edited by hand\n');
    chmodSync(join(roots.b, 'etc/issue'), 0o666);
    const p = cli(['provision', 'plan', '-i', inv, '--only', 'files', '--json']);
    const plan = p.events.find((e) => e.type === 'plan' && e.host === 'b')!;
    assert.deepEqual(
      plan.changes.map((c: any) => c.kind),
      ['file-write', 'file-mode'],
    );
    assert.equal(readFileSync(join(roots.b, 'etc/vrio/modules.conf'), 'utf8'), 'edited by hand\n', 'plan is read-only');
    assert.deepEqual(p.events.find((e) => e.type === 'plan' && e.host === 'a')!.changes, []);
    const r = cli(['provision', 'apply', '-i', inv, '--only', 'files', '--json']);
    assert.equal(r.code, 0);
    assert.deepEqual(changed(r.events), ['b file-write', 'b file-mode']);
    assert.equal(readFileSync(join(roots.b, 'etc/vrio/modules.conf'), 'utf8'), 'vrio_eth l2_packet_size=8100\n');
    assert.equal(mode(join(roots.b, 'etc/issue')), '640');
  });

  it('a directory in the way fails that host only, naming the path; nothing runs there', () => {
    write(`      - { path: ${roots.a}/etc/vrio.d, content: "x" }`);
    mkdirSync(join(roots.a, 'etc/vrio.d'), { recursive: true });
    writeFileSync(join(roots.b, 'etc/issue'), 'drift\n');
    const r = cli(['provision', 'apply', '-i', inv, '--only', 'files', '--json']);
    assert.equal(r.code, 1);
    const err = r.events.find((e) => e.type === 'host-error' && e.host === 'a');
    assert.match(String(err?.message), /etc\/vrio.d exists as a directory, not a regular file/);
    assert.deepEqual(changed(r.events), ['b file-write'], 'the other host is still brought to its state');
  });
  it('-v shows each remote command (never a file content: that goes on stdin), -vv also what it printed', () => {
    write();
    writeFileSync(join(roots.b, 'etc/vrio/modules.conf'), 'drifted\n');
    chmodSync(join(roots.b, 'etc/issue'), 0o644);
    const v = cli(['provision', 'apply', '-i', inv, '--only', 'files', '-v']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, new RegExp(`^b +\\$ chmod 0640 -- ${roots.b}/etc/issue$`, 'm'), 'the chmod as it runs');
    assert.match(v.stderr, /^b +\$ sh -c .* < \(29 B on stdin\)$/m, 'the write command, with only the size of what goes on stdin');
    assert.doesNotMatch(v.stderr, /vrio_eth l2_packet_size=8100/, 'the content never shows');
    assert.doesNotMatch(v.stderr, /^ +\| /m, '-v does not show command output');
    writeFileSync(join(roots.b, 'etc/issue'), 'drift again\n');
    const vv = cli(['provision', 'apply', '-i', inv, '--only', 'files', '-vv']);
    assert.equal(vv.code, 0, vv.stderr);
    assert.match(vv.stderr, /^b +exit 0/m, '-vv shows how each command ended');
  });
  it('--diff: a unified diff of world-readable text files; a file others may not read shows only size and hash', () => {
    write(`      - { path: ${roots.a}/etc/motd, content: "welcome\\nto the lab\\n", mode: "0644" }`);
    assert.equal(cli(['provision', 'apply', '-i', inv, '--only', 'files', '--json']).code, 0);
    writeFileSync(join(roots.a, 'etc/motd'), 'welcome\nto the LAB\n');
    writeFileSync(join(roots.a, 'etc/vrio/modules.conf'), 'private drift\n');
    const run = (verb: string) =>
      spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), 'provision', verb, '-i', inv, '--only', 'files', '--diff'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
    for (const verb of ['plan', 'apply']) {
      const r = run(verb);
      const out = r.stdout + r.stderr;
      assert.equal(r.status, 0, out);
      assert.match(out, new RegExp(`--- ${roots.a}/etc/motd \\(host\\)`), `${verb}: the unified diff header`);
      assert.match(out, /^ +-to the LAB$/m, `${verb}: the host's line`);
      assert.match(out, /^ +\+to the lab$/m, `${verb}: the inventory's line`);
      assert.match(out, /etc\/vrio\/modules\.conf: file 0600 sha256:[0-9a-f]{12} -> file 0600 sha256:[0-9a-f]{12}/, `${verb}: the 0600 file by hash`);
      assert.doesNotMatch(out, /private drift|l2_packet_size=8100/, `${verb}: never the content of a file others may not read`);
    }
    assert.equal(readFileSync(join(roots.a, 'etc/motd'), 'utf8'), 'welcome\nto the lab\n');
  });
});
