// The /dev/iohyp control helper: the bytes it would send (golden, built here
// independently from the documented offsets), its validation and exit codes,
// and its struct layout against the pinned kernel headers when a prepared
// 3.10 tree exists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildHelper } from '../../builder/image/helper.js';
import { dataPath } from '../../lib/paths.js';
import { prerequisite } from '../support/prereq.js';
import { cacheRoot } from '../support/vrio-images.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-helper-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let helper = '';
before(async () => {
  helper = (await buildHelper(tmp, join(tmp, 'build.log'))).path;
});

function runHelper(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helper, args, { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dumped(args: string[]): Buffer {
  const r = runHelper(['dump-request', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return Buffer.from(r.stdout.replace(/\s+/g, ''), 'hex');
}

/** The documented request layout, written field by field (x86_64, little-endian). */
function request(f: { device: string; iface: string; mac: string; ip: string; cmd: number; build: (b: Buffer) => void }): Buffer {
  const b = Buffer.alloc(472);
  b.write(f.device, 0, 'latin1');
  b.write(f.iface, 32, 'latin1');
  Buffer.from(f.mac.split(':').map((h) => parseInt(h, 16))).copy(b, 64);
  Buffer.from(f.ip.split('.').map(Number)).copy(b, 72); // network byte order
  b.writeUInt32LE(f.cmd, 76);
  f.build(b);
  return b;
}

const HDR = ['--iface', 'eth0', '--guest-mac', '52:54:00:12:34:56', '--guest-ip', '10.55.0.2'];

describe('vrio-iohyp requests (golden bytes)', () => {
  it('create-blk: 472 bytes, blk config at 376, features 0x1204 (SEG_MAX, WCE, DEV_NAME) with write cache', () => {
    const got = dumped(['create-blk', ...HDR, '--backing', '/dev/ram1', '--name', 'vdb', '--write-cache', '--capacity', '67108864']);
    const want = request({
      device: 'blk',
      iface: 'eth0',
      mac: '52:54:00:12:34:56',
      ip: '10.55.0.2',
      cmd: 1,
      build: (b) => {
        b.write('/dev/ram1', 80, 'latin1');
        b.write('vdb', 376, 'latin1');
        b.writeBigUInt64LE(0x1204n, 440);
        b.writeBigUInt64LE(67108864n, 448);
        b.writeUInt32LE(13, 460); // seg_max default
        b.writeUInt8(1, 468); // wce
      },
    });
    assert.equal(got.length, 472);
    assert.equal(got.toString('hex'), want.toString('hex'));
  });

  it('create-blk: write-back and the name bit by default; --no-write-cache clears only WCE; seg_max as given', () => {
    // Bit 12 is VIRTIO_BLK_F_DEV_NAME: without it the guest ignores the name and says vrd<letter>.
    const dflt = dumped(['create-blk', ...HDR, '--backing', '/dev/ram1', '--name', 'vdc', '--seg-max', '64', '--capacity', '4096']);
    assert.equal(dflt.readBigUInt64LE(440), 0x1204n);
    assert.equal(dflt.readUInt8(468), 1);
    const got = dumped(['create-blk', ...HDR, '--backing', '/dev/ram1', '--name', 'vdc', '--no-write-cache', '--seg-max', '64', '--capacity', '4096']);
    assert.equal(got.readBigUInt64LE(440), 0x1004n);
    assert.equal(got.readUInt32LE(460), 64);
    assert.equal(got.readUInt8(468), 0);
  });

  it('create-blk takes the capacity from the backing file when not given', () => {
    const backing = join(tmp, 'disk.img');
    writeFileSync(backing, Buffer.alloc(3 * 1024 * 1024));
    const got = dumped(['create-blk', ...HDR, '--backing', backing, '--name', 'vdb']);
    assert.equal(got.readBigUInt64LE(448), 3n * 1024n * 1024n);
  });

  it('create-net: net config features at 376, vNIC MAC at 384', () => {
    const got = dumped(['create-net', ...HDR, '--backing', 'mtap1', '--mac', '52:54:00:ab:cd:ef']);
    const want = request({
      device: 'net',
      iface: 'eth0',
      mac: '52:54:00:12:34:56',
      ip: '10.55.0.2',
      cmd: 2,
      build: (b) => {
        b.write('mtap1', 80, 'latin1');
        b.writeBigUInt64LE(0x7be1n, 376);
        Buffer.from([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]).copy(b, 384);
      },
    });
    assert.equal(got.toString('hex'), want.toString('hex'));
    assert.equal(dumped(['create-net', ...HDR, '--backing', 'mtap1', '--mac', '52:54:00:ab:cd:ef', '--features', '21']).readBigUInt64LE(376), 0x21n);
  });

  it('remove by backing name sets device_path only (device_id would overlap it)', () => {
    const got = dumped(['remove', ...HDR, '--backing', '/dev/ram1']);
    const want = request({
      device: 'blk',
      iface: 'eth0',
      mac: '52:54:00:12:34:56',
      ip: '10.55.0.2',
      cmd: 3,
      build: (b) => void b.write('/dev/ram1', 80, 'latin1'),
    });
    assert.equal(got.toString('hex'), want.toString('hex'));
    // A bare name is a macvtap: the request goes to the net back end.
    assert.equal(dumped(['remove', ...HDR, '--backing', 'mtap1']).toString('latin1', 0, 3), 'net');
  });

  it('remove by id/uid puts them at 80 and 84', () => {
    const got = dumped(['remove', '--id', '5', '--uid', '4000000000']);
    assert.equal(got.readUInt32LE(76), 3);
    assert.equal(got.readInt32LE(80), 5);
    assert.equal(got.readUInt32LE(84), 4000000000);
  });
});

describe('vrio-iohyp validation and exit codes', () => {
  const cases: [string[], RegExp][] = [
    [
      ['create-blk', ...HDR.slice(0, 2), '--guest-mac', '52:54:00:12:34:zz', '--guest-ip', '10.55.0.2', '--backing', '/dev/ram1', '--name', 'vdb'],
      /^vrio-iohyp: 52:54:00:12:34:zz: not a MAC address/,
    ],
    [
      ['create-blk', ...HDR.slice(0, 4), '--guest-ip', '10.55.0.300', '--backing', '/dev/ram1', '--name', 'vdb'],
      /^vrio-iohyp: 10\.55\.0\.300: not an IPv4 address/,
    ],
    [['create-blk', '--iface', 'eth0;reboot', ...HDR.slice(2), '--backing', '/dev/ram1', '--name', 'vdb'], /interface name may hold only/],
    [['create-blk', ...HDR, '--backing', '/dev/ram1'], /^vrio-iohyp: create-blk: missing --name/],
    [['create-blk', ...HDR, '--backing', '/dev/ram1', '--name', 'VDB'], /guest device name may hold only a-z and 0-9/],
    [['create-blk', ...HDR, '--backing', 'x'.repeat(300), '--name', 'vdb'], /backing path must be 1-255 bytes/],
    [['create-blk', ...HDR, '--backing', '/dev/ram1', '--name', 'vdb', '--seg-max', '0'], /seg-max must be an integer 1-1024/],
    [['create-blk', ...HDR, '--backing', '/nonexistent/disk', '--name', 'vdb'], /^vrio-iohyp: \/nonexistent\/disk: No such file or directory/],
    [['create-net', ...HDR, '--backing', 'mtap1', '--mac', '01:00:5e:00:00:01'], /multicast MAC/],
    [['create-net', ...HDR, '--backing', 'mtap1', '--mac', '52:54:00:ab:cd:ef', '--features', 'xyz'], /features must be a hex number/],
    [['remove', ...HDR], /missing --backing/],
    [['remove', '--id', '1', '--uid', '2', '--backing', '/dev/ram1'], /either --backing or --id/],
    [['create-blk', ...HDR, '--bogus', 'x'], /unknown option '--bogus'/],
    [['create-blk', ...HDR, '--iface', 'eth1'], /option '--iface' given twice/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, msg] of cases) {
    it(`exit 2 for ${args
      .filter((a) => !HDR.includes(a))
      .join(' ')
      .slice(0, 70)}`, () => {
      const r = runHelper(['dump-request', ...args].filter((_, i) => args[0] !== 'frobnicate' || i > 0));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stdout, '', 'nothing is printed (or sent) for a bad request');
    });
  }

  it('exit 3 naming the modules when /dev/iohyp is missing', { skip: prerequisite(existsSync('/dev/iohyp') ? 'this host has /dev/iohyp' : false) }, () => {
    for (const args of [
      ['sanity'],
      ['create-blk', ...HDR, '--backing', '/dev/null', '--name', 'vdb', '--capacity', '512'],
      ['remove', '--id', '0', '--uid', '0'],
    ]) {
      const r = runHelper(args);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^vrio-iohyp: \/dev\/iohyp: No such file or directory \(load the back-end modules/);
    }
  });

  it(
    'list exits 3 without /sys/class/vrio and prints usage on --help',
    { skip: prerequisite(existsSync('/sys/class/vrio') ? 'this host has vRIO loaded' : false) },
    () => {
      const r = runHelper(['list', '--json']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /\/sys\/class\/vrio: No such file or directory/);
      const h = runHelper(['--help']);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /vrio-iohyp create-blk --iface IF --guest-mac MAC --guest-ip IPV4 --backing PATH --name GUESTNAME/);
    },
  );
});

/** A prepared (patched) 3.10 tree holding the vRIO headers, if one exists here. */
function preparedTree(): string | undefined {
  const fromEnv = process.env.VRIO_KERNEL_TREE;
  const candidates = fromEnv ? [fromEnv] : [];
  // npm test's prepare step builds the 3.10 images (and so a prepared tree) into the test cache.
  for (const out of [dataPath('out'), process.env.VRIO_OUTPUT_DIR, join(cacheRoot, 'vrio-3.10', 'out')].filter((x): x is string => !!x)) {
    const trees = join(out, 'kernel', 'trees');
    if (existsSync(trees)) for (const t of readdirSync(trees).sort()) candidates.push(join(trees, t, 'src'));
  }
  return candidates.find((t) => existsSync(join(t, 'include/linux/vrio/generic_common.h')));
}

const tree = preparedTree();

describe('vrio-iohyp ABI against the pinned kernel headers', () => {
  it(
    'sizeof/offsetof of struct ioctl_param and the ioctl numbers match the helper',
    {
      skip: prerequisite(
        tree
          ? false
          : 'no prepared 3.10 tree with include/linux/vrio (npm test builds one in its prepare step; or run `vrio kernel build` of the vRIO kernel, or set VRIO_KERNEL_TREE)',
      ),
    },
    () => {
      const probe = join(tmp, 'probe.c');
      const fields: [string, string][] = [
        ['device_name', 'device_name'],
        ['interface_name', 'interface_name'],
        ['guest_mac_address', 'guest_mac_address'],
        ['guest_ip_address', 'guest_ip_address'],
        ['cmd', 'cmd'],
        ['x', 'x'],
        ['create.device_path', 'x.create.device_path'],
        ['create.gsocket', 'x.create.gsocket'],
        ['create.host_priv', 'x.create.host_priv'],
        ['create.host_port', 'x.create.host_port'],
        ['create.guest_priv', 'x.create.guest_priv'],
        ['create.guest_port', 'x.create.guest_port'],
        ['create.config', 'x.create.config'],
        ['blk.device_name', 'x.create.config.vrio_blk.device_name'],
        ['blk.features', 'x.create.config.vrio_blk.features'],
        ['blk.capacity', 'x.create.config.vrio_blk.capacity'],
        ['blk.blk_size', 'x.create.config.vrio_blk.blk_size'],
        ['blk.seg_max', 'x.create.config.vrio_blk.seg_max'],
        ['blk.geometry', 'x.create.config.vrio_blk.geometry'],
        ['blk.wce', 'x.create.config.vrio_blk.wce'],
        ['net.features', 'x.create.config.vrio_net.features'],
        ['net.mac', 'x.create.config.vrio_net.mac'],
        ['net.status', 'x.create.config.vrio_net.status'],
        ['remove.device_id', 'x.remove.device_id'],
        ['remove.device_uid', 'x.remove.device_uid'],
        ['poll.nr_iocores', 'x.poll.nr_iocores'],
        ['poll.iocores', 'x.poll.iocores'],
        ['sdev.nr_iov', 'x.sdev.nr_iov'],
      ];
      writeFileSync(
        probe,
        [
          '#define _DEFAULT_SOURCE',
          '#include <sys/types.h>',
          '#include <stdint.h>',
          '#include <stddef.h>',
          '#include <stdio.h>',
          '#include <sys/ioctl.h>',
          '#include <linux/types.h>',
          '#include "generic_common.h"',
          'int main(void) {',
          '  printf("sizeof %zu\\n", sizeof(struct ioctl_param));',
          ...fields.map(([n, f]) => `  printf("${n} %zu\\n", offsetof(struct ioctl_param, ${f}));`),
          '  printf("ioctl.create 0x%lx\\nioctl.remove 0x%lx\\nioctl.sanity 0x%lx\\n", (unsigned long)GENERIC_IOCTL_CREATE, (unsigned long)GENERIC_IOCTL_REMOVE, (unsigned long)GENERIC_SANITY_CHECK);',
          '  return 0;',
          '}',
          '',
        ].join('\n'),
      );
      const exe = join(tmp, 'probe');
      const cc = spawnSync('gcc', ['-o', exe, '-I', join(tree as string, 'include/linux/vrio'), probe], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const fromHeaders = spawnSync(exe, { encoding: 'utf8' }).stdout;
      const fromHelper = runHelper(['abi']).stdout;
      assert.match(fromHeaders, /^sizeof 472$/m);
      assert.equal(fromHelper, fromHeaders);
    },
  );
});
