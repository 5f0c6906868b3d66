// What `vrio plan` prints and `apply` runs, exactly: every change's kind, its
// one-line summary, the remote command and the --diff before -> after, for a
// fresh IOhyp, a fresh guest and an IOhyp whose modules are loaded with old
// parameters (the reload: users first, in reverse load order). And the
// planner's own verdicts: which loaded parameters count as different, the
// memory vrio_eth's packet lists need, and the errors that stop a host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change } from '../../provision/ops/change.js';
import { planHost } from '../../provision/ops/plan.js';
import { paramMismatch, planModules, vrioMemoryBytes } from '../../provision/ops/vrio.js';
import { freshFacts, guestFacts, lab } from './ops-fixtures.js';

const row = (c: Change) => [c.kind, c.summary, c.argv.join(' '), c.diff ? `${c.diff.path}: ${c.diff.before} -> ${c.diff.after}` : ''];
const SAVE = 'sh -c f=$1; shift; umask 077; mkdir -p "${f%/*}" && printf "%s\\n" "$@" > "$f.tmp" && mv "$f.tmp" "$f" sh /run/vrio-provision/state';
const SAVED_SYSCTLS = 'sysctl.net.core.rmem_max=212992 sysctl.net.core.wmem_max=212992 sysctl.net.core.rmem_default=212992 sysctl.net.core.wmem_default=212992';
const sysctls = ['rmem_max', 'wmem_max', 'rmem_default', 'wmem_default'].map((k) => [
  'sysctl',
  `set net.core.${k} 212992 -> 3407872`,
  `sysctl -w net.core.${k}=3407872`,
  `net.core.${k}: 212992 -> 3407872`,
]);
const ETH = 'l2_packet_size=8100 l2_packet_list_size=256 large_packet_list_size=256';

describe('plans, exactly as plan shows them', () => {
  const { io, g1 } = lab();

  it('a fresh IOhyp: record the state, sysctls, MTU, address, then every module in load order', () => {
    const p = planHost(io, freshFacts());
    assert.deepEqual([p.errors, p.notes], [[], []]);
    assert.deepEqual(p.changes.map(row), [
      [
        'save-state',
        'record current settings in /run/vrio-provision/state (teardown restores them)',
        `${SAVE} mtu.eth0=1500 up.eth0=1 ${SAVED_SYSCTLS} preloaded= address.eth0=0`,
        '',
      ],
      ...sysctls,
      ['mtu', 'set eth0 mtu 1500 -> 8100', 'ip link set dev eth0 mtu 8100', 'eth0/mtu: 1500 -> 8100'],
      ['address', 'add address 10.55.0.1/24 to eth0', 'ip addr add 10.55.0.1/24 dev eth0', 'eth0/ipv4: null -> 10.55.0.1/24'],
      ['module-load', 'load macvlan', 'modprobe macvlan', 'module macvlan: null -> loaded'],
      ['module-load', 'load macvtap', 'modprobe macvtap', 'module macvtap: null -> loaded'],
      ['module-load', 'load tun', 'modprobe tun', 'module tun: null -> loaded'],
      ['module-load', `load vrio_eth ${ETH}`, `modprobe vrio_eth ${ETH}`, `module vrio_eth: null -> ${ETH}`],
      [
        'module-load',
        'load vrio_gen h_eth_name=eth0 h_cpu_affinity=1',
        'modprobe vrio_gen h_eth_name=eth0 h_cpu_affinity=1',
        'module vrio_gen: null -> h_eth_name=eth0 h_cpu_affinity=1',
      ],
      ['module-load', 'load vrio_hblk', 'modprobe vrio_hblk', 'module vrio_hblk: null -> loaded'],
      ['module-load', 'load vrio_hnet', 'modprobe vrio_hnet', 'module vrio_hnet: null -> loaded'],
    ]);
  });

  it('a fresh guest: no address without a prefix, the front-end modules', () => {
    const p = planHost(g1, guestFacts(g1.l2.mac!));
    assert.deepEqual(p.changes.map(row), [
      [
        'save-state',
        'record current settings in /run/vrio-provision/state (teardown restores them)',
        `${SAVE} mtu.eth0=1500 up.eth0=1 ${SAVED_SYSCTLS} preloaded=`,
        '',
      ],
      ...sysctls,
      ['mtu', 'set eth0 mtu 1500 -> 8100', 'ip link set dev eth0 mtu 8100', 'eth0/mtu: 1500 -> 8100'],
      ['module-load', `load vrio_eth ${ETH}`, `modprobe vrio_eth ${ETH}`, `module vrio_eth: null -> ${ETH}`],
      [
        'module-load',
        'load vrio_gen g_eth_name=eth0 g_cpu_affinity=1',
        'modprobe vrio_gen g_eth_name=eth0 g_cpu_affinity=1',
        'module vrio_gen: null -> g_eth_name=eth0 g_cpu_affinity=1',
      ],
      ['module-load', 'load vrio_gblk', 'modprobe vrio_gblk', 'module vrio_gblk: null -> loaded'],
      ['module-load', 'load vrio_gnet', 'modprobe vrio_gnet', 'module vrio_gnet: null -> loaded'],
    ]);
  });

  it('modules loaded with an old parameter: its users unloaded first, then it, then everything reloaded in order', () => {
    const f = freshFacts();
    f.modules = {
      macvlan: { refcount: 1, usedBy: ['macvtap'], params: {} },
      macvtap: { refcount: 0, usedBy: [], params: {} },
      vrio_eth: { refcount: 2, usedBy: ['vrio_gen'], params: { l2_packet_size: '8100', l2_packet_list_size: '128', large_packet_list_size: '256' } },
      // A bool parameter reads back Y: the same as the 1 the inventory gives.
      vrio_gen: { refcount: 1, usedBy: ['vrio_hblk'], params: { h_eth_name: 'eth0', h_cpu_affinity: 'Y' } },
      vrio_hblk: { refcount: 0, usedBy: [], params: {} },
    };
    f.nics.eth0 = { ...f.nics.eth0!, mtu: 8100, ipv4: ['10.55.0.1/24'] };
    for (const k of Object.keys(f.sysctls)) f.sysctls[k] = '3407872';
    f.saved = { 'mtu.eth0': '1500' };
    const p = planHost(io, f);
    assert.deepEqual([p.errors, p.notes], [[], []]);
    assert.deepEqual(p.changes.map(row), [
      ['module-unload', 'unload vrio_hblk (reload after a module it needs)', 'rmmod vrio_hblk', 'module vrio_hblk: loaded -> null'],
      ['module-unload', 'unload vrio_gen (reload after a module it needs)', 'rmmod vrio_gen', 'module vrio_gen: loaded -> null'],
      ['module-unload', 'unload vrio_eth (reload: l2_packet_list_size=128 (want 256))', 'rmmod vrio_eth', 'module vrio_eth: loaded -> null'],
      ['module-load', 'load tun', 'modprobe tun', 'module tun: null -> loaded'],
      ['module-load', `load vrio_eth ${ETH}`, `modprobe vrio_eth ${ETH}`, `module vrio_eth: loaded (old parameters) -> ${ETH}`],
      [
        'module-load',
        'load vrio_gen h_eth_name=eth0 h_cpu_affinity=1',
        'modprobe vrio_gen h_eth_name=eth0 h_cpu_affinity=1',
        'module vrio_gen: loaded (old parameters) -> h_eth_name=eth0 h_cpu_affinity=1',
      ],
      ['module-load', 'load vrio_hblk', 'modprobe vrio_hblk', 'module vrio_hblk: loaded (old parameters) -> loaded'],
      ['module-load', 'load vrio_hnet', 'modprobe vrio_hnet', 'module vrio_hnet: null -> loaded'],
    ]);
  });
});

