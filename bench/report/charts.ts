// What the HTML report plots, as chart series: the speed-up of vrio over each
// peer per workload and host count (the headline), each tool's time per
// workload, and the trend over earlier runs. svg.ts draws them.
import {
  PEER_TOOLS,
  type BenchReport,
  type PeerTool,
  type Phase,
  type ProvisioningResult,
  type ProvisionRow,
  type Section,
  type Timeline,
  type Tool,
  type Workload,
} from '../model.js';
import { provisioningGoal, ratio, seconds, toolName, workloadLabel } from './format.js';
import { plain, type Series, xyChart } from './svg.js';

const COMBOS: [Workload, Phase][] = [
  ['facts', 'cold'],
  ['facts', 'warm'],
  ['write', 'cold'],
  ['write', 'warm'],
];
const PEERS: { tool: PeerTool; name: string }[] = PEER_TOOLS.map((tool) => ({ tool, name: toolName[tool] }));
const TOOL_COLOR: Record<Tool, string> = {
  vrio: '#1f77b4',
  ansible: '#d62728',
  'ansible-batched': '#ff7f0e',
  'ansible-mitogen': '#9467bd',
  clush: '#8c564b',
  pssh: '#17becf',
};
const WORKLOAD_COLOR: Record<Workload, string> = { facts: '#1f77b4', write: '#2ca02c' };
const hostsText = (x: number) => `${x} host${x === 1 ? '' : 's'}`;

/** Why a tool has no figure in a cell: its notes, or that it has no samples. */
function whyMissing(row: ProvisionRow, tool: Tool): string {
  // 'ansible: ...' is Ansible's note, not Ansible + Mitogen's ('ansible-mitogen: ...').
  const own = (row.notes ?? []).filter((n) => n.startsWith(`${tool}:`) || n.startsWith(`${tool} `));
  return own.length ? own.join('; ') : `${toolName[tool]}: no samples`;
}

/**
 * The headline: how many times faster vrio is than each peer, per workload
 * and run, over the host counts (wall time; and CPU seconds when measured).
 */
export function ratioCharts(p: ProvisioningResult): string[] {
  const charts: string[] = [];
  for (const peer of PEERS) {
    for (const kind of ['wall', 'cpu'] as const) {
      const series: Series[] = [];
      for (const [w, ph] of COMBOS) {
        const rows = p.rows.filter((r) => r.workload === w && r.phase === ph);
        if (!rows.length) continue;
        // Ansible's ratios predate the per-peer maps: saved reports have only ratio/cpuRatio.
        const value = (r: ProvisionRow) =>
          kind === 'wall'
            ? (r.ratios?.[peer.tool] ?? (peer.tool === 'ansible' ? r.ratio : undefined))
            : (r.cpuRatios?.[peer.tool] ?? (peer.tool === 'ansible' ? r.cpuRatio : undefined));
        // A peer not run in a cell by design is absent there, not failed.
        const inCell = (r: ProvisionRow) => !r.notRun?.[peer.tool];
        if (!rows.some((r) => inCell(r) && r[peer.tool])) continue;
        if (kind === 'cpu' && !rows.some((r) => value(r) !== undefined)) continue;
        series.push({
          name: `${w} ${ph}`,
          color: WORKLOAD_COLOR[w],
          dashed: ph === 'warm',
          points: rows.filter((r) => value(r) !== undefined).map((r) => ({ x: r.hosts, y: value(r)! })),
          failed: rows
            .filter((r) => inCell(r) && value(r) === undefined)
            .map((r) => ({
              x: r.hosts,
              reason: [r.vrio ? '' : whyMissing(r, 'vrio'), r[peer.tool] ? '' : whyMissing(r, peer.tool)].filter(Boolean).join('; ') || 'no ratio',
            })),
        });
      }
      if (!series.length) continue;
      const goals = kind === 'wall' && p.rows.some((r) => provisioningGoal(r)) ? goalRefs(p) : [];
      charts.push(
        xyChart({
          title: kind === 'wall' ? `vrio vs ${peer.name}: times faster (wall time)` : `vrio vs ${peer.name}: times fewer CPU seconds`,
          xLabel: 'hosts (log scale)',
          yLabel: `${peer.name} / vrio (log scale)`,
          x: 'log',
          series,
          format: ratio,
          xFormat: hostsText,
          refs: [{ y: 1, label: '1× = as fast' }, ...goals],
          endLabels: true,
        }),
      );
    }
  }
  return charts;
}

function goalRefs(p: ProvisioningResult): { y: number; label: string }[] {
  const seen = new Map<number, string>();
  for (const r of p.rows) {
    const g = provisioningGoal(r);
    if (g && !seen.has(g.target)) seen.set(g.target, `goal ${g.target}× (${r.phase})`);
  }
  return [...seen].map(([y, label]) => ({ y, label }));
}

