// Logarithmic axes for the report's charts. Bench figures span orders of
// magnitude (a 0.06 s firmware step and a 350 s kernel build, 1 and 50 hosts,
// vrio at 1 s and Ansible at 300 s): on a linear axis the small ones lie on
// the axis. On a log axis equal ratios are equal distances, which is also how
// a speed-up reads.

export interface LogScale {
  /** The axis ends: whole powers of ten around the data. */
  lo: number;
  hi: number;
  /** Where v lies between the ends: 0 at lo, 1 at hi (values outside are clamped). */
  at(v: number): number;
  /** Every power of ten on the axis. */
  ticks: number[];
  /** 2 and 5 times each power of ten on the axis: labelled where a decade is long enough to hold them. */
  minorTicks: number[];
  /** How many decades the axis spans. */
  decades: number;
}

/**
 * A log axis covering every positive value (and `include`, e.g. 1× on a ratio
 * axis), widened to whole decades and at most `maxDecades` long: values far
 * below the top (e.g. a span starting at 0 s) are drawn at the axis start.
 */
export function logScale(values: readonly number[], o: { include?: readonly number[]; maxDecades?: number } = {}): LogScale {
  const pos = [...values, ...(o.include ?? [])].filter((v) => Number.isFinite(v) && v > 0);
  const maxDecades = o.maxDecades ?? 5;
  let top = pos.length ? Math.ceil(Math.log10(Math.max(...pos)) - 1e-9) : 1;
  let bottom = pos.length ? Math.floor(Math.log10(Math.min(...pos)) + 1e-9) : 0;
  if (top <= bottom) top = bottom + 1;
  if (top - bottom > maxDecades) bottom = top - maxDecades;
  const lo = 10 ** bottom;
  const hi = 10 ** top;
  const at = (v: number): number => {
    if (!(v > lo)) return 0;
    if (v >= hi) return 1;
    return (Math.log10(v) - bottom) / (top - bottom);
  };
  const ticks: number[] = [];
  const minorTicks: number[] = [];
  for (let d = bottom; d <= top; d++) {
    ticks.push(roundTick(10 ** d));
    if (d < top) minorTicks.push(roundTick(2 * 10 ** d), roundTick(5 * 10 ** d));
  }
  return { lo, hi, at, ticks, minorTicks, decades: top - bottom };
}

/** 0.1 * 3 is 0.30000000000000004: keep ticks at the digits they are written with. */
function roundTick(v: number): number {
  return Number(v.toPrecision(6));
}

/** A tick label: "0.01", "0.5", "2", "1000", "10k". */
export function tickLabel(v: number): string {
  if (v >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}
