// The vRIO plans exactly, change by change (kind, summary, command, data,
// --diff, recovery), for the cases the lab plans do not reach: setup on a NIC
// with queues, addresses and a link that is down; reloads under modules the
// inventory does not know; the memory limit at its boundary; devices that
// are attached elsewhere, macvtaps that are wrong, down or missing their
// lower NIC, orphans; teardown that keeps what others use and restores what
// apply recorded. Whole plans are compared, so a change that is missing,
// extra, reordered or worded otherwise fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { factsCommand, parseFacts, type Facts, type ModuleFact, type NicFact, type VrioBlkFact, type VrioNetFact } from '../../provision/facts.js';
import type { Change, ChangeKind } from '../../provision/ops/change.js';
import { planHost } from '../../provision/ops/plan.js';
import { projectFacts } from '../../provision/ops/projection.js';
import {
  guestDeviceProblems,
  guestSees,
  moduleNames,
  planDevices,
  planDeviceTeardown,
  planHostTeardown,
  planModules,
  planSetup,
  savedStateLines,
} from '../../provision/ops/vrio.js';
import { freshFacts, guestFacts, lab, nic } from './ops-fixtures.js';

/** A change as vrio.ts builds it (data repeats the kind). */
function ch(host: string, kind: ChangeKind, summary: string, argv: string[] | string, data: Record<string, unknown>, extra: Partial<Change> = {}): Change {
  return { host, kind, summary, data: { kind, ...data }, argv: typeof argv === 'string' ? argv.split(' ') : argv, ...extra };
}
const mod = (usedBy: string[] = [], params: Record<string, string> = {}): ModuleFact => ({ refcount: usedBy.length, usedBy, params });
const HELPER = '/usr/sbin/vrio-iohyp';
const ETH = { l2_packet_size: '8100', l2_packet_list_size: '256', large_packet_list_size: '256' };
const HGEN = { h_eth_name: 'eth0', h_cpu_affinity: '1' };
const load = (host: string, name: string, params: Record<string, string>, before: string | null = null) => {
  const args = Object.entries(params).map(([k, v]) => `${k}=${v}`);
  return ch(
    host,
    'module-load',
    `load ${[name, ...args].join(' ')}`,
    ['modprobe', name, ...args],
    { module: name, params },
    {
      diff: { path: `module ${name}`, before, after: args.length ? args.join(' ') : 'loaded' },
    },
  );
};
const unload = (host: string, name: string, why: string) =>
  ch(
    host,
    'module-unload',
    `unload ${name}${why ? ` (${why})` : ''}`,
    ['rmmod', name],
    { module: name },
    { diff: { path: `module ${name}`, before: 'loaded', after: null } },
  );
const saveState = (host: string, lines: string[]) =>
  ch(
    host,
    'save-state',
    'record current settings in /run/vrio-provision/state (teardown restores them)',
    [
      'sh',
      '-c',
      'f=$1; shift; umask 077; mkdir -p "${f%/*}" && printf "%s\\n" "$@" > "$f.tmp" && mv "$f.tmp" "$f"',
      'sh',
      '/run/vrio-provision/state',
      ...lines,
    ],
    { file: '/run/vrio-provision/state', lines },
  );

/** An IOhyp after its setup (everything loaded, MTU, address, sysctls, state recorded). */
function ioConverged(): Facts {
  const { io } = lab();
  return projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
}

