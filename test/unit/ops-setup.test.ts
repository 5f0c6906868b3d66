// Setup operations (links, sysctls, modules) from fixture facts: load order,
// parameters, reloads, refusals, and no-op when converged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change } from '../../provision/ops/change.js';
import { projectFacts } from '../../provision/ops/projection.js';
import { planSetup } from '../../provision/ops/vrio.js';
import { freshFacts, guestFacts, lab, nic } from './ops-fixtures.js';

const kinds = (cs: Change[]) => cs.map((c) => c.kind);
const loads = (cs: Change[]) => cs.filter((c) => c.kind === 'module-load').map((c) => c.argv.join(' '));
const unloads = (cs: Change[]) => cs.filter((c) => c.kind === 'module-unload').map((c) => c.data.module);

describe('setup: IOhyp back end', () => {
  const { io } = lab();
  it('a fresh IOhyp: record state, sysctls, MTU, address, then modules in back-end order with parameters', () => {
    const p = planSetup(io, freshFacts());
    assert.deepEqual(p.errors, []);
    assert.deepEqual(kinds(p.changes), [
      'save-state',
      'sysctl',
      'sysctl',
      'sysctl',
      'sysctl',
      'mtu',
      'address',
      'module-load',
      'module-load',
      'module-load',
      'module-load',
      'module-load',
      'module-load',
      'module-load',
    ]);
    assert.deepEqual(loads(p.changes), [
      'modprobe macvlan',
      'modprobe macvtap',
      'modprobe tun',
      'modprobe vrio_eth l2_packet_size=8100 l2_packet_list_size=256 large_packet_list_size=256',
      'modprobe vrio_gen h_eth_name=eth0 h_cpu_affinity=1',
      'modprobe vrio_hblk',
      'modprobe vrio_hnet',
    ]);
    assert.deepEqual(p.changes.find((c) => c.kind === 'mtu')!.argv, ['ip', 'link', 'set', 'dev', 'eth0', 'mtu', '8100']);
    assert.deepEqual(p.changes.find((c) => c.kind === 'sysctl')!.argv, ['sysctl', '-w', 'net.core.rmem_max=3407872']);
    assert.deepEqual(p.changes.find((c) => c.kind === 'address')!.argv, ['ip', 'addr', 'add', '10.55.0.1/24', 'dev', 'eth0']);
  });
  it('the recorded state holds what teardown must restore', () => {
    const p = planSetup(io, freshFacts({ modules: { tun: { refcount: 0, usedBy: [], params: {} } } }));
    const save = p.changes[0];
    assert.equal(save.kind, 'save-state');
    assert.deepEqual(save.data.lines, [
      'mtu.eth0=1500',
      'up.eth0=1',
      'sysctl.net.core.rmem_max=212992',
      'sysctl.net.core.wmem_max=212992',
      'sysctl.net.core.rmem_default=212992',
      'sysctl.net.core.wmem_default=212992',
      'preloaded=tun',
      'address.eth0=0',
    ]);
    assert.ok(!loads(p.changes).includes('modprobe tun'), 'a loaded support module is not loaded again');
  });
  it('converged: no changes (plan after apply is empty)', () => {
    const f = freshFacts();
    const after = projectFacts(f, planSetup(io, f).changes);
    const again = planSetup(io, after);
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.errors, []);
  });
  it('vrio_gen loaded without CPU affinity: reload it and what sits on it, keep vrio_eth', () => {
    const f = projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
    f.modules.vrio_gen.params = { h_eth_name: 'eth0', h_cpu_affinity: '0' };
    f.modules.vrio_gen.usedBy = ['vrio_hblk', 'vrio_hnet'];
    const p = planSetup(io, f);
    assert.deepEqual(unloads(p.changes), ['vrio_hnet', 'vrio_hblk', 'vrio_gen']);
    assert.deepEqual(loads(p.changes), ['modprobe vrio_gen h_eth_name=eth0 h_cpu_affinity=1', 'modprobe vrio_hblk', 'modprobe vrio_hnet']);
    assert.match(p.changes.find((c) => c.data.module === 'vrio_gen')!.summary, /h_cpu_affinity=0 \(want 1\)/);
  });
  it('a module outside the inventory that uses vrio_gen is unloaded first', () => {
    const f = projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
    f.modules.vrio_gen.params.h_eth_name = 'eth9';
    f.modules.vrio_gen.usedBy = ['vrio_hblk', 'vrio_hnet', 'vrio_hsdev'];
    f.modules.vrio_hsdev = { refcount: 0, usedBy: [], params: {} };
    assert.deepEqual(unloads(planSetup(io, f).changes), ['vrio_hnet', 'vrio_hblk', 'vrio_hsdev', 'vrio_gen']);
  });
  it('only the missing module is loaded', () => {
    const f = projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
    delete f.modules.vrio_hblk;
    const p = planSetup(io, f);
    assert.deepEqual(
      p.changes.map((c) => c.summary),
      ['load vrio_hblk'],
    );
  });
  it('unreadable parameters count as right (no needless reload)', () => {
    const f = projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
    f.modules.vrio_gen.params = {};
    assert.deepEqual(planSetup(io, f).changes, []);
  });
  it('refuses a vrio_eth load that cannot fit in free memory', () => {
    const { io: big } = lab((i) => (i.iohyps.io1.params = { vrio_eth: { l2_packet_list_size: 4096, large_packet_list_size: 4096 } }));
    const p = planSetup(big, freshFacts({ memAvailableKiB: 400_000 }));
    assert.equal(p.errors.length, 1);
    assert.match(p.errors[0], /need ~\d+ MiB but only 391 MiB/);
  });
  it('refuses a kernel without module support', () => {
    const p = planSetup(io, freshFacts({ modulesSupported: false }));
    assert.match(p.errors.join(), /no loadable-module support/);
  });
  it('refuses when the L2 interface is missing, naming the NICs that exist', () => {
    const { io: x } = lab((i) => (i.iohyps.io1.l2.interface = 'eth7'));
    const p = planSetup(x, freshFacts());
    assert.deepEqual(p.changes, []);
    assert.match(p.errors[0], /eth7 does not exist \(NICs: lo, eth0, eth1\)/);
  });
  it('reduces the NIC to one combined queue, or says why not', () => {
    const f = freshFacts();
    f.nics.eth0.combined = { current: 4, max: 4 };
    assert.deepEqual(planSetup(io, f).changes.find((c) => c.kind === 'queues')!.argv, ['ethtool', '-L', 'eth0', 'combined', '1']);
    const g = freshFacts({ tools: { modprobe: true, ip: true } });
    g.nics.eth0.rxQueues = 4;
    assert.match(planSetup(io, g).notes.join(), /ethtool is missing/);
  });
  it('brings a down link up', () => {
    const f = freshFacts();
    f.nics.eth0.up = false;
    assert.ok(planSetup(io, f).changes.some((c) => c.kind === 'link-up' && c.argv.join(' ') === 'ip link set dev eth0 up'));
  });
  it('does not record state twice', () => {
    assert.ok(!planSetup(io, freshFacts({ saved: { preloaded: '' } })).changes.some((c) => c.kind === 'save-state'));
  });
  it('vMTU 1500 uses l2_packet_size 1514', () => {
    const { io: x } = lab((i) => ((i.iohyps.io1.mtu = 1500), (i.guests.g1.mtu = 1500), (i.guests.g2.mtu = 1500)));
    const p = planSetup(x, freshFacts());
    assert.ok(!p.changes.some((c) => c.kind === 'mtu'));
    assert.ok(loads(p.changes).some((l) => l.startsWith('modprobe vrio_eth l2_packet_size=1514 ')));
  });
});

