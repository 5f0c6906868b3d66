// Lab checks for our vRIO fix series (kernel-config/patches/3.10/fixes):
// each bug check runs on the pure upstream drivers (must fail) and on the
// fixed ones (must pass), in real QEMU VMs joined only over 127.0.0.1.
//
// Needs a prepared Linux 3.10 + vRIO tree (series + compat applied, built):
// the kernel of the default 3.10 images (test/support/vrio-images.ts, built
// from the pinned source by npm test's prepare step), or one given as
//   VRIO_FIXES_SRC=<source tree>  VRIO_FIXES_OBJ=<its O= build dir>
// [VRIO_FIXES_MAKEFLAGS='CC=gcc -fno-pie -fgnu89-inline|HOSTCC=gcc -fcommon']
// The vRIO modules are rebuilt twice (upstream, fixed) against that tree; the
// kernel image is shared. Results (incl. the block latency table) are written
// to $VRIO_FIXES_REPORT (default <tmp>/vrio-fixes-report.json).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHelper } from '../../builder/image/helper.js';
import { run, which } from '../../lib/exec.js';
import { dataPath } from '../../lib/paths.js';
import { prerequisite } from '../support/prereq.js';
import { vrioKernelTree } from '../support/vrio-images.js';
import type { ConsoleSession } from '../../vm/console-session.js';
import { QEMU, startVm, type RunningVm } from '../../vm/vm.js';

const given =
  process.env.VRIO_FIXES_SRC && process.env.VRIO_FIXES_OBJ ? { src: process.env.VRIO_FIXES_SRC, obj: process.env.VRIO_FIXES_OBJ } : await vrioKernelTree();
const SRC = typeof given === 'string' ? undefined : given.src;
const OBJ = typeof given === 'string' ? undefined : given.obj;
const MAKEFLAGS = (process.env.VRIO_FIXES_MAKEFLAGS ?? 'CC=gcc -fno-pie -fgnu89-inline|HOSTCC=gcc -fcommon').split('|');
const REPORT = process.env.VRIO_FIXES_REPORT ?? join(tmpdir(), 'vrio-fixes-report.json');
// Create/use/remove cycles per device type: 10 in a CI run, 50 for the thorough one.
const CYCLES = Number(process.env.VRIO_FIXES_CYCLES ?? 10);

function unavailable(): string | undefined {
  if (typeof given === 'string' || !SRC || !OBJ)
    return `no prepared Linux 3.10 + vRIO tree: ${typeof given === 'string' ? given : 'set VRIO_FIXES_SRC and VRIO_FIXES_OBJ'}`;
  if (!existsSync(join(SRC, 'drivers/vrio/eth/eth.c'))) return `${SRC} has no drivers/vrio (not a vRIO tree)`;
  if (!existsSync(join(OBJ, 'arch/x86/boot/bzImage'))) return `${OBJ} has no arch/x86/boot/bzImage (tree not built)`;
  for (const t of [QEMU, 'musl-gcc', 'cpio', 'gzip', 'make', 'git']) if (!which(t)) return `${t} is not installed`;
  if (!existsSync('/bin/busybox')) return '/bin/busybox (busybox-static) is not installed';
  return undefined;
}
const skip = prerequisite(unavailable());

// ---------------------------------------------------------------- guest tools
// The IOhyp is driven by the product's control helper (rootfs/helper/vrio-iohyp.c,
// built as the image build builds it); two small static test tools (compiled
// here with musl) measure block latency and move data over TCP.
const BLKBENCH_C = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
/* O_DIRECT requests of one size, one at a time: BENCH size op count avg_us MB/s */
int main(int argc, char **argv) {
  if (argc != 5) return 2;
  size_t size = strtoul(argv[3], 0, 0); int count = atoi(argv[4]); int wr = argv[2][0] == 'w';
  int fd = open(argv[1], (wr ? O_WRONLY : O_RDONLY) | O_DIRECT);
  if (fd < 0) { printf("BENCHFAIL open %s\n", strerror(errno)); return 1; }
  void *buf; if (posix_memalign(&buf, 4096, size)) return 1; memset(buf, 0x5a, size);
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < count; i++) {
    off_t off = (off_t)i * size % (16 << 20);
    ssize_t n = wr ? pwrite(fd, buf, size, off) : pread(fd, buf, size, off);
    if (n != (ssize_t)size) { printf("BENCHFAIL %zu %s io %d: %s\n", size, wr ? "w" : "r", i, strerror(errno)); return 1; }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3;
  printf("BENCH %zu %s %d %.1f %.2f\n", size, wr ? "w" : "r", count, us / count, (double)size * count / us);
  return 0;
}`;

const TCPX_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
/* One TCP transfer with a clean half-close: tcpx recv PORT OUT | tcpx send HOST PORT IN */
int main(int argc, char **argv) {
  static char buf[65536]; long long total = 0; ssize_t n;
  struct sockaddr_in a = { .sin_family = AF_INET };
  if (argc == 4 && !strcmp(argv[1], "recv")) {
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1, out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    a.sin_port = htons(atoi(argv[2]));
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (out < 0 || bind(ls, (void *)&a, sizeof a) || listen(ls, 1)) { printf("RECV 0 error %s\n", strerror(errno)); return 1; }
    int s = accept(ls, 0, 0);
    while ((n = read(s, buf, sizeof buf)) > 0) { if (write(out, buf, n) != n) return 1; total += n; }
    printf("RECV %lld %s\n", total, n < 0 ? strerror(errno) : "ok"); return n < 0;
  }
  if (argc == 5 && !strcmp(argv[1], "send")) {
    int s = socket(AF_INET, SOCK_STREAM, 0), in = open(argv[4], O_RDONLY);
    a.sin_port = htons(atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    if (in < 0 || connect(s, (void *)&a, sizeof a)) { printf("SEND 0 error %s\n", strerror(errno)); return 1; }
    while ((n = read(in, buf, sizeof buf)) > 0)
      for (ssize_t off = 0; off < n; ) { ssize_t w = write(s, buf + off, n - off); if (w < 0) { printf("SEND %lld error %s\n", total, strerror(errno)); return 1; } off += w; total += w; }
    shutdown(s, SHUT_WR);
    while ((n = read(s, buf, sizeof buf)) > 0) ;
    printf("SEND %lld %s\n", total, n < 0 ? strerror(errno) : "ok"); return n < 0;
  }
  return 2;
}`;

