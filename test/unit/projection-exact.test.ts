// plan computes device changes against what a host will look like after its
// setup changes (projectFacts); a wrong projection shows up as a wrong plan
// (a device planned on a NIC that will not exist, a module reload missed).
// These pin the projected facts of every change kind, whole, and that the
// host's real facts are never touched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Facts } from '../../provision/facts.js';
import type { Change, ChangeKind } from '../../provision/ops/change.js';
import { projectFacts } from '../../provision/ops/projection.js';

function facts(): Facts {
  return {
    hostname: 'io1',
    kernel: '3.10.0-vrio',
    memTotalKiB: 1_000_000,
    memAvailableKiB: 800_000,
    modulesSupported: true,
    modules: {
      macvtap: { refcount: 1, usedBy: ['vrio_hnet'], params: {} },
      vrio_eth: { refcount: 2, usedBy: ['vrio_gen', 'vrio_hnet'], params: { l2_packet_size: '8100' } },
    },
    iohypDevice: false,
    helper: true,
    tools: { ethtool: true },
    nics: {
      eth1: {
        mtu: 1500,
        mac: '52:54:00:00:00:01',
        up: false,
        operstate: 'down',
        rxQueues: 2,
        txQueues: 2,
        combined: { current: 2, max: 2 },
        ipv4: ['10.0.0.1/24'],
      },
      eth2: { mtu: 1500, mac: '52:54:00:00:00:02', up: true, operstate: 'up', rxQueues: 1, txQueues: 1, ipv4: [] },
    },
    blockDevices: ['ram0'],
    sysctls: { 'net.core.rmem_max': '212992' },
    vrio: { blk: [], net: [], core: [] },
    files: {
      '/etc/vrio': { type: 'directory', mode: 0o755 },
      '/etc/vrio/a.conf': { type: 'file', mode: 0o644, sha256: 'aa' },
      '/etc/vrio-other': { type: 'file', mode: 0o644, sha256: 'bb' },
    },
  };
}

const change = (kind: ChangeKind, data: Record<string, unknown>): Change => ({ host: 'io1', kind, summary: kind, data, argv: ['true'] });

describe('projected facts, exactly', () => {
  it('every setup change kind, applied in order, gives exactly these facts; the real facts are untouched', () => {
    const before = facts();
    const snapshot = structuredClone(before);
    const after = projectFacts(before, [
      change('save-state', { lines: ['mtu.eth1=1500', 'sysctl.x=a=b'] }),
      change('sysctl', { key: 'net.core.rmem_max', value: '3407872' }),
      change('mtu', { interface: 'eth1', mtu: 8100 }),
      change('mtu', { interface: 'nosuch', mtu: 9000 }),
      change('queues', { interface: 'eth1', combined: 1 }),
      change('queues', { interface: 'eth2', combined: 1 }), // no combined channels: nothing to project
      change('link-up', { interface: 'eth1' }),
      change('link-up', { interface: 'eth2', down: true }),
      change('address', { interface: 'eth2', address: '10.55.0.1/24' }),
      change('address', { interface: 'eth1', address: '10.0.0.1/24', remove: true }),
      change('module-load', { module: 'vrio_gen', params: { h_eth_name: 'eth1' } }),
      change('module-unload', { module: 'vrio_hnet' }),
      change('macvtap-add', { interface: 'mvt1', mac: '52:54:00:aa:00:01', lower: 'eth2' }),
    ]);
    assert.deepEqual(before, snapshot, 'the host facts given are not changed');
    const want = facts();
    want.saved = { 'mtu.eth1': '1500', 'sysctl.x': 'a=b' };
    want.sysctls['net.core.rmem_max'] = '3407872';
    Object.assign(want.nics.eth1, { mtu: 8100, combined: { current: 1, max: 2 }, up: true, ipv4: [] });
    Object.assign(want.nics.eth2, { up: false, ipv4: ['10.55.0.1/24'] });
    want.modules.vrio_gen = { refcount: 0, usedBy: [], params: { h_eth_name: 'eth1' } };
    want.modules.macvtap.usedBy = [];
    want.modules.vrio_eth.usedBy = ['vrio_gen'];
    want.iohypDevice = true;
    want.nics.mvt1 = { mtu: 1500, mac: '52:54:00:aa:00:01', up: true, operstate: 'up', kind: 'macvtap', lower: 'eth2', rxQueues: 1, txQueues: 1, ipv4: [] };
    assert.deepEqual(after, want);
  });

  it('unloading vrio_gen takes /dev/iohyp away; clear-state forgets the saved settings; macvtap-del removes the NIC', () => {
    const f = facts();
    f.modules.vrio_gen = { refcount: 0, usedBy: [], params: {} };
    f.iohypDevice = true;
    f.saved = { 'mtu.eth1': '1500' };
    const after = projectFacts(f, [change('module-unload', { module: 'vrio_gen' }), change('clear-state', {}), change('macvtap-del', { interface: 'eth2' })]);
    assert.equal(after.iohypDevice, false);
    assert.equal('vrio_gen' in after.modules, false);
    assert.equal('saved' in after, false);
    assert.deepEqual(Object.keys(after.nics), ['eth1']);
    assert.deepEqual(after.modules.vrio_eth.usedBy, ['vrio_hnet']);
  });

  it('devices: created ones are listed as sysfs would (numbered per kind), removed by backing', () => {
    const after = projectFacts(facts(), [
      change('device-create', { type: 'blk', backing: '/dev/ram1', guestIp: '10.55.0.2', name: 'vdb' }),
      change('device-create', { type: 'blk', backing: '/dev/ram2', guestIp: '10.55.0.2', name: 'vdc' }),
      change('device-create', { type: 'net', backing: 'mvt1', guestIp: '10.55.0.2' }),
      change('device-remove', { type: 'blk', backing: '/dev/ram1' }),
      change('device-create', { type: 'net', backing: 'mvt2', guestIp: '10.55.0.3' }),
      change('device-remove', { type: 'net', backing: 'mvt1' }),
    ]);
    assert.deepEqual(after.vrio, {
      blk: [{ file: 'blk/bdev1', backing: '/dev/ram2', guestIp: '10.55.0.2', guestDevice: 'vdc', capacity: 0, bytesWritten: 0, bytesRead: 0, ioOps: 0 }],
      net: [{ file: 'net/ndev1', backing: 'mvt2', guestIp: '10.55.0.3', bytesSent: 0, bytesReceived: 0, ioOps: 0 }],
      core: [],
    });
  });

  it('files: written, made, re-moded and removed (a directory with everything below it, nothing beside it)', () => {
    const after = projectFacts(facts(), [
      change('file-write', { path: '/etc/new.conf', mode: '0600', sha256: 'cc' }),
      change('dir-create', { path: '/srv/d', mode: '0750' }),
      change('file-mode', { path: '/etc/vrio-other', mode: '0640' }),
      change('file-mode', { path: '/not/known', mode: '0640' }),
      change('file-remove', { path: '/etc/vrio' }),
    ]);
    assert.deepEqual(after.files, {
      '/etc/vrio': { type: 'missing', mode: 0 },
      '/etc/vrio/a.conf': { type: 'missing', mode: 0 },
      '/etc/vrio-other': { type: 'file', mode: 0o640, sha256: 'bb' },
      '/etc/new.conf': { type: 'file', mode: 0o600, sha256: 'cc' },
      '/srv/d': { type: 'directory', mode: 0o750 },
    });
  });
});