describe('setup, exactly', () => {
  it('queues, a down link, an address beside another one, a sysctl already right and unknown ones; support modules already loaded', () => {
    const { io } = lab();
    const f = freshFacts({
      nics: { eth0: nic('52:54:00:55:00:01', { up: false, combined: { current: 4, max: 8 }, ipv4: ['192.168.1.5/24', '172.16.0.1/16'] }) },
      sysctls: { 'net.core.rmem_max': '212992', 'net.core.wmem_max': '3407872' },
      modules: { macvlan: mod(['macvtap']), macvtap: mod(), tun: mod() },
    });
    const p = planSetup(io, f);
    assert.deepEqual(p, {
      host: 'io1',
      role: 'iohyp',
      errors: [],
      notes: [],
      changes: [
        saveState('io1', [
          'mtu.eth0=1500',
          'up.eth0=0',
          'combined.eth0=4',
          'sysctl.net.core.rmem_max=212992',
          'sysctl.net.core.wmem_max=3407872',
          'preloaded=macvlan,macvtap,tun',
          'address.eth0=0',
        ]),
        ch(
          'io1',
          'sysctl',
          'set net.core.rmem_max 212992 -> 3407872',
          'sysctl -w net.core.rmem_max=3407872',
          { key: 'net.core.rmem_max', value: '3407872' },
          {
            diff: { path: 'net.core.rmem_max', before: '212992', after: '3407872' },
          },
        ),
        ch(
          'io1',
          'mtu',
          'set eth0 mtu 1500 -> 8100',
          'ip link set dev eth0 mtu 8100',
          { interface: 'eth0', mtu: 8100 },
          { diff: { path: 'eth0/mtu', before: '1500', after: '8100' } },
        ),
        ch(
          'io1',
          'queues',
          'set eth0 combined queues 4 -> 1',
          'ethtool -L eth0 combined 1',
          { interface: 'eth0', combined: 1 },
          {
            diff: { path: 'eth0/combined', before: '4', after: '1' },
          },
        ),
        ch('io1', 'link-up', 'bring eth0 up', 'ip link set dev eth0 up', { interface: 'eth0' }, { diff: { path: 'eth0/state', before: 'down', after: 'up' } }),
        ch(
          'io1',
          'address',
          'add address 10.55.0.1/24 to eth0',
          'ip addr add 10.55.0.1/24 dev eth0',
          { interface: 'eth0', address: '10.55.0.1/24' },
          {
            diff: { path: 'eth0/ipv4', before: '192.168.1.5/24,172.16.0.1/16', after: '192.168.1.5/24,172.16.0.1/16,10.55.0.1/24' },
          },
        ),
        load('io1', 'vrio_eth', ETH),
        load('io1', 'vrio_gen', HGEN),
        load('io1', 'vrio_hblk', {}),
        load('io1', 'vrio_hnet', {}),
      ],
    });
  });

  it('queues: as many as the NIC allows is enough; more than it allows is a note; the right number is no change', () => {
    const at = (combined: NicFact['combined'], queues: number) => {
      const { io } = lab((i) => (i.iohyps.io1.queues = queues));
      const f = ioConverged();
      f.nics.eth0.combined = combined;
      return planSetup(io, f);
    };
    assert.deepEqual(at({ current: 2, max: 1 }, 1).changes, [
      ch(
        'io1',
        'queues',
        'set eth0 combined queues 2 -> 1',
        'ethtool -L eth0 combined 1',
        { interface: 'eth0', combined: 1 },
        { diff: { path: 'eth0/combined', before: '2', after: '1' } },
      ),
    ]);
    assert.deepEqual(at({ current: 1, max: 2 }, 4), {
      host: 'io1',
      role: 'iohyp',
      changes: [],
      errors: [],
      notes: ['eth0 supports at most 2 combined queues; leaving 1'],
    });
    assert.deepEqual(at({ current: 1, max: 1 }, 1), { host: 'io1', role: 'iohyp', changes: [], errors: [], notes: [] });
  });

  it('without ethtool: a note only when the NIC has more queues than wanted and no combined channels were read', () => {
    const at = (o: { rx: number; ethtool: boolean; combined?: NicFact['combined'] }) => {
      const { io } = lab();
      const f = ioConverged();
      f.nics.eth0.rxQueues = o.rx;
      f.nics.eth0.combined = o.combined;
      f.tools.ethtool = o.ethtool;
      return planSetup(io, f);
    };
    assert.deepEqual(at({ rx: 4, ethtool: false }).notes, ['eth0 has 4 queues and ethtool is missing: cannot reduce them to 1']);
    assert.deepEqual(at({ rx: 4, ethtool: true }).notes, []);
    assert.deepEqual(at({ rx: 1, ethtool: false }).notes, []);
    assert.deepEqual(at({ rx: 4, ethtool: false, combined: { current: 1, max: 4 } }).notes, []);
    assert.deepEqual(at({ rx: 4, ethtool: false, combined: { current: 1, max: 4 } }).changes, []);
  });

  it('no NIC at all, or the guest NIC with another MAC: refused, naming what is there', () => {
    const { io, g1 } = lab();
    assert.deepEqual(planSetup(io, freshFacts({ nics: {} })), {
      host: 'io1',
      role: 'iohyp',
      changes: [],
      errors: ['L2 interface eth0 does not exist (NICs: none)'],
      notes: [],
    });
    assert.deepEqual(planSetup(io, freshFacts({ nics: { lo: nic('00:00:00:00:00:00'), eth7: nic('52:54:00:00:00:07') } })).errors, [
      'L2 interface eth0 does not exist (NICs: lo, eth7)',
    ]);
    assert.deepEqual(planSetup(g1, guestFacts('52:54:00:55:00:09')).errors, [
      'eth0 has MAC 52:54:00:55:00:09 but the inventory says 52:54:00:55:00:02 (the IOhyp addresses the guest by it)',
    ]);
  });

  it('a guest with an address prefix gets its address (and records whether it had it)', () => {
    const { g1 } = lab((i) => (i.guests.g1.l2.ip = '10.55.0.2/24'));
    const f = guestFacts('52:54:00:55:00:02');
    f.nics.eth0.ipv4 = ['10.55.0.2/24'];
    assert.deepEqual(savedStateLines(g1, f).slice(-2), ['preloaded=', 'address.eth0=1']);
    assert.ok(!planSetup(g1, f).changes.some((c) => c.kind === 'address'));
    f.nics.eth0.ipv4 = [];
    assert.deepEqual(
      planSetup(g1, f).changes.filter((c) => c.kind === 'address'),
      [
        ch(
          'g1',
          'address',
          'add address 10.55.0.2/24 to eth0',
          'ip addr add 10.55.0.2/24 dev eth0',
          { interface: 'eth0', address: '10.55.0.2/24' },
          {
            diff: { path: 'eth0/ipv4', before: null, after: '10.55.0.2/24' },
          },
        ),
      ],
    );
  });

  it('the recorded state of a host whose L2 NIC is gone: only what can be read', () => {
    const { io } = lab();
    assert.deepEqual(savedStateLines(io, freshFacts({ nics: {}, sysctls: { 'net.core.wmem_default': '5' } })), [
      'sysctl.net.core.wmem_default=5',
      'preloaded=',
      'address.eth0=0',
    ]);
  });
});

