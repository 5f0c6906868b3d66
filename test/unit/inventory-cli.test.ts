// The inventory verbs as users run them: exit codes and messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { eventOf } from '../support/cli.js';

const vrio = (...args: string[]) =>
  spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', VRIO_SSH_KEY: '/nonexistent/key' },
  });
const dir = mkdtempSync(join(tmpdir(), 'vrio-inv-cli-'));

describe('vrio inventory / provision CLI', () => {
  it('check: a valid inventory lists its hosts, exit 0', () => {
    const r = vrio('inventory', 'check', dataPath('provision/examples/lab.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^guest2 +guest of iohyp1 +root@127\.0\.0\.1:2203 /m);
    assert.match(r.stderr, /valid \(3 hosts\)/);
  });
  it('check: every problem with file:line:col, pointer and rule, exit 2', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(
      f,
      'version: 1\niohyps:\n  io1:\n    l2: { interface: eth0 }\n    cpuAffinity: 0\nguests:\n  g1:\n    iohyp: io9\n    l2: { interface: eth0, mac: "52:54:00:00:00:02", ip: 10.0.0.2 }\n',
    );
    const r = vrio('inventory', 'check', f);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(`${f}:5:18: /iohyps/io1/cpuAffinity: must NOT be valid [not]`), r.stderr);
    assert.match(r.stderr, /hint: use 1 \(one I\/O core\); 0 makes the guest panic/);
  });
  it('check: semantic problems are reported the same way', () => {
    const f = join(dir, 'sem.yaml');
    writeFileSync(
      f,
      'version: 1\niohyps:\n  io1:\n    l2: { interface: eth0 }\nguests:\n  g1:\n    iohyp: io2\n    l2: { interface: eth0, mac: "52:54:00:00:00:02", ip: 10.0.0.2 }\n',
    );
    const r = vrio('inventory', 'check', f);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(`${f}:7:12: /guests/g1/iohyp: IOhyp 'io2' is not in /iohyps [iohyp-exists]`), r.stderr);
    assert.match(r.stderr, /did you mean 'io1'/);
  });
  it('check --json reports hosts', () => {
    const r = vrio('inventory', 'check', dataPath('provision/examples/ci.yaml'), '--json');
    assert.equal(r.status, 0);
    assert.deepEqual(
      eventOf(r.stdout, 'inventory').hosts.map((h: { name: string }) => h.name),
      ['ci-iohyp'],
    );
  });
  it('schema prints the published JSON Schema', () => {
    const r = vrio('inventory', 'schema');
    assert.equal(JSON.parse(r.stdout).$schema, 'https://json-schema.org/draft/2020-12/schema');
  });
  it('provision without -i is a usage error', () => {
    const r = vrio('provision', 'plan');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no inventory given/);
  });
  it('provision with a bad inventory runs nothing and exits 2 (JSON error event)', () => {
    const f = join(dir, 'bad2.yaml');
    writeFileSync(f, 'version: 1\niohyps:\n  io1:\n    l2: { interface: "eth0; reboot" }\n');
    const r = vrio('provision', 'apply', '-i', f, '--json');
    assert.equal(r.status, 2);
    const ev = eventOf(r.stdout, 'error');
    assert.equal(ev.issues[0].pointer, '/iohyps/io1/l2/interface');
  });
  it('--forks out of range is a usage error', () => {
    const r = vrio('provision', 'plan', '-i', dataPath('provision/examples/lab.yaml'), '--forks', '0');
    assert.equal(r.status, 2);
  });
});