describe('the planner’s verdicts', () => {
  it('a loaded parameter differs only when the kernel would show another value', () => {
    assert.deepEqual(paramMismatch({ a: '1', b: '0', c: 'true', d: 'false', e: '5' }, { a: 'Y', b: 'N', c: 'Y', d: 'N', e: ' 5\n' }), []);
    assert.deepEqual(paramMismatch({ a: 'Y', b: 'N' }, { a: '1', b: '0' }), []);
    assert.deepEqual(paramMismatch({ a: '1', b: 'eth0', c: '7' }, { a: 'N', b: 'eth1' }), ['a=N (want 1)', 'b=eth1 (want eth0)']);
    assert.deepEqual(paramMismatch({ n: '10' }, { n: '1' }), ['n=1 (want 10)']);
  });

  it('vrio_eth packet lists: (list + large list) x packet size x bytes per entry byte; nothing without vrio_eth', () => {
    const { io } = lab();
    assert.equal(vrioMemoryBytes(io), 37739520);
    const { io: custom } = lab((i) => ((i.iohyps.io1.modules = [{ name: 'vrio_test' }]), (i.guests.g1.devices = []), (i.guests.g2.devices = [])));
    assert.equal(vrioMemoryBytes(custom), 0);
    const { io: big } = lab((i) => (i.iohyps.io1.params = { vrio_eth: { l2_packet_list_size: 1008, large_packet_list_size: 16 } }));
    assert.equal(vrioMemoryBytes(big), 2 * 37739520);
  });

  it('errors that stop a host: no module support, too little memory for the packet lists', () => {
    const { io } = lab();
    assert.deepEqual(planModules(io, freshFacts({ modulesSupported: false, memAvailableKiB: 1000 })).errors, [
      'kernel 3.10.0-vrio has no loadable-module support (/proc/modules missing)',
      "vrio_eth's packet lists need ~45 MiB but only 1 MiB are available; lower params.vrio_eth.l2_packet_list_size/large_packet_list_size or add memory",
    ]);
    assert.deepEqual(planModules(io, freshFacts({ modulesSupported: false, kernel: '' })).errors, [
      'kernel ? has no loadable-module support (/proc/modules missing)',
    ]);
    // Unknown available memory (0) is no verdict; enough memory neither.
    assert.deepEqual(planModules(io, freshFacts({ memAvailableKiB: 0 })).errors, []);
    assert.deepEqual(planModules(io, freshFacts({ memAvailableKiB: 46_069 })).errors, []);
    assert.equal(planModules(io, freshFacts({ memAvailableKiB: 46_068 })).errors.length, 1);
  });
});
