// What `vrio lab up` verifies after provisioning. With the CI test images:
// the test module is loaded everywhere and the VMs ping each other over the
// private L2 segment. With the vRIO images, per guest: a remote block device
// whose data round-trips and is stored encrypted on the IOhyp's backing
// ramdisk (decrypting it with the driver's demo key gives the guest's data),
// a filesystem that survives a remount, a remote NIC that reaches the peer
// (ping, bulk TCP with checksum), and the IOhyp's /sys/class/vrio counters.
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { log } from '../lib/log.js';
import type { Session } from '../lib/ssh/client.js';
import type { LabState } from './state.js';
import { PEER_IP, type PlannedVm } from './topology.js';

export interface LabCheck {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** The back end's fixed demo key (vrio-reference.md, "Measured here"): AES-128-ECB. */
export const VRIO_DEMO_KEY = Buffer.from('ABCDEFGHIJKLMNOP', 'latin1');

export function decryptBacking(data: Buffer): Buffer {
  const d = createDecipheriv('aes-128-ecb', VRIO_DEMO_KEY, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Keep a check's result and show it (a line, or a `lab-check` event with --json). */
export function record(out: LabCheck[], r: LabCheck): boolean {
  out.push(r);
  const l = log();
  if (!l.json) l.info(`  ${r.ok ? l.paint('green', 'ok') : l.paint('red', 'FAILED')} ${r.name}: ${r.detail} (${r.seconds.toFixed(1)} s)`);
  else l.event('lab-check', { ...r });
  return r.ok;
}

export async function check(out: LabCheck[], name: string, fn: () => Promise<string>): Promise<boolean> {
  const t = Date.now();
  try {
    return record(out, { name, ok: true, detail: await fn(), seconds: (Date.now() - t) / 1000 });
  } catch (e) {
    return record(out, { name, ok: false, detail: (e as Error).message, seconds: (Date.now() - t) / 1000 });
  }
}

export const ipOf = (cidr: string | undefined) => (cidr ?? '').split('/')[0];

export async function ciChecks(s: LabState, plan: PlannedVm[], ssh: Map<string, Session>, testModule: string): Promise<LabCheck[]> {
  const out: LabCheck[] = [];
  if (!/^[a-z0-9_]+$/.test(testModule)) throw new Error(`bad module name ${testModule}`);
  for (const p of plan) {
    await check(out, `${p.name}: ${testModule} loaded by provision`, async () =>
      (await ssh.get(p.name)!.check(`test -d /sys/module/${testModule} && echo ${testModule} loaded`)).trim(),
    );
  }
  const io = plan.find((p) => p.role === 'iohyp')!;
  for (const g of plan.filter((p) => p.role === 'guest')) {
    await check(out, `${io.name} -> ${g.name} ping over L2`, () => ping(ssh.get(io.name)!, ipOf(g.nics[0].ip)));
    await check(out, `${g.name} -> ${io.name} ping over L2`, () => ping(ssh.get(g.name)!, ipOf(io.nics[0].ip)));
  }
  void s;
  return out;
}

export async function ping(from: Session, ip: string): Promise<string> {
  // ping itself ends within ~6 s (3 probes, -W 3); the SSH command around it
  // gets 90 s because four TCG guests on two host cores can stall one of them
  // for tens of seconds (seen once in CI at 30 s). A slow answer is reported.
  const started = Date.now();
  const o = await from.check(`ping -c 3 -W 3 ${ip}`, { timeoutMs: 90_000 });
  const secs = (Date.now() - started) / 1000;
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(o);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(o);
  return `${m ? `${m[2]}/${m[1]} replies` : 'replies'}${rtt ? `, avg ${rtt[1]} ms` : ''}${secs > 10 ? ` (the command took ${secs.toFixed(0)} s)` : ''}`;
}

/** One bulk TCP transfer from `from` to `to` over nc, in three steps so several can share a moment. */
export interface TcpLeg {
  from: Session;
  to: Session;
  toIp: string;
  bytes: number;
  port: number;
  tag: string;
}

/** Put random data on the sender and start the receiver's listener; returns the data's md5. */
export async function tcpPrepare(l: TcpLeg): Promise<string> {
  const bulk = randomBytes(l.bytes);
  const rx = `/tmp/vrio-rx-${l.tag}`;
  await l.to.check(`rm -f ${rx}; printf '#!/bin/sh\\ncat > ${rx}\\n' > ${rx}.sh; chmod +x ${rx}.sh; (nc -l -p ${l.port} -e ${rx}.sh >/dev/null 2>&1 &)`);
  await l.from.check(`cat > /tmp/vrio-tx-${l.tag}`, { input: bulk });
  return md5(bulk);
}

/** Send; returns the seconds the sender took. */
export async function tcpSend(l: TcpLeg): Promise<number> {
  const t = Date.now();
  // A stalled transfer (upstream vRIO's TCP bugs) must fail, not hold the lab for
  // minutes: allow 128 KiB/s at the least (TCG runs 2-5 MB/s with four at once).
  const limit = Math.max(60, Math.ceil(l.bytes / (128 << 10)));
  await l.from.check(
    `printf '#!/bin/sh\\ncat /tmp/vrio-tx-${l.tag}\\n' > /tmp/vrio-tx-${l.tag}.sh; chmod +x /tmp/vrio-tx-${l.tag}.sh; timeout ${limit} nc -w 20 ${l.toIp} ${l.port} -e /tmp/vrio-tx-${l.tag}.sh`,
    { timeoutMs: (limit + 30) * 1000 },
  );
  return (Date.now() - t) / 1000;
}

/** Compare what arrived with what was sent, and clean up both ends. */
export async function tcpVerify(l: TcpLeg, sent: string, seconds: number): Promise<string> {
  const rx = `/tmp/vrio-rx-${l.tag}`;
  const sum = (
    await l.to.check(`for i in $(seq 1 200); do [ "$(wc -c < ${rx} 2>/dev/null)" = "${l.bytes}" ] && break; sleep 0.1; done; md5sum ${rx}; rm -f ${rx}`, {
      timeoutMs: 60_000,
    })
  ).split(' ')[0];
  await l.from.check(`rm -f /tmp/vrio-tx-${l.tag}`);
  if (sum !== sent) throw new Error(`received md5 ${sum}, sent ${sent}`);
  return `${l.bytes >> 20} MiB md5 ${sum} in ${seconds.toFixed(1)} s`;
}

export async function tcpTransfer(l: TcpLeg): Promise<string> {
  const sent = await tcpPrepare(l);
  return tcpVerify(l, sent, await tcpSend(l));
}

/** /sys/class/vrio/<kind>/*: each attribute file is a header line and a value line. */
export function parseVrioSysfs(text: string): { file: string; fields: Record<string, string> }[] {
  const out: { file: string; fields: Record<string, string> }[] = [];
  for (const block of text.split(/^== /m).slice(1)) {
    const [file, header = '', values = ''] = block.split('\n');
    const h = header
      .trim()
      .split(/[\s,|]+/)
      .filter(Boolean);
    const v = values
      .trim()
      .split(/[\s,|]+/)
      .filter(Boolean);
    const fields: Record<string, string> = {};
    h.forEach((k, i) => (fields[k] = v[i] ?? ''));
    out.push({ file: file.trim(), fields });
  }
  return out;
}

/** Sum of the counters whose name says "written"/"sent" (or read/received) bytes, over every device. */
export function counterSum(entries: ReturnType<typeof parseVrioSysfs>, re: RegExp): number {
  let sum = 0;
  for (const e of entries) for (const [k, v] of Object.entries(e.fields)) if (re.test(k) && /^\d+$/.test(v)) sum += Number(v);
  return sum;
}

async function readSysfs(io: Session, kind: 'blk' | 'net'): Promise<{ raw: string; entries: ReturnType<typeof parseVrioSysfs> }> {
  // One file per device (bdev<i>, ndev<i>): a header line and a value line.
  const raw = (
    await io.check(`for f in /sys/class/vrio/${kind}/[bn]dev*; do [ -f "$f" ] && { echo "== \${f#/sys/class/vrio/}"; cat "$f"; }; done; true`)
  ).toString();
  return { raw, entries: parseVrioSysfs(raw) };
}

export async function vrioChecks(s: LabState, plan: PlannedVm[], ssh: Map<string, Session>): Promise<LabCheck[]> {
  const out: LabCheck[] = [];
  const io = ssh.get('iohyp1')!;
  const peer = ssh.get('peer1');
  for (const g of plan.filter((p) => p.role === 'guest')) {
    const gs = ssh.get(g.name)!;
    if (g.blk) {
      // The guest must show the disk under the inventory's name (not the front
      // end's fallback vrd<letter>): provisioning already waited for it.
      const dev = `/dev/${g.blk.name}`;
      const data = randomBytes(1 << 20);
      const before = await readSysfs(io, 'blk').catch(() => undefined);
      await check(out, `${g.name}: ${dev} O_DIRECT write/read 1 MiB`, async () => {
        await gs.check(`test -b ${dev}`, { timeoutMs: 30_000 });
        await gs.check('cat > /tmp/vrio-pattern', { input: data });
        await gs.check(`dd if=/tmp/vrio-pattern of=${dev} bs=4096 count=256 oflag=direct 2>/dev/null`, { timeoutMs: 120_000 });
        const back = (await gs.check(`dd if=${dev} bs=4096 count=256 iflag=direct 2>/dev/null | md5sum`, { timeoutMs: 120_000 })).split(' ')[0];
        if (back !== md5(data)) throw new Error(`read back md5 ${back}, wrote ${md5(data)}`);
        return `md5 ${back} both ways`;
      });
      await check(out, `${g.name}: backing ${g.blk.backing} on the IOhyp holds the data encrypted (AES-128-ECB, demo key)`, async () => {
        const r = await io.exec(`dd if=${g.blk!.backing} bs=4096 count=256 iflag=direct 2>/dev/null || dd if=${g.blk!.backing} bs=4096 count=256 2>/dev/null`, {
          timeoutMs: 60_000,
        });
        const raw = r.stdoutBuf;
        if (raw.length !== data.length) throw new Error(`read ${raw.length} bytes from ${g.blk!.backing}, expected ${data.length}`);
        if (raw.equals(data)) throw new Error('the backing device holds the plain data: the I/O did not go through the vRIO back end (or encryption is off)');
        const dec = decryptBacking(raw);
        if (!dec.equals(data)) throw new Error(`decrypting the backing bytes does not give the guest's data (md5 ${md5(dec)} vs ${md5(data)})`);
        return `backing md5 ${md5(raw)} != data; decrypt(backing) md5 ${md5(dec)} == data`;
      });
      await check(out, `${g.name}: ext2 on ${dev} survives a remount`, async () => {
        const o = await gs.check(
          [
            `(mke2fs -F ${dev} || mkfs.ext2 -F -q ${dev}) >/dev/null 2>&1`,
            'mkdir -p /mnt/vrio',
            `mount -t ext2 ${dev} /mnt/vrio`,
            'cp /tmp/vrio-pattern /mnt/vrio/pattern && sync',
            'umount /mnt/vrio',
            'echo 3 > /proc/sys/vm/drop_caches',
            `mount -t ext2 ${dev} /mnt/vrio`,
            'md5sum /mnt/vrio/pattern',
            'umount /mnt/vrio',
          ].join(' && '),
          { timeoutMs: 120_000 },
        );
        const sum = o.trim().split(' ')[0];
        if (sum !== md5(data)) throw new Error(`file read after remount has md5 ${sum}, wrote ${md5(data)}`);
        return `file md5 ${sum} after remount`;
      });
      await check(out, `${g.name}: /sys/class/vrio/blk counters grew by >= bytes written`, async () => {
        const after = await readSysfs(io, 'blk');
        const re = /writ|wr_?bytes|bytes_?w/i;
        const delta = counterSum(after.entries, re) - (before ? counterSum(before.entries, re) : 0);
        if (delta < data.length) throw new Error(`write counters grew by ${delta} bytes (< ${data.length}); sysfs:\n${after.raw}`);
        return `write counters +${delta} bytes`;
      });
    }
    if (g.net && peer) {
      const net = g.net;
      let ifname = '';
      await check(out, `${g.name}: vRIO NIC ${net.vnicMac} up with ${net.ip}`, async () => {
        ifname = (
          await gs.check(
            `for i in $(seq 1 150); do for n in /sys/class/net/*; do [ "$(cat $n/address)" = "${net.vnicMac}" ] && { basename $n; exit 0; }; done; sleep 0.1; done; exit 1`,
            { timeoutMs: 30_000 },
          )
        ).trim();
        await gs.check(`ip addr add ${net.ip} dev ${ifname} 2>/dev/null; ip link set ${ifname} up`);
        return ifname;
      });
      if (!ifname) continue;
      const before = await readSysfs(io, 'net').catch(() => undefined);
      await check(out, `${g.name} -> peer ping through the vRIO NIC`, () => ping(gs, PEER_IP));
      await check(out, `${g.name} -> peer 4 MiB TCP transfer through the vRIO NIC, checksum`, () =>
        tcpTransfer({ from: gs, to: peer, toIp: PEER_IP, bytes: 4 << 20, port: 5000 + plan.indexOf(g), tag: `${g.name}2p` }),
      );
      await check(out, `${g.name}: /sys/class/vrio/net counters grew`, async () => {
        const after = await readSysfs(io, 'net');
        const re = /byte|packet|sent|recv|rx|tx/i;
        const delta = counterSum(after.entries, re) - (before ? counterSum(before.entries, re) : 0);
        if (delta <= 0) throw new Error(`net counters did not grow; sysfs:\n${after.raw}`);
        return `counters +${delta}`;
      });
    }
  }
  void s;
  return out;
}
