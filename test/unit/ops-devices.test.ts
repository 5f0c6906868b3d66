// Device and teardown operations from fixture facts: CREATE only after the
// guest's front end, REMOVE-then-CREATE recovery, orphans, reverse teardown
// order, restoring recorded settings, and no-ops when converged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change } from '../../provision/ops/change.js';
import { projectFacts } from '../../provision/ops/projection.js';
import { guestSees, planDevices, planDeviceTeardown, planHostTeardown, planSetup } from '../../provision/ops/vrio.js';
import { fixtureFacts, freshFacts, guestFacts, lab } from './ops-fixtures.js';

const argvs = (cs: Change[]) => cs.map((c) => c.argv.join(' '));

/** Guest facts after its own setup (front end loaded). */
function readyGuest(host: ReturnType<typeof lab>['g1'], mac: string) {
  const f = guestFacts(mac);
  return projectFacts(f, planSetup(host, f).changes);
}

describe('devices on the IOhyp', () => {
  const { io, g1, g2 } = lab();
  const ioReady = () => projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);

  it('creates each guest device with the control helper, macvtap first for net', () => {
    const p = planDevices(io, ioReady(), [
      { host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true },
      { host: g2, facts: readyGuest(g2, '52:54:00:55:00:03'), ok: true },
    ]);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(argvs(p.changes), [
      '/usr/sbin/vrio-iohyp create-blk --iface eth0 --guest-mac 52:54:00:55:00:02 --guest-ip 10.55.0.2 --backing /dev/ram1 --name vdb --seg-max 13',
      '/usr/sbin/vrio-iohyp create-blk --iface eth0 --guest-mac 52:54:00:55:00:03 --guest-ip 10.55.0.3 --backing /dev/ram2 --name vdb --seg-max 13',
      'sh -c ip link add link "$1" name "$2" address "$3" type macvtap mode bridge && ip link set dev "$2" up sh eth1 mvt00aa0003 52:54:00:aa:00:03',
      '/usr/sbin/vrio-iohyp create-net --iface eth0 --guest-mac 52:54:00:55:00:03 --guest-ip 10.55.0.3 --backing mvt00aa0003 --mac 52:54:00:aa:00:03 --features 0x7BE1',
    ]);
  });
  it('a failed CREATE is recovered by REMOVE of the same device, then CREATE', () => {
    const p = planDevices(io, ioReady(), [{ host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true }]);
    assert.deepEqual(p.changes[0].recover, [
      '/usr/sbin/vrio-iohyp',
      'remove',
      '--iface',
      'eth0',
      '--guest-mac',
      '52:54:00:55:00:02',
      '--guest-ip',
      '10.55.0.2',
      '--backing',
      '/dev/ram1',
    ]);
  });
  it('never CREATEs before the guest front end is loaded', () => {
    const p = planDevices(io, ioReady(), [{ host: g1, facts: guestFacts('52:54:00:55:00:02'), ok: true }]);
    assert.deepEqual(p.changes, []);
    assert.match(p.errors[0], /front end vrio_gblk is not loaded/);
  });
  it('skips devices of a guest that failed or is unreachable', () => {
    const p = planDevices(io, ioReady(), [{ host: g1, ok: false }]);
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.errors, []);
    assert.match(p.notes[0], /guest g1 is not ready/);
  });
  it('converged (device in sysfs, guest sees it): nothing to do', () => {
    const io0 = ioReady();
    const views = [{ host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true }];
    const after = projectFacts(io0, planDevices(io, io0, views).changes);
    views[0].facts.blockDevices.push('vdb');
    assert.deepEqual(planDevices(io, after, views).changes, []);
  });
  it('attached on the IOhyp but missing in the guest: REMOVE then CREATE', () => {
    const f = ioReady();
    f.vrio.blk.push({
      file: 'blk/bdev0',
      backing: '/dev/ram1',
      guestIp: '10.55.0.2',
      guestDevice: 'vdb',
      capacity: 0,
      bytesRead: 0,
      bytesWritten: 0,
      ioOps: 0,
    });
    const p = planDevices(io, f, [{ host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true }]);
    assert.deepEqual(
      p.changes.map((c) => c.kind),
      ['device-remove', 'device-create'],
    );
    assert.match(p.changes[0].summary, /the guest does not see it/);
  });
  it('backing attached to another inventory guest: moved', () => {
    const f = ioReady();
    f.vrio.blk.push({
      file: 'blk/bdev0',
      backing: '/dev/ram1',
      guestIp: '10.55.0.3',
      guestDevice: 'vdb',
      capacity: 0,
      bytesRead: 0,
      bytesWritten: 0,
      ioOps: 0,
    });
    const p = planDevices(io, f, [
      { host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true },
      { host: g2, facts: readyGuest(g2, '52:54:00:55:00:03'), ok: true },
    ]);
    assert.equal(p.changes[0].kind, 'device-remove');
    assert.deepEqual(p.changes[0].argv.slice(2, 8), ['--iface', 'eth0', '--guest-mac', '52:54:00:55:00:03', '--guest-ip', '10.55.0.3']);
  });
  it('a device the inventory dropped is removed; one of an unknown guest is left alone', () => {
    const f = ioReady();
    f.vrio.blk.push({
      file: 'blk/bdev0',
      backing: '/dev/ram7',
      guestIp: '10.55.0.2',
      guestDevice: 'vdc',
      capacity: 0,
      bytesRead: 0,
      bytesWritten: 0,
      ioOps: 0,
    });
    f.vrio.blk.push({
      file: 'blk/bdev1',
      backing: '/dev/ram8',
      guestIp: '10.55.0.77',
      guestDevice: 'vdb',
      capacity: 0,
      bytesRead: 0,
      bytesWritten: 0,
      ioOps: 0,
    });
    const gf = readyGuest(g1, '52:54:00:55:00:02');
    gf.blockDevices.push('vdb');
    f.vrio.blk.push({
      file: 'blk/bdev2',
      backing: '/dev/ram1',
      guestIp: '10.55.0.2',
      guestDevice: 'vdb',
      capacity: 0,
      bytesRead: 0,
      bytesWritten: 0,
      ioOps: 0,
    });
    const p = planDevices(io, f, [{ host: g1, facts: gf, ok: true }]);
    assert.deepEqual(
      p.changes.map((c) => c.summary),
      ['remove vRIO blk on /dev/ram7 for g1 (no longer in the inventory)'],
    );
    assert.match(p.notes.join(), /left alone: vRIO blk on \/dev\/ram8 for 10.55.0.77/);
  });
  it('a macvtap with the wrong MAC is replaced', () => {
    const f = ioReady();
    f.nics.mvt00aa0003 = { mtu: 1500, mac: '52:54:00:aa:00:99', up: true, operstate: 'up', kind: 'macvtap', lower: 'eth1', rxQueues: 1, txQueues: 1, ipv4: [] };
    const p = planDevices(io, f, [{ host: g2, facts: readyGuest(g2, '52:54:00:55:00:03'), ok: true }]);
    assert.deepEqual(
      p.changes.map((c) => c.kind),
      ['device-create', 'macvtap-del', 'macvtap-add', 'device-create'],
    );
  });
  it('refuses without the control helper (not an IOhyp image)', () => {
    const f = ioReady();
    f.helper = false;
    const p = planDevices(io, f, [{ host: g1, facts: readyGuest(g1, '52:54:00:55:00:02'), ok: true }]);
    assert.match(p.errors.join(), /control helper \/usr\/sbin\/vrio-iohyp is missing/);
  });
  it('guestSees: disks by name, NICs by vNIC MAC', () => {
    const f = guestFacts('52:54:00:55:00:03');
    assert.equal(guestSees(f, g2.devices[0]), false);
    f.blockDevices.push('vdb');
    f.nics.eth1 = { ...f.nics.eth0, mac: '52:54:00:aa:00:03' };
    assert.equal(guestSees(f, g2.devices[0]), true);
    assert.equal(guestSees(f, g2.devices[1]), true);
  });
});

