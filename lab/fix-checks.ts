// The bug checks of our vRIO fix series (kernel-config/patches/3.10/fixes,
// docs/vrio-fixes.md), run by `vrio lab up --checks fixes` after the basic
// checks. Each one reproduces an upstream defect the way it was found:
//   - TCP both ways, 16 MiB, md5 on both ends, all guests at once;
//   - CREATE error paths: CREATE on a missing macvtap / block device must fail
//     with the real errno (upstream: "Bad address"), leave nothing attached,
//     and a correct CREATE right after must work;
//   - create/use/remove loops per device type, with the IOhyp's slab/free
//     memory before and after (a leak shows up as steady growth);
//   - a tun/tap back end (not a macvtap): a vRIO NIC on a tap made with
//     `ip tuntap`, ping and TCP between the guest and the IOhyp through it;
//   - short frames: a macvlan beside the guest's macvtap on the IOhyp sends a
//     42-byte ARP (host-internal, so nothing pads it) to the guest's vRIO NIC;
//     upstream panics the guest;
//   - no kernel warning, BUG or oops on any VM at the end.
// Before the load, guest1 measures its vRIO disk against a virtio-blk disk of
// its own by request size (lab/blk-perf.ts): large requests were the slow ones.
// With the fixes off (`kernel.fixes: false`) these checks fail: that is how
// we know they test something.
import { randomBytes } from 'node:crypto';
import type { Session } from '../lib/ssh/client.js';
import { blkPerf, PERF_SIZES_KIB, type BlkPerfRow } from './blk-perf.js';
import { check, ipOf, md5, ping, record, tcpPrepare, tcpSend, tcpTransfer, tcpVerify, type LabCheck, type TcpLeg } from './checks.js';
import { PEER_IP, type PlannedVm } from './topology.js';

/** The address of the short-frame sender (a macvlan on the IOhyp). */
const SHORT_FRAME_SRC = `${PEER_IP.split('.').slice(0, 3).join('.')}.200`;
/** The tun/tap back end's subnet: the IOhyp's tap and the guest's NIC on it (no other lab net). */
const TUN_NET = '10.77.0';

export interface FixCheckOptions {
  /** create/use/remove cycles per device type. */
  cycles: number;
  /** The IOhyp's control helper (provision/defaults.yaml `helper`). */
  helper: string;
  /** Bytes per TCP transfer and direction. */
  tcpBytes: number;
  /** guest1's virtio-blk disk for the throughput comparison (none: not measured). */
  virtioDisk?: { dev: string; bytes: number };
}

export interface FixCheckResult {
  checks: LabCheck[];
  /** vRIO vs virtio-blk by request size, when measured. */
  blkPerf?: BlkPerfRow[];
}

/** Kernel log lines that mean a driver bug, whatever the check was doing at the time. */
export const KERNEL_TROUBLE = /WARNING:|BUG[: ]|Oops|general protection|Call Trace|recvmsg bug|Kernel panic|soft lockup|hung_task|blocked for more than/;

export function troubleLines(dmesg: string): string[] {
  return dmesg.split('\n').filter((l) => KERNEL_TROUBLE.test(l));
}

/** The slab and free memory (kB) of /proc/meminfo. */
export function memInfo(text: string): { slabKb: number; freeKb: number } {
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { slabKb: get('Slab'), freeKb: get('MemFree') };
}

/** A helper run that must fail: its exit code and the message it printed. */
async function mustFail(io: Session, argv: string[], expect: RegExp, what: string): Promise<string> {
  const r = await io.exec(argv, { timeoutMs: 60_000 });
  const msg = (r.stderr + r.stdout).trim().split('\n').slice(-1)[0] ?? '';
  if (r.code === 0) throw new Error(`${what}: CREATE succeeded (exit 0) although the back-end device does not exist`);
  if (!expect.test(msg)) throw new Error(`${what}: failed (exit ${r.code}) but the message does not name the cause: '${msg}' (expected ${expect})`);
  return `exit ${r.code}: ${msg}`;
}

