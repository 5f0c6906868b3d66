// The lab's pure parts: topology, the generated inventory (checked by the
// provisioner's own schema and loader), the L2 hub on real loopback UDP
// sockets, the vRIO sysfs parser and the demo-key decryption used to prove
// block data went through the vRIO back end.
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { counterSum, decryptBacking, parseVrioSysfs, VRIO_DEMO_KEY } from '../../lab/checks.js';
import { startHub } from '../../vm/hub.js';
import { inventoryYaml, labInventory } from '../../lab/inventory.js';
import type { LabVm } from '../../lab/state.js';
import { planLab, segmentsOf } from '../../lab/topology.js';
import { provision, provisionFailures } from '../../lab/index.js';
import type { LabState } from '../../lab/state.js';
import { freeTcpPort } from '../../vm/ports.js';
import { parseInventory } from '../../provision/inventory.js';
import { InputError } from '../../lib/errors.js';

const PIN = 'SHA256:' + 'x'.repeat(43).replace(/x/g, 'A');

function fakeVms(plan: ReturnType<typeof planLab>): LabVm[] {
  return plan.map((p, i) => ({
    name: p.name,
    role: p.role,
    image: `/img/${p.image}`,
    pid: 1000 + i,
    sshPort: 40000 + i,
    serialLog: '',
    qemuLog: '',
    memoryMiB: 1024,
    nics: p.nics.map((n) => ({ ...n, localPort: 0 })),
    pins: [PIN],
  }));
}

describe('lab topology and inventory', () => {
  test('CI lab: IOhyp + 1 guest on one segment, distinct addresses and MACs, no devices', () => {
    const plan = planLab('ci', 1);
    assert.deepEqual(
      plan.map((p) => p.name),
      ['iohyp1', 'guest1'],
    );
    assert.deepEqual(segmentsOf(plan), ['lab']);
    const macs = plan.flatMap((p) => p.nics.map((n) => n.mac));
    assert.equal(new Set(macs).size, macs.length);
    assert.ok(plan.every((p) => !p.blk && !p.net));
  });

  test('vRIO lab with 2 guests: a block and a net device each, a peer on a second segment with an e1000', () => {
    const plan = planLab('vrio', 2);
    assert.deepEqual(
      plan.map((p) => p.name),
      ['iohyp1', 'guest1', 'guest2', 'peer1'],
    );
    assert.deepEqual(segmentsOf(plan), ['lab', 'peer']);
    const guests = plan.filter((p) => p.role === 'guest');
    assert.deepEqual(
      guests.map((g) => g.blk?.backing),
      ['/dev/ram1', '/dev/ram2'],
      'one backing ramdisk per guest',
    );
    assert.equal(new Set(guests.map((g) => g.net?.vnicMac)).size, 2);
    const peer = plan.find((p) => p.role === 'peer')!;
    assert.equal(peer.nics[0].model, 'e1000', 'the peer pads short frames (vRIO guest receive bug)');
    assert.deepEqual(
      plan[0].nics.filter((n) => n.segment === 'peer').map((n) => n.iface),
      ['eth2', 'eth3'],
      'one macvtap lower NIC per guest',
    );
    assert.deepEqual(
      guests.map((g) => g.net?.lower),
      ['eth2', 'eth3'],
    );
  });

  test('the generated inventories pass the provisioner schema and loader, with the pins and ports of each VM', () => {
    for (const kernel of ['ci', 'vrio'] as const) {
      const plan = planLab(kernel, 2);
      const vms = fakeVms(plan);
      const yaml = inventoryYaml(labInventory(plan, vms, { kernel, clientKey: '/k/id_ed25519', mtu: kernel === 'ci' ? 1500 : 8100, testModule: 'vrio_test' }));
      const inv = parseInventory(`lab-${kernel}.yaml`, yaml);
      assert.deepEqual(
        inv.hosts.map((h) => h.name),
        ['iohyp1', 'guest1', 'guest2'],
        'the peer is not provisioned',
      );
      for (const h of inv.hosts) {
        assert.equal(h.connection.address, '127.0.0.1');
        assert.equal(h.connection.port, vms.find((v) => v.name === h.name)!.sshPort);
        assert.deepEqual(h.connection.hostKeys.pins, [PIN]);
        assert.equal(h.l2.interface, 'eth1');
      }
      const g1 = inv.hosts.find((h) => h.name === 'guest1')!;
      if (kernel === 'ci') {
        assert.deepEqual(
          g1.modules.map((m) => m.name),
          ['vrio_test'],
        );
        assert.equal(g1.devices.length, 0);
      } else {
        assert.deepEqual(
          g1.devices.map((d) => d.type),
          ['blk', 'net'],
        );
        assert.ok(
          g1.modules.some((m) => m.name === 'vrio_gen' && m.params.g_cpu_affinity === '1'),
          'guest front end gets g_cpu_affinity=1',
        );
        assert.ok(
          g1.modules.some((m) => m.name === 'vrio_gblk' && m.params.initial_request_timeout === '1000000'),
          'under TCG the block front end waits 1 s before resending',
        );
        const io = inv.hosts.find((h) => h.name === 'iohyp1')!;
        assert.ok(
          io.modules.some((m) => m.name === 'vrio_gen' && m.params.h_cpu_affinity === '1'),
          'IOhyp back end gets h_cpu_affinity=1',
        );
      }
    }
  });

  test('a generated inventory the provisioner would refuse is refused when the lab builds it, naming the pointer and rule', () => {
    const plan = planLab('vrio', 1);
    const vms = fakeVms(plan);
    // An MTU below what vRIO's transport takes, and a pin that is not a fingerprint.
    assert.throws(
      () => labInventory(plan, vms, { kernel: 'vrio', clientKey: '/k/id_ed25519', mtu: 100, testModule: 'vrio_test' }),
      (e: unknown) =>
        e instanceof InputError && /lab inventory \(generated by vrio lab up\): \/iohyps\/iohyp1\/mtu: must be >= 576 \[minimum\]/.test(e.message),
    );
    vms[0].pins = ['MD5:00'];
    assert.throws(
      () => labInventory(plan, vms, { kernel: 'vrio', clientKey: '/k/id_ed25519', mtu: 8100, testModule: 'vrio_test' }),
      (e: unknown) => e instanceof InputError && /\/iohyps\/iohyp1\/hostKey\/0: "MD5:00" must match pattern/.test(e.message),
    );
  });
});