describe('teardown', () => {
  const { io, g1, g2 } = lab();
  it('parses real-format facts (sysfs metrics, saved state)', () => {
    const f = fixtureFacts('iohyp-facts.txt');
    assert.deepEqual(f.vrio.blk[0], {
      file: 'blk/bdev0',
      backing: '/dev/ram1',
      guestIp: '10.55.0.2',
      guestDevice: 'vdb',
      capacity: 16777216,
      bytesWritten: 1048576,
      bytesRead: 2097152,
      ioOps: 768,
    });
    assert.deepEqual(f.vrio.net[0], {
      file: 'net/ndev0',
      backing: 'mvt00aa0003',
      guestIp: '10.55.0.3',
      bytesSent: 4194304,
      bytesReceived: 16777216,
      ioOps: 9000,
    });
    assert.deepEqual(f.modules.vrio_gen.usedBy, ['vrio_hblk', 'vrio_hnet']);
    assert.equal(f.saved?.preloaded, 'tun');
    assert.deepEqual(f.nics.eth0.combined, { current: 1, max: 1 });
    assert.equal(f.nics.mvt00aa0003.kind, 'macvtap');
  });
  it('devices first: REMOVE each guest device, delete the macvtap', () => {
    const p = planDeviceTeardown(io, fixtureFacts('iohyp-facts.txt'), [g1, g2]);
    assert.deepEqual(
      p.changes.map((c) => c.summary),
      ['remove vRIO blk on /dev/ram1 for g1', 'remove vRIO net on mvt00aa0003 for g2', 'delete macvtap mvt00aa0003'],
    );
  });
  it('modules in reverse order; support modules apply loaded; settings restored; state cleared', () => {
    const f = fixtureFacts('iohyp-facts.txt');
    const p = planHostTeardown(io, f);
    assert.deepEqual(argvs(p.changes), [
      'rmmod vrio_hnet',
      'rmmod vrio_hblk',
      'rmmod vrio_gen',
      'rmmod vrio_eth',
      'rmmod macvtap',
      'rmmod macvlan',
      'ip link set dev eth0 mtu 1500',
      'ethtool -L eth0 combined 4',
      'sysctl -w net.core.rmem_max=212992',
      'sysctl -w net.core.wmem_max=212992',
      'sysctl -w net.core.rmem_default=212992',
      'sysctl -w net.core.wmem_default=212992',
      'rm -f /run/vrio-provision/state',
    ]);
    assert.ok(!argvs(p.changes).includes('rmmod tun'), 'tun was loaded before apply: kept');
    assert.deepEqual(planHostTeardown(io, projectFacts(f, p.changes)).changes, [], 'teardown twice is a no-op');
  });
  it('apply then teardown leaves the host as before', () => {
    const before = freshFacts();
    const applied = projectFacts(before, planSetup(io, before).changes);
    const after = projectFacts(applied, planHostTeardown(io, applied).changes);
    assert.deepEqual(after, before);
  });
  it('without recorded state only the vRIO modules go', () => {
    const f = fixtureFacts('iohyp-facts.txt');
    delete f.saved;
    const p = planHostTeardown(io, f);
    assert.deepEqual(
      p.changes.map((c) => c.data.module),
      ['vrio_hnet', 'vrio_hblk', 'vrio_gen', 'vrio_eth'],
    );
    assert.match(p.notes.join(), /left as they are/);
  });
  it('guest: front end unloaded in reverse order', () => {
    const gf = readyGuest(g1, '52:54:00:55:00:02');
    assert.deepEqual(
      planHostTeardown(g1, gf)
        .changes.filter((c) => c.kind === 'module-unload')
        .map((c) => c.data.module),
      ['vrio_gnet', 'vrio_gblk', 'vrio_gen', 'vrio_eth'],
    );
  });
});
