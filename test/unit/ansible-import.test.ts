// Converting Ansible inventories (INI and YAML) into ours.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { stringify } from 'yaml';
import { expandHostPattern, importAnsible } from '../../provision/ansible/index.js';
import { parseInventory } from '../../provision/inventory.js';

const INI = `
# lab hosts
[iohyps]
io1 ansible_host=192.0.2.10 ansible_port=2222 vrio_interface=eth0 vrio_l2_address=10.55.0.1/24

[guests]
g[1:2] ansible_user=ops ansible_ssh_private_key_file=~/.ssh/lab vrio_iohyp=io1 vrio_interface=eth0

[rack1:children]
iohyps
guests

[rack1:vars]
ansible_ssh_common_args='-o ProxyJump=jump@bastion:2022'
datacenter=ams1

[all:vars]
ansible_user=root
ansible_password=hunter2
ntp_server=pool.ntp.org
`;

const YAML = `
all:
  vars:
    ansible_user: root
  children:
    iohyps:
      hosts:
        io1:
          ansible_host: 192.0.2.10
          vrio_interface: eth0
    guests:
      hosts:
        g1:
          ansible_host: 192.0.2.11
          vrio_iohyp: io1
          vrio_interface: eth0
          vrio_mac: "52:54:00:55:00:02"
          vrio_ip: 10.55.0.2
          db_password: secret
    web:
      hosts:
        g1:
        www1:
`;

describe('ansible import', () => {
  it('INI: hosts, ranges, roles from groups, connection vars, ProxyJump, groups flattened', () => {
    const { inventory: inv, warnings } = importAnsible(INI, 'hosts.ini');
    assert.deepEqual(inv.connection, { user: 'root' });
    assert.deepEqual(inv.vars, { ntp_server: 'pool.ntp.org' });
    assert.deepEqual(Object.keys(inv.iohyps!), ['io1']);
    assert.deepEqual(inv.iohyps!.io1, { address: '192.0.2.10', connection: { port: 2222 }, l2: { interface: 'eth0', address: '10.55.0.1/24' } });
    assert.deepEqual(Object.keys(inv.guests!), ['g1', 'g2']);
    assert.deepEqual(inv.guests!.g1.connection, { user: 'ops', identityFile: '~/.ssh/lab' });
    assert.equal(inv.guests!.g1.iohyp, 'io1');
    assert.deepEqual(inv.groups!.rack1, { hosts: ['io1', 'g1', 'g2'], connection: { jump: 'jump@bastion:2022' }, vars: { datacenter: 'ams1' } });
    assert.ok(
      warnings.some((w) => /^ansible_password \(all:vars\): not imported: a secret/.test(w)),
      'secrets are dropped loudly',
    );
    assert.ok(
      warnings.some((w) => /^set l2\.mac on 2 hosts \(g1, g2\):/.test(w)),
      'says what is still missing',
    );
    assert.ok(!JSON.stringify(inv).includes('hunter2'));
  });
  it('YAML: children, host vars, vRIO vars; the result validates; secrets and role-less hosts reported', () => {
    const { inventory: inv, warnings } = importAnsible(YAML, 'inventory.yml');
    assert.deepEqual(Object.keys(inv.guests!), ['g1']);
    assert.deepEqual(inv.guests!.g1.l2, { interface: 'eth0', mac: '52:54:00:55:00:02', ip: '10.55.0.2' });
    assert.ok(warnings.some((w) => /^db_password \(host g1\): not imported: looks like a secret/.test(w)));
    assert.ok(warnings.some((w) => /^no vRIO role for host www1: skipped/.test(w)));
    // Groups name only imported hosts: www1 was skipped.
    assert.deepEqual(inv.groups!.web.hosts, ['g1']);
    const r = parseInventory('imported.yaml', stringify(inv), { env: {} });
    assert.deepEqual(
      r.hosts.map((h) => [h.name, h.role, h.connection.address, h.connection.user]),
      [
        ['io1', 'iohyp', '192.0.2.10', 'root'],
        ['g1', 'guest', '192.0.2.11', 'root'],
      ],
    );
  });
  it('expands host ranges like Ansible', () => {
    assert.deepEqual(expandHostPattern('web[01:03].lan'), ['web01.lan', 'web02.lan', 'web03.lan']);
    assert.deepEqual(expandHostPattern('db-[a:c]'), ['db-a', 'db-b', 'db-c']);
    assert.deepEqual(expandHostPattern('n[0:10:5]'), ['n0', 'n5', 'n10']);
  });
});