describe('L2 hub on loopback (TCP, QEMU stream framing)', () => {
  /** A member the way QEMU's stream socket netdev talks: 4-byte big-endian length, then the frame. */
  async function member(port: number): Promise<{ c: Socket; got: Buffer[]; send(f: Buffer): void }> {
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    const got: Buffer[] = [];
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        got.push(buf.subarray(4, 4 + buf.readUInt32BE(0)));
        buf = buf.subarray(4 + buf.readUInt32BE(0));
      }
    });
    const send = (f: Buffer) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(f.length);
      c.write(Buffer.concat([h, f]));
    };
    return { c, got, send };
  }
  const settle = () => new Promise((r) => setTimeout(r, 150));

  test('repeats each frame to every other member, never back to the sender, refuses extra members, pads short frames', async () => {
    const hub = await startHub(0, { members: 3 });
    const [a, b, c] = [await member(hub.port), await member(hub.port), await member(hub.port)];
    const extra = connect(hub.port, '127.0.0.1');
    try {
      await once(extra, 'close');
      const frame = randomBytes(1514);
      a.send(frame);
      await settle();
      assert.deepEqual([a.got.length, b.got.length, c.got.length], [0, 1, 1]);
      assert.ok(b.got[0].equals(frame));
      const jumbo = randomBytes(8100 + 14);
      c.send(jumbo);
      await settle();
      assert.ok(a.got[0].equals(jumbo) && b.got[1].equals(jumbo), 'vMTU 8100 frames pass');
      const arp = randomBytes(42);
      b.send(arp);
      await settle();
      assert.equal(a.got[1].length, 60, 'a short frame is padded to the Ethernet minimum');
      assert.ok(a.got[1].subarray(0, 42).equals(arp) && a.got[1].subarray(42).equals(Buffer.alloc(18)));
      assert.deepEqual(hub.stats, { frames: 3, bytes: frame.length + jumbo.length + 42, refused: 1, dropped: 0, padded: 1 });
    } finally {
      for (const m of [a, b, c]) m.c.destroy();
      await hub.close();
    }
  });

  test('loses no frame when a member reads slowly: 2,000 frames of 8 KiB arrive complete and in order', async () => {
    const hub = await startHub(0, { members: 2 });
    const [a, b] = [await member(hub.port), await member(hub.port)];
    try {
      b.c.pause(); // a VM that is busy: its socket fills, the hub must hold the sender back
      const frames = Array.from({ length: 2000 }, (_, i) => Buffer.concat([Buffer.from([i >> 8, i & 255]), randomBytes(8112)]));
      for (const f of frames) a.send(f);
      await settle();
      b.c.resume();
      for (let i = 0; i < 100 && b.got.length < frames.length; i++) await settle();
      assert.equal(b.got.length, frames.length);
      assert.ok(
        b.got.every((g, i) => g.equals(frames[i])),
        'same bytes, same order',
      );
    } finally {
      for (const m of [a, b]) m.c.destroy();
      await hub.close();
    }
  });

  test('a member that never reads (a NIC that is down) does not stall the others; it gets frames again once it reads', async () => {
    const hub = await startHub(0, { members: 3 });
    const [a, b, dead] = [await member(hub.port), await member(hub.port), await member(hub.port)];
    try {
      dead.c.pause();
      const frames = Array.from({ length: 1500 }, (_, i) => Buffer.concat([Buffer.from([i >> 8, i & 255]), randomBytes(8112)]));
      for (const f of frames) a.send(f);
      for (let i = 0; i < 200 && b.got.length < frames.length; i++) await settle();
      assert.equal(b.got.length, frames.length, 'the reading member got every frame');
      assert.ok(b.got.every((g, i) => g.equals(frames[i])));
      assert.ok(hub.stats.dropped > 0, 'frames beyond the stuck member backlog were dropped');
      dead.c.resume();
      await settle();
      const n = dead.got.length;
      const late = randomBytes(100);
      a.send(late);
      for (let i = 0; i < 50 && !dead.got.some((g) => g.equals(late)); i++) await settle();
      assert.ok(dead.got.length > n && dead.got.some((g) => g.equals(late)), 'the member that reads again gets new frames');
    } finally {
      for (const m of [a, b, dead]) m.c.destroy();
      await hub.close();
    }
  });
});

