// Checks beyond the schema (uniqueness, references, vRIO constraints) and how
// an inventory resolves (defaults, groups, ${NAME}, module parameters, --limit).
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { selectHosts } from '../../provision/host-patterns.js';
import { parseInventory } from '../../provision/inventory.js';
import { ipv4ToInt, sameSubnet } from '../../provision/semantic.js';
import { assertIssues, baseInventory, issuesOf, type Expected } from './inventory-fixtures.js';

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

// What a user reads for each rule: the exact message and hint (the tables above
// pin the pointer and rule). [what, change, [pointer, rule, message, hint?][]]
const messages: [string, (i: Inv) => void, [string, string, string, string?][]][] = [
  [
    'unknown IOhyp, close to one',
    (i) => (i.guests.g1.iohyp = 'io2'),
    [['/guests/g1/iohyp', 'iohyp-exists', "IOhyp 'io2' is not in /iohyps", "did you mean 'io1'?"]],
  ],
  [
    'unknown IOhyp, close to none',
    (i) => (i.guests.g1.iohyp = 'zzzzzzzz'),
    [['/guests/g1/iohyp', 'iohyp-exists', "IOhyp 'zzzzzzzz' is not in /iohyps", 'IOhyps: io1']],
  ],
  [
    'no IOhyps at all',
    (i) => (delete i.iohyps, (i.groups.lab.hosts = ['g1', 'g2'])),
    [
      ['/guests/g1/iohyp', 'iohyp-exists', "IOhyp 'io1' is not in /iohyps", 'add it under iohyps:'],
      ['/guests/g2/iohyp', 'iohyp-exists', "IOhyp 'io1' is not in /iohyps", 'add it under iohyps:'],
    ],
  ],
  [
    'a host in both roles',
    (i) => (i.guests.io1 = { iohyp: 'io1', address: '192.0.2.99', l2: { interface: 'eth0', mac: '52:54:00:00:00:99', ip: '10.55.0.99' } }),
    [['/guests/io1', 'unique-host', "host 'io1' is also an IOhyp (/iohyps/io1)"]],
  ],
  [
    'a MAC twice',
    (i) => (i.guests.g2.l2.mac = '52:54:00:00:00:02'.toUpperCase()),
    [['/guests/g2/l2/mac', 'unique-mac', 'MAC 52:54:00:00:00:02 is already used at /guests/g1/l2/mac']],
  ],
  ['an IP twice', (i) => (i.guests.g1.l2.ip = '10.55.0.1/24'), [['/guests/g1/l2/ip', 'unique-ip', 'IP 10.55.0.1 is already used at /iohyps/io1/l2/address']]],
  [
    'one SSH endpoint twice',
    (i) => (i.guests.g2.address = '192.0.2.11'),
    [['/guests/g2/address', 'unique-address', 'SSH endpoint >192.0.2.11:22 is already used at /guests/g1/address']],
  ],
  [
    'one SSH endpoint twice, on the inventory port and jump host',
    (i) => ((i.guests.g2.address = '192.0.2.11'), (i.connection.port = 2200), (i.connection.jump = 'bastion')),
    [['/guests/g2/address', 'unique-address', 'SSH endpoint bastion>192.0.2.11:2200 is already used at /guests/g1/address']],
  ],
  [
    'one SSH endpoint twice through the group port and jump host',
    (i) => ((i.guests.g2.address = '192.0.2.11'), (i.groups.lab.connection = { port: 2222, jump: 'bastion' }), (i.connection.port = 2200)),
    [['/guests/g2/address', 'unique-address', 'SSH endpoint bastion>192.0.2.11:2222 is already used at /guests/g1/address']],
  ],
  ['one address on two ports is two endpoints', (i) => ((i.guests.g2.address = '192.0.2.11'), (i.guests.g2.connection = { port: 2222 })), []],
  [
    'one address on two group ports is two endpoints',
    (i) => ((i.guests.g2.address = '192.0.2.11'), (i.groups.two = { hosts: ['g2'], connection: { port: 2222 } })),
    [],
  ],
  ['one address behind two jump hosts is two endpoints', (i) => ((i.guests.g2.address = '192.0.2.11'), (i.guests.g2.connection = { jump: 'bastion' })), []],
  [
    'one address behind a group jump host and none',
    (i) => ((i.guests.g2.address = '192.0.2.11'), (i.groups.two = { hosts: ['g2'], connection: { jump: 'bastion' } })),
    [],
  ],
  [
    'a host without an address is reached at its name',
    (i) => (delete i.guests.g2.address, (i.guests.g1.address = 'g2')),
    [['/guests/g2', 'unique-address', 'SSH endpoint >g2:22 is already used at /guests/g1/address']],
  ],
  [
    'a device name twice in a guest',
    (i) => i.guests.g1.devices.push({ type: 'blk', name: 'vdb', backing: '/dev/ram5' }),
    [['/guests/g1/devices/1/name', 'unique-device', "device name 'vdb' is already used by /guests/g1/devices/0"]],
  ],
  [
    'a backing device twice on an IOhyp',
    (i) => i.guests.g2.devices.push({ type: 'blk', name: 'vdb', backing: '/dev/ram1' }),
    [['/guests/g2/devices/1/backing', 'unique-backing', "backing device on 'io1': /dev/ram1 is already used at /guests/g1/devices/0/backing"]],
  ],
  [
    'one backing device on two IOhyps is fine',
    (i) => (
      (i.iohyps.io2 = { address: '192.0.2.20', l2: { interface: 'eth0', address: '10.55.0.20/24' } }),
      (i.guests.g2.iohyp = 'io2'),
      i.guests.g2.devices.push({ type: 'blk', name: 'vdb', backing: '/dev/ram1' })
    ),
    [],
  ],
  [
    'a macvtap name twice on an IOhyp',
    (i) => i.guests.g1.devices.push({ type: 'net', lower: 'eth1', mac: '52:54:00:bb:00:02', macvtap: 'mvt00aa0003' }),
    [['/guests/g2/devices/0/mac', 'unique-macvtap', "macvtap name on 'io1': mvt00aa0003 is already used at /guests/g1/devices/1/macvtap"]],
  ],
  [
    "a macvtap named like the IOhyp's vRIO NIC",
    (i) => ((i.iohyps.io1.l2.interface = 'mnic0'), (i.guests.g2.devices[0].macvtap = 'mnic0')),
    [['/guests/g2/devices/0/macvtap', 'unique-macvtap', "macvtap name 'mnic0' clashes with an IOhyp NIC"]],
  ],
  [
    'a macvtap named like its lower NIC',
    (i) => ((i.guests.g2.devices[0].lower = 'mnic1'), (i.guests.g2.devices[0].macvtap = 'mnic1')),
    [['/guests/g2/devices/0/macvtap', 'unique-macvtap', "macvtap name 'mnic1' clashes with an IOhyp NIC"]],
  ],
  [
    "a macvtap on the IOhyp's vRIO NIC",
    (i) => (i.guests.g2.devices[0].lower = 'eth0'),
    [
      [
        '/guests/g2/devices/0/lower',
        'macvtap-lower',
        "the macvtap would sit on the IOhyp's vRIO interface eth0",
        'use another IOhyp NIC (the upstream setup uses a second NIC toward the peers)',
      ],
    ],
  ],
  [
    'a guest outside the subnet',
    (i) => (i.guests.g1.l2.ip = '10.56.0.2/24'),
    [
      [
        '/guests/g1/l2/ip',
        'same-segment',
        "guest IP 10.56.0.2 is outside its IOhyp's segment 10.55.0.1/24",
        'use an address in 10.55.0.1/24 or fix /iohyps/io1/l2/address',
      ],
    ],
  ],
  [
    'a guest on another segment',
    (i) => (i.guests.g1.l2.segment = 'seg2'),
    [['/guests/g1/l2/segment', 'same-segment', "guest is on L2 segment 'seg2' but its IOhyp 'io1' is on 'seg1'"]],
  ],
  ['a guest naming no segment', (i) => delete i.guests.g1.l2.segment, []],
  ['an IOhyp naming no segment', (i) => delete i.iohyps.io1.l2.segment, []],
  ['an IOhyp without an L2 address', (i) => delete i.iohyps.io1.l2.address, []],
  [
    'a guest prefix that differs',
    (i) => (i.guests.g1.l2.ip = '10.55.0.2/16'),
    [['/guests/g1/l2/ip', 'same-segment', "prefix /16 differs from the IOhyp's /24"]],
  ],
  [
    'a guest vMTU that differs',
    (i) => (i.guests.g1.mtu = 1500),
    [['/guests/g1/mtu', 'same-mtu', "vMTU 1500 differs from its IOhyp's vMTU 8100", 'both ends of a vRIO link need the same vMTU and l2_packet_size']],
  ],
  ['both ends at the default vMTU', (i) => delete i.iohyps.io1.mtu, []],
  [
    'a guest vMTU that differs from the default of its IOhyp',
    (i) => (delete i.iohyps.io1.mtu, (i.guests.g1.mtu = 1500)),
    [['/guests/g1/mtu', 'same-mtu', "vMTU 1500 differs from its IOhyp's vMTU 8100", 'both ends of a vRIO link need the same vMTU and l2_packet_size']],
  ],
  [
    'a vMTU without a measured packet size',
    (i) => ((i.iohyps.io1.mtu = 4000), (i.guests.g1.mtu = 4000), delete i.guests.g2.mtu),
    [
      [
        '/iohyps/io1/mtu',
        'mtu-packet-size',
        'vMTU 4000 has no measured vrio_eth l2_packet_size',
        'use mtu 8100 or 1500, or set params.vrio_eth.l2_packet_size',
      ],
      ['/guests/g1/mtu', 'mtu-packet-size', 'vMTU 4000 has no measured vrio_eth l2_packet_size', 'use mtu 8100 or 1500, or set params.vrio_eth.l2_packet_size'],
      // g2 inherits its IOhyp's vMTU: the problem is reported there, at the guest itself.
      ['/guests/g2', 'mtu-packet-size', 'vMTU 4000 has no measured vrio_eth l2_packet_size', 'use mtu 8100 or 1500, or set params.vrio_eth.l2_packet_size'],
    ],
  ],
  [
    'a vMTU without a measured size but an explicit one',
    (i) => ((i.iohyps.io1.mtu = 4000), (i.iohyps.io1.params = pkt(4014)), (i.groups.lab.hosts = ['io1']), delete i.guests),
    [],
  ],
  [
    'a packet size equal to the vMTU',
    (i) => ((i.iohyps.io1.mtu = 4000), (i.iohyps.io1.params = pkt(4000)), (i.groups.lab.hosts = ['io1']), delete i.guests),
    [],
  ],
  [
    'a packet size under the vMTU',
    (i) => ((i.iohyps.io1.params = pkt(1514)), (i.groups.lab.hosts = ['io1']), delete i.guests),
    [['/iohyps/io1/params/vrio_eth/l2_packet_size', 'mtu-packet-size', 'l2_packet_size 1514 is smaller than the vMTU 8100']],
  ],
  [
    'packet sizes that differ',
    (i) => (i.guests.g2.params = pkt(9000)),
    [
      [
        '/guests/g2/params/vrio_eth/l2_packet_size',
        'same-packet-size',
        "l2_packet_size 9000 differs from the IOhyp's 8100",
        "set the same params.vrio_eth.l2_packet_size on guest 'g2' and IOhyp 'io1' (or on neither)",
      ],
    ],
  ],
  [
    'a packet size that differs only at a vMTU with no measured size',
    (i) => (
      (i.iohyps.io1.mtu = 4000),
      (i.guests.g1.mtu = 4000),
      (i.iohyps.io1.params = pkt(4100)),
      (i.guests.g1.params = pkt(4100)),
      (i.groups.lab.hosts = ['io1', 'g1']),
      delete i.guests.g2
    ),
    [],
  ],
  [
    'a guest with its own modules and devices',
    (i) => (i.guests.g1.modules = [{ name: 'vrio_test' }]),
    [['/guests/g1/devices', 'devices-need-vrio', "devices need the vRIO modules, but this guest replaces them with 'modules'"]],
  ],
  ['a guest with its own modules and no devices', (i) => ((i.guests.g1.modules = [{ name: 'vrio_test' }]), (i.guests.g1.devices = [])), []],
  [
    'devices behind an IOhyp with its own modules',
    (i) => ((i.iohyps.io1.modules = [{ name: 'vrio_test' }]), delete i.guests.g2, (i.groups.lab.hosts = ['io1', 'g1'])),
    [['/guests/g1/devices', 'devices-need-vrio', "devices need the vRIO modules, but IOhyp 'io1' replaces them with 'modules'"]],
  ],
  [
    'params beside modules',
    (i) => ((i.iohyps.io1.modules = [{ name: 'vrio_test' }]), (i.iohyps.io1.params = { vrio_eth: {} }), delete i.guests, (i.groups.lab.hosts = ['io1'])),
    [
      [
        '/iohyps/io1/params',
        'modules-params',
        "'params' sets vRIO module parameters but 'modules' replaces the vRIO modules",
        'put the parameters under modules[].params',
      ],
    ],
  ],
  [
    'a module listed twice',
    (i) => ((i.iohyps.io1.modules = [{ name: 'a' }, { name: 'b' }, { name: 'a' }]), (i.groups.lab.hosts = ['io1']), delete i.guests),
    [['/iohyps/io1/modules/2/name', 'unique-module', "module 'a' is listed twice"]],
  ],
  [
    'a group listing a host not there, close to one',
    (i) => i.groups.lab.hosts.push('g3'),
    [['/groups/lab/hosts/3', 'host-exists', "host 'g3' is not in the inventory", "did you mean 'g1'?"]],
  ],
  [
    'a group listing a host not there, close to none',
    (i) => i.groups.lab.hosts.push('zzzzzz'),
    [['/groups/lab/hosts/3', 'host-exists', "host 'zzzzzz' is not in the inventory"]],
  ],
  ['a group named like a guest', (i) => (i.groups.g1 = { hosts: [] }), [['/groups/g1', 'unique-group', "group 'g1' has the name of a host"]]],
  ['a group named like an IOhyp', (i) => (i.groups.io1 = { hosts: [] }), [['/groups/io1', 'unique-group', "group 'io1' has the name of a host"]]],
  [
    'jump hosts in a loop',
    (i) => ((i.guests.g1.connection = { jump: 'g2' }), (i.guests.g2.connection = { jump: 'io1' }), (i.iohyps.io1.connection = { jump: 'g1' })),
    [
      ['/iohyps/io1/connection/jump', 'jump-loop', "jump hosts loop back to 'io1'"],
      ['/guests/g1/connection/jump', 'jump-loop', "jump hosts loop back to 'g1'"],
      ['/guests/g2/connection/jump', 'jump-loop', "jump hosts loop back to 'g2'"],
    ],
  ],
  [
    'jump hosts in a loop through a group',
    (i) => ((i.guests.g1.connection = { jump: 'g2' }), (i.groups.two = { hosts: ['g2'], connection: { jump: 'g1' } })),
    [
      ['/guests/g1/connection/jump', 'jump-loop', "jump hosts loop back to 'g1'"],
      ['/guests/g2/connection/jump', 'jump-loop', "jump hosts loop back to 'g2'"],
    ],
  ],
  ['a chain of jump hosts', (i) => ((i.guests.g1.connection = { jump: 'g2' }), (i.guests.g2.connection = { jump: 'io1' })), []],
  ['every host through one of them (which reaches itself directly)', (i) => (i.connection.jump = 'io1'), []],
  ['no hosts', (i) => (delete i.iohyps, delete i.guests, delete i.groups), [['', 'has-hosts', 'the inventory has no hosts', "add 'iohyps:' and/or 'guests:'"]]],
  ['no connection section', (i) => (delete i.connection, (i.guests.g1.connection = { jump: 'g2' })), []],
  [
    '/25: .128 starts the upper half',
    l2('10.55.0.1/25', '10.55.0.128/25'),
    [
      [
        '/guests/g1/l2/ip',
        'same-segment',
        "guest IP 10.55.0.128 is outside its IOhyp's segment 10.55.0.1/25",
        'use an address in 10.55.0.1/25 or fix /iohyps/io1/l2/address',
      ],
    ],
  ],
  ['params without vrio_eth', (i) => (i.iohyps.io1.params = { vrio_gen: { poll_budget: 64 } }), []],
  [
    'a vMTU with no measured size: one end explicit, the other its vMTU + 14',
    (i) => ((i.iohyps.io1.mtu = 4000), (i.iohyps.io1.params = pkt(4014)), (i.guests.g1.mtu = 4000), delete i.guests.g2, (i.groups.lab.hosts = ['io1', 'g1'])),
    [['/guests/g1/mtu', 'mtu-packet-size', 'vMTU 4000 has no measured vrio_eth l2_packet_size', 'use mtu 8100 or 1500, or set params.vrio_eth.l2_packet_size']],
  ],
  [
    'own modules need no packet size for their vMTU',
    (i) => ((i.iohyps.io1.modules = [{ name: 'vrio_test' }]), (i.iohyps.io1.mtu = 4000), delete i.guests, (i.groups.lab.hosts = ['io1'])),
    [],
  ],
];