/** Wait (bounded) until a shell condition holds on a VM. */
async function until(s: Session, cond: string, seconds: number, what: string): Promise<void> {
  const r = await s.exec(`for i in $(seq 1 ${seconds * 10}); do ${cond} && exit 0; sleep 0.1; done; exit 1`, { timeoutMs: (seconds + 15) * 1000 });
  if (r.code !== 0) throw new Error(`${what} (waited ${seconds} s)`);
}

export async function fixChecks(plan: PlannedVm[], ssh: Map<string, Session>, o: FixCheckOptions): Promise<FixCheckResult> {
  const out: LabCheck[] = [];
  const io = ssh.get('iohyp1')!;
  const peer = ssh.get('peer1');
  const guests = plan.filter((p) => p.role === 'guest' && p.net && p.blk);
  const ioPlan = plan.find((p) => p.role === 'iohyp')!;
  if (!peer || !guests.length) return { checks: out };

  // 0. Block throughput by request size on guest1, on a quiet lab (before the load below).
  let perf: BlkPerfRow[] | undefined;
  const disk = o.virtioDisk;
  if (disk) {
    const gs = ssh.get(guests[0].name)!;
    await check(out, `${guests[0].name}: block throughput by request size (${PERF_SIZES_KIB.join('/')} KiB, O_DIRECT), vRIO vs virtio-blk`, async () => {
      const vrd = guests[0].blk?.name;
      if (!vrd) throw new Error('the lab gave the guest no vRIO disk');
      await gs.check(`test -b /dev/${vrd}`);
      // Make sure the comparison disk is the lab's, not some other virtio disk.
      const sectors = Number((await gs.check(`cat /sys/block/${disk.dev}/size`)).trim());
      if (sectors * 512 !== disk.bytes) throw new Error(`/dev/${disk.dev} has ${sectors * 512} bytes, the lab attached ${disk.bytes}`);
      perf = await blkPerf(gs, `/dev/${vrd}`, `/dev/${disk.dev}`);
      const at = (k: number, op: 'read' | 'write') => perf!.find((r) => r.sizeKiB === k && r.op === op)!;
      return `/dev/${vrd} vs /dev/${disk.dev}, data read back equal; 1 MiB read ${at(1024, 'read').vrio.mbPerSec.toFixed(1)} vs ${at(1024, 'read').virtio.mbPerSec.toFixed(1)} MB/s, 4 KiB read ${at(4, 'read').vrio.avgMs.toFixed(2)} vs ${at(4, 'read').virtio.avgMs.toFixed(2)} ms`;
    });
  }

  // 1. TCP both ways, all guests at once (several guests loading the IOhyp together):
  //    data and listeners are set up one by one, then every sender starts at once.
  const legs: (TcpLeg & { name: string })[] = guests.flatMap((g, i) => [
    { name: `peer -> ${g.name}`, from: peer, to: ssh.get(g.name)!, toIp: ipOf(g.net!.ip), bytes: o.tcpBytes, port: 5100 + 2 * i, tag: `p2${g.name}` },
    { name: `${g.name} -> peer`, from: ssh.get(g.name)!, to: peer, toIp: PEER_IP, bytes: o.tcpBytes, port: 5101 + 2 * i, tag: `${g.name}2p` },
  ]);
  const sums: (string | Error)[] = [];
  for (const l of legs) sums.push(await tcpPrepare(l).catch((e: Error) => e));
  const t0 = Date.now();
  const sent = await Promise.allSettled(legs.map((l, i) => (sums[i] instanceof Error ? Promise.reject(sums[i]) : tcpSend(l))));
  const secs = (Date.now() - t0) / 1000;
  for (const [i, l] of legs.entries()) {
    const r = sent[i];
    const name = `${l.name} ${o.tcpBytes >> 20} MiB TCP through the vRIO NIC (${legs.length} transfers at once)`;
    if (r.status === 'rejected') record(out, { name, ok: false, detail: (r.reason as Error).message, seconds: secs });
    else await check(out, name, () => tcpVerify(l, sums[i] as string, r.value));
  }

  // 2. CREATE error paths, with guest1 as the target.
  const g1 = guests[0];
  const header = ['--iface', ioPlan.nics[0].iface, '--guest-mac', g1.nics[0].mac, '--guest-ip', ipOf(g1.nics[0].ip)];
  const spareRam = '/dev/ram0'; // prepareIohyp makes rd_nr = guests + 1; guests use ram1..N
  const gs1 = ssh.get(g1.name)!;
  // The extra disk's name, which the guest must use (VIRTIO_BLK_F_DEV_NAME).
  const spareName = 'vdz';
  await check(out, 'CREATE_NET on a missing macvtap fails with the cause, nothing attached', () =>
    mustFail(
      io,
      [o.helper, 'create-net', ...header, '--backing', 'mvtmissing9', '--mac', '02:00:00:00:99:01', '--features', '0x7BE1'],
      /CREATE ioctl: No such (file|device)/i,
      'CREATE_NET mvtmissing9',
    ),
  );
  await check(out, 'CREATE_BLK on a missing block device fails with the cause, nothing attached', () =>
    // --capacity: the helper then does not open the device itself, the back end must report it.
    mustFail(
      io,
      [o.helper, 'create-blk', ...header, '--backing', '/dev/ram99', '--name', spareName, '--capacity', '4194304'],
      /CREATE ioctl: No such (file|device)/i,
      'CREATE_BLK /dev/ram99',
    ),
  );
  await check(out, 'a correct CREATE_BLK right after the failures works, REMOVE takes it away', async () => {
    const disks = async () => (await gs1.check('ls /sys/block')).split(/\s+/).filter((d) => d && !/^(ram|loop)/.test(d));
    const d0 = await disks();
    if (d0.includes(spareName)) throw new Error(`${g1.name} already has ${spareName} before CREATE_BLK: ${d0.join(' ')}`);
    await io.check([o.helper, 'create-blk', ...header, '--backing', spareRam, '--name', spareName], { timeoutMs: 60_000 });
    await until(gs1, `[ -e /sys/block/${spareName} ]`, 20, `${g1.name} shows no ${spareName} after CREATE_BLK (disks: ${d0.join(' ')})`);
    await io.check([o.helper, 'remove', ...header, '--backing', spareRam], { timeoutMs: 60_000 });
    await until(gs1, `[ ! -e /sys/block/${spareName} ]`, 20, `${spareName} stays on ${g1.name} after REMOVE`);
    return `disks ${d0.join(' ')} -> + ${spareName} -> ${d0.join(' ')}`;
  });

  // 3. Loops: create/use/remove per device type.
  const mem0 = memInfo(await io.check('cat /proc/meminfo'));
  await check(out, `${o.cycles} create/use/remove cycles of a vRIO block device`, async () => {
    const block = randomBytes(64 << 10);
    await gs1.check('cat > /tmp/vrio-cycle', { input: block });
    for (let i = 1; i <= o.cycles; i++) {
      await io.check([o.helper, 'create-blk', ...header, '--backing', spareRam, '--name', spareName], { timeoutMs: 60_000 });
      const dev = spareName;
      await until(gs1, `[ -b /dev/${dev} ]`, 20, `cycle ${i}: no /dev/${dev} on ${g1.name} after CREATE_BLK`);
      const sum = (
        await gs1.check(
          `dd if=/tmp/vrio-cycle of=/dev/${dev} bs=64k count=1 oflag=direct 2>/dev/null && dd if=/dev/${dev} bs=64k count=1 iflag=direct 2>/dev/null | md5sum`,
          { timeoutMs: 60_000 },
        )
      ).split(' ')[0];
      if (sum !== md5(block)) throw new Error(`cycle ${i}: /dev/${dev} read back md5 ${sum}, wrote ${md5(block)}`);
      await io.check([o.helper, 'remove', ...header, '--backing', spareRam], { timeoutMs: 60_000 });
      await until(gs1, `[ ! -e /sys/block/${dev} ]`, 20, `cycle ${i}: /dev/${dev} still there after REMOVE`);
    }
    return `${o.cycles} cycles, 64 KiB O_DIRECT md5-equal each time`;
  });
  // A second macvtap on guest1's lower NIC, its own vNIC MAC: the peer pings it each cycle.
  const cycMac = '02:00:00:00:99:02';
  const cycIp = `${ipOf(g1.net!.ip).split('.').slice(0, 3).join('.')}.99`;
  await check(out, `${o.cycles} create/use/remove cycles of a vRIO NIC`, async () => {
    await io.check(
      `ip link del mvtcycle 2>/dev/null; ip link add link ${g1.net!.lower} name mvtcycle address ${cycMac} type macvtap mode bridge && ip link set mvtcycle up`,
    );
    try {
      for (let i = 1; i <= o.cycles; i++) {
        await io.check([o.helper, 'create-net', ...header, '--backing', 'mvtcycle', '--mac', cycMac, '--features', '0x7BE1'], { timeoutMs: 60_000 });
        const find = `for n in /sys/class/net/*; do [ "$(cat $n/address)" = "${cycMac}" ] && basename $n; done`;
        await until(gs1, `[ -n "$(${find})" ]`, 20, `cycle ${i}: no NIC with ${cycMac} on ${g1.name} after CREATE_NET`);
        await gs1.check(`n=$(${find}); ip addr add ${cycIp}/24 dev $n 2>/dev/null; ip link set $n up`);
        await peer.check(`ping -c 1 -W 5 ${cycIp} >/dev/null || ping -c 2 -W 5 ${cycIp} >/dev/null`, { timeoutMs: 30_000 });
        await io.check([o.helper, 'remove', ...header, '--backing', 'mvtcycle'], { timeoutMs: 60_000 });
        await until(gs1, `[ -z "$(${find})" ]`, 20, `cycle ${i}: the NIC ${cycMac} stays on ${g1.name} after REMOVE`);
      }
    } finally {
      await io.exec('ip link del mvtcycle 2>/dev/null; true');
    }
    return `${o.cycles} cycles, the peer pinged the new NIC each time`;
  });
  // A tun/tap back end: the IOhyp attaches /dev/net/tun to a tap (3.10: TUNSETIFF
  // under set_fs; 6.1: our tun_set_iff_kernel()) and the guest's vRIO NIC talks to
  // the IOhyp's own stack through it.
  const tunMac = '02:00:00:00:99:03';
  await check(out, 'a vRIO NIC on a tun/tap back end (not a macvtap): ping and TCP between the guest and the IOhyp through the tap', async () => {
    await io.check(
      `modprobe tun 2>/dev/null; ip link del vtun0 2>/dev/null; ip tuntap add dev vtun0 mode tap && ip addr add ${TUN_NET}.1/24 dev vtun0 && ip link set vtun0 up`,
    );
    try {
      await io.check([o.helper, 'create-net', ...header, '--backing', 'vtun0', '--mac', tunMac, '--features', '0x7BE1'], { timeoutMs: 60_000 });
      const find = `for n in /sys/class/net/*; do [ "$(cat $n/address)" = "${tunMac}" ] && basename $n; done`;
      await until(gs1, `[ -n "$(${find})" ]`, 20, `no NIC with ${tunMac} on ${g1.name} after CREATE_NET on the tap`);
      await gs1.check(`n=$(${find}); ip addr add ${TUN_NET}.2/24 dev $n && ip link set $n up`);
      const p = await ping(gs1, `${TUN_NET}.1`);
      const tcp = await tcpTransfer({ from: gs1, to: io, toIp: `${TUN_NET}.1`, bytes: 4 << 20, port: 5199, tag: 'tun' });
      await io.check([o.helper, 'remove', ...header, '--backing', 'vtun0'], { timeoutMs: 60_000 });
      await until(gs1, `[ -z "$(${find})" ]`, 20, `the NIC ${tunMac} stays on ${g1.name} after REMOVE`);
      return `ping ${p}; 4 MiB TCP guest -> IOhyp ${tcp}; REMOVE took the NIC away`;
    } finally {
      await io.exec('ip link del vtun0 2>/dev/null; true');
    }
  });
  await check(out, `IOhyp memory after ${2 * o.cycles} create/remove cycles (no per-device leak)`, async () => {
    const mem1 = memInfo(await io.check('sync; echo 3 > /proc/sys/vm/drop_caches; cat /proc/meminfo'));
    const growth = mem1.slabKb - mem0.slabKb;
    const detail = `Slab ${mem0.slabKb} -> ${mem1.slabKb} kB, MemFree ${mem0.freeKb} -> ${mem1.freeKb} kB`;
    // A leaked net back end is ~90 KiB; 2 MiB over the loops would be a leak of ~every cycle.
    if (o.cycles >= 10 && growth > 2048) throw new Error(`slab grew by ${growth} kB: ${detail}`);
    return detail;
  });

  // 4. Short frames: a macvlan in bridge mode on the guest's macvtap lower NIC, on the
  //    IOhyp, broadcasts 42-byte ARP requests for the guest's vRIO NIC. Frames between
  //    a macvlan and a macvtap of one lower NIC never touch a wire, so nothing pads them:
  //    the case of two guests' macvtaps on one NIC, which panics the upstream guest.
  for (const g of guests) {
    const gs = ssh.get(g.name)!;
    await check(out, `${g.name}: short frames (unpadded 42-byte ARP from a macvlan beside its macvtap) into the vRIO NIC, guest stays up`, async () => {
      const up0 = Number((await gs.check('cut -d. -f1 /proc/uptime')).trim());
      const a = await io.exec(
        `ip link del mvlshort 2>/dev/null; ip link add link ${g.net!.lower} name mvlshort type macvlan mode bridge && ip addr add ${SHORT_FRAME_SRC}/32 dev mvlshort && ip link set mvlshort up && ` +
          `arping -c 3 -w 6 -I mvlshort -s ${SHORT_FRAME_SRC} ${ipOf(g.net!.ip)}; r=$?; ip link del mvlshort; exit $r`,
        { timeoutMs: 30_000 },
      );
      if (!/ARPING|sent/i.test(a.stdout + a.stderr)) throw new Error(`arping on the IOhyp did not run (exit ${a.code}): ${(a.stderr || a.stdout).trim()}`);
      const replies = /Received (\d+) (?:repl|resp)/i.exec(a.stdout)?.[1] ?? '?';
      const up1 = Number((await gs.check('cut -d. -f1 /proc/uptime', { timeoutMs: 15_000 })).trim());
      if (!(up1 >= up0)) throw new Error(`the guest rebooted (uptime ${up0} s -> ${up1} s)`);
      const r = await ping(gs, PEER_IP);
      return `3 ARP requests of 42 bytes, ${replies} replies; guest up ${up1} s, then ping peer ${r}`;
    });
  }

  // 5. Kernel logs of every VM.
  for (const p of plan) {
    const s = ssh.get(p.name);
    if (!s) continue;
    await check(out, `${p.name}: no kernel warning, BUG or oops`, async () => {
      const r = await s.exec('dmesg', { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`dmesg failed (exit ${r.code})`);
      const bad = troubleLines(r.stdout);
      if (bad.length) throw new Error(`${bad.length} line(s):\n${bad.slice(0, 8).join('\n')}`);
      return `${r.stdout.split('\n').length} log lines, none`;
    });
  }
  return { checks: out, blkPerf: perf };
}
