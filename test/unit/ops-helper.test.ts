// Contract between the operations and the image's control helper: every
// helper command the planner emits is accepted by the real helper (compiled
// from rootfs/helper/vrio-iohyp.c) and encodes the intended 472-byte request
// (`dump-request` prints it without opening /dev/iohyp).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { projectFacts } from '../../provision/ops/projection.js';
import { planDevices, planDeviceTeardown, planSetup } from '../../provision/ops/vrio.js';
import { freshFacts, guestFacts, lab } from './ops-fixtures.js';
import { prerequisite } from '../support/prereq.js';

const gcc = spawnSync('gcc', ['--version']).status === 0;

function dump(helper: string, argv: string[]): Buffer {
  const out = execFileSync(helper, ['dump-request', ...argv.slice(1)], { encoding: 'utf8' });
  return Buffer.from(out.replace(/\s+/g, ''), 'hex');
}
const cstr = (b: Buffer, off: number, len: number) =>
  b
    .subarray(off, off + len)
    .toString('latin1')
    .replace(/\0.*$/s, '');
const mac = (b: Buffer, off: number) => [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ip = (b: Buffer, off: number) => [...b.subarray(off, off + 4)].join('.');

describe('planned helper commands against the real vrio-iohyp', { skip: prerequisite(gcc ? false : 'gcc not installed') }, () => {
  let helper = '';
  before(() => {
    helper = join(mkdtempSync(join(tmpdir(), 'vrio-helper-')), 'vrio-iohyp');
    execFileSync('gcc', ['-O1', '-o', helper, dataPath('rootfs/helper/vrio-iohyp.c')]);
  });
  const { io, g1, g2 } = lab((i) => {
    // dump-request cannot stat a backing device here: give the capacity.
    i.guests.g1.devices[0].capacity = 16777216;
    i.guests.g2.devices[0].capacity = 8388608;
  });
  const ioFacts = projectFacts(freshFacts(), planSetup(io, freshFacts()).changes);
  const ready = (h: typeof g1, m: string) => projectFacts(guestFacts(m), planSetup(h, guestFacts(m)).changes);
  const plan = planDevices(io, ioFacts, [
    { host: g1, facts: ready(g1, '52:54:00:55:00:02'), ok: true },
    { host: g2, facts: ready(g2, '52:54:00:55:00:03'), ok: true },
  ]);
  const creates = plan.changes.filter((c) => c.kind === 'device-create');

  it('create-blk with write cache: header, CREATE_BLK, path, guest name, features 0x1204, seg_max 13, capacity', () => {
    const b = dump(helper, creates[0].argv);
    assert.equal(b.length, 472);
    assert.equal(cstr(b, 0, 32), 'blk');
    assert.equal(cstr(b, 32, 32), 'eth0');
    assert.equal(mac(b, 64), '52:54:00:55:00:02');
    assert.equal(ip(b, 72), '10.55.0.2', 'guest IP in network order');
    assert.equal(b.readUInt32LE(76), 1, 'CREATE_BLK');
    assert.equal(cstr(b, 80, 256), '/dev/ram1');
    assert.equal(cstr(b, 376, 64), 'vdb');
    assert.equal(b.readBigUInt64LE(440), 0x1204n);
    assert.equal(b.readBigUInt64LE(448), 16777216n);
    assert.equal(b.readUInt32LE(460), 13);
  });
  it('create-blk with writeCache unset: write-back by default, and the name bit (0x1000) that makes the guest use the name', () => {
    const b = dump(helper, creates[1].argv);
    assert.equal(b.readBigUInt64LE(440), 0x1204n);
    assert.equal(ip(b, 72), '10.55.0.3');
  });
  it('create-net: CREATE_NET on the macvtap, vNIC MAC and features 0x7BE1', () => {
    const b = dump(helper, creates[2].argv);
    assert.equal(cstr(b, 0, 32), 'net');
    assert.equal(b.readUInt32LE(76), 2, 'CREATE_NET');
    assert.equal(cstr(b, 80, 256), 'mvt00aa0003');
    assert.equal(b.readBigUInt64LE(376), 0x7be1n);
    assert.equal(mac(b, 384), '52:54:00:aa:00:03');
  });
  it('the recovery REMOVE names the same device by its backing, without device_id', () => {
    for (const c of creates) {
      const b = dump(helper, c.recover!);
      assert.equal(b.readUInt32LE(76), 3, 'REMOVE_DEV');
      assert.equal(cstr(b, 80, 256), c.data.backing);
      assert.equal(ip(b, 72), c.data.guestIp);
    }
  });
  it('teardown REMOVEs are accepted too', () => {
    const f = structuredClone(ioFacts);
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
    f.vrio.net.push({ file: 'net/ndev0', backing: 'mvt00aa0003', guestIp: '10.55.0.3', bytesSent: 0, bytesReceived: 0, ioOps: 0 });
    const removes = planDeviceTeardown(io, f, [g1, g2]).changes.filter((c) => c.kind === 'device-remove');
    assert.equal(removes.length, 2);
    assert.deepEqual(
      removes.map((c) => cstr(dump(helper, c.argv), 0, 32)),
      ['blk', 'net'],
    );
  });
});
