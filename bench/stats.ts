// Summaries of repeated wall-clock measurements. Medians, not means: one run
// disturbed by another engineer's kernel build should not move the figure.
import type { Samples } from './model.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(runs: readonly number[]): Samples {
  if (runs.length === 0) throw new RangeError('no samples to summarize');
  for (const r of runs) if (!Number.isFinite(r) || r < 0) throw new RangeError(`not a duration: ${r}`);
  return { runs: [...runs], median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

/** How many times faster `ours` is than `theirs` (theirs / ours); undefined when not comparable. */
export function speedup(ours: Samples | undefined, theirs: Samples | undefined): number | undefined {
  if (!ours || !theirs || ours.median <= 0) return undefined;
  return theirs.median / ours.median;
}

/** Our extra time over a baseline, in percent (positive = slower than the baseline). */
export function overheadPercent(ours: number, baseline: number): number {
  if (baseline <= 0) throw new RangeError('baseline must be positive');
  return ((ours - baseline) / baseline) * 100;
}

/** Seconds since `start` (a process.hrtime.bigint() value). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Wall time of one async call, in seconds, plus its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: secondsSince(t0), value };
}
