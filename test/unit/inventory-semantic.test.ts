// Checks beyond the schema (uniqueness, references, vRIO constraints) and how
// an inventory resolves (defaults, groups, ${NAME}, module parameters, --limit).
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { selectHosts } from '../../provision/host-patterns.js';
import { parseInventory } from '../../provision/inventory.js';
import { assertIssues, baseInventory, type Expected } from './inventory-fixtures.js';

type Inv = Record<string, any>;
/** The guests' and the IOhyp's L2 addresses, for the subnet cases. */
const l2 = (io: string, g1: string, g2?: string) => (i: Inv) => {
  i.iohyps.io1.l2.address = io;
  i.guests.g1.l2.ip = g1;
  if (g2 === undefined) {
    delete i.guests.g2;
    i.groups.lab.hosts = ['io1', 'g1'];
  } else i.guests.g2.l2.ip = g2;
};
const pkt = (n: number) => ({ vrio_eth: { l2_packet_size: n } });
// [what, change to the valid base inventory, EXACTLY the issues it must give].
const cases: [string, (i: Inv) => void, Expected[]][] = [
  ['the base inventory is valid', () => {}, []],
  ['guest names an unknown IOhyp (did you mean)', (i) => (i.guests.g1.iohyp = 'io2'), [['/guests/g1/iohyp', 'iohyp-exists']]],
  [
    'a host is both IOhyp and guest',
    (i) => (i.guests.io1 = { iohyp: 'io1', address: '192.0.2.99', l2: { interface: 'eth0', mac: '52:54:00:00:00:99', ip: '10.55.0.99' } }),
    [['/guests/io1', 'unique-host']],
  ],
  ['two guests share a MAC', (i) => (i.guests.g2.l2.mac = '52:54:00:00:00:02'), [['/guests/g2/l2/mac', 'unique-mac']]],
  ['MAC compare ignores case', (i) => (i.guests.g2.l2.mac = '52:54:00:00:00:02'.toUpperCase()), [['/guests/g2/l2/mac', 'unique-mac']]],
  ['vNIC MAC equals a guest MAC', (i) => (i.guests.g2.devices[0].mac = '52:54:00:00:00:02'), [['/guests/g2/devices/0/mac', 'unique-mac']]],
  ['two guests share an IP', (i) => (i.guests.g2.l2.ip = '10.55.0.2'), [['/guests/g2/l2/ip', 'unique-ip']]],
  ['guest IP equals the IOhyp IP', (i) => (i.guests.g1.l2.ip = '10.55.0.1/24'), [['/guests/g1/l2/ip', 'unique-ip']]],
  ['two hosts share an SSH endpoint', (i) => (i.guests.g2.address = '192.0.2.11'), [['/guests/g2/address', 'unique-address']]],
  [
    'device names repeat in one guest',
    (i) => i.guests.g1.devices.push({ type: 'blk', name: 'vdb', backing: '/dev/ram5' }),
    [['/guests/g1/devices/1/name', 'unique-device']],
  ],
  [
    'two guests use one backing device',
    (i) => i.guests.g2.devices.push({ type: 'blk', name: 'vdb', backing: '/dev/ram1' }),
    [['/guests/g2/devices/1/backing', 'unique-backing']],
  ],
  [
    'two net devices get one macvtap name',
    (i) => i.guests.g1.devices.push({ type: 'net', lower: 'eth1', mac: '52:54:00:bb:00:02', macvtap: 'mvt00aa0003' }),
    [['/guests/g2/devices/0/mac', 'unique-macvtap']],
  ],
  ['macvtap on the vRIO interface', (i) => (i.guests.g2.devices[0].lower = 'eth0'), [['/guests/g2/devices/0/lower', 'macvtap-lower']]],
  ['guest outside the IOhyp subnet', (i) => (i.guests.g1.l2.ip = '10.56.0.2/24'), [['/guests/g1/l2/ip', 'same-segment']]],
  ['guest on another named segment', (i) => (i.guests.g1.l2.segment = 'seg2'), [['/guests/g1/l2/segment', 'same-segment']]],
  ['guest prefix differs', (i) => (i.guests.g1.l2.ip = '10.55.0.2/16'), [['/guests/g1/l2/ip', 'same-segment']]],
  // Subnets other than /24: the mask is the prefix's, not a fixed /24.
  ['/8: guests anywhere in 10/8 are on the segment', l2('10.0.0.1/8', '10.200.7.2/8', '10.1.2.3'), []],
  ['/16: guests in other /24s of the /16 are on the segment', l2('10.55.0.1/16', '10.55.7.2/16', '10.55.200.3'), []],
  ['/16: a guest outside the /16', l2('10.55.0.1/16', '10.56.0.2/16', '10.55.9.3'), [['/guests/g1/l2/ip', 'same-segment']]],
  ['/25: both guests in the upper half with the IOhyp', l2('10.55.0.129/25', '10.55.0.200/25', '10.55.0.254'), []],
  ['/25: a guest in the other half of the /24', l2('10.55.0.1/25', '10.55.0.130/25', '10.55.0.3'), [['/guests/g1/l2/ip', 'same-segment']]],
  ['/30: the one other host address of the /30', l2('10.55.0.5/30', '10.55.0.6/30'), []],
  ['/30: the neighbouring /30', l2('10.55.0.5/30', '10.55.0.9/30'), [['/guests/g1/l2/ip', 'same-segment']]],
  [
    '/31 is refused by the schema (prefixes 8..30)',
    l2('10.55.0.0/31', '10.55.0.1/31'),
    [
      ['/iohyps/io1/l2/address', 'pattern'],
      ['/guests/g1/l2/ip', 'format'],
      ['/guests/g1/l2/ip', 'pattern'],
    ],
  ],
  ['guest vMTU differs from its IOhyp', (i) => (i.guests.g1.mtu = 1500), [['/guests/g1/mtu', 'same-mtu']]],
  [
    'vMTU without a measured packet size',
    (i) => ((i.iohyps.io1.mtu = 4000), (i.guests.g1.mtu = 4000), (i.guests.g2.mtu = 4000)),
    [
      ['/iohyps/io1/mtu', 'mtu-packet-size'],
      ['/guests/g1/mtu', 'mtu-packet-size'],
      ['/guests/g2/mtu', 'mtu-packet-size'],
    ],
  ],
  // The IOhyp's packet size is then not the guests' (8100, measured for vMTU 8100) either.
  [
    'packet size smaller than vMTU',
    (i) => (i.iohyps.io1.params = pkt(1514)),
    [
      ['/iohyps/io1/params/vrio_eth/l2_packet_size', 'mtu-packet-size'],
      ['/guests/g1/params/vrio_eth/l2_packet_size', 'same-packet-size'],
      ['/guests/g2/params/vrio_eth/l2_packet_size', 'same-packet-size'],
    ],
  ],
  [
    'packet sizes differ between ends',
    (i) => ((i.iohyps.io1.params = pkt(8114)), (i.guests.g1.params = pkt(8100)), (i.guests.g2.params = pkt(8114))),
    [['/guests/g1/params/vrio_eth/l2_packet_size', 'same-packet-size']],
  ],
  ['one end sets the packet size its vMTU gets anyway', (i) => (i.guests.g1.params = pkt(8100)), []],
  [
    'one end sets the packet size, the other keeps the measured one',
    (i) => (i.iohyps.io1.params = pkt(8114)),
    [
      ['/guests/g1/params/vrio_eth/l2_packet_size', 'same-packet-size'],
      ['/guests/g2/params/vrio_eth/l2_packet_size', 'same-packet-size'],
    ],
  ],
  [
    'a guest sets a packet size its IOhyp does not use',
    (i) => (i.guests.g2.params = pkt(9000)),
    [['/guests/g2/params/vrio_eth/l2_packet_size', 'same-packet-size']],
  ],
  [
    'devices with a test-module IOhyp',
    (i) => (i.iohyps.io1.modules = [{ name: 'vrio_test' }]),
    [
      ['/guests/g1/devices', 'devices-need-vrio'],
      ['/guests/g2/devices', 'devices-need-vrio'],
    ],
  ],
  [
    'params and modules together',
    (i) => ((i.iohyps.io1.modules = [{ name: 'vrio_test' }]), (i.iohyps.io1.params = { vrio_eth: {} }), delete i.guests),
    [
      ['/iohyps/io1/params', 'modules-params'],
      ['/groups/lab/hosts/1', 'host-exists'],
      ['/groups/lab/hosts/2', 'host-exists'],
    ],
  ],
  [
    'module listed twice',
    (i) => ((i.iohyps.io1.modules = [{ name: 'a' }, { name: 'a' }]), (i.groups.lab.hosts = ['io1']), delete i.guests),
    [['/iohyps/io1/modules/1/name', 'unique-module']],
  ],
  ['group names an unknown host', (i) => i.groups.lab.hosts.push('g3'), [['/groups/lab/hosts/3', 'host-exists']]],
  ['group named like a host', (i) => (i.groups.g1 = { hosts: [] }), [['/groups/g1', 'unique-group']]],
  [
    'jump hosts loop',
    (i) => ((i.guests.g1.connection = { jump: 'g2' }), (i.guests.g2.connection = { jump: 'g1' })),
    [
      ['/guests/g1/connection/jump', 'jump-loop'],
      ['/guests/g2/connection/jump', 'jump-loop'],
    ],
  ],
  [
    'a user certificate with the ssh2 transport (the default) is refused: ssh2 cannot present it',
    (i) => (i.connection.certificateFile = '~/.ssh/id_ed25519-cert.pub'),
    [['/connection/certificateFile', 'certificate-needs-openssh']],
  ],
  ['a user certificate with transport: openssh is fine', (i) => (i.connection = { ...i.connection, certificateFile: 'c.pub', transport: 'openssh' }), []],
  [
    'a host back on transport: ssh2 under an openssh inventory cannot use the inherited certificate',
    (i) => ((i.connection = { ...i.connection, certificateFile: 'c.pub', transport: 'openssh' }), (i.guests.g1.connection = { transport: 'ssh2' })),
    [['/connection/certificateFile', 'certificate-needs-openssh']],
  ],
  ['no hosts', (i) => (delete i.iohyps, delete i.guests, delete i.groups), [['', 'has-hosts']]],
  [
    'unresolved ${VAR} in a setting every host shares is reported once',
    (i) => (i.connection.identityFile = '${NO_SUCH_VAR_X}/id'),
    [['/connection/identityFile', 'unresolved-variable']],
  ],
];