// The console shell must not be PID 1: busybox ash as PID 1 exits when a
// background job ends (the VM then panics with "Attempted to kill init").
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
ip link set lo up
stty -echo 2>/dev/null; echo "@@READY@@"
/bin/sh </dev/console >/dev/console 2>&1 &
while :; do sleep 3600; done
`;

const MODULES = [
  'drivers/vrio/eth/vrio_eth',
  'drivers/vrio/generic/vrio_gen',
  'drivers/vrio/iohyp/blk/vrio_hblk',
  'drivers/vrio/iohyp/net/vrio_hnet',
  'drivers/vrio/ioguest/blk/vrio_gblk',
  'drivers/vrio/ioguest/net/vrio_gnet',
];
const KERNEL_MODULES = ['drivers/net/macvlan', 'drivers/net/macvtap', 'drivers/net/tun'];

// ------------------------------------------------------------------- the VMs
// 'vrio: dropped' is the IOhyp refusing a message for an unknown device
// (fix 0005): it means a mis-assembled message, so it counts as a failure.
const WARN_RE = /(kernel BUG at|WARNING: at|Oops|BUG: |recvmsg bug|general protection|Kernel panic|vrio: dropped)[^\n]*/g;

interface Nic {
  listen: boolean;
  port: number;
  mac: string;
}

/** One QEMU TCG VM with a shell on its serial console (booted through vm/). */
class Vm {
  private vm?: RunningVm;
  constructor(
    readonly name: string,
    private readonly o: { kernel: string; initrd: string; mem: number; nics: Nic[]; disk?: string; logDir: string },
  ) {}

  private get console(): ConsoleSession {
    if (!this.vm?.console) throw new Error(`${this.name}: not started`);
    return this.vm.console;
  }

  async start(): Promise<void> {
    // TCG only: KVM in this kind of host hangs the guest silently. One vCPU;
    // vm/ gives TCG VMs maxcpus=2 (smpOf: the virtio barriers under QEMU 7.2's TCG).
    this.vm = startVm(
      {
        name: this.name,
        accel: 'tcg',
        memoryMiB: this.o.mem,
        cpus: 1,
        firmware: 'bios',
        boot: { kind: 'kernel', kernel: this.o.kernel, initrd: this.o.initrd, append: 'console=ttyS0 panic=1' },
        serialLog: join(this.o.logDir, `${this.name}.log`),
        serial: 'session',
        l2: this.o.nics.map((n, i) => ({
          id: `n${i}`,
          mac: n.mac,
          model: 'virtio-net-pci' as const,
          ...(n.listen ? { transport: 'tcp-listen' as const, listenPort: n.port } : { transport: 'tcp' as const, hubPort: n.port }),
        })),
        disks: this.o.disk ? [{ file: this.o.disk, cache: 'none' }] : [],
      },
      { stderrLog: join(this.o.logDir, `${this.name}.qemu.log`) },
    );
    await this.waitFor(/@@READY@@/, 120_000);
  }

  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    return this.console.waitFor(re, timeoutMs, from);
  }

  /** Run a shell command; resolves with its exit status and console output. */
  sh(cmd: string, timeoutMs = 120_000): Promise<{ rc: number; out: string }> {
    return this.console.run(cmd, timeoutMs);
  }

  async ok(cmd: string, timeoutMs?: number): Promise<string> {
    const r = await this.sh(cmd, timeoutMs);
    if (r.rc !== 0) throw new Error(`${this.name}: '${cmd}' exited ${r.rc}:\n${r.out.slice(-2000)}`);
    return r.out;
  }

  warnings(): string[] {
    return [...(this.vm?.console?.text ?? '').matchAll(WARN_RE)].map((m) => m[0].trim());
  }
  stop(): void {
    void this.vm?.kill();
  }
}

/** Where a device's guest is: the IOhyp NIC toward it, its MAC and IP (vrio-iohyp --iface/--guest-mac/--guest-ip). */
/** Where images install the helper (provision calls it there too). */
const HELPER = '/usr/sbin/vrio-iohyp';

interface GuestId {
  iface: string;
  mac: string;
  ip: string;
}
const idArgs = (g: GuestId) => `--iface ${g.iface} --guest-mac ${g.mac} --guest-ip ${g.ip}`;

/**
 * One vrio-iohyp command on the IOhyp: "ok", or the helper's error line
 * ("vrio-iohyp: CREATE ioctl: No such device (errno 19)").
 */
async function ioh(a: Vm, args: string): Promise<string> {
  const r = await a.sh(`${HELPER} ${args}`);
  return r.rc === 0 ? 'ok' : (/vrio-iohyp: [^\n]*/.exec(r.out)?.[0].trim() ?? `exit ${r.rc}: ${r.out.trim()}`);
}
const createNet = (g: GuestId, tap: string, vnicMac: string, features: string) =>
  `create-net ${idArgs(g)} --backing ${tap} --mac ${vnicMac} --features ${features}`;
const createBlk = (g: GuestId, backing: string, name: string, bytes: number) =>
  `create-blk ${idArgs(g)} --backing ${backing} --name ${name} --capacity ${bytes}`;
const remove = (g: GuestId, backing: string) => `remove ${idArgs(g)} --backing ${backing} --kind ${backing.startsWith('/') ? 'blk' : 'net'}`;

// ------------------------------------------------------------ the lab itself
const IOHYP_MAC = '52:54:00:5a:00:01';
const GUEST_MAC = '52:54:00:5a:00:02';
const VNIC_MAC = '52:54:00:5a:00:10';
const GUEST: GuestId = { iface: 'eth0', mac: GUEST_MAC, ip: '10.55.0.2' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** IOhyp A (eth0 to the guest, eth1 to the peer), guest B (+ a virtio-blk disk), plain peer C. */
class Lab {
  readonly a: Vm;
  readonly b: Vm;
  readonly c: Vm;
  constructor(
    kernel: string,
    initrd: string,
    dir: string,
    disk: string,
    readonly mtu = 8100,
  ) {
    const p = 21000 + Math.floor(Math.random() * 20000);
    mkdirSync(dir, { recursive: true });
    this.a = new Vm('iohyp', {
      kernel,
      initrd,
      mem: 1536,
      logDir: dir,
      nics: [
        { listen: true, port: p, mac: IOHYP_MAC },
        { listen: true, port: p + 1, mac: '52:54:00:5b:00:01' },
      ],
    });
    this.b = new Vm('guest', { kernel, initrd, mem: 1024, logDir: dir, disk, nics: [{ listen: false, port: p, mac: GUEST_MAC }] });
    this.c = new Vm('peer', { kernel, initrd, mem: 768, logDir: dir, nics: [{ listen: false, port: p + 1, mac: '52:54:00:5b:00:03' }] });
  }
  async up(): Promise<void> {
    await this.a.start();
    await this.b.start();
    await this.c.start();
    // gblk's first request timeout is 200 ms, tuned for hardware; a 1 MiB
    // answer alone takes 0.3-0.7 s under TCG, so the lab gives it 1 s.
    // Segment 1 (A<->B) carries vRIO with an 8100-byte MTU, as upstream's setup script does.
    await this.a.ok(`ip link set eth0 mtu ${this.mtu}; ip addr add 10.55.0.1/24 dev eth0; ip link set eth0 up; ip link set eth1 up`);
    await this.b.ok(`ip link set eth0 mtu ${this.mtu}; ip addr add 10.55.0.2/24 dev eth0; ip link set eth0 up`);
    await this.c.ok('ip addr add 10.66.0.3/24 dev eth0; ip link set eth0 up');
    // The peer is a measuring instrument, not under test. Unless the kernel
    // image has fix 0006, its TCP breaks by itself when its receive queue
    // must be pruned (tcp_collapse(): "recvmsg bug" warnings or "kernel BUG
    // at tcp_input.c:4559"), even for plain TCP from the IOhyp's own stack
    // (docs/vrio-fixes.md). A window of a quarter of the buffer keeps it
    // from pruning, so what the TCP checks measure is the vRIO path.
    await this.c.ok('sysctl -w net.ipv4.tcp_adv_win_scale=-2');
    const eth = `l2_packet_size=${this.mtu + 14} l2_packet_list_size=4096 large_packet_list_size=512`;
    await this.a.ok(
      `cd /lib/modules && insmod macvlan.ko && insmod macvtap.ko && insmod tun.ko && insmod vrio_eth.ko ${eth} && insmod vrio_gen.ko h_eth_name=eth0 h_cpu_affinity=1 && insmod vrio_hnet.ko && insmod vrio_hblk.ko && cd /`,
    );
    await this.b.ok(
      `cd /lib/modules && insmod vrio_eth.ko ${eth} && insmod vrio_gen.ko g_eth_name=eth0 g_cpu_affinity=1 && insmod vrio_gnet.ko && insmod vrio_gblk.ko initial_request_timeout=1000000 && cd /`,
    );
    await this.a.ok(`ip link add link eth1 name mtap1 address ${VNIC_MAC} type macvtap && ip link set mtap1 up`);
  }
  ioh(args: string): Promise<string> {
    return ioh(this.a, args);
  }
  async createNet(features = '7be1'): Promise<void> {
    assert.equal(await this.ioh(createNet(GUEST, 'mtap1', VNIC_MAC, features)), 'ok');
    await this.b.ok(
      `for i in $(seq 50); do ip link show eth1 >/dev/null 2>&1 && break; sleep 0.1; done; ip link set eth1 up && ip addr add 10.66.0.2/24 dev eth1`,
    );
  }
  async createBlk(bytes = 64 << 20): Promise<void> {
    assert.equal(await this.ioh(createBlk(GUEST, '/dev/ram1', 'vdb', bytes)), 'ok');
    await this.b.ok('for i in $(seq 50); do [ -b /dev/vdb ] && break; sleep 0.1; done; [ -b /dev/vdb ]');
  }
  stop(): void {
    for (const v of [this.a, this.b, this.c]) v.stop();
  }
}

/**
 * Two guests on one IOhyp: B1 on A's eth0, B2 on A's eth2 (one vRIO
 * transport NIC per guest: QEMU's socket netdev joins exactly two VMs), the
 * peer C on eth1 reaching each guest's vRIO NIC through its own macvtap.
 * Each guest also gets a vRIO disk (vdb) on its own IOhyp ramdisk.
 */
class TwoGuestLab {
  readonly a: Vm;
  readonly b1: Vm;
  readonly b2: Vm;
  readonly c: Vm;
  readonly guests: { vm: Vm; id: GuestId; tap: string; vnicMac: string; ip: string; ram: string }[];
  constructor(
    kernel: string,
    initrd: string,
    dir: string,
    readonly mtu = 8100,
  ) {
    const p = 21000 + Math.floor(Math.random() * 20000);
    mkdirSync(dir, { recursive: true });
    this.a = new Vm('iohyp', {
      kernel,
      initrd,
      mem: 1536,
      logDir: dir,
      nics: [
        { listen: true, port: p, mac: IOHYP_MAC },
        { listen: true, port: p + 1, mac: '52:54:00:5b:00:01' },
        { listen: true, port: p + 2, mac: '52:54:00:5c:00:01' },
      ],
    });
    this.b1 = new Vm('guest1', { kernel, initrd, mem: 768, logDir: dir, nics: [{ listen: false, port: p, mac: GUEST_MAC }] });
    this.b2 = new Vm('guest2', { kernel, initrd, mem: 768, logDir: dir, nics: [{ listen: false, port: p + 2, mac: '52:54:00:5c:00:02' }] });
    this.c = new Vm('peer', { kernel, initrd, mem: 768, logDir: dir, nics: [{ listen: false, port: p + 1, mac: '52:54:00:5b:00:03' }] });
    this.guests = [
      { vm: this.b1, id: GUEST, tap: 'mtap1', vnicMac: VNIC_MAC, ip: '10.66.0.2', ram: '/dev/ram1' },
      {
        vm: this.b2,
        id: { iface: 'eth2', mac: '52:54:00:5c:00:02', ip: '10.57.0.2' },
        tap: 'mtap2',
        vnicMac: '52:54:00:5a:00:20',
        ip: '10.66.0.4',
        ram: '/dev/ram2',
      },
    ];
  }
  vms(): Vm[] {
    return [this.a, this.b1, this.b2, this.c];
  }
  async up(): Promise<void> {
    for (const v of this.vms()) await v.start();
    await this.a.ok(
      `for i in 0 2; do ip link set eth$i mtu ${this.mtu}; ip link set eth$i up; done; ip addr add 10.55.0.1/24 dev eth0; ip addr add 10.57.0.1/24 dev eth2; ip link set eth1 up`,
    );
    await this.b1.ok(`ip link set eth0 mtu ${this.mtu}; ip addr add 10.55.0.2/24 dev eth0; ip link set eth0 up`);
    await this.b2.ok(`ip link set eth0 mtu ${this.mtu}; ip addr add 10.57.0.2/24 dev eth0; ip link set eth0 up`);
    // The peer's own 3.10 TCP must not prune (see Lab.up()).
    await this.c.ok('ip addr add 10.66.0.3/24 dev eth0; ip link set eth0 up; sysctl -w net.ipv4.tcp_adv_win_scale=-2');
    const eth = `l2_packet_size=${this.mtu + 14} l2_packet_list_size=4096 large_packet_list_size=512`;
    await this.a.ok(
      `cd /lib/modules && insmod macvlan.ko && insmod macvtap.ko && insmod tun.ko && insmod vrio_eth.ko ${eth} && insmod vrio_gen.ko h_eth_name=eth0,eth2 h_cpu_affinity=1 && insmod vrio_hnet.ko && insmod vrio_hblk.ko && cd /`,
    );
    for (const g of this.guests) {
      await g.vm.ok(
        `cd /lib/modules && insmod vrio_eth.ko ${eth} && insmod vrio_gen.ko g_eth_name=eth0 g_cpu_affinity=1 && insmod vrio_gnet.ko && insmod vrio_gblk.ko initial_request_timeout=1000000 && cd /`,
      );
      await this.a.ok(`ip link add link eth1 name ${g.tap} address ${g.vnicMac} type macvtap && ip link set ${g.tap} up`);
      assert.equal(await this.ioh(createNet(g.id, g.tap, g.vnicMac, '7be1')), 'ok', `${g.vm.name} CREATE_NET`);
      await g.vm.ok(
        `for i in $(seq 50); do ip link show eth1 >/dev/null 2>&1 && break; sleep 0.1; done; ip link set eth1 up && ip addr add ${g.ip}/24 dev eth1`,
      );
      assert.equal(await this.ioh(createBlk(g.id, g.ram, 'vdb', 64 << 20)), 'ok', `${g.vm.name} CREATE_BLK`);
      await g.vm.ok('for i in $(seq 50); do [ -b /dev/vdb ] && break; sleep 0.1; done; [ -b /dev/vdb ]');
      // Static neighbours: the checks are about data, not ARP timing.
      await this.c.ok(`arp -i eth0 -s ${g.ip} ${g.vnicMac}`);
      await g.vm.ok('arp -i eth1 -s 10.66.0.3 52:54:00:5b:00:03');
    }
  }
  ioh(args: string): Promise<string> {
    return ioh(this.a, args);
  }
  stop(): void {
    for (const v of this.vms()) v.stop();
  }
}

/**
 * Start a shell job in the background; its exit status is printed as
 * @@JOB-name rc@@ and its output kept in /tmp/name.out. The '&' is inside
 * sh -c: a background job of the console shell itself makes busybox ash
 * stop answering when the job ends.
 */
async function job(v: Vm, name: string, cmd: string): Promise<void> {
  await v.ok(`sh -c '( ( ${cmd} ) >/tmp/${name}.out 2>&1 </dev/null; echo "@@JOB-${name} $?@@" ) &'`);
}
async function jobDone(v: Vm, name: string, timeoutMs: number): Promise<{ rc: number; out: string }> {
  const m = await v.waitFor(new RegExp(`@@JOB-${name} (\\d+)@@`), timeoutMs);
  return { rc: Number(m[1]), out: (await v.ok(`cat /tmp/${name}.out`)).trim().slice(-400) };
}
async function md5(v: Vm, file: string): Promise<string> {
  return (await v.ok(`md5sum ${file}`)).match(/[0-9a-f]{32}/)![0];
}
async function meminfo(v: Vm): Promise<Record<string, number>> {
  return Object.fromEntries([...(await v.ok('cat /proc/meminfo')).matchAll(/^(\w+):\s+(\d+) kB/gm)].map((m) => [m[1], Number(m[2])]));
}

/**
 * After a failed transfer: does the plain transport link (IOhyp <-> guest,
 * virtio-net on both ends, no vRIO) still carry pings? Tells a dead link
 * (the emulator's TX stall, docs/vrio-fixes.md section 8) from a stall
 * inside vRIO.
 */
async function transportLink(a: Vm, b: Vm, aIp = '10.55.0.1', bIp = '10.55.0.2'): Promise<string> {
  const lost = async (v: Vm, ip: string) => / 0 packets received/.test((await v.sh(`ping -c 2 -W 2 ${ip}`, 60_000)).out);
  try {
    const ab = await lost(a, bIp),
      ba = await lost(b, aIp);
    return ab && ba ? 'dead both ways' : `IOhyp->guest ${ab ? 'lost' : 'ok'}, guest->IOhyp ${ba ? 'lost' : 'ok'}`;
  } catch (e) {
    return `not checked: ${(e as Error).message.split('\n')[0]}`; // a VM that stopped cannot ping
  }
}

/** 16 MiB over TCP from one VM to another; md5 compared; bounded by timeoutS. */
async function transfer(
  from: Vm,
  to: Vm,
  ip: string,
  port: number,
  timeoutS = 300,
  link?: [Vm, Vm],
): Promise<{ ms: number; sent: string; equal: boolean; link?: string }> {
  const sum = (await from.ok('dd if=/dev/urandom of=/tmp/d bs=1M count=16 2>/dev/null; md5sum /tmp/d')).match(/[0-9a-f]{32}/)![0];
  await to.ok(`sh -c '(timeout ${timeoutS} tcpx recv ${port} /tmp/r </dev/null; echo "@@DONE${port}@@") &'`);
  await sleep(500);
  const t0 = Date.now();
  const sent = await from.sh(`timeout ${timeoutS} tcpx send ${ip} ${port} /tmp/d`, (timeoutS + 60) * 1000);
  await to.waitFor(new RegExp(`@@DONE${port}@@`), (timeoutS + 60) * 1000);
  const got = (await to.ok('md5sum /tmp/r')).match(/[0-9a-f]{32}/)![0];
  const r = { ms: Date.now() - t0, sent: /SEND \d+ \w+/.exec(sent.out)?.[0] ?? `send exited ${sent.rc}`, equal: got === sum };
  return link && !(r.equal && r.sent === 'SEND 16777216 ok') ? { ...r, link: await transportLink(...link) } : r;
}

// ------------------------------------------------------ building the flavours
interface Flavour {
  name: 'upstream' | 'fixed';
  initrd: string;
}

async function buildFlavour(work: string, name: Flavour['name'], tools: string): Promise<Flavour> {
  if (!SRC || !OBJ) throw new Error('unreachable');
  const src = join(work, `${name}-src`);
  const obj = join(work, `${name}-obj`);
  // Hard-link copies: only the vRIO sources are patched (replaced by real
  // copies) and only the vRIO objects are rebuilt (in a fresh directory).
  await run('cp', ['-al', SRC, src]);
  await run('cp', ['-al', OBJ, obj]);
  for (const d of ['drivers/vrio', 'include/linux/vrio']) {
    rmSync(join(src, d), { recursive: true, force: true });
    await run('cp', ['-a', join(SRC, d), join(src, d)]);
  }
  rmSync(join(obj, 'drivers/vrio'), { recursive: true, force: true });
  const fixesDir = dataPath('kernel-config/patches/3.10/fixes');
  const patches = readdirSync(fixesDir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => join(fixesDir, f));
  // The given tree may carry none, some (an older series) or all of the
  // fixes: find how many leading patches are in, then bring it to the
  // wanted state. Reversal goes newest first (later patches touch the
  // same files).
  // Only the vRIO parts: the rest of src is hard links into SRC, and fixes to
  // core files (0006) live in the given kernel image, shared by both flavours.
  const only = ['--include=drivers/vrio/*', '--include=include/linux/vrio/*'];
  let applied = patches.length;
  while (
    applied > 0 &&
    (await run('git', ['apply', '--check', '-R', '-p1', ...only, ...patches.slice(0, applied).reverse()], { cwd: src, allowFail: true })).code !== 0
  )
    applied--;
  if (name === 'fixed' && applied < patches.length) await run('git', ['apply', '-p1', ...only, ...patches.slice(applied)], { cwd: src });
  if (name === 'upstream' && applied > 0) await run('git', ['apply', '-R', '-p1', ...only, ...patches.slice(0, applied).reverse()], { cwd: src });
  await run('make', ['-C', src, `O=${obj}`, ...MAKEFLAGS, 'M=drivers/vrio', 'modules', '-j2'], {
    logFile: join(work, `${name}-make.log`),
    timeoutMs: 15 * 60_000,
  });
  const root = join(work, `${name}-root`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'lib/modules'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  await run('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
  for (const t of ['blkbench', 'tcpx']) await run('cp', [join(tools, t), join(root, 'usr/bin', t)]);
  await run('cp', [join(tools, 'vrio-iohyp'), join(root, HELPER.slice(1))]);
  for (const m of [...MODULES.map((m) => join(obj, `${m}.ko`)), ...KERNEL_MODULES.map((m) => join(OBJ, `${m}.ko`))])
    await run('cp', [m, join(root, 'lib/modules/')]);
  const initrd = join(work, `${name}.cpio.gz`);
  await run('sh', ['-c', `cd "${root}" && find . | sort | cpio -o -H newc --quiet | gzip -1 > "${initrd}"`]);
  return { name, initrd };
}

// ------------------------------------------------------------------- checks
const report: Record<string, unknown> = {};
const SIZES = [4096, 16384, 32768, 65536, 262144, 1048576];

async function bench(b: Vm, dev: string, op: 'r' | 'w', size: number): Promise<{ avgUs: number; mbps: number } | string> {
  const r = await b.sh(`blkbench ${dev} ${op} ${size} ${size >= 262144 ? 8 : 30}`, 300_000);
  const m = /BENCH \d+ \w \d+ ([\d.]+) ([\d.]+)/.exec(r.out);
  return m ? { avgUs: Number(m[1]), mbps: Number(m[2]) } : (/BENCHFAIL[^\n]*/.exec(r.out)?.[0] ?? `failed: ${r.out.slice(-200)}`);
}

describe('vRIO fix series, proven in QEMU VMs', { skip, timeout: 3 * 60 * 60_000 }, () => {
  let work = '';
  const flavours: Partial<Record<Flavour['name'], Flavour>> = {};
  const labs: { stop(): void }[] = [];
  const kernel = () => join(OBJ ?? '', 'arch/x86/boot/bzImage');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'vrio-fixes-'));
    const tools = join(work, 'tools');
    mkdirSync(tools);
    for (const [n, c] of [
      ['blkbench', BLKBENCH_C],
      ['tcpx', TCPX_C],
    ] as const) {
      writeFileSync(join(tools, `${n}.c`), c);
      await run('musl-gcc', ['-static', '-O2', '-Wall', '-o', join(tools, n), join(tools, `${n}.c`)]);
    }
    await buildHelper(tools, join(work, 'helper-build.log'));
    flavours.upstream = await buildFlavour(work, 'upstream', tools);
    flavours.fixed = await buildFlavour(work, 'fixed', tools);
    // The comparison disk for virtio-blk, on tmpfs like the IOhyp's ramdisk.
    writeFileSync(join(work, 'vda.img'), Buffer.alloc(64 << 20));
  });

  after(() => {
    for (const l of labs) l.stop();
    writeFileSync(REPORT, JSON.stringify(report, null, 2));
    // Keep the consoles when something failed; the build trees are large.
    for (const f of readdirSync(work)) if (/-(src|obj|root)$/.test(f)) rmSync(join(work, f), { recursive: true, force: true });
  });

  test('upstream drivers: the bug checks fail', async (t) => {
    const lab = new Lab(kernel(), flavours.upstream!.initrd, join(work, 'upstream-lab'), join(work, 'vda.img'));
    labs.push(lab);
    await lab.up();
    // CREATE errors: a net back end that is no macvtap "succeeds" by making a new tap; a missing one says only EFAULT.
    const stray = await lab.ioh(createNet(GUEST, 'tapx', VNIC_MAC, '21'));
    const missing = await lab.ioh(createBlk(GUEST, '/dev/ram99', 'vdb', 1048576));
    report.upstreamCreate = { stray, missing };
    assert.equal(stray, 'ok', 'upstream CREATE_NET on an unknown tap name returns success');
    assert.match(missing, /Bad address/);
    await lab.ioh(remove(GUEST, 'tapx'));
    // Large requests: 4 MiB written with O_DIRECT and bs=1M (requests over 64 KiB) do not survive.
    await lab.createBlk();
    const small = await bench(lab.b, '/dev/vdb', 'r', 4096);
    const big = await lab.b.sh(
      'dd if=/dev/urandom of=/tmp/x bs=1M count=4 2>/dev/null; dd if=/tmp/x of=/dev/vdb bs=1M oflag=direct 2>&1; dd if=/dev/vdb of=/tmp/y bs=1M count=4 iflag=direct 2>&1; md5sum /tmp/x /tmp/y',
      600_000,
    );
    const sums = big.out.match(/[0-9a-f]{32}/g) ?? [];
    report.upstreamBlk = { read4k: small, dd4MiB: big.out.match(/\d+\+\d+ records out|error[^\n]*/g), md5Equal: sums.length === 2 && sums[0] === sums[1] };
    assert.equal(typeof small, 'object', 'a 4 KiB read works upstream');
    assert.ok(!(sums.length === 2 && sums[0] === sums[1]), 'upstream: 4 MiB written with bs=1M does not read back equal');
    // Short frames: the peer's first (unpadded) ARP panics the guest.
    await lab.createNet('21');
    await lab.c.sh('ping -c 2 -W 2 10.66.0.2', 60_000);
    await lab.b.waitFor(/kernel BUG at[^\n]*skbuff\.c/, 30_000);
    report.upstreamShortFrames = lab.b.warnings().slice(0, 3);
    t.diagnostic(`upstream guest: ${lab.b.warnings()[0]}`);
    lab.stop();
  });

  test('TCP at MTU 1500 (up to 46 L2 fragments per message): fixed is md5-equal both ways (upstream recorded)', async (t) => {
    const res: Record<string, unknown> = {};
    for (const f of [flavours.upstream!, flavours.fixed!]) {
      const lab = new Lab(kernel(), f.initrd, join(work, `${f.name}-lab1500`), join(work, 'vda.img'), 1500);
      labs.push(lab);
      await lab.up();
      await lab.createNet();
      // Static neighbours: no ARP, so the upstream guest survives long enough to show the TCP bug.
      await lab.c.ok(`arp -i eth0 -s 10.66.0.2 ${VNIC_MAC}`);
      await lab.b.ok('arp -i eth1 -s 10.66.0.3 52:54:00:5b:00:03');
      const r = await transfer(lab.c, lab.b, '10.66.0.2', 5001, 120, [lab.a, lab.b]);
      res[`${f.name} peer->guest`] = { ...r, warnings: lab.b.warnings().filter((w) => /recvmsg/.test(w)).length };
      if (f.name === 'fixed') {
        assert.equal(r.sent, 'SEND 16777216 ok', JSON.stringify(r));
        assert.ok(r.equal, `fixed: peer -> guest md5-equal: ${JSON.stringify(r)}`);
        assert.deepEqual(lab.b.warnings(), [], 'fixed: no warnings while receiving');
        // Guest -> peer: TCP's 64 KiB super-packets become messages of up to
        // 46 L2 fragments. Without 0005 the transport rewrote the gso fields
        // of TCP's cloned skbs (tcp_ack warnings, a stall, once a crash).
        const back = await transfer(lab.b, lab.c, '10.66.0.3', 5002, 180, [lab.a, lab.b]);
        res['fixed guest->peer'] = back;
        assert.equal(back.sent, 'SEND 16777216 ok', JSON.stringify(back));
        assert.ok(back.equal, 'fixed: guest -> peer md5-equal');
        for (const v of [lab.a, lab.b, lab.c]) assert.deepEqual(v.warnings(), [], `fixed: ${v.name} kernel warnings after both directions`);
      } else {
        // Recorded, not asserted: upstream broke here in 5 of 6 lab runs
        // (recvmsg bug warnings, transfer stuck), but not every time.
        t.diagnostic(`upstream peer -> guest at MTU 1500: ${JSON.stringify(res['upstream peer->guest'])}`);
      }
      lab.stop();
    }
    report.tcp1500 = res;
  });

  describe('fixed drivers', () => {
    let lab: Lab;
    before(async () => {
      lab = new Lab(kernel(), flavours.fixed!.initrd, join(work, 'fixed-lab'), join(work, 'vda.img'));
      labs.push(lab);
      await lab.up();
    });

    test('short frames: the guest answers ARP and ping from a virtio-net peer and stays up', async () => {
      await lab.createNet();
      const ping = await lab.c.ok('ping -c 3 -s 1400 10.66.0.2', 60_000);
      assert.match(ping, /3 packets transmitted, 3 packets received/);
      assert.match(await lab.c.ok('arping -c 3 -I eth0 10.66.0.2', 60_000), /Received 3 response/);
      assert.match(await lab.b.ok('echo alive'), /alive/);
    });

    test('TCP through the vRIO NIC: 16 MiB each way, md5-equal, no recvmsg warnings', async () => {
      const res: Record<string, unknown> = {};
      for (const [from, to, ip, port] of [
        [lab.c, lab.b, '10.66.0.2', 5001],
        [lab.b, lab.c, '10.66.0.3', 5002],
      ] as const) {
        const r = await transfer(from, to, ip, port, 300, [lab.a, lab.b]);
        res[`${from.name}->${to.name}`] = r;
        assert.equal(r.sent, 'SEND 16777216 ok', JSON.stringify(r));
        assert.ok(r.equal, `${from.name} -> ${to.name}: md5 of what arrived: ${JSON.stringify(r)}`);
      }
      report.tcp = res;
      assert.deepEqual(
        lab.b.warnings().filter((w) => /recvmsg/.test(w)),
        [],
      );
    });

    test('block: data survives, every request size works, vRIO vs virtio-blk table', async (t) => {
      await lab.createBlk();
      const out = await lab.b.ok(
        'dd if=/dev/urandom of=/tmp/x bs=1M count=4 2>/dev/null; dd if=/tmp/x of=/dev/vdb bs=1M oflag=direct 2>&1; dd if=/dev/vdb of=/tmp/y bs=1M count=4 iflag=direct 2>&1; md5sum /tmp/x /tmp/y',
        600_000,
      );
      const sums = out.match(/[0-9a-f]{32}/g) ?? [];
      assert.equal(sums.length, 2);
      assert.equal(sums[0], sums[1], '4 MiB written with bs=1M reads back the same');
      const table: Record<string, unknown>[] = [];
      for (const op of ['r', 'w'] as const)
        for (const size of SIZES) {
          const vrio = await bench(lab.b, '/dev/vdb', op, size);
          const virtio = await bench(lab.b, '/dev/vda', op, size);
          table.push({ op, size, vrio, virtio });
          t.diagnostic(`${op} ${size}: vRIO ${JSON.stringify(vrio)} virtio-blk ${JSON.stringify(virtio)}`);
          assert.equal(typeof vrio, 'object', `vRIO ${op} of ${size} bytes works`);
        }
      report.blkTable = table;
    });

    test('CREATE errors name the cause and leave nothing attached; a correct CREATE right after works', async () => {
      const errs = {
        missingMacvtap: await lab.ioh(createNet(GUEST, 'mtap9', VNIC_MAC, '21')),
        unknownTap: await lab.ioh(createNet(GUEST, 'tapx', VNIC_MAC, '21')),
        missingBlk: await lab.ioh(createBlk(GUEST, '/dev/ram99', 'vdb2', 1048576)),
      };
      report.fixedCreate = errs;
      assert.match(errs.missingMacvtap, /No such file or directory/);
      assert.match(errs.unknownTap, /No such device/);
      assert.match(errs.missingBlk, /No such file or directory/);
      assert.equal((await lab.a.sh('ip link show tapx')).rc === 0, false, 'no stray tap was created');
      assert.equal(await lab.ioh(createBlk(GUEST, '/dev/ram2', 'vdc', 1048576)), 'ok');
      await lab.b.ok('for i in $(seq 50); do [ -b /dev/vdc ] && break; sleep 0.1; done; [ -b /dev/vdc ]');
      assert.equal(await lab.ioh(remove(GUEST, '/dev/ram2')), 'ok');
    });

    test(`${CYCLES} create/use/remove cycles per device type, no warnings, no growing slab`, async () => {
      const meminfo = async () =>
        Object.fromEntries([...(await lab.a.ok('cat /proc/meminfo')).matchAll(/^(\w+):\s+(\d+) kB/gm)].map((m) => [m[1], Number(m[2])]));
      assert.equal(await lab.ioh(remove(GUEST, '/dev/ram1')), 'ok');
      assert.equal(await lab.ioh(remove(GUEST, 'mtap1')), 'ok');
      const before0 = await meminfo();
      for (let i = 0; i < CYCLES; i++) {
        await lab.createBlk(4 << 20);
        await lab.b.ok(
          `dd if=/dev/urandom of=/tmp/c bs=64k count=1 2>/dev/null; dd if=/tmp/c of=/dev/vdb bs=64k oflag=direct 2>/dev/null; dd if=/dev/vdb bs=64k count=1 iflag=direct 2>/dev/null | cmp - /tmp/c`,
        );
        assert.equal(await lab.ioh(remove(GUEST, '/dev/ram1')), 'ok', `blk cycle ${i}`);
        await lab.b.ok('for i in $(seq 50); do [ -b /dev/vdb ] || break; sleep 0.1; done; [ ! -b /dev/vdb ]');
      }
      for (let i = 0; i < CYCLES; i++) {
        assert.equal(await lab.ioh(createNet(GUEST, 'mtap1', VNIC_MAC, '7be1')), 'ok', `net cycle ${i}`);
        await lab.b.ok(
          'for i in $(seq 50); do ip link show eth1 >/dev/null 2>&1 && break; sleep 0.1; done; ip link set eth1 up && ip addr add 10.66.0.2/24 dev eth1',
        );
        await lab.c.ok('ping -c 1 -W 5 10.66.0.2', 60_000);
        // Down first, as a user would: a NIC just brought up still sends its
        // IPv6 start-up traffic (DAD, MLD), and what reaches the IOhyp after
        // REMOVE is (rightly) dropped with 'vrio: dropped', which counts as
        // a warning here.
        await lab.b.ok('ip link set eth1 down');
        assert.equal(await lab.ioh(remove(GUEST, 'mtap1')), 'ok', `net cycle ${i}`);
        await lab.b.ok('for i in $(seq 50); do ip link show eth1 >/dev/null 2>&1 || break; sleep 0.1; done; ! ip link show eth1 >/dev/null 2>&1');
      }
      const after0 = await meminfo();
      report.cycles = { slabKbBefore: before0.Slab, slabKbAfter: after0.Slab, memFreeKbBefore: before0.MemFree, memFreeKbAfter: after0.MemFree };
      for (const v of [lab.a, lab.b, lab.c]) assert.deepEqual(v.warnings(), [], `${v.name} kernel warnings`);
      // 100 devices came and went: a per-device leak (the net back end alone is ~90 KiB) would show.
      assert.ok(before0.MemFree - after0.MemFree < 4096, `IOhyp MemFree fell by ${before0.MemFree - after0.MemFree} kB over ${2 * CYCLES} cycles`);
      assert.ok(after0.Slab - before0.Slab < 2048, `IOhyp Slab grew by ${after0.Slab - before0.Slab} kB over ${2 * CYCLES} cycles`);
    });
  });

  // A gate again: the transport link deaths under this load were QEMU's
  // (TCG without barriers for one possible vCPU, docs/vrio-fixes.md
  // section 8), gone with -smp 1,maxcpus=2; a failure reports whether the
  // plain transport links still ping (report.twoGuests.links).
  test('two guests on one IOhyp: block and net traffic at once, md5-equal, no warnings', async (t) => {
    const lab = new TwoGuestLab(kernel(), flavours.fixed!.initrd, join(work, 'two-guests'));
    labs.push(lab);
    await lab.up();
    const [g1, g2] = lab.guests;
    const before0 = await meminfo(lab.a);
    for (const v of [lab.b1, lab.b2, lab.c])
      await v.ok('dd if=/dev/urandom of=/tmp/d bs=1M count=16 2>/dev/null; dd if=/dev/urandom of=/tmp/x bs=1M count=8 2>/dev/null');
    const sent = { peer: await md5(lab.c, '/tmp/d'), guest2: await md5(lab.b2, '/tmp/d') };
    const t0 = Date.now();
    // At once: peer -> guest1 and guest2 -> peer over TCP (16 MiB each), and
    // on both guests 8 MiB through vdb twice (64 KiB and 1 MiB O_DIRECT
    // requests), read back and compared.
    await job(g1.vm, 'recv', 'timeout 600 tcpx recv 5001 /tmp/r');
    await job(lab.c, 'recv', 'timeout 600 tcpx recv 5002 /tmp/r');
    await sleep(500);
    await job(lab.c, 'send', `timeout 600 tcpx send ${g1.ip} 5001 /tmp/d`);
    await job(g2.vm, 'send', 'timeout 600 tcpx send 10.66.0.3 5002 /tmp/d');
    const blk =
      'dd if=/tmp/x of=/dev/vdb bs=64k oflag=direct && dd if=/dev/vdb of=/tmp/y bs=64k count=128 iflag=direct && cmp /tmp/x /tmp/y' +
      ' && dd if=/tmp/x of=/dev/vdb bs=1M seek=16 oflag=direct && dd if=/dev/vdb of=/tmp/z bs=1M skip=16 count=8 iflag=direct && cmp /tmp/x /tmp/z';
    for (const g of lab.guests) await job(g.vm, 'blk', blk);
    const jobs: Record<string, { rc: number; out: string }> = {};
    for (const [v, n] of [
      [lab.b1, 'blk'],
      [lab.b2, 'blk'],
      [lab.c, 'send'],
      [lab.b2, 'send'],
      [lab.b1, 'recv'],
      [lab.c, 'recv'],
    ] as const) {
      jobs[`${v.name} ${n}`] = await jobDone(v, n, 900_000);
    }
    const ms = Date.now() - t0;
    const got = { guest1: await md5(lab.b1, '/tmp/r'), peer: await md5(lab.c, '/tmp/r') };
    const after0 = await meminfo(lab.a);
    const warnings = Object.fromEntries(lab.vms().map((v) => [v.name, v.warnings()]));
    const links = Object.values(jobs).some((j) => j.rc !== 0)
      ? { guest1: await transportLink(lab.a, lab.b1), guest2: await transportLink(lab.a, lab.b2, '10.57.0.1', '10.57.0.2') }
      : undefined;
    report.twoGuests = {
      ms,
      jobs,
      links,
      md5Equal: { peerToGuest1: got.guest1 === sent.peer, guest2ToPeer: got.peer === sent.guest2 },
      iohypSlabKb: [before0.Slab, after0.Slab],
      iohypMemFreeKb: [before0.MemFree, after0.MemFree],
      warnings,
    };
    t.diagnostic(`two guests: ${JSON.stringify(report.twoGuests)}`);
    for (const [k, j] of Object.entries(jobs)) assert.equal(j.rc, 0, `${k}: ${j.out}`);
    assert.equal(got.guest1, sent.peer, 'peer -> guest1 md5-equal');
    assert.equal(got.peer, sent.guest2, 'guest2 -> peer md5-equal');
    for (const v of lab.vms()) assert.deepEqual(v.warnings(), [], `${v.name} kernel warnings`);
    lab.stop();
  });
});
