// The inventory schema rejects bad inventories with the pointer and rule a user
// needs to fix them: a data table of mutations of one valid inventory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseInventory, DEL, issuesOf, set, type Mut } from './inventory-fixtures.js';

// [what, mutation, expected pointer, expected rule]
const cases: [string, Mut, string, string][] = [
  ['missing version', set('/version', DEL), '', 'required'],
  ['wrong version', set('/version', 2), '/version', 'const'],
  ['unknown top-level key', set('/hosts', {}), '/hosts', 'additionalProperties'],
  ['misspelt iohyps', (i) => ((i.iohpys = i.iohyps), delete i.iohyps), '/iohpys', 'additionalProperties'],
  ['connection: unknown key', set('/connection/password', 'x'), '/connection/password', 'additionalProperties'],
  ['connection: port 0', set('/connection/port', 0), '/connection/port', 'minimum'],
  ['connection: port 70000', set('/connection/port', 70000), '/connection/port', 'maximum'],
  ['connection: port as string', set('/connection/port', '22'), '/connection/port', 'type'],
  ['connection: user with space', set('/connection/user', 'bad user'), '/connection/user', 'pattern'],
  ['connection: user upper case', set('/connection/user', 'Root'), '/connection/user', 'pattern'],
  ['connection: identityFile empty', set('/connection/identityFile', ''), '/connection/identityFile', 'minLength'],
  ['connection: identityFile with newline', set('/connection/identityFile', 'a\nb'), '/connection/identityFile', 'pattern'],
  ['connection: identityFile bare $', set('/connection/identityFile', '$HOME/key'), '/connection/identityFile', 'pattern'],
  ['connection: agent number', set('/connection/agent', 3), '/connection/agent', 'type'],
  ['connection: jump with spaces', set('/connection/jump', 'a b'), '/connection/jump', 'pattern'],
  ['connection: jump with command', set('/connection/jump', 'host;rm -rf /'), '/connection/jump', 'pattern'],
  ['connection: connectTimeout 0', set('/connection/connectTimeout', 0), '/connection/connectTimeout', 'exclusiveMinimum'],
  ['connection: commandTimeout huge', set('/connection/commandTimeout', 100000), '/connection/commandTimeout', 'maximum'],
  ['connection: retries 11', set('/connection/retries', 11), '/connection/retries', 'maximum'],
  ['connection: retries fractional', set('/connection/retries', 1.5), '/connection/retries', 'type'],
  ['connection: keepalive negative', set('/connection/keepaliveInterval', -1), '/connection/keepaliveInterval', 'minimum'],
  ['hostKeys: unknown key', set('/hostKeys/accept', true), '/hostKeys/accept', 'additionalProperties'],
  ['hostKeys: knownHosts number', set('/hostKeys/knownHosts', 5), '/hostKeys/knownHosts', 'type'],
  ['vars: bad name', set('/vars/1x', 'a'), '/vars/1x', 'pattern'],
  ['vars: object value', set('/vars/obj', { a: 1 }), '/vars/obj', 'type'],
  ['groups: missing hosts', set('/groups/lab', {}), '/groups/lab', 'required'],
  ['groups: duplicate member', set('/groups/lab/hosts', ['io1', 'io1']), '/groups/lab/hosts', 'uniqueItems'],
  ['groups: bad name', set('/groups/-x', { hosts: [] }), '/groups/-x', 'pattern'],
  ['groups: unknown key', set('/groups/lab/become', true), '/groups/lab/become', 'additionalProperties'],
  ['host name with space', (i) => (i.iohyps['io 2'] = i.iohyps.io1), '/iohyps/io 2', 'pattern'],
  ['host name starting with digit', (i) => (i.guests['1g'] = structuredClone(i.guests.g1)), '/guests/1g', 'pattern'],
  ['iohyp: missing l2', set('/iohyps/io1/l2', DEL), '/iohyps/io1', 'required'],
  ['iohyp: missing l2.interface', set('/iohyps/io1/l2/interface', DEL), '/iohyps/io1/l2', 'required'],
  ['iohyp: interface too long', set('/iohyps/io1/l2/interface', 'a'.repeat(16)), '/iohyps/io1/l2/interface', 'pattern'],
  ['iohyp: interface with slash', set('/iohyps/io1/l2/interface', 'eth/0'), '/iohyps/io1/l2/interface', 'pattern'],
  ['iohyp: l2.address without prefix', set('/iohyps/io1/l2/address', '10.55.0.1'), '/iohyps/io1/l2/address', 'pattern'],
  ['iohyp: l2.address prefix 33', set('/iohyps/io1/l2/address', '10.55.0.1/33'), '/iohyps/io1/l2/address', 'pattern'],
  ['iohyp: l2.address octet 256', set('/iohyps/io1/l2/address', '10.55.0.256/24'), '/iohyps/io1/l2/address', 'pattern'],
  ['iohyp: unknown key (mac on iohyp l2)', set('/iohyps/io1/l2/mac', '52:54:00:00:00:01'), '/iohyps/io1/l2/mac', 'additionalProperties'],
  ['iohyp: mtu too small', set('/iohyps/io1/mtu', 100), '/iohyps/io1/mtu', 'minimum'],
  ['iohyp: mtu too large', set('/iohyps/io1/mtu', 65000), '/iohyps/io1/mtu', 'maximum'],
  ['iohyp: mtu as string', set('/iohyps/io1/mtu', '8100'), '/iohyps/io1/mtu', 'type'],
  ['iohyp: cpuAffinity 0 (guest panic)', set('/iohyps/io1/cpuAffinity', 0), '/iohyps/io1/cpuAffinity', 'not'],
  ['iohyp: cpuAffinity 100', set('/iohyps/io1/cpuAffinity', 100), '/iohyps/io1/cpuAffinity', 'maximum'],
  ['iohyp: hostKey not SHA256', set('/iohyps/io1/hostKey', 'MD5:aa:bb'), '/iohyps/io1/hostKey', 'pattern'],
  ['iohyp: hostKey too short', set('/iohyps/io1/hostKey', 'SHA256:abc'), '/iohyps/io1/hostKey', 'pattern'],
  ['iohyp: empty hostKey list', set('/iohyps/io1/hostKey', []), '/iohyps/io1/hostKey', 'minItems'],
  ['iohyp: unknown module in params', set('/iohyps/io1/params', { vrio_foo: {} }), '/iohyps/io1/params/vrio_foo', 'additionalProperties'],
  [
    'iohyp: reserved param h_eth_name',
    set('/iohyps/io1/params', { vrio_gen: { h_eth_name: 'eth1' } }),
    '/iohyps/io1/params/vrio_gen/h_eth_name',
    'additionalProperties',
  ],
  [
    'iohyp: l2_packet_list_size too big',
    set('/iohyps/io1/params', { vrio_eth: { l2_packet_list_size: 100000 } }),
    '/iohyps/io1/params/vrio_eth/l2_packet_list_size',
    'maximum',
  ],
  ['iohyp: l2_packet_size string', set('/iohyps/io1/params', { vrio_eth: { l2_packet_size: 'big' } }), '/iohyps/io1/params/vrio_eth/l2_packet_size', 'type'],
  ['iohyp: zcopytx 2', set('/iohyps/io1/params', { vrio_hnet: { zcopytx: 2 } }), '/iohyps/io1/params/vrio_hnet/zcopytx', 'maximum'],
  ['iohyp: modules empty', set('/iohyps/io1/modules', []), '/iohyps/io1/modules', 'minItems'],
  ['iohyp: module name with dash', set('/iohyps/io1/modules', [{ name: 'vrio-test' }]), '/iohyps/io1/modules/0/name', 'pattern'],
  [
    'iohyp: module param with shell',
    set('/iohyps/io1/modules', [{ name: 'vrio_test', params: { x: 'a;reboot' } }]),
    '/iohyps/io1/modules/0/params/x',
    'pattern',
  ],
  ['iohyp: module param with space', set('/iohyps/io1/modules', [{ name: 'vrio_test', params: { x: 'a b' } }]), '/iohyps/io1/modules/0/params/x', 'pattern'],
  ['iohyp: module without name', set('/iohyps/io1/modules', [{ params: {} }]), '/iohyps/io1/modules/0', 'required'],
  ['iohyp: queues 0', set('/iohyps/io1/queues', 0), '/iohyps/io1/queues', 'minimum'],
  ['iohyp: socketMemory tiny', set('/iohyps/io1/socketMemory', 1024), '/iohyps/io1/socketMemory', 'minimum'],
  ['iohyp: address with space', set('/iohyps/io1/address', 'a b'), '/iohyps/io1/address', 'pattern'],
  ['iohyp: address with $( )', set('/iohyps/io1/address', '$(reboot)'), '/iohyps/io1/address', 'pattern'],
  ['guest: missing iohyp', set('/guests/g1/iohyp', DEL), '/guests/g1', 'required'],
  ['guest: missing l2.mac', set('/guests/g1/l2/mac', DEL), '/guests/g1/l2', 'required'],
  ['guest: missing l2.ip', set('/guests/g1/l2/ip', DEL), '/guests/g1/l2', 'required'],
  ['guest: bad mac', set('/guests/g1/l2/mac', '52:54:00:00:00'), '/guests/g1/l2/mac', 'pattern'],
  ['guest: mac with dashes', set('/guests/g1/l2/mac', '52-54-00-00-00-02'), '/guests/g1/l2/mac', 'pattern'],
  ['guest: ip not an address', set('/guests/g1/l2/ip', 'ten.0.0.1'), '/guests/g1/l2/ip', 'format'],
  ['guest: ipv6 ip', set('/guests/g1/l2/ip', 'fe80::1'), '/guests/g1/l2/ip', 'format'],
  ['guest: unknown key', set('/guests/g1/disks', []), '/guests/g1/disks', 'additionalProperties'],
  ['guest: devices not a list', set('/guests/g1/devices', { type: 'blk' }), '/guests/g1/devices', 'type'],
  ['device: missing type', set('/guests/g1/devices/0/type', DEL), '/guests/g1/devices/0', 'required'],
  ['device: unknown type', set('/guests/g1/devices/0/type', 'scsi'), '/guests/g1/devices/0/type', 'enum'],
  ['blk: missing backing', set('/guests/g1/devices/0/backing', DEL), '/guests/g1/devices/0', 'required'],
  ['blk: missing name', set('/guests/g1/devices/0/name', DEL), '/guests/g1/devices/0', 'required'],
  ['blk: relative backing', set('/guests/g1/devices/0/backing', 'ram1'), '/guests/g1/devices/0/backing', 'pattern'],
  ['blk: backing outside /dev', set('/guests/g1/devices/0/backing', '/etc/shadow'), '/guests/g1/devices/0/backing', 'pattern'],
  ['blk: backing with ..', set('/guests/g1/devices/0/backing', '/dev/../etc/passwd'), '/guests/g1/devices/0/backing', 'not'],
  ['blk: backing with space', set('/guests/g1/devices/0/backing', '/dev/ram 1'), '/guests/g1/devices/0/backing', 'pattern'],
  ['blk: name upper case', set('/guests/g1/devices/0/name', 'VDB'), '/guests/g1/devices/0/name', 'pattern'],
  ['blk: segMax 0', set('/guests/g1/devices/0/segMax', 0), '/guests/g1/devices/0/segMax', 'minimum'],
  ['blk: writeCache string', set('/guests/g1/devices/0/writeCache', 'yes'), '/guests/g1/devices/0/writeCache', 'type'],
  ['blk: capacity not sector multiple', set('/guests/g1/devices/0/capacity', 1000), '/guests/g1/devices/0/capacity', 'multipleOf'],
  ['blk: net-only key', set('/guests/g1/devices/0/lower', 'eth1'), '/guests/g1/devices/0/lower', 'additionalProperties'],
  ['net: missing mac', set('/guests/g2/devices/0/mac', DEL), '/guests/g2/devices/0', 'required'],
  ['net: missing lower', set('/guests/g2/devices/0/lower', DEL), '/guests/g2/devices/0', 'required'],
  ['net: bad features', set('/guests/g2/devices/0/features', '7BE1'), '/guests/g2/devices/0/features', 'pattern'],
  ['net: macvtap name too long', set('/guests/g2/devices/0/macvtap', 'macvtap-for-guest-2'), '/guests/g2/devices/0/macvtap', 'pattern'],
  ['net: blk-only key', set('/guests/g2/devices/0/backing', '/dev/ram1'), '/guests/g2/devices/0/backing', 'additionalProperties'],
];