describe('setup: guest front end', () => {
  const { g1 } = lab();
  it('a fresh guest loads vrio_eth -> vrio_gen (g_ parameters) -> vrio_gblk, vrio_gnet', () => {
    const p = planSetup(g1, guestFacts('52:54:00:55:00:02'));
    assert.deepEqual(loads(p.changes), [
      'modprobe vrio_eth l2_packet_size=8100 l2_packet_list_size=256 large_packet_list_size=256',
      'modprobe vrio_gen g_eth_name=eth0 g_cpu_affinity=1',
      'modprobe vrio_gblk',
      'modprobe vrio_gnet',
    ]);
  });
  it('refuses when the guest NIC MAC is not the one the IOhyp will address', () => {
    const p = planSetup(g1, guestFacts('52:54:00:99:99:99'));
    assert.match(p.errors.join(), /has MAC 52:54:00:99:99:99 but the inventory says 52:54:00:55:00:02/);
  });
});

describe('setup: CI test images (modules override)', () => {
  const { io } = lab((i) => {
    delete i.guests;
    i.iohyps.io1.modules = [{ name: 'vrio_test', params: { greeting: 'hi', count: 2 } }];
    i.iohyps.io1.mtu = 1500;
  });
  it('loads the test module with its parameters and sets the MTU, no vRIO sysctls or queues', () => {
    const f = freshFacts();
    f.nics.eth0 = nic('52:54:00:55:00:01', { mtu: 9000, combined: { current: 2, max: 2 } });
    const p = planSetup(io, f);
    assert.deepEqual(kinds(p.changes), ['save-state', 'mtu', 'address', 'module-load']);
    assert.deepEqual(p.changes[3].argv, ['modprobe', 'vrio_test', 'greeting=hi', 'count=2']);
    assert.deepEqual(planSetup(io, projectFacts(f, p.changes)).changes, [], 're-apply is a no-op');
  });
  it('a changed parameter reloads the module', () => {
    const f = freshFacts({ modules: { vrio_test: { refcount: 0, usedBy: [], params: { greeting: 'hello', count: '2' } } } });
    f.nics.eth0.mtu = 1500;
    f.nics.eth0.ipv4 = ['10.55.0.1/24'];
    f.saved = {};
    const p = planSetup(io, f);
    assert.deepEqual(
      p.changes.map((c) => c.argv.join(' ')),
      ['rmmod vrio_test', 'modprobe vrio_test greeting=hi count=2'],
    );
  });
});

