// Block throughput and latency by request size, vRIO against virtio-blk in
// the same guest and the same run (`vrio lab up --checks fixes`). The vRIO
// disk is backed by a ramdisk on the IOhyp; the virtio-blk disk is a file the
// lab attaches to the guest's own QEMU, so the difference is the vRIO path
// (front end, L2 transport, IOhyp back end), not the storage behind it.
//
// Timing happens inside the guest, around one dd run of many O_DIRECT
// requests: an SSH round trip under TCG costs tens of ms and would swamp the
// 4 KiB figures. The clock is the "now at N nsecs" line of /proc/timer_list
// (busybox date has no nanoseconds); where that file is missing, /proc/uptime
// (10 ms steps). Every run moves at least 2 MiB in at least 8 requests.
import { randomBytes } from 'node:crypto';
import type { Session } from '../lib/ssh/client.js';
import { table } from '../lib/log.js';
import { md5 } from './checks.js';

export const PERF_SIZES_KIB = [4, 16, 32, 64, 256, 1024] as const;
export type PerfOp = 'read' | 'write';

export interface PerfSample {
  /** Seconds the whole dd run took, measured in the guest. */
  seconds: number;
  requests: number;
}

export interface BlkPerfRow {
  op: PerfOp;
  sizeKiB: number;
  requests: number;
  vrio: { avgMs: number; mbPerSec: number };
  virtio: { avgMs: number; mbPerSec: number };
}

/** Requests per run: 2 MiB worth, at least 8. */
export function requestsFor(sizeKiB: number): number {
  return Math.max(8, Math.floor(2048 / sizeKiB));
}

const SOURCE = '/tmp/vrio-perf-src';
/** The largest run writes this much; the source file holds that many random bytes. */
export const SOURCE_BYTES = Math.max(...PERF_SIZES_KIB.map((k) => k * 1024 * requestsFor(k)));

/** A clock reading in the guest: "<N>ns" from /proc/timer_list, else "<S.CC>s" from /proc/uptime. */
const CLOCK = `clk() { x=$(grep -m1 '^now at' /proc/timer_list 2>/dev/null | cut -d' ' -f3); if [ -n "$x" ]; then echo "\${x}ns"; else echo "$(cut -d' ' -f1 /proc/uptime)s"; fi; }`;

/** One dd run between two clock readings; prints "<start> <end>". */
export function perfScript(dev: string, op: PerfOp, sizeKiB: number, requests: number): string {
  if (!/^\/dev\/[a-z0-9]+$/.test(dev)) throw new Error(`not a block device path: ${dev}`);
  const dd = op === 'read' ? `dd if=${dev} of=/dev/null iflag=direct` : `dd if=${SOURCE} of=${dev} oflag=direct`;
  return `${CLOCK}; a=$(clk); ${dd} bs=${sizeKiB * 1024} count=${requests} 2>/tmp/vrio-perf-err || { cat /tmp/vrio-perf-err; exit 3; }; b=$(clk); echo "$a $b"`;
}

/** The two clock readings of perfScript's output. */
export function parseTiming(out: string, requests: number): PerfSample {
  const ns = /^(\d+)ns (\d+)ns\s*$/m.exec(out);
  if (ns) return { seconds: Math.max(1e-6, Number(BigInt(ns[2]) - BigInt(ns[1])) / 1e9), requests };
  const m = /^(\d+\.\d+)s (\d+\.\d+)s\s*$/m.exec(out);
  if (!m) throw new Error(`no timing in the guest's output: '${out.trim().slice(0, 200)}'`);
  // A run shorter than the 10 ms uptime tick reads as 0: count it as one tick, not as infinitely fast.
  return { seconds: Math.max(0.01, Number(m[2]) - Number(m[1])), requests };
}