// Hostile ranges through the real CLI. Each run has a timeout (a hang fails
// the test instead of stalling it) and a small heap (a runaway expansion dies
// in seconds, not after eating the machine's memory).
describe('vrio inventory import: hostile host ranges are bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-ansible-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const importFile = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), 'inventory', 'import', f], {
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
      env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '--max-old-space-size=256' },
    });
    return { f, code: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout, ms: Date.now() - t0 };
  };

  it('a step of 0 (INI) exits 2 naming file:line and the rule, at once', () => {
    const r = importFile('step0.ini', '[iohyps]\nio1 vrio_interface=eth0\nio[1:5:0] vrio_interface=eth0\n');
    assert.equal(r.signal, null, `killed after ${r.ms} ms (hang)`);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${r.f}:3:1: (root): host range [1:5:0]: the step must not be zero [host-range]`), r.stderr);
    assert.equal(r.stdout, '', 'nothing half-converted is printed');
  });

  it('a step of 0 (YAML) exits 2 naming file:line, the group and the rule', () => {
    const r = importFile('step0.yml', 'all:\n  children:\n    guests:\n      hosts:\n        "g[a:c:0]":\n');
    assert.equal(r.signal, null, `killed after ${r.ms} ms (hang)`);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${r.f}:5:1: (root): host range [a:c:0]: the step must not be zero (hosts of group guests) [host-range]`), r.stderr);
  });

  it('five ranges in one pattern (10^10 hosts) exit 2 with the count, no stack overflow', () => {
    const r = importFile('nested.ini', '[guests]\ng[0:99][0:99][0:99][0:99][0:99]\n');
    assert.equal(r.signal, null, `killed after ${r.ms} ms (hang)`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /nested\.ini:2:1: \(root\): g\[0:99\]\[0:99\]\[0:99\]\[0:99\]\[0:99\] expands to 10000000000 hosts, more than the 100000 allowed \[host-range\]/,
    );
    assert.doesNotMatch(r.stderr, /Maximum call stack|heap/);
  });

  it('patterns that fit alone are capped in total across the file', () => {
    const r = importFile('total.ini', '[guests]\na[0:59999]\nb[0:59999]\n');
    assert.equal(r.signal, null, `killed after ${r.ms} ms (hang)`);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /total\.ini:3:1: .*more than the 40000 allowed \[host-range\]/);
    assert.match(r.stderr, /hint: .*at most 100000 hosts per import/);
  });

  it('a backwards range makes no host, as in Ansible, and the import says nothing was imported (exit 2); a mixed range is refused', () => {
    const back = importFile('back.ini', '[guests]\nh[9:1]\n');
    assert.equal(back.code, 2, back.stderr);
    assert.match(back.stderr, /no host was imported/);
    assert.equal(back.stdout, '');
    const mixed = importFile('odd.ini', '[guests]\nh[1:z]\n');
    assert.equal(mixed.code, 2, mixed.stderr);
    assert.ok(mixed.stderr.includes('give two numbers or two single letters'), mixed.stderr);
  });

  it('a chain of 20,000 child groups is read without recursion and refused for its size (our groups: at most 10,000 entries), quickly', () => {
    const n = 20_000;
    const lines = ['[guests:children]', 'c0'];
    for (let i = 0; i < n - 1; i++) lines.push(`[c${i}:children]`, `c${i + 1}`);
    lines.push(`[c${n - 1}]`, 'g1 vrio_iohyp=io1 vrio_interface=eth0 vrio_mac=52:54:00:00:00:02 vrio_ip=10.0.0.2', '[iohyps]', 'io1 vrio_interface=eth0');
    const r = importFile('chain.ini', lines.join('\n') + '\n');
    assert.equal(r.signal, null, `killed after ${r.ms} ms (hang)`);
    assert.equal(r.code, 2, r.stderr.slice(-2000));
    assert.match(r.stderr, /\/groups: a map of 20000 entries; at most 10000 \[max-items\]/);
    assert.doesNotMatch(r.stderr, /Maximum call stack/);
  });
});