describe('inventory semantic checks', () => {
  for (const [what, mut, expected] of cases) {
    it(what, () => {
      const inv = baseInventory();
      mut(inv);
      assertIssues(inv, expected);
    });
  }
  it('unknown IOhyp suggests the closest name', () => {
    const inv = baseInventory();
    inv.guests.g1.iohyp = 'io2';
    assert.match(assertIssues(inv, [['/guests/g1/iohyp', 'iohyp-exists']])[0].hint ?? '', /did you mean 'io1'/);
  });
});

describe('inventory resolution', () => {
  const load = (inv: Inv, env: NodeJS.ProcessEnv = {}) => parseInventory('/srv/inv/lab.yaml', stringify(inv), { env });

  it('IOhyps come first, with the vRIO back-end load order and measured parameters', () => {
    const r = load(baseInventory());
    assert.deepEqual(
      r.hosts.map((h) => h.name),
      ['io1', 'g1', 'g2'],
    );
    const io = r.hosts[0];
    assert.deepEqual(
      io.modules.map((m) => m.name),
      ['macvlan', 'macvtap', 'tun', 'vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet'],
    );
    assert.deepEqual(io.modules.find((m) => m.name === 'vrio_gen')!.params, { h_eth_name: 'eth0', h_cpu_affinity: '1' });
    assert.deepEqual(io.modules.find((m) => m.name === 'vrio_eth')!.params, {
      l2_packet_size: '8100',
      l2_packet_list_size: '256',
      large_packet_list_size: '256',
    });
  });
  it('guests get the front-end order, g_ parameters and their IOhyp vMTU', () => {
    const inv = baseInventory();
    inv.iohyps.io1.mtu = 1500;
    const g = load(inv).hosts[1];
    assert.deepEqual(
      g.modules.map((m) => m.name),
      ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet'],
    );
    assert.equal(g.mtu, 1500);
    assert.equal(g.modules[0].params.l2_packet_size, '1514');
    assert.deepEqual(g.modules[1].params, { g_eth_name: 'eth0', g_cpu_affinity: '1' });
  });
  it('a modules override replaces the vRIO set (CI test images)', () => {
    const inv = baseInventory();
    delete inv.guests;
    inv.groups.lab.hosts = ['io1'];
    inv.iohyps.io1.modules = [{ name: 'vrio_test', params: { greeting: 'hello', count: 3, verbose: true } }];
    const io = load(inv).hosts[0];
    assert.equal(io.customModules, true);
    assert.deepEqual(io.modules, [{ name: 'vrio_test', params: { greeting: 'hello', count: '3', verbose: 'Y' }, support: false }]);
  });
  it('connection: defaults < groups < host; paths resolve against the inventory; ${VAR} from vars then env', () => {
    const inv = baseInventory();
    inv.connection = { user: 'admin', identityFile: 'keys/${site}.key', port: 2200 };
    inv.groups.lab.connection = { port: 2222, connectTimeout: 3 };
    inv.guests.g1.connection = { user: '${LOGIN}' };
    const r = load(inv, { LOGIN: 'ops' });
    const g1 = r.hosts.find((h) => h.name === 'g1')!;
    assert.equal(g1.connection.user, 'ops');
    assert.equal(g1.connection.port, 2222);
    assert.equal(g1.connection.connectTimeoutMs, 3000);
    assert.equal(g1.connection.identityFile, '/srv/inv/keys/lab.key');
    assert.deepEqual(g1.connection.hostKeys.knownHostsFiles, ['/srv/inv/known_hosts']);
    assert.deepEqual(r.hosts[0].connection.hostKeys.pins, ['SHA256:' + 'A'.repeat(43)]);
  });
  it('a jump host named in the inventory uses its address and pins', () => {
    const inv = baseInventory();
    inv.connection.jump = 'io1';
    const r = load(inv);
    assert.equal(r.hosts[0].connection.jump, undefined, 'the jump host itself connects directly');
    const j = r.hosts[1].connection.jump!;
    assert.equal(j.address, '192.0.2.10');
    assert.deepEqual(j.hostKeys.pins, ['SHA256:' + 'A'.repeat(43)]);
    const inv2 = baseInventory();
    inv2.connection.jump = 'ops@bastion.example:2022';
    const j2 = load(inv2).hosts[1].connection.jump!;
    assert.deepEqual([j2.user, j2.address, j2.port], ['ops', 'bastion.example', 2022]);
  });
  it('transport: openssh resolves the certificate path (~ like identityFile), the ssh_config alias and no -F config by default', () => {
    const inv = baseInventory();
    inv.connection = { ...inv.connection, transport: 'openssh', certificateFile: '~/.ssh/id_ed25519-cert.pub' };
    const c = load(inv).hosts[0].connection;
    assert.equal(c.transport, 'openssh');
    assert.equal(c.certificateFile, join(homedir(), '.ssh/id_ed25519-cert.pub'));
    assert.equal(c.alias, '192.0.2.10');
    assert.equal(c.sshConfigFile, 'none');
    assert.equal(load(baseInventory()).hosts[0].connection.transport, 'ssh2');
  });
  it('devices get defaults: segMax 13, features 0x7BE1, a macvtap name from the MAC', () => {
    const r = load(baseInventory());
    assert.deepEqual(r.hosts[1].devices[0], { type: 'blk', name: 'vdb', backing: '/dev/ram1', writeCache: true, segMax: 13, capacity: undefined });
    assert.deepEqual(r.hosts[2].devices[0], { type: 'net', lower: 'eth1', mac: '52:54:00:aa:00:03', macvtap: 'mvt00aa0003', features: '0x7BE1' });
  });
  it('--limit selects by name, group, role, glob and exclusion', () => {
    const r = load(baseInventory());
    const names = (p: string[]) => selectHosts(r, p).hosts.map((h) => h.name);
    assert.deepEqual(names(['g1']), ['g1']);
    assert.deepEqual(names(['guests']), ['g1', 'g2']);
    assert.deepEqual(names(['lab', '!g2']), ['io1', 'g1']);
    assert.deepEqual(names(['g*']), ['g1', 'g2']);
    assert.deepEqual(names(['io1,g2']), ['io1', 'g2']);
  });
});
