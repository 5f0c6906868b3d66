// Each difference between `vrio inventory import` and ansible-inventory found
// in issue #17, as a small inventory checked against the real ansible-inventory
// (test/support/ansible.ts compareFile: same hosts, addresses, ports, users,
// groups and plain variables, everything else warned), plus the CLI's exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';
import { importAnsible, importAnsibleFile } from '../../provision/ansible/index.js';
import { ansibleList, ansibleMissing, compareFile, emptyFigures } from '../support/ansible.js';
import { prerequisite } from '../support/prereq.js';

const dir = mkdtempSync(join(tmpdir(), 'vrio-ansible-fidelity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Write files (path -> text) under a fresh directory; returns the first file's path. */
let n = 0;
function files(spec: Record<string, string>): string {
  const base = join(dir, String(n++));
  let first = '';
  for (const [p, text] of Object.entries(spec)) {
    const f = join(base, p);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, text);
    first ||= f;
  }
  return first;
}

/** Same as Ansible, host by host; returns the figures for further checks. */
function matchesAnsible(file: string, opts = {}, truthFrom = file) {
  const f = emptyFigures();
  assert.deepEqual(compareFile(file, f, dir, opts, truthFrom), []);
  assert.ok(f.compared > 0, 'some host was compared');
  return f;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('inventory import agrees with ansible-inventory', { skip: prerequisite(ansibleMissing()) }, () => {
  it('group variables merge by depth, then ansible_group_priority, then name (not file order)', () => {
    const f = files({
      'prec.ini': `[iohyps]
io1 vrio_interface=eth1
[zeta]
io1
[alpha]
io1
[prio]
io1
[outer:children]
zeta
[zeta:vars]
site=zeta
[alpha:vars]
site=alpha
dc=alpha
[prio:vars]
ansible_group_priority=0
dc=prio
[outer:vars]
site=outer
`,
    });
    matchesAnsible(f, {});
    const { inventory } = importAnsibleFile(f, {});
    // site: alpha (depth 1) < zeta (depth 2, child of outer); dc: prio (priority 0) < alpha.
    assert.equal(ansibleList(f).hostvars.io1.site, 'zeta');
    assert.equal(ansibleList(f).hostvars.io1.dc, 'alpha');
    assert.ok(inventory.groups);
  });

  it('[iohyps:vars], [guests:vars] and [all:vars] keep every setting, not only vrio_*', () => {
    const f = files({
      'roles.ini': `[iohyps]
io1 vrio_interface=eth1
[guests]
g1 vrio_interface=eth0 vrio_iohyp=io1 vrio_mac=52:54:00:00:00:02 vrio_ip=10.0.0.2/24
[iohyps:vars]
ansible_user=ops
ntp=10.0.0.1
[guests:vars]
ansible_port=2200
tier=guest
[all:vars]
site=ams
ansible_ssh_private_key_file=~/.ssh/lab
`,
    });
    matchesAnsible(f, {});
  });

  it('host:port, [v6]:port, ansible_ssh_host and a group-level ansible_host', () => {
    const f = files({
      'ports.ini': `[iohyps]
io1:2222 vrio_interface=eth1
[2001:db8::10]:2200 vrio_interface=eth1
io3 ansible_ssh_host=192.0.2.3 ansible_host=192.0.2.99 vrio_interface=eth1
io4 vrio_interface=eth1
[proxied]
io4
[proxied:vars]
ansible_host=192.0.2.4
`,
    });
    matchesAnsible(f, {});
    const { inventory } = importAnsibleFile(f, {});
    assert.deepEqual(inventory.iohyps!['host-2001-db8-10'], { address: '2001:db8::10', connection: { port: 2200 }, l2: { interface: 'eth1' } });
  });

  it('a YAML file without a .yml extension is read as YAML (content decides, as in Ansible)', () => {
    const f = files({
      hosts: `---
# YAML inventory called "hosts"
all:
  children:
    iohyps:
      hosts:
        io1:
          ansible_host: 192.0.2.1
          vrio_interface: eth1
`,
    });
    matchesAnsible(f, {});
  });

  it('a YAML hosts: string is one host, not one host per character', () => {
    const f = files({ 'str.yml': 'iohyps:\n  hosts: io-node-one\n  vars:\n    vrio_interface: eth1\n' });
    const fig = matchesAnsible(f, {});
    assert.equal(fig.hosts, 1);
  });

  it('mail[:3] expands from 0; ranges are exact past 10,000 hosts', () => {
    const f = files({ 'mail.ini': '[iohyps]\nmail[:3] vrio_interface=eth1\n' });
    assert.equal(matchesAnsible(f, {}).hosts, 4);
    const big = importAnsible('[iohyps]\nn[00000:10000] vrio_interface=eth1\n', 'big.ini');
    assert.equal(big.names.size, 10_001);
    assert.equal(Object.keys(big.inventory.iohyps!).at(-1), 'n10000');
    const bigYaml = importAnsible('iohyps:\n  hosts:\n    "n[00000:10000]":\n      vrio_interface: eth1\n', 'big.yml');
    assert.equal(bigYaml.names.size, 10_001);
  });

  it("[web:hosts] is a host section; '#' inside quotes is text; no, yes and 007 stay strings", () => {
    const f = files({
      'types.ini': `[iohyps]
io1 vrio_interface=eth1 motd="hello # world" a=no b=yes c=007 d=True e='x # y' f=0x10
[web:hosts]
io1
[web:vars]
g=no
h=007
i=1.5
`,
    });
    matchesAnsible(f, {});
    const v = ansibleList(f).hostvars.io1;
    assert.deepEqual([v.motd, v.a, v.b, v.c, v.d, v.e, v.f, v.g, v.h], ['hello # world', 'no', 'yes', '007', true, 'x # y', 16, 'no', '007']);
  });

  it('ansible_connection=local is not provisioned over SSH: the host is skipped with a warning', () => {
    const f = files({ 'local.ini': '[iohyps]\nlocalhost ansible_connection=local vrio_interface=eth1\nio1 vrio_interface=eth1\n' });
    matchesAnsible(f, {});
    const r = importAnsibleFile(f, {});
    assert.deepEqual([...r.names.keys()], ['io1']);
    assert.ok(
      r.warnings.some((w) => /^ansible_connection=local on host localhost: skipped/.test(w)),
      r.warnings.join('\n'),
    );
  });

  it('an IP-address host name becomes a valid name with address:, and the result passes check', () => {
    const f = files({ 'ip.ini': '[iohyps]\n192.0.2.10 vrio_interface=eth1\n' });
    matchesAnsible(f, {});
    const out = join(dirname(f), 'out.yaml');
    const r = cli(['inventory', 'import', f, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /host 192\.0\.2\.10 is named host-192\.0\.2\.10 here .*address: 192\.0\.2\.10/);
    const c = cli(['inventory', 'check', out]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /host-192\.0\.2\.10 +iohyp +root@192\.0\.2\.10:22/);
  });

  it("a file Ansible rejects is rejected (malformed INI), naming file:line and Ansible's reason", () => {
    const cases: [string, string, RegExp][] = [
      ['vars-undefined.ini', '[iohyps]\nio1\n[web:vars]\nx=1\n', /:3:1: .*Section \[web:vars\] not valid for undefined group: web/],
      ['children-undefined.ini', '[iohyps]\nio1\n[web:children]\nnosuch\n', /:4:1: .*Section \[web:children\] includes undefined group: nosuch/],
      ['unknown-section.ini', '[iohyps:members]\nio1\n', /:1:1: .*Section \[iohyps:members\] has unknown type: members/],
      ['space-in-section.ini', '[io hyps]\nio1\n', /:1:1: .*Invalid section entry: '\[io hyps\]'/],
      ['bare-word.ini', '[iohyps]\nio1 eth1\n', /:2:1: .*Expected key=value host variable assignment, got: eth1/],
      ['open-quote.ini', '[iohyps]\nio1 motd="hello\n', /:2:1: .*No closing quotation/],
      ['trailing-colon.ini', '[iohyps]\nio1:\n', /:2:1: .*ending in ':' is not allowed/],
      ['vars-no-equals.ini', '[iohyps]\nio1\n[iohyps:vars]\nvrio_interface\n', /:4:1: .*Expected key=value, got: vrio_interface/],
      ['children-colon.ini', '[iohyps]\nio1\n[all:children]\niohyps:x\n', /:4:1: .*Expected group name, got: iohyps:x/],
      ['loop.ini', '[a:children]\nb\n[b:children]\na\n[iohyps]\nio1\n', /recursive dependency loop/],
      ['yaml-marker.ini', '---\n[iohyps]\nio1\n', /'---' is normally a sign this is a YAML file/],
    ];
    for (const [name, text, why] of cases) {
      const f = files({ [name]: text });
      assert.equal(ansibleList(f).ok, false, `${name}: Ansible accepts it`);
      assert.throws(
        () => importAnsibleFile(f, {}),
        (e: unknown) => e instanceof InputError && why.test(e.message),
        name,
      );
    }
  });

  it('ansible-inventory --list JSON is an input: same result as the inventory it came from', () => {
    const src = dataPath('test/fixtures/ansible-corpus/geerlingguy-kubernetes-inventory');
    const r = spawnSync('ansible-inventory', ['-i', src, '--list'], { encoding: 'utf8', cwd: tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    const f = files({ 'list.json': r.stdout });
    // Ansible cannot read its own --list output back; the truth is the inventory it came from.
    const fig = matchesAnsible(f, { iohyps: ['all'] }, src);
    assert.equal(fig.hosts, 3);
    assert.equal(importAnsibleFile(f, { iohyps: ['all'] }).format, 'ansible-inventory-json');
  });

  it("group_vars/ and host_vars/ beside the inventory, with Ansible's precedence (group_vars/all beats [web:vars])", () => {
    const f = files({
      'inv/hosts.ini': `[iohyps]
io1 vrio_interface=eth1 level=inline
io2 vrio_interface=eth1
[web]
io1
io2
[web:vars]
level=web-inventory
ansible_user=webadmin
[all:vars]
level=all-inventory
`,
      'inv/group_vars/all.yml': 'level: all-file\nansible_port: 2201\n',
      'inv/group_vars/web.yml': 'tier: frontend\n',
      'inv/group_vars/iohyps': 'ntp: 10.0.0.1\n',
      'inv/host_vars/io1.yml': 'level: host-file\n',
      'inv/host_vars/io2/main.yml': 'ansible_host: 192.0.2.2\n',
    });
    matchesAnsible(f, {});
    const hv = ansibleList(f).hostvars;
    assert.deepEqual([hv.io1.level, hv.io2.level, hv.io2.ansible_host, hv.io1.ntp], ['host-file', 'all-file', '192.0.2.2', '10.0.0.1']);
  });

  it('every setting it cannot map is named in a warning', () => {
    const f = files({
      'unmapped.ini': `[iohyps]
io1 vrio_interface=eth1 ansible_become=yes ansible_python_interpreter=/usr/bin/python3 packages="['a', 'b']" tmpl="{{ x }}" vrio_colour=blue
[all:vars]
ansible_ssh_common_args='-o StrictHostKeyChecking=no -o ProxyJump=bastion'
ansible_password=hunter2
`,
    });
    const fig = matchesAnsible(f, {});
    assert.equal(fig.unmappedWarned, fig.unmappedSettings);
    const { warnings, inventory } = importAnsibleFile(f, {});
    for (const k of ['ansible_become', 'ansible_python_interpreter', 'packages', 'tmpl', 'vrio_colour', 'ansible_password', '-o StrictHostKeyChecking=no'])
      assert.ok(
        warnings.some((w) => w.includes(k)),
        `${k} is warned:\n${warnings.join('\n')}`,
      );
    assert.equal(inventory.connection?.jump, 'bastion');
    assert.ok(!JSON.stringify(inventory).includes('hunter2'));
  });
});

describe('vrio inventory import exit codes', () => {
  it('exits 2 with a hint when nothing was imported, printing nothing', () => {
    const f = files({ 'web.ini': '[web]\nh1\n' });
    const r = cli(['inventory', 'import', f]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no host was imported/);
    assert.match(r.stderr, /hint: give hosts a vRIO role/);
    assert.equal(r.stdout, '');
  });

  it('exits 2 when the result would not pass check; --draft writes it anyway', () => {
    const f = files({ 'guest.ini': '[guests]\ng1\n' });
    const r = cli(['inventory', 'import', f]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs edits before use/);
    assert.match(r.stderr, /--draft/);
    assert.equal(r.stdout, '');
    const out = join(dirname(f), 'draft.yaml');
    const d = cli(['inventory', 'import', f, '--draft', '--output', out]);
    assert.equal(d.code, 2, d.stderr);
    assert.equal(cli(['inventory', 'check', out]).code, 2);
  });

  it('--iohyps/--guests give roles by Ansible group; a name that is not there is exit 2', () => {
    const f = files({ 'k.ini': '[storage]\ns1 vrio_interface=eth1\n' });
    const ok = cli(['inventory', 'import', f, '--iohyps', 'storage']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^iohyps:\n {2}s1:/m);
    const bad = cli(['inventory', 'import', f, '--iohyps', 'nosuch']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--iohyps nosuch: no such group or host/);
  });
});