describe('subnets', () => {
  it('an IPv4 address as a number', () => {
    assert.equal(ipv4ToInt('10.55.0.1'), 0x0a370001);
    assert.equal(ipv4ToInt('255.255.255.255'), 0xffffffff);
  });
  it('every prefix length from /0 to /32', () => {
    assert.equal(sameSubnet('1.2.3.4', '200.6.7.8', 0), true);
    assert.equal(sameSubnet('10.0.0.1', '10.0.0.1', 32), true);
    assert.equal(sameSubnet('10.0.0.1', '10.0.0.2', 32), false);
    assert.equal(sameSubnet('10.0.0.1', '10.0.0.0', 31), true);
    assert.equal(sameSubnet('10.0.0.1', '10.0.0.2', 31), false);
    assert.equal(sameSubnet('10.0.0.1', '138.0.0.1', 1), false);
    assert.equal(sameSubnet('10.0.0.1', '127.0.0.1', 1), true);
  });
});

describe('inventory semantic checks: the messages a user reads', () => {
  for (const [what, mut, expected] of messages) {
    it(what, () => {
      const inv = baseInventory();
      mut(inv);
      const got = issuesOf(inv).map((i) => [i.pointer, i.rule, i.message, ...(i.hint === undefined ? [] : [i.hint])]);
      const key = (x: unknown[]) => JSON.stringify(x);
      assert.deepEqual(got.map(key).sort(), expected.map(key).sort());
    });
  }
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