export function rowOf(op: PerfOp, sizeKiB: number, vrio: PerfSample, virtio: PerfSample): BlkPerfRow {
  const figures = (s: PerfSample) => ({
    avgMs: (s.seconds * 1000) / s.requests,
    mbPerSec: (sizeKiB * 1024 * s.requests) / s.seconds / 1e6,
  });
  return { op, sizeKiB, requests: vrio.requests, vrio: figures(vrio), virtio: figures(virtio) };
}

const sizeLabel = (k: number) => (k >= 1024 ? `${k / 1024} MiB` : `${k} KiB`);
const fixed = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The table `vrio lab up` prints (aligned columns, like every other vrio table). */
export function perfTable(rows: BlkPerfRow[]): string {
  return table(
    ['OP', 'SIZE', 'REQS', 'VRIO AVG', 'VRIO MB/S', 'VIRTIO-BLK AVG', 'VIRTIO-BLK MB/S', 'VRIO/VIRTIO TIME'],
    rows.map((r) => [
      r.op,
      sizeLabel(r.sizeKiB),
      r.requests,
      `${fixed(r.vrio.avgMs)} ms`,
      fixed(r.vrio.mbPerSec),
      `${fixed(r.virtio.avgMs)} ms`,
      fixed(r.virtio.mbPerSec),
      `${fixed(r.vrio.avgMs / r.virtio.avgMs)}x`,
    ]),
  );
}

/** The same table in Markdown, for notes and docs. */
export function perfMarkdown(rows: BlkPerfRow[]): string {
  const head = '| op | size | requests | vRIO avg | vRIO MB/s | virtio-blk avg | virtio-blk MB/s |\n|---|---:|---:|---:|---:|---:|---:|';
  return [
    head,
    ...rows.map(
      (r) =>
        `| ${r.op} | ${sizeLabel(r.sizeKiB)} | ${r.requests} | ${fixed(r.vrio.avgMs)} ms | ${fixed(r.vrio.mbPerSec)} | ${fixed(r.virtio.avgMs)} ms | ${fixed(r.virtio.mbPerSec)} |`,
    ),
  ].join('\n');
}

async function timed(gs: Session, dev: string, op: PerfOp, sizeKiB: number): Promise<PerfSample> {
  const n = requestsFor(sizeKiB);
  const r = await gs.exec(perfScript(dev, op, sizeKiB, n), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${op} ${sizeLabel(sizeKiB)} on ${dev} failed (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
  return parseTiming(r.stdout, n);
}

/**
 * Measure every size both ways on both disks, interleaved (vRIO then virtio-blk
 * for each size) so load on the host hits both alike. The data is checked
 * afterwards: the last write run's bytes must read back md5-equal from both
 * disks, so a run that silently did nothing cannot pass as fast.
 */
export async function blkPerf(gs: Session, vrioDev: string, virtioDev: string): Promise<BlkPerfRow[]> {
  const src = randomBytes(SOURCE_BYTES);
  await gs.check(`cat > ${SOURCE}`, { input: src });
  const rows: BlkPerfRow[] = [];
  try {
    for (const op of ['write', 'read'] as const)
      for (const k of PERF_SIZES_KIB) rows.push(rowOf(op, k, await timed(gs, vrioDev, op, k), await timed(gs, virtioDev, op, k)));
    // The 1 MiB write run was the last to write: it wrote the whole source file.
    const last = PERF_SIZES_KIB[PERF_SIZES_KIB.length - 1];
    const bytes = last * 1024 * requestsFor(last);
    const want = md5(src.subarray(0, bytes));
    for (const dev of [vrioDev, virtioDev]) {
      const got = (await gs.check(`dd if=${dev} bs=${last * 1024} count=${requestsFor(last)} iflag=direct 2>/dev/null | md5sum`, { timeoutMs: 120_000 })).split(
        ' ',
      )[0];
      if (got !== want) throw new Error(`${dev}: the last ${bytes >> 20} MiB written read back md5 ${got}, wrote ${want}`);
    }
  } finally {
    await gs.exec(`rm -f ${SOURCE} /tmp/vrio-perf-err`);
  }
  return rows;
}