describe('module reloads, exactly', () => {
  it('a missing support module and a vrio_gen with an old parameter: the modules on vrio_gen go (users first, one not in /proc/modules any more), vrio_gen reloads, then the rest loads', () => {
    const { io } = lab();
    const f = ioConverged();
    f.modules.macvlan = undefined as unknown as ModuleFact;
    delete f.modules.macvlan;
    f.modules.vrio_gen = mod(['vrio_test', 'vrio_hblk', 'vrio_hnet'], { h_eth_name: 'eth1', h_cpu_affinity: '0' });
    f.modules.vrio_test = mod(['gone']);
    const p = planModules(io, f);
    assert.deepEqual(p, {
      errors: [],
      changes: [
        unload('io1', 'vrio_hnet', 'reload after a module it needs'),
        unload('io1', 'vrio_hblk', 'reload after a module it needs'),
        unload('io1', 'gone', 'uses vrio_gen'),
        unload('io1', 'vrio_test', 'uses vrio_gen'),
        unload('io1', 'vrio_gen', 'reload: h_eth_name=eth1 (want eth0), h_cpu_affinity=0 (want 1)'),
        load('io1', 'macvlan', {}),
        load('io1', 'vrio_gen', HGEN, 'loaded (old parameters)'),
        load('io1', 'vrio_hblk', {}, 'loaded (old parameters)'),
        load('io1', 'vrio_hnet', {}, 'loaded (old parameters)'),
      ],
    });
  });

  it('support modules are never reloaded for their parameters', () => {
    const { io } = lab();
    const f = ioConverged();
    f.modules.tun = mod([], { debug: '1' });
    assert.deepEqual(planModules(io, f), { changes: [], errors: [] });
  });

  it('a bool written 1 is converged when the kernel shows Y, not when it shows nothing', () => {
    const { io } = lab((i) => {
      delete i.guests;
      i.iohyps.io1.modules = [{ name: 'vrio_gnet', params: { csum: 1 } }];
    });
    const f = freshFacts({ modules: { vrio_gnet: mod([], { csum: 'Y' }) } });
    assert.deepEqual(planModules(io, f), { changes: [], errors: [] });
    f.modules.vrio_gnet.params.csum = '';
    assert.deepEqual(planModules(io, f), {
      changes: [unload('io1', 'vrio_gnet', 'reload: csum= (want 1)'), load('io1', 'vrio_gnet', { csum: '1' }, 'loaded (old parameters)')],
      errors: [],
    });
  });

  it('the memory check only when vrio_eth loads, and the need equal to what is free is enough', () => {
    const { io } = lab();
    const f = ioConverged();
    delete f.modules.vrio_hnet;
    f.memAvailableKiB = 1;
    assert.deepEqual(planModules(io, f), { changes: [load('io1', 'vrio_hnet', {})], errors: [] });
    // 2048 entries x 8100 bytes x 9.1 x 1.25 = 188697600 bytes = 184275 KiB exactly.
    const { io: big } = lab((i) => (i.iohyps.io1.params = { vrio_eth: { l2_packet_list_size: 1024, large_packet_list_size: 1024 } }));
    assert.deepEqual(planModules(big, freshFacts({ memAvailableKiB: 184_275 })).errors, []);
    assert.deepEqual(planModules(big, freshFacts({ memAvailableKiB: 184_274 })).errors, [
      "vrio_eth's packet lists need ~180 MiB but only 180 MiB are available; lower params.vrio_eth.l2_packet_list_size/large_packet_list_size or add memory",
    ]);
  });
});

// ---- devices -------------------------------------------------------------------

const blkFact = (backing: string, guestIp: string, guestDevice = 'vdb', file = 'blk/bdev0'): VrioBlkFact => ({
  file,
  backing,
  guestIp,
  guestDevice,
  capacity: 0,
  bytesWritten: 0,
  bytesRead: 0,
  ioOps: 0,
});
const netFact = (backing: string, guestIp: string, file = 'net/ndev0'): VrioNetFact => ({ file, backing, guestIp, bytesSent: 0, bytesReceived: 0, ioOps: 0 });
const TAP = 'mvt00aa0003';
const VNIC = '52:54:00:aa:00:03';
const tapNic = (o: Partial<NicFact> = {}) => nic(VNIC, { kind: 'macvtap', lower: 'eth1', ...o });