describe('vRIO data checks', () => {
  test('decrypting with the demo key inverts AES-128-ECB (no padding) over a whole device image', () => {
    const data = randomBytes(1 << 20);
    const c = createCipheriv('aes-128-ecb', VRIO_DEMO_KEY, null);
    c.setAutoPadding(false);
    const backing = Buffer.concat([c.update(data), c.final()]);
    assert.ok(!backing.equals(data));
    assert.ok(decryptBacking(backing).equals(data));
    assert.equal(VRIO_DEMO_KEY.toString(), 'ABCDEFGHIJKLMNOP');
  });

  test('sysfs files (a header line and a value line) parse into fields; byte counters add up across devices', () => {
    const text = [
      '== blk/bdev0/stats',
      'bytes_written bytes_read io_ops capacity guest_ip',
      '1048576 2097152 768 4194304 10.55.0.2',
      '== blk/bdev1/stats',
      'bytes_written bytes_read io_ops capacity guest_ip',
      '4096 0 1 4194304 10.55.0.3',
    ].join('\n');
    const e = parseVrioSysfs(text);
    assert.equal(e.length, 2);
    assert.equal(e[0].fields.guest_ip, '10.55.0.2');
    assert.equal(counterSum(e, /writ/), 1048576 + 4096);
    assert.equal(counterSum(e, /guest_ip/), 0, 'non-numeric fields are not counted');
  });
});

describe('the lab runs the provisioner in its own process', () => {
  const labState = (dir: string, inventory: string): LabState => ({
    format: 'vrio-lab-state/1',
    dir,
    createdAt: '',
    kernel: 'ci',
    accel: 'tcg',
    imagesDir: dir,
    clientKey: join(dir, 'id_ed25519'),
    inventory,
    vms: [],
    hubs: [],
    phase: 'booted',
    timings: {},
  });

  test('VMs that do not answer SSH: exit 4 (as `vrio provision apply` exits) with the reason per host; the output is in provision-apply.log', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vrio-lab-prov-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
    const plan = planLab('ci', 1);
    const vms = fakeVms(plan);
    // Ports nobody listens on: the hosts are unreachable at once (connection refused).
    for (const v of vms) v.sshPort = await freeTcpPort();
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, inventoryYaml(labInventory(plan, vms, { kernel: 'ci', clientKey: join(dir, 'id_ed25519'), mtu: 1500, testModule: 'vrio_test' })));
    const r = await provision('apply', labState(dir, inventory));
    assert.equal(r.code, 4);
    assert.deepEqual(
      r.result?.hosts.map((h) => [h.host, h.unreachable]),
      [
        ['iohyp1', true],
        ['guest1', true],
      ],
    );
    assert.equal(r.logFile, join(dir, 'provision-apply.log'));
    assert.match(readFileSync(r.logFile, 'utf8'), /RECAP apply/);
    const why = provisionFailures(r).split('\n');
    assert.equal(why.length, 2);
    assert.match(why[0], /^iohyp1 UNREACHABLE /);
  });

  test('an inventory the provisioner refuses: exit 2 and its message, written to the log too', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vrio-lab-prov-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, 'iohyps: [not, a, map]\n');
    const r = await provision('teardown', labState(dir, inventory));
    assert.equal(r.code, 2);
    assert.ok(r.error && provisionFailures(r) === r.error);
    assert.ok(readFileSync(join(dir, 'provision-teardown.log'), 'utf8').includes(r.error.split('\n')[0]));
  });
});
