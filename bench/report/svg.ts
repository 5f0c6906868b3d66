// Inline SVG charts for the HTML report: no scripts, no external files, so the
// report opens anywhere and can be attached to an issue as one file. Written
// by hand (about 230 lines) rather than with a charting library: d3 needs a DOM
// (jsdom) to build SVG outside a browser, and vega, which can, is a runtime
// dependency of several megabytes with its own spec language, for three kinds
// of chart (lines over a log axis, timelines, failed marks).
//
// Every time and ratio axis is logarithmic (scale.ts), points sit at their real
// x, and a measurement that failed is drawn as a red "failed" mark with its
// reason as a tooltip, never as a short bar or a point near zero.
import type { Timeline } from '../model.js';
import { logScale, tickLabel, type LogScale } from './scale.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Labels carry Markdown code spans (`vrio build`); SVG text shows them without the backticks. */
export function plain(s: string): string {
  return s.replace(/`/g, '');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const FAILED = '#c00000';
const FONT = 'system-ui, -apple-system, Segoe UI, sans-serif';
const f1 = (v: number) => v.toFixed(1);

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
  /** x values where this series has no figure because the measurement failed, and why. */
  failed?: { x: number; reason: string }[];
  color?: string;
  dashed?: boolean;
}

export interface XYChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** 'log': x to scale on a log axis (host counts); 'time': x is a time in ms, on a linear axis. */
  x: 'log' | 'time';
  /** How a y value reads in a tooltip or label ("1.83 s", "14×"). */
  format: (y: number) => string;
  /** How an x value reads in a tooltip ("10 hosts", a date). */
  xFormat: (x: number) => string;
  /** Values the y axis must include (1× on a ratio axis). */
  yInclude?: number[];
  /** Horizontal reference lines: parity, goals. */
  refs?: { y: number; label: string }[];
  /** Write each series' last value at its right end (the headline numbers). */
  endLabels?: boolean;
  width?: number;
  height?: number;
}

/** A chart of y (log) over x (log or time), one line per series. */
export function xyChart(o: XYChartOptions): string {
  const W = o.width ?? 480;
  const colW = W >= 900 ? 300 : 210; // wide charts (the trends) have long series names
  const maxChars = Math.floor((colW - 26) / 6.2);
  const legendCols = Math.max(1, Math.floor((W - 56) / colW));
  const legendRows = Math.ceil(o.series.length / legendCols);
  const m = { l: 56, r: o.endLabels ? 96 : 16, t: 30, b: 48 + legendRows * 16 };
  const H = (o.height ?? 250) + legendRows * 16;
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pad = 8; // points at the axis ends stay clear of the frame
  const padX = o.x === 'time' ? 36 : pad; // and a date under the first or last run fits in the chart
  const ys = o.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  const yScale = logScale(ys, { include: [...(o.yInclude ?? []), ...(o.refs ?? []).map((r) => r.y)] });
  const allX = [...new Set(o.series.flatMap((s) => [...s.points.map((p) => p.x), ...(s.failed ?? []).map((f) => f.x)]))].sort((a, b) => a - b);
  const xScale = o.x === 'log' ? logScale(allX) : undefined;
  const xAt = (x: number): number => {
    if (xScale) return xScale.at(x);
    if (allX.length < 2) return 0.5;
    return (x - allX[0]) / (allX[allX.length - 1] - allX[0]);
  };
  const X = (x: number) => m.l + padX + xAt(x) * (pw - 2 * padX);
  const Y = (y: number) => m.t + ph - pad - yScale.at(y) * (ph - 2 * pad);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="${FONT}" role="img" aria-label="${esc(o.title)}">`,
  );
  out.push(`<title>${esc(o.title)}</title>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  out.push(`<rect class="plot" x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#fff" stroke="#333"/>`);
  for (const { v, major, label } of ticksOf(yScale, ph - 2 * pad, 60)) {
    const y = f1(Y(v));
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="${major ? '#ccc' : '#eee'}"/>`);
    if (label) out.push(`<text class="tick-y" data-v="${v}" x="${m.l - 5}" y="${f1(Y(v) + 4)}" text-anchor="end" font-size="11">${tickLabel(v)}</text>`);
  }
  const xTicks = xScale ? ticksOf(xScale, pw - 2 * padX, 60) : thin(allX, 5).map((v) => ({ v, major: true, label: true }));
  for (const { v, major, label } of xTicks) {
    const x = f1(X(v));
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="${major ? '#ddd' : '#f0f0f0'}"/>`);
    if (label)
      out.push(
        `<text class="tick-x" data-v="${v}" x="${x}" y="${m.t + ph + 15}" text-anchor="middle" font-size="11">${esc(xScale ? tickLabel(v) : o.xFormat(v))}</text>`,
      );
  }
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 31}" text-anchor="middle" font-size="11">${esc(o.xLabel)}</text>`);
  out.push(`<text x="14" y="${m.t + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(o.yLabel)}</text>`);
  const failedAt = new Map<number, number>(); // failed marks stacked per x
  // Labels in the right margin: each series' last value, and the reference lines.
  const ends: { y: number; text: string; color: string }[] = [];
  for (const r of o.refs ?? []) {
    const y = f1(Y(r.y));
    out.push(`<line class="ref" x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="2 3"/>`);
    if (o.endLabels) ends.push({ y: Y(r.y), text: r.label, color: '#555' });
    else out.push(`<text x="${m.l + 4}" y="${f1(Y(r.y) - 3)}" font-size="10" fill="#555">${esc(r.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      out.push(
        `<path d="${pts.map((p, j) => `${j ? 'L' : 'M'}${f1(X(p.x))},${f1(Y(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
      );
    }
    for (const p of pts) {
      const cx = f1(X(p.x));
      if (p.lo !== undefined && p.hi !== undefined) out.push(`<line x1="${cx}" x2="${cx}" y1="${f1(Y(p.lo))}" y2="${f1(Y(p.hi))}" stroke="${color}"/>`);
      const range = p.lo !== undefined && p.hi !== undefined && p.lo !== p.hi ? ` (${o.format(p.lo)}–${o.format(p.hi)})` : '';
      out.push(
        `<circle class="point" data-series="${esc(s.name)}" data-x="${p.x}" data-y="${p.y}" cx="${cx}" cy="${f1(Y(p.y))}" r="3.5" fill="${color}"><title>${esc(`${s.name}, ${o.xFormat(p.x)}: ${o.format(p.y)}${range}`)}</title></circle>`,
      );
    }
    for (const f of s.failed ?? []) {
      const n = failedAt.get(f.x) ?? 0;
      failedAt.set(f.x, n + 1);
      out.push(failedMark(X(f.x), m.t + pad + 6 + n * 14, `${s.name}, ${o.xFormat(f.x)}: failed: ${f.reason}`, s.name, f.x));
    }
    if (o.endLabels && pts.length) ends.push({ y: Y(pts[pts.length - 1].y), text: `${s.name} ${o.format(pts[pts.length - 1].y)}`, color });
    const lx = m.l + (i % legendCols) * colW;
    const ly = H - legendRows * 16 + Math.floor(i / legendCols) * 16;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"${dash}/>`);
    out.push(
      `<text x="${lx + 22}" y="${ly}" font-size="11">${esc(s.name.length > maxChars ? s.name.slice(0, maxChars - 1) + '…' : s.name)}<title>${esc(s.name)}</title></text>`,
    );
  });
  // End labels: in y order, pushed apart so that close values stay readable.
  ends.sort((a, b) => a.y - b.y);
  for (let i = 1; i < ends.length; i++) ends[i].y = Math.max(ends[i].y, ends[i - 1].y + 12);
  for (const e of ends) out.push(`<text class="end-label" x="${m.l + pw + 4}" y="${f1(e.y + 4)}" font-size="11" fill="${e.color}">${esc(e.text)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** A red cross with the word "failed"; the reason is its tooltip. */
function failedMark(x: number, y: number, title: string, series: string, at: number): string {
  const d = `M${f1(x - 4)},${f1(y - 4)} L${f1(x + 4)},${f1(y + 4)} M${f1(x - 4)},${f1(y + 4)} L${f1(x + 4)},${f1(y - 4)}`;
  return `<g class="failed" data-series="${esc(series)}" data-x="${at}"><title>${esc(title)}</title><path d="${d}" stroke="${FAILED}" stroke-width="2.5"/><text x="${f1(x + 7)}" y="${f1(y + 4)}" font-size="10" fill="${FAILED}">failed</text></g>`;
}

/** Grid lines at every tick; labels at the decades, and at 2 and 5 too where a decade is at least `room` px long. */
function ticksOf(s: LogScale, length: number, room: number): { v: number; major: boolean; label: boolean }[] {
  const minorLabels = length / s.decades >= room;
  return [...s.ticks.map((v) => ({ v, major: true, label: true })), ...s.minorTicks.map((v) => ({ v, major: false, label: minorLabels }))].sort(
    (a, b) => a.v - b.v,
  );
}

/** At most n of the values, evenly picked, first and last included. */
function thin(xs: number[], n: number): number[] {
  if (xs.length <= n) return xs;
  return [...new Set(Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]))];
}

/**
 * Timelines as horizontal bars: one row per timeline, one coloured segment
 * per span, on a shared log axis of seconds since the start (a 4.9 s rebuild
 * and a 350 s cold build side by side). A failed timeline is one red row
 * saying so, with the reason as its tooltip.
 */
export function timelineChart(title: string, timelines: Timeline[], o: { width?: number } = {}): string {
  const W = o.width ?? 760;
  const rowH = 26;
  const labelW = 170;
  const m = { t: 30, r: 20, b: 56 };
  const drawn = timelines.filter((t) => !t.failed);
  const names = [...new Set(drawn.flatMap((t) => t.spans.map((s) => s.name)))];
  const colorOf = (n: string) => PALETTE[names.indexOf(n) % PALETTE.length];
  const scale = logScale(drawn.flatMap((t) => t.spans.flatMap((s) => [s.start, s.end])));
  const pw = W - labelW - m.r;
  // Legend: as many 190 px columns as fit; long step names are cut to fit one.
  const cols = Math.max(1, Math.floor((W - labelW) / 190));
  const H = m.t + timelines.length * rowH + m.b + Math.ceil(names.length / cols) * 16;
  const x = (t: number) => labelW + scale.at(t) * pw;
  const axisY = m.t + timelines.length * rowH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="${FONT}" role="img" aria-label="${esc(title)}">`,
  );
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect class="plot" x="${labelW}" y="${m.t}" width="${pw}" height="${axisY - m.t}" fill="#fff" stroke="none"/>`);
  for (const { v, major, label } of ticksOf(scale, pw, 100)) {
    const tx = f1(x(v));
    out.push(`<line x1="${tx}" x2="${tx}" y1="${m.t}" y2="${axisY}" stroke="${major ? '#ccc' : '#eee'}"/>`);
    if (label) out.push(`<text class="tick-x" data-v="${v}" x="${tx}" y="${axisY + 14}" text-anchor="middle" font-size="11">${tickLabel(v)}</text>`);
  }
  out.push(`<line x1="${labelW}" x2="${labelW + pw}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`);
  out.push(`<text x="${labelW + pw / 2}" y="${axisY + 30}" text-anchor="middle" font-size="11">seconds since the start (log scale)</text>`);
  timelines.forEach((t, i) => {
    const y = m.t + i * rowH;
    out.push(`<text x="${labelW - 6}" y="${y + rowH / 2 + 4}" text-anchor="end" font-size="11">${esc(plain(t.label))}</text>`);
    if (t.failed) {
      const why = plain(t.failed);
      out.push(
        `<g class="failed" data-row="${esc(t.label)}"><title>${esc(`${plain(t.label)}: failed: ${why}`)}</title><rect x="${labelW}" y="${y + 4}" width="${pw}" height="${rowH - 8}" fill="#fdecea" stroke="${FAILED}" stroke-dasharray="4 2"/>` +
          `<text x="${labelW + 8}" y="${y + rowH / 2 + 4}" font-size="11" fill="${FAILED}">✕ failed: ${esc(why.length > 80 ? why.slice(0, 79) + '…' : why)}</text></g>`,
      );
      return;
    }
    for (const s of t.spans) {
      const w = Math.max(1, x(s.end) - x(s.start));
      out.push(
        `<rect class="span" x="${f1(x(s.start))}" y="${y + 4}" width="${f1(w)}" height="${rowH - 8}" fill="${colorOf(s.name)}" opacity="0.85"><title>${esc(
          `${plain(t.label)}: ${s.name} ${tickLabel(s.start)}–${tickLabel(s.end)} s (${tickLabel(s.end - s.start)} s)`,
        )}</title></rect>`,
      );
    }
  });
  names.forEach((n, i) => {
    const lx = labelW + (i % cols) * 190;
    const ly = axisY + 46 + Math.floor(i / cols) * 16;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colorOf(n)}"/>`);
    out.push(`<text x="${lx + 14}" y="${ly}" font-size="11">${esc(n.length > 29 ? n.slice(0, 28) + '…' : n)}<title>${esc(n)}</title></text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