/** A guest after its setup: front end loaded; `sees` the devices it shows. */
function guestReady(mac: string, sees: { disks?: string[]; vnics?: string[] } = {}): Facts {
  const f = guestFacts(mac, { modules: { vrio_eth: mod(), vrio_gen: mod(), vrio_gblk: mod(), vrio_gnet: mod() } });
  f.blockDevices.push(...(sees.disks ?? []));
  for (const [i, m] of (sees.vnics ?? []).entries()) f.nics[`eth${i + 1}`] = nic(m);
  return f;
}
const hdr = (mac: string, ip: string) => ['--iface', 'eth0', '--guest-mac', mac, '--guest-ip', ip];
const G1 = hdr('52:54:00:55:00:02', '10.55.0.2');
const G2 = hdr('52:54:00:55:00:03', '10.55.0.3');
const removeArgv = (h: string[], backing: string) => [HELPER, 'remove', ...h, '--backing', backing];
const createBlk = (guest: string, h: string[], backing: string, o: { wc?: boolean; label?: string } = {}) =>
  ch(
    'io1',
    'device-create',
    `create vRIO blk vdb for ${guest} (${backing})`,
    [HELPER, 'create-blk', ...h, '--backing', backing, '--name', 'vdb', ...(o.wc === false ? ['--no-write-cache'] : []), '--seg-max', '13'],
    { type: 'blk', guest, guestIp: h[5], guestMac: h[3], backing, name: 'vdb', writeCache: o.wc ?? true, segMax: 13 },
    { recover: removeArgv(h, backing), diff: { path: `vrio/blk/${backing}`, before: null, after: `${guest} ${h[5]}` } },
  );
const createNet = () =>
  ch(
    'io1',
    'device-create',
    `create vRIO net ${VNIC} for g2 (${TAP} on eth1)`,
    [HELPER, 'create-net', ...G2, '--backing', TAP, '--mac', VNIC, '--features', '0x7BE1'],
    { type: 'net', guest: 'g2', guestIp: '10.55.0.3', guestMac: '52:54:00:55:00:03', backing: TAP, mac: VNIC, features: '0x7BE1' },
    { recover: removeArgv(G2, TAP), diff: { path: `vrio/net/${TAP}`, before: null, after: 'g2 10.55.0.3' } },
  );
const tapAdd = () =>
  ch(
    'io1',
    'macvtap-add',
    `create macvtap ${TAP} on eth1 with MAC ${VNIC}`,
    ['sh', '-c', 'ip link add link "$1" name "$2" address "$3" type macvtap mode bridge && ip link set dev "$2" up', 'sh', 'eth1', TAP, VNIC],
    { interface: TAP, lower: 'eth1', mac: VNIC },
    { diff: { path: TAP, before: null, after: `macvtap on eth1 ${VNIC}` } },
  );
const tapDel = (why: string) => ch('io1', 'macvtap-del', `delete ${TAP} (wrong ${why})`, `ip link del dev ${TAP}`, { interface: TAP });
const remove = (type: 'blk' | 'net', backing: string, owner: string, h: string[], why: string, attachedTo = h[5]) =>
  ch(
    'io1',
    'device-remove',
    `remove vRIO ${type} on ${backing} (${why})`,
    removeArgv(h, backing),
    { type, backing, guest: owner, guestIp: attachedTo },
    {
      diff: { path: `vrio/${type}/${backing}`, before: attachedTo, after: null },
    },
  );
const plan = (changes: Change[], errors: string[] = [], notes: string[] = []) => ({ host: 'io1', role: 'iohyp', changes, errors, notes });

