// Converting Ansible inventories (INI and YAML) into ours.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { expandHostPattern, importAnsible } from '../../provision/ansible.js';
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
    assert.ok(warnings.some((w) => /dropped ansible_password/.test(w)), 'secrets are dropped loudly');
    assert.ok(warnings.some((w) => /host g1: set l2.mac/.test(w)), 'says what is still missing');
    assert.ok(!JSON.stringify(inv).includes('hunter2'));
  });
  it('YAML: children, host vars, vRIO vars; the result validates; secrets and role-less hosts reported', () => {
    const { inventory: inv, warnings } = importAnsible(YAML, 'inventory.yml');
    assert.deepEqual(Object.keys(inv.guests!), ['g1']);
    assert.deepEqual(inv.guests!.g1.l2, { interface: 'eth0', mac: '52:54:00:55:00:02', ip: '10.55.0.2' });
    assert.ok(warnings.some((w) => /dropped variable db_password/.test(w)));
    assert.ok(warnings.some((w) => /host www1: no vRIO role/.test(w)));
    // Groups may only name imported hosts: www1 was skipped, so the group must still be valid after fixing it.
    inv.groups!.web.hosts = inv.groups!.web.hosts.filter((h) => h !== 'www1');
    const r = parseInventory('imported.yaml', stringify(inv), { env: {} });
    assert.deepEqual(r.hosts.map((h) => [h.name, h.role, h.connection.address, h.connection.user]), [
      ['io1', 'iohyp', '192.0.2.10', 'root'],
      ['g1', 'guest', '192.0.2.11', 'root'],
    ]);
  });
  it('expands host ranges like Ansible', () => {
    assert.deepEqual(expandHostPattern('web[01:03].lan'), ['web01.lan', 'web02.lan', 'web03.lan']);
    assert.deepEqual(expandHostPattern('db-[a:c]'), ['db-a', 'db-b', 'db-c']);
    assert.deepEqual(expandHostPattern('n[0:10:5]'), ['n0', 'n5', 'n10']);
  });
});