// The kernel shows a bool parameter as Y or N whatever it was given
// (param_get_bool; checked against the real 3.10 kernel in
// test/integration/provision-qemu.test.ts, the fake kernel does the same).
// What a user sees: the second apply changes nothing, however the inventory
// spells the bool; a bool the kernel really has the other way is reloaded.
describe('setup: bool module parameters as the kernel reads them back', () => {
  const host = (csum: unknown) =>
    lab((i) => {
      delete i.guests;
      i.iohyps.io1.modules = [{ name: 'vrio_gnet', params: { csum } }];
      i.iohyps.io1.mtu = 1500;
    }).io;
  const converged = (readBack: string) => {
    const f = freshFacts({ modules: { vrio_gnet: { refcount: 0, usedBy: [], params: { csum: readBack } } } });
    f.nics.eth0.mtu = 1500;
    f.nics.eth0.ipv4 = ['10.55.0.1/24'];
    f.saved = {};
    return f;
  };
  for (const [written, readBack] of [
    [true, 'Y'],
    [false, 'N'],
    [1, 'Y'],
    [0, 'N'],
    ['Y', 'Y'],
    ['N', 'N'],
  ] as const) {
    it(`csum: ${JSON.stringify(written)} in the inventory, ${readBack} in /sys/module: nothing to do`, () => {
      assert.deepEqual(planSetup(host(written), converged(readBack)).changes, []);
    });
  }
  for (const [written, readBack] of [
    [1, 'N'],
    [0, 'Y'],
    [true, 'N'],
  ] as const) {
    it(`csum: ${JSON.stringify(written)} in the inventory, ${readBack} in /sys/module: reloaded`, () => {
      assert.deepEqual(
        planSetup(host(written), converged(readBack)).changes.map((c) => c.argv.join(' ')),
        ['rmmod vrio_gnet', `modprobe vrio_gnet csum=${written === true ? 'Y' : written}`],
      );
    });
  }
});