describe('devices, exactly', () => {
  const { io, g1, g2 } = lab((i) => (i.guests.g1.devices[0].writeCache = false));

  it('a fresh IOhyp: each CREATE with its recovery and --diff; the macvtap first', () => {
    const f = ioConverged();
    const p = planDevices(io, f, [
      { host: g1, facts: guestReady('52:54:00:55:00:02'), ok: true },
      { host: g2, facts: guestReady('52:54:00:55:00:03'), ok: true },
    ]);
    assert.deepEqual(p, plan([createBlk('g1', G1, '/dev/ram1', { wc: false }), createBlk('g2', G2, '/dev/ram2'), tapAdd(), createNet()]));
  });

  it('converged: every device attached to its guest, which sees it; the macvtap up on its lower NIC', () => {
    const f = ioConverged();
    f.nics[TAP] = tapNic();
    f.vrio.blk.push(blkFact('/dev/ram2', '10.55.0.3', 'vdb', 'blk/bdev1'), blkFact('/dev/ram1', '10.55.0.2'));
    f.vrio.net.push(netFact('/dev/ram9', '10.55.0.9', 'net/ndev1'), netFact(TAP, '10.55.0.3'));
    const views = [
      { host: g1, facts: guestReady('52:54:00:55:00:02', { disks: ['vdb'] }), ok: true },
      { host: g2, facts: guestReady('52:54:00:55:00:03', { disks: ['vdb'], vnics: [VNIC] }), ok: true },
    ];
    assert.deepEqual(planDevices(io, f, views), plan([], [], ['left alone: vRIO net on /dev/ram9 for 10.55.0.9 (not a guest of io1 in this inventory)']));
    // The same without the guests' facts (not gathered yet): sysfs alone says converged.
    assert.deepEqual(
      planDevices(io, f, [
        { host: g1, ok: true },
        { host: g2, ok: true },
      ]).changes,
      [],
    );
    // A guest that does not show its vNIC: the net device goes and comes back.
    views[1].facts = guestReady('52:54:00:55:00:03', { disks: ['vdb'], vnics: ['52:54:00:aa:00:99'] });
    assert.deepEqual(planDevices(io, f, views).changes, [remove('net', TAP, 'g2', G2, 'the guest does not see it'), createNet()]);
  });

  it('a disk attached to its guest under another name, or to another guest: removed from the one it is on, then created', () => {
    const f = ioConverged();
    f.vrio.blk.push(
      blkFact('/dev/ram1', '10.55.0.2', 'vdc'),
      blkFact('/dev/ram2', '10.55.0.2', 'vdb', 'blk/bdev1'),
      blkFact('/dev/ram3', '10.55.0.3', 'vdd', 'blk/bdev2'),
    );
    f.nics[TAP] = tapNic();
    f.vrio.net.push(netFact(TAP, '10.55.0.3'));
    const p = planDevices(io, f, [
      { host: g1, facts: guestReady('52:54:00:55:00:02', { disks: ['vdb', 'vdc'] }), ok: true },
      { host: g2, facts: guestReady('52:54:00:55:00:03', { vnics: [VNIC] }), ok: true },
    ]);
    assert.deepEqual(
      p,
      plan([
        remove('blk', '/dev/ram1', 'g1', G1, 'it is attached to 10.55.0.2'),
        createBlk('g1', G1, '/dev/ram1', { wc: false }),
        remove('blk', '/dev/ram2', 'g1', G1, 'it is attached to 10.55.0.2'),
        createBlk('g2', G2, '/dev/ram2'),
        ch(
          'io1',
          'device-remove',
          'remove vRIO blk on /dev/ram3 for g2 (no longer in the inventory)',
          removeArgv(G2, '/dev/ram3'),
          {
            type: 'blk',
            backing: '/dev/ram3',
            guest: 'g2',
            guestIp: '10.55.0.3',
          },
          { diff: { path: 'vrio/blk/' + '/dev/ram3', before: '10.55.0.3', after: null } },
        ),
      ]),
    );
  });

  it('a vNIC attached to another guest: removed from the one it is on, then created for its own', () => {
    const f = ioConverged();
    f.nics[TAP] = tapNic();
    f.vrio.blk.push(blkFact('/dev/ram2', '10.55.0.3', 'vdb', 'blk/bdev1'), blkFact('/dev/ram1', '10.55.0.2'));
    f.vrio.net.push(netFact(TAP, '10.55.0.2'));
    const p = planDevices(io, f, [
      { host: g1, facts: guestReady('52:54:00:55:00:02', { disks: ['vdb'] }), ok: true },
      { host: g2, facts: guestReady('52:54:00:55:00:03', { disks: ['vdb'] }), ok: true },
    ]);
    assert.deepEqual(p, plan([remove('net', TAP, 'g1', G1, 'it is attached to 10.55.0.2'), createNet()]));
  });

  it('a device attached to an address no inventory guest has is removed under the guest that wants it', () => {
    const f = ioConverged();
    f.vrio.blk.push(blkFact('/dev/ram1', '10.55.0.77'));
    const p = planDevices(io, f, [{ host: g1, facts: guestReady('52:54:00:55:00:02'), ok: true }]);
    assert.deepEqual(
      p,
      plan([remove('blk', '/dev/ram1', 'g1', G1, 'it is attached to 10.55.0.77', '10.55.0.77'), createBlk('g1', G1, '/dev/ram1', { wc: false })]),
    );
  });

  it('dropped devices of inventory guests go (disks and vNICs); one already removed for a move is not removed twice', () => {
    const f = ioConverged();
    f.nics[TAP] = tapNic();
    f.vrio.blk.push(blkFact('/dev/ram1', '10.55.0.3'), blkFact('/dev/ram5', '10.55.0.3', 'vde', 'blk/bdev1'));
    f.vrio.net.push(netFact('mvt00aa0077', '10.55.0.2'));
    const g2bare = lab((i) => (i.guests.g2.devices = [])).g2;
    const p = planDevices(io, f, [
      { host: g1, facts: guestReady('52:54:00:55:00:02'), ok: true },
      { host: g2bare, ok: true },
    ]);
    const dropped = (type: 'blk' | 'net', backing: string, owner: string, h: string[]) =>
      ch(
        'io1',
        'device-remove',
        `remove vRIO ${type} on ${backing} for ${owner} (no longer in the inventory)`,
        removeArgv(h, backing),
        { type, backing, guest: owner, guestIp: h[5] },
        {
          diff: { path: `vrio/${type}/${backing}`, before: h[5], after: null },
        },
      );
    assert.deepEqual(
      p,
      plan([
        remove('blk', '/dev/ram1', 'g2', G2, 'it is attached to 10.55.0.3'),
        createBlk('g1', G1, '/dev/ram1', { wc: false }),
        dropped('blk', '/dev/ram5', 'g2', G2),
        dropped('net', 'mvt00aa0077', 'g1', G1),
      ]),
    );
  });

  it('macvtaps: the wrong kind, MAC or lower NIC is replaced; a down one is brought up; one without a lower link is accepted', () => {
    const at = (tap: NicFact | undefined) => {
      const f = ioConverged();
      if (tap) f.nics[TAP] = tap;
      return planDevices(io, f, [{ host: lab((i) => (i.guests.g2.devices = [i.guests.g2.devices[1]])).g2, facts: guestReady('52:54:00:55:00:03'), ok: true }]);
    };
    assert.deepEqual(at(nic(VNIC)), plan([tapDel('kind'), tapAdd(), createNet()]));
    assert.deepEqual(at(tapNic({ mac: '52:54:00:aa:00:04' })), plan([tapDel('MAC'), tapAdd(), createNet()]));
    assert.deepEqual(at(tapNic({ lower: 'eth0' })), plan([tapDel('lower NIC'), tapAdd(), createNet()]));
    assert.deepEqual(at(tapNic({ lower: undefined })), plan([createNet()]));
    assert.deepEqual(at(tapNic({ up: false })), plan([ch('io1', 'link-up', `bring ${TAP} up`, `ip link set dev ${TAP} up`, { interface: TAP }), createNet()]));
    assert.deepEqual(at(undefined), plan([tapAdd(), createNet()]));
  });

  it('a vNIC whose lower NIC is missing: refused for that device only; a wrong macvtap is still deleted', () => {
    const f = ioConverged();
    delete f.nics.eth1;
    const views = [
      { host: g1, facts: guestReady('52:54:00:55:00:02'), ok: true },
      { host: g2, facts: guestReady('52:54:00:55:00:03'), ok: true },
    ];
    const refused = `cannot create net ${VNIC} for g2 (${TAP} on eth1): NIC eth1 does not exist on io1`;
    assert.deepEqual(planDevices(io, f, views), plan([createBlk('g1', G1, '/dev/ram1', { wc: false }), createBlk('g2', G2, '/dev/ram2')], [refused]));
    f.nics[TAP] = nic(VNIC);
    f.helper = false;
    assert.deepEqual(
      planDevices(
        io,
        f,
        views.slice(1).map((v) => ({ ...v, host: lab((i) => (i.guests.g2.devices = [i.guests.g2.devices[1]])).g2 })),
      ),
      plan([tapDel('kind')], [refused]),
    );
  });

  it('the control helper: needed for a CREATE or a REMOVE, not for a macvtap alone', () => {
    const f = ioConverged();
    f.helper = false;
    const missing = 'the control helper /usr/sbin/vrio-iohyp is missing on io1 (not a vRIO IOhyp image?)';
    assert.deepEqual(planDevices(io, f, [{ host: g1, facts: guestReady('52:54:00:55:00:02'), ok: true }]).errors, [missing]);
    const g2net = lab((i) => (i.guests.g2.devices = [i.guests.g2.devices[1]])).g2;
    assert.deepEqual(planDevices(io, f, [{ host: g2net, facts: guestReady('52:54:00:55:00:03'), ok: true }]).errors, [missing]);
    f.vrio.blk.push(blkFact('/dev/ram9', '10.55.0.2'));
    assert.deepEqual(planDevices(io, f, [{ host: lab((i) => (i.guests.g1.devices = [])).g1, ok: true }]).errors, [missing]);
  });

  it('a guest not ready, or without its front end: a note, an error, nothing planned', () => {
    const f = ioConverged();
    const noFront = guestFacts('52:54:00:55:00:03');
    assert.deepEqual(
      planDevices(io, f, [
        { host: g1, ok: false },
        { host: g2, facts: noFront, ok: true },
      ]),
      plan(
        [],
        [
          "cannot create blk vdb for g2 (/dev/ram2): the guest's front end vrio_gblk is not loaded",
          `cannot create net ${VNIC} for g2 (${TAP} on eth1): the guest's front end vrio_gnet is not loaded`,
        ],
        ['skipped blk vdb for g1 (/dev/ram1): guest g1 is not ready'],
      ),
    );
  });

  it('what a guest must show: its disks by name, its vNICs by MAC', () => {
    const seen = guestReady('52:54:00:55:00:03', { disks: ['vdb'], vnics: [VNIC] });
    assert.deepEqual(guestDeviceProblems(g2, seen), []);
    assert.deepEqual(guestDeviceProblems(g2, guestReady('52:54:00:55:00:03', { vnics: ['52:54:00:aa:00:04'] })), [
      'block device vdb is not visible in the guest',
      `no NIC with MAC ${VNIC} in the guest`,
    ]);
    assert.equal(guestSees(guestReady('52:54:00:55:00:03'), g2.devices[1]), false);
    assert.deepEqual(moduleNames(g2), ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet']);
  });
});

// ---- teardown ------------------------------------------------------------------

describe('teardown, exactly', () => {
  const { io, g1, g2 } = lab();
  const devRemove = (type: 'blk' | 'net', backing: string, guest: string, h: string[]) =>
    ch(
      'io1',
      'device-remove',
      `remove vRIO ${type} on ${backing} for ${guest}`,
      removeArgv(h, backing),
      { type, backing, guest, guestIp: h[5] },
      {
        diff: { path: `vrio/${type}/${backing}`, before: h[5], after: null },
      },
    );
  const delTap = ch(
    'io1',
    'macvtap-del',
    `delete macvtap ${TAP}`,
    `ip link del dev ${TAP}`,
    { interface: TAP },
    { diff: { path: TAP, before: 'macvtap', after: null } },
  );

  it('devices: each one its guest has, found by its backing; one on another guest is left alone; the macvtap deleted', () => {
    const f = ioConverged();
    f.nics[TAP] = tapNic();
    f.vrio.blk.push(blkFact('/dev/ram2', '10.55.0.9', 'vdb', 'blk/bdev1'), blkFact('/dev/ram1', '10.55.0.2'));
    f.vrio.net.push(netFact('mvt0', '10.55.0.9', 'net/ndev1'), netFact(TAP, '10.55.0.3'));
    assert.deepEqual(
      planDeviceTeardown(io, f, [g1, g2]),
      plan(
        [devRemove('blk', '/dev/ram1', 'g1', G1), devRemove('net', TAP, 'g2', G2), delTap],
        [],
        ['left alone: vRIO blk on /dev/ram2 belongs to 10.55.0.9, not g2'],
      ),
    );
  });

  it('a NIC under the macvtap name that is no macvtap stays; nothing attached, nothing to remove', () => {
    const f = ioConverged();
    f.nics[TAP] = nic(VNIC);
    f.helper = false;
    assert.deepEqual(planDeviceTeardown(io, f, [g1, g2]), plan([]));
  });

  it('the helper is needed for a REMOVE only', () => {
    const f = ioConverged();
    f.helper = false;
    f.nics[TAP] = tapNic();
    assert.deepEqual(planDeviceTeardown(io, f, [g2]), plan([delTap]));
    f.vrio.net.push(netFact(TAP, '10.55.0.3'));
    assert.deepEqual(planDeviceTeardown(io, f, [g2]).errors, ['the control helper /usr/sbin/vrio-iohyp is missing on io1']);
  });

  it('the host: modules in reverse order, users outside the inventory first; support modules others use are kept; every recorded setting restored', () => {
    const f = ioConverged();
    f.modules.vrio_gen = mod(['vrio_hblk', 'vrio_hnet', 'vrio_test']);
    f.modules.vrio_test = mod();
    f.modules.macvtap = mod(['vrio_hnet', 'other', 'other2']);
    f.modules.macvlan = mod(['macvtap']);
    f.nics.eth0 = nic('52:54:00:55:00:01', { mtu: 8100, combined: { current: 1, max: 8 }, ipv4: ['10.55.0.1/24'] });
    f.sysctls = { 'net.core.rmem_max': '3407872', 'net.core.wmem_max': '212992', 'net.core.rmem_default': '3407872' };
    f.saved = {
      'mtu.eth0': '1500',
      'up.eth0': '0',
      'combined.eth0': '4',
      'sysctl.net.core.rmem_max': '212992',
      'sysctl.net.core.wmem_max': '212992',
      'sysctl.net.core.wmem_default': '212992',
      preloaded: '',
      'address.eth0': '0',
    };
    assert.deepEqual(planHostTeardown(io, f), {
      host: 'io1',
      role: 'iohyp',
      errors: [],
      notes: ['kept macvtap: used by other, other2', 'kept macvlan: used by macvtap'],
      changes: [
        unload('io1', 'vrio_hnet', ''),
        unload('io1', 'vrio_hblk', ''),
        unload('io1', 'vrio_test', 'uses vrio_gen'),
        unload('io1', 'vrio_gen', ''),
        unload('io1', 'vrio_eth', ''),
        unload('io1', 'tun', ''),
        ch(
          'io1',
          'mtu',
          'restore eth0 mtu 8100 -> 1500',
          'ip link set dev eth0 mtu 1500',
          { interface: 'eth0', mtu: 1500 },
          { diff: { path: 'eth0/mtu', before: '8100', after: '1500' } },
        ),
        ch('io1', 'queues', 'restore eth0 combined queues 1 -> 4', 'ethtool -L eth0 combined 4', { interface: 'eth0', combined: 4 }),
        ch('io1', 'address', 'remove address 10.55.0.1/24 from eth0', 'ip addr del 10.55.0.1/24 dev eth0', {
          interface: 'eth0',
          address: '10.55.0.1/24',
          remove: true,
        }),
        ch('io1', 'link-up', 'set eth0 down again', 'ip link set dev eth0 down', { interface: 'eth0', down: true }),
        ch(
          'io1',
          'sysctl',
          'restore net.core.rmem_max 3407872 -> 212992',
          'sysctl -w net.core.rmem_max=212992',
          { key: 'net.core.rmem_max', value: '212992' },
          {
            diff: { path: 'net.core.rmem_max', before: '3407872', after: '212992' },
          },
        ),
        ch('io1', 'clear-state', 'forget the recorded settings (/run/vrio-provision/state)', 'rm -f /run/vrio-provision/state', {
          file: '/run/vrio-provision/state',
        }),
      ],
    });
  });

  it('settings as they were, or not recorded, or on a NIC that is gone: only the state file goes', () => {
    const clear = ch('io1', 'clear-state', 'forget the recorded settings (/run/vrio-provision/state)', 'rm -f /run/vrio-provision/state', {
      file: '/run/vrio-provision/state',
    });
    const bare = () => freshFacts({ nics: { eth0: nic('52:54:00:55:00:01', { combined: { current: 1, max: 8 }, ipv4: ['10.55.0.1/24'] }) } });
    const same = bare();
    same.saved = { 'mtu.eth0': '1500', 'up.eth0': '1', 'combined.eth0': '1', 'sysctl.net.core.rmem_max': '212992', 'address.eth0': '1' };
    assert.deepEqual(planHostTeardown(io, same), { host: 'io1', role: 'iohyp', changes: [clear], errors: [], notes: [] });
    const unrecorded = bare();
    unrecorded.saved = {};
    assert.deepEqual(planHostTeardown(io, unrecorded).changes, [clear]);
    const gone = freshFacts({ nics: {} });
    gone.saved = { 'mtu.eth0': '1500', 'up.eth0': '0', 'combined.eth0': '4', 'address.eth0': '0' };
    assert.deepEqual(planHostTeardown(io, gone).changes, [clear]);
    const notThere = bare();
    notThere.nics.eth0.ipv4 = [];
    notThere.saved = { 'address.eth0': '0' };
    assert.deepEqual(planHostTeardown(io, notThere).changes, [clear]);
  });

  it('nothing loaded and nothing recorded: an empty plan without notes', () => {
    assert.deepEqual(planHostTeardown(g1, guestFacts('52:54:00:55:00:02')), { host: 'g1', role: 'guest', changes: [], errors: [], notes: [] });
  });
});

describe('the whole host plan (plan.ts)', () => {
  const { io } = lab(
    (i) =>
      (i.iohyps.io1.files = [
        { path: '/etc/vrio', type: 'directory' },
        { path: '/etc/vrio.conf', content: 'x\n' },
      ]),
  );
  const facts = () => freshFacts({ modulesSupported: false, files: { '/etc/vrio': { type: 'file', mode: 0o644 } } });

  it("--only files: the files' changes and errors alone", () => {
    const p = planHost(io, facts(), 'files');
    assert.deepEqual(
      [p.host, p.role, p.changes.map((c) => c.kind), p.errors, p.notes],
      ['io1', 'iohyp', ['file-write'], ['/etc/vrio exists as a file, not a directory (remove it first, e.g. an entry with state: absent)'], []],
    );
    assert.deepEqual(Object.keys(p), ['host', 'role', 'changes', 'errors', 'notes']);
  });

  it('everything: files first, then setup; the errors of both', () => {
    const p = planHost(io, facts());
    assert.deepEqual(p.changes.map((c) => c.kind).slice(0, 3), ['file-write', 'save-state', 'sysctl']);
    assert.deepEqual(p.errors, [
      '/etc/vrio exists as a file, not a directory (remove it first, e.g. an entry with state: absent)',
      'kernel 3.10.0-vrio has no loadable-module support (/proc/modules missing)',
    ]);
    assert.deepEqual(planHost(io, facts(), 'all'), p);
  });
});

// The two shell scripts the vRIO operations send, run by a real /bin/sh: the
// state record (against a temporary directory, read back by the real facts
// script) and the macvtap creation (against a stand-in `ip` that logs).
describe('the remote scripts, run by /bin/sh', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vrio-plan-exact-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('save-state writes the state file teardown reads: its directory made, mode 0600, no temporary left, every line read back by the facts script', () => {
    const { io } = lab();
    const f = freshFacts({ nics: { eth0: nic('52:54:00:55:00:01', { combined: { current: 4, max: 8 } }) }, modules: { tun: mod() } });
    const save = planSetup(io, f).changes[0];
    const file = join(tmp, 'run', 'vrio-provision', 'state');
    assert.equal(save.argv[4], '/run/vrio-provision/state');
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('/bin/sh', [...save.argv.slice(1, 4), file, ...save.argv.slice(5)], { encoding: 'utf8' });
      assert.deepEqual([r.status, r.stderr], [0, '']);
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(tmp, 'run', 'vrio-provision')), ['state']);
    const lines = savedStateLines(io, f);
    assert.equal(readFileSync(file, 'utf8'), lines.join('\n') + '\n');
    const q = factsCommand({ modules: [], ethtool: [] });
    assert.equal(q[7], '/run/vrio-provision/state');
    const r = spawnSync('/bin/sh', [...q.slice(1, 7), file, ...q.slice(8)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(parseFacts(r.stdout).saved, {
      'mtu.eth0': '1500',
      'up.eth0': '1',
      'combined.eth0': '4',
      'sysctl.net.core.rmem_max': '212992',
      'sysctl.net.core.wmem_max': '212992',
      'sysctl.net.core.rmem_default': '212992',
      'sysctl.net.core.wmem_default': '212992',
      preloaded: 'tun',
      'address.eth0': '0',
    });
  });

  it('macvtap-add: the link created on its lower NIC with the vNIC MAC, then set up; nothing more when the creation fails', () => {
    const { io, g2 } = lab();
    const bin = join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'ip'), '#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$LOG"\n[ -z "$FAIL" ]\n');
    chmodSync(join(bin, 'ip'), 0o755);
    const add = planDevices(io, ioConverged(), [{ host: g2, facts: guestReady('52:54:00:55:00:03'), ok: true }]).changes.find((c) => c.kind === 'macvtap-add')!;
    const run = (log: string, fail: string) =>
      spawnSync(add.argv[0], add.argv.slice(1), { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, LOG: join(tmp, log), FAIL: fail } });
    assert.equal(run('ok.log', '').status, 0);
    assert.equal(
      readFileSync(join(tmp, 'ok.log'), 'utf8'),
      `link add link eth1 name ${TAP} address ${VNIC} type macvtap mode bridge\nlink set dev ${TAP} up\n`,
    );
    assert.notEqual(run('fail.log', '1').status, 0);
    assert.equal(readFileSync(join(tmp, 'fail.log'), 'utf8'), `link add link eth1 name ${TAP} address ${VNIC} type macvtap mode bridge\n`);
  });
});