/** Each tool's median wall time (min–max whiskers) over the host counts, one chart per workload and run. */
export function timeCharts(p: ProvisioningResult): string[] {
  const charts: string[] = [];
  for (const [w, ph] of COMBOS) {
    const rows = p.rows.filter((r) => r.workload === w && r.phase === ph);
    if (!rows.length) continue;
    // Tools measured in these cells at all; a tool not run in a cell by design is absent there, not failed.
    const tools = (['vrio', ...PEERS.map((x) => x.tool)] as Tool[]).filter((t) => rows.some((r) => r[t] || (r.notes ?? []).some((n) => n.startsWith(`${t} `))));
    const inCell = (r: ProvisionRow, t: Tool) => t === 'vrio' || !r.notRun?.[t];
    const series: Series[] = tools.map((tool) => ({
      name: toolName[tool],
      color: TOOL_COLOR[tool],
      points: rows.filter((r) => r[tool]).map((r) => ({ x: r.hosts, y: r[tool]!.median, lo: r[tool]!.min, hi: r[tool]!.max })),
      failed: rows.filter((r) => !r[tool] && inCell(r, tool)).map((r) => ({ x: r.hosts, reason: whyMissing(r, tool) })),
    }));
    charts.push(
      xyChart({
        title: `${workloadLabel[w]}, ${ph} run`,
        xLabel: 'hosts (log scale)',
        yLabel: 'seconds, median and range (log)',
        x: 'log',
        series,
        format: seconds,
        xFormat: hostsText,
      }),
    );
  }
  return charts;
}

/**
 * A failed run's timeline: marked in the report since the field existed;
 * earlier saved reports name it in the section's reason ("iohyp, BIOS, KVM:
 * SSH never became ready"), which is read here so they re-render right.
 */
export function withFailures(s: Section, timelines: Timeline[]): Timeline[] {
  const parts = (s.reason ?? '').split('; ');
  return timelines.map((t) => {
    if (t.failed) return t;
    const said = parts.find((x) => x.startsWith(`${t.label}: `));
    return said ? { ...t, failed: said.slice(t.label.length + 2) } : t;
  });
}

interface TrendPoint {
  series: string;
  x: number;
  y?: number;
  failed?: string;
}

/** Series from points, one per name. */
function toSeries(points: TrendPoint[], style: (name: string) => Partial<Series>): Series[] {
  const by = new Map<string, Series>();
  for (const p of points) {
    const s = by.get(p.series) ?? { name: p.series, points: [], failed: [], ...style(p.series) };
    by.set(p.series, s);
    if (p.y !== undefined) s.points.push({ x: p.x, y: p.y });
    else s.failed!.push({ x: p.x, reason: p.failed ?? 'failed' });
  }
  return [...by.values()];
}

/** A run on the time axis: its date (one report per day and mode). */
const runDate = (x: number) => new Date(x).toISOString().slice(0, 10);

/**
 * The trend over runs (oldest first), one point per run (report) at its start
 * time: each tool's provisioning time per workload at the run's largest host
 * count, and every timed figure held to a goal (no-op builds, image assembly,
 * boot to SSH, inventory check).
 */
export function trendCharts(runs: BenchReport[]): string[] {
  const prov: TrendPoint[] = [];
  const figs: TrendPoint[] = [];
  for (const run of runs) {
    const x = Date.parse(run.startedAt);
    const p = run.provisioning;
    if (p?.rows.length) {
      const n = Math.max(...p.rows.map((r) => r.hosts));
      for (const r of p.rows.filter((row) => row.hosts === n)) {
        for (const tool of ['vrio', ...PEERS.map((q) => q.tool)] as Tool[]) {
          // A peer absent from a row (not run there by design, or a report older than the peer) is no failure.
          const tried = r[tool] || tool === 'vrio' || (tool === 'ansible' && !r.notRun?.ansible) || (r.notes ?? []).some((x) => x.startsWith(`${tool} `));
          if (!tried) continue;
          const series = `${toolName[tool]}, ${r.workload} ${r.phase}, ${n} hosts`;
          prov.push(r[tool] ? { series, x, y: r[tool]!.median } : { series, x, failed: whyMissing(r, tool) });
        }
      }
    }
    for (const s of [run.build, run.boot, run.inventory]) {
      if (!s) continue;
      for (const f of s.figures) if (f.unit === 's' && f.goal) figs.push({ series: plain(f.label), x, y: f.value });
    }
  }
  // A section that failed outright has no figures: mark every series it had in other runs.
  for (const run of runs) {
    for (const key of ['build', 'boot', 'inventory'] as const) {
      const s = run[key];
      if (s?.status !== 'failed') continue;
      const names = new Set(runs.flatMap((o) => (o[key]?.figures ?? []).filter((f) => f.unit === 's' && f.goal).map((f) => plain(f.label))));
      for (const series of names) figs.push({ series, x: Date.parse(run.startedAt), failed: s.reason ?? 'section failed' });
    }
  }
  const charts: string[] = [];
  const provSeries = toSeries(prov, (name) => {
    const tool = name.startsWith('vrio') ? 'vrio' : 'ansible';
    return { color: name.includes('facts') ? TOOL_COLOR[tool] : tool === 'vrio' ? '#17becf' : '#ff7f0e', dashed: name.includes('warm') };
  });
  if (provSeries.length) {
    charts.push(
      xyChart({
        title: 'Provisioning over time',
        xLabel: 'run',
        yLabel: 'seconds, median (log scale)',
        x: 'time',
        series: provSeries,
        format: seconds,
        xFormat: runDate,
        width: 960,
        height: 300,
      }),
    );
  }
  const figSeries = toSeries(figs, () => ({}));
  if (figSeries.length) {
    charts.push(
      xyChart({
        title: 'Build, boot and inventory check over time (figures with a goal)',
        xLabel: 'run',
        yLabel: 'seconds (log scale)',
        x: 'time',
        series: figSeries,
        format: seconds,
        xFormat: runDate,
        width: 960,
        height: 300,
      }),
    );
  }
  return charts;
}