describe('inventory schema: invalid inventories name the pointer and the rule', () => {
  it('the base inventory is valid', () => {
    assert.deepEqual(issuesOf(baseInventory()), []);
  });
  it(`has at least 60 cases (${cases.length})`, () => assert.ok(cases.length >= 60));
  for (const [what, mut, pointer, rule] of cases) {
    it(what, () => {
      const inv = baseInventory();
      mut(inv);
      const issues = issuesOf(inv);
      assert.ok(issues.length > 0, 'expected the inventory to be rejected');
      const hit = issues.find((i) => i.pointer === pointer && i.rule === rule);
      assert.ok(hit, `expected ${pointer} [${rule}], got:\n${issues.map((i) => `${i.pointer} [${i.rule}] ${i.message}`).join('\n')}`);
      assert.equal(hit.file, 'inv.yaml');
      assert.ok(hit.line !== undefined && hit.line > 0, 'issue carries a line number');
      assert.ok(hit.message.length > 0);
    });
  }
});

describe('inventory schema: messages help', () => {
  it('a misspelt key suggests the right one', () => {
    const inv = baseInventory();
    inv.guests.g1.l2.intrface = 'eth0';
    delete inv.guests.g1.l2.interface;
    const i = issuesOf(inv).find((x) => x.rule === 'additionalProperties')!;
    assert.match(i.hint ?? '', /did you mean 'interface'/);
  });
  it('cpuAffinity 0 explains the guest panic', () => {
    const inv = baseInventory();
    inv.iohyps.io1.cpuAffinity = 0;
    const i = issuesOf(inv).find((x) => x.pointer === '/iohyps/io1/cpuAffinity')!;
    assert.match(i.hint ?? '', /panic/);
  });
  it('JSON inventories get line numbers too', () => {
    const inv = baseInventory();
    inv.guests.g1.l2.mac = 'nope';
    const i = issuesOf(inv, 'inv.json').find((x) => x.pointer === '/guests/g1/l2/mac')!;
    assert.ok(i.line && i.line > 1);
  });
  it('all problems are reported at once', () => {
    const inv = baseInventory();
    inv.connection.port = 0;
    inv.guests.g1.l2.mac = 'x';
    inv.guests.g2.devices[0].features = 'y';
    assert.ok(issuesOf(inv).length >= 3);
  });
});
