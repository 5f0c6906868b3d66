// Number formatting shared by the Markdown and HTML reports, so both print the
// same figure the same way.
import {
  PEER_TOOLS,
  type Figure,
  type PeerTool,
  type ProvisioningResult,
  type ProvisionRow,
  type Samples,
  type Section,
  type Tool,
  type Workload,
} from '../model.js';

export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 100) return `${s.toFixed(1)} s`;
  return `${Math.round(s)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function ratio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '–';
  return `${r < 10 ? r.toFixed(1) : Math.round(r)}×`;
}

export function samples(s: Samples | undefined): string {
  if (!s) return '–';
  return seconds(s.median);
}

/** "0.41 s (0.39–0.45, n=3)" */
export function samplesWithRange(s: Samples | undefined): string {
  if (!s) return '–';
  if (s.runs.length === 1) return `${seconds(s.median)} (n=1)`;
  return `${seconds(s.median)} (${seconds(s.min).replace(' s', '')}–${seconds(s.max)}, n=${s.runs.length})`;
}

export function figureValue(f: Figure): string {
  switch (f.unit) {
    case 's':
      return seconds(f.value);
    case 'bytes':
      return bytes(f.value);
    case '%':
      return `${f.value >= 0 ? '+' : ''}${f.value.toFixed(1)} %`;
  }
}

export function goalMark(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'yes' : 'no';
}

export const workloadLabel: Record<Workload, string> = {
  facts: 'facts + plan (read-only)',
  write: 'write (files and dirs)',
};

/** The project's stated goal for a provisioning cell, if it has one (issue 7). */
export function provisioningGoal(row: ProvisionRow): { text: string; target: number } | undefined {
  if (row.hosts !== 50) return undefined;
  return row.phase === 'warm' ? { text: '>= 10×', target: 10 } : { text: '>= 5×', target: 5 };
}

/** "Measured 2026-11-25 19:52 UTC, took 9m12s; load (1 min) 3.10 -> 5.42." or '' when unknown. */
export function sectionMeta(s: Section | undefined): string {
  if (!s?.startedAt) return '';
  const when = `${s.startedAt.slice(0, 10)} ${s.startedAt.slice(11, 16)} UTC`;
  const took =
    s.seconds !== undefined
      ? `, took ${s.seconds < 60 ? `${Math.round(s.seconds)} s` : `${Math.floor(s.seconds / 60)} min ${Math.round(s.seconds % 60)} s`}`
      : '';
  const load = s.load && s.load.before.length && s.load.after.length ? `; load (1 min) ${s.load.before[0].toFixed(2)} → ${s.load.after[0].toFixed(2)}` : '';
  return `Measured ${when}${took}${load}.`;
}

/** Row notes, each once, with the cells it applies to ("all cells" when every one). */
export function rowNotes(p: ProvisioningResult): string[] {
  const where = new Map<string, string[]>();
  for (const r of p.rows) {
    // Peers left out of a cell (by design, or by the time bound with its projection) are named too.
    const notRun = Object.entries(r.notRun ?? {}).map(([t, why]) => `${toolName[t as Tool]} not run: ${why}`);
    for (const n of [...(r.notes ?? []), ...notRun]) where.set(n, [...(where.get(n) ?? []), `${r.hosts}/${r.workload}/${r.phase}`]);
  }
  return [...where].map(([n, cells]) => `${n} (${cells.length === p.rows.length ? 'all cells' : cells.join(', ')})`);
}

export const toolName: Record<Tool, string> = {
  vrio: 'vrio',
  ansible: 'Ansible',
  'ansible-batched': 'Ansible, batched',
  'ansible-mitogen': 'Ansible + Mitogen',
  clush: 'clush',
  pssh: 'parallel-ssh',
};

/** Peers beyond plain Ansible with a figure (or a failure) in any row: the reports show them only then. */
export function extraPeers(p: ProvisioningResult): PeerTool[] {
  return PEER_TOOLS.filter((t) => t !== 'ansible' && p.rows.some((r) => r[t] || (r.notes ?? []).some((n) => n.startsWith(`${t} `) || n.startsWith(`${t}:`))));
}

/** Every tool with a figure in any row, vrio first. */
export function toolsIn(p: ProvisioningResult): Tool[] {
  return (['vrio', ...PEER_TOOLS] as Tool[]).filter((t) => p.rows.some((r) => r[t]));
}

/** A peer's wall-time ratio in a row (Ansible's from the field older reports have). */
export function peerRatio(r: ProvisionRow, t: PeerTool): number | undefined {
  return r.ratios?.[t] ?? (t === 'ansible' ? r.ratio : undefined);
}

/** "12× " or "0.6× (clush wins)"; "not run" when left out by design; "failed" when it failed. */
export function ratioCell(r: ProvisionRow, t: PeerTool): string {
  const x = peerRatio(r, t);
  if (x !== undefined) return x < 1 ? `${x.toFixed(2)}× (${toolName[t]} wins)` : ratio(x);
  if (r.notRun?.[t]) return 'not run';
  return r[t] || !r.vrio ? '–' : 'failed';
}

/** Rows where a peer was faster than vrio (wall time), as "clush at 200 hosts, facts + plan cold (0.8×)". */
export function peerWins(p: ProvisioningResult): string[] {
  const out: string[] = [];
  for (const r of p.rows)
    for (const t of PEER_TOOLS) {
      const x = peerRatio(r, t);
      if (x !== undefined && x < 1)
        out.push(
          `${toolName[t]} at ${r.hosts} host(s), ${workloadLabel[r.workload]} ${r.phase}: ${x.toFixed(2)}× (vrio ${seconds(r.vrio!.median)}, ${toolName[t]} ${seconds(r[t]!.median)})`,
        );
    }
  return out;
}

/** "81 MiB (80–83)" */
export function mib(s: Samples | undefined): string {
  if (!s) return '–';
  const f = (x: number) => (x < 10 ? x.toFixed(1) : String(Math.round(x)));
  return s.runs.length === 1 ? `${f(s.median)} MiB` : `${f(s.median)} MiB (${f(s.min)}–${f(s.max)})`;
}
