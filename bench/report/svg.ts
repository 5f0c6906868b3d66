// Inline SVG charts for the HTML report: no scripts, no external files, so the
// report opens anywhere and can be attached to an issue as one file.
import type { Timeline } from '../model.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface SeriesPoint {
  x: number;
  y: number;
  /** Optional min/max whisker. */
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  points: SeriesPoint[];
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Place x values evenly (e.g. host counts 1, 10, 50) instead of to scale. */
  categoricalX?: boolean;
}

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 1) return String(Number(v.toFixed(1)));
  return String(Number(v.toFixed(2)));
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 460;
  const H = o.height ?? 280;
  const m = { l: 56, r: 16, t: 30, b: 62 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = [...new Set(o.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const yMax = niceMax(Math.max(0, ...o.series.flatMap((s) => s.points.map((p) => Math.max(p.y, p.hi ?? p.y)))));
  const xPos = (x: number): number => {
    if (xs.length <= 1) return m.l + pw / 2;
    if (o.categoricalX) return m.l + (xs.indexOf(x) / (xs.length - 1)) * pw;
    const [a, b] = [xs[0], xs[xs.length - 1]];
    return m.l + ((x - a) / (b - a)) * pw;
  };
  const yPos = (y: number) => m.t + ph - (y / yMax) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`);
  parts.push(`<title>${esc(o.title)}</title>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  // grid + y ticks
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = yPos(v);
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmtTick(v)}</text>`);
  }
  for (const x of xs) {
    parts.push(`<text x="${xPos(x).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle" font-size="11">${fmtTick(x)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 32}" text-anchor="middle" font-size="11">${esc(o.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${m.t + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${xPos(p.x).toFixed(1)},${yPos(p.y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of pts) {
      const cx = xPos(p.x).toFixed(1);
      if (p.lo !== undefined && p.hi !== undefined) {
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${yPos(p.lo).toFixed(1)}" y2="${yPos(p.hi).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
      }
      parts.push(`<circle cx="${cx}" cy="${yPos(p.y).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${s.name}: ${fmtTick(p.y)} s at ${p.x}`)}</title></circle>`);
    }
    // legend below the axis label
    const lx = m.l + i * 130;
    const ly = H - 12;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${ly - 4}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Timelines as horizontal bars: one row per timeline, one coloured segment
 * per span, on a shared seconds axis.
 */
export function timelineChart(title: string, timelines: Timeline[], o: { width?: number } = {}): string {
  const W = o.width ?? 760;
  const rowH = 26;
  const labelW = 170;
  const m = { t: 30, r: 20, b: 56 };
  const names = [...new Set(timelines.flatMap((t) => t.spans.map((s) => s.name)))];
  const colorOf = (n: string) => PALETTE[names.indexOf(n) % PALETTE.length];
  const tMax = niceMax(Math.max(0, ...timelines.flatMap((t) => t.spans.map((s) => s.end))));
  const pw = W - labelW - m.r;
  // Legend: as many 190 px columns as fit; long step names are cut to fit one.
  const cols = Math.max(1, Math.floor((W - labelW) / 190));
  const H = m.t + timelines.length * rowH + m.b + Math.ceil(names.length / cols) * 16;
  const x = (t: number) => labelW + (t / tMax) * pw;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<title>${esc(title)}</title>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  const axisY = m.t + timelines.length * rowH;
  for (let i = 0; i <= 5; i++) {
    const v = (tMax * i) / 5;
    parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${m.t}" y2="${axisY}" stroke="#eee"/>`);
    parts.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 14}" text-anchor="middle" font-size="11">${fmtTick(v)}</text>`);
  }
  parts.push(`<text x="${labelW + pw / 2}" y="${axisY + 30}" text-anchor="middle" font-size="11">seconds</text>`);
  timelines.forEach((t, i) => {
    const y = m.t + i * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + rowH / 2 + 4}" text-anchor="end" font-size="11">${esc(t.label)}</text>`);
    for (const s of t.spans) {
      const w = Math.max(1, x(s.end) - x(s.start));
      parts.push(
        `<rect x="${x(s.start).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${colorOf(s.name)}" opacity="0.85"><title>${esc(
          `${t.label}: ${s.name} ${fmtTick(s.start)}–${fmtTick(s.end)} s (${fmtTick(s.end - s.start)} s)`,
        )}</title></rect>`,
      );
    }
  });
  names.forEach((n, i) => {
    const lx = labelW + (i % cols) * 190;
    const ly = axisY + 46 + Math.floor(i / cols) * 16;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colorOf(n)}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly}" font-size="11">${esc(n.length > 29 ? n.slice(0, 28) + '…' : n)}<title>${esc(n)}</title></text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
