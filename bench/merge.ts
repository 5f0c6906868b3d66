// Merging a provisioning run into the same day's earlier report. On a 2-core
// machine the slow peers' large cells (plain Ansible at 200 hosts: about half
// an hour per run) cannot share one sitting with everything else, so a run may
// measure some host counts, workloads or peers only (--hosts, --workloads,
// --tools) and the cells it did not measure are kept from the earlier report.
// A kept peer keeps its own ratio: it was computed against the vrio runs of
// its own rounds (the tools take turns within a round), not against this
// run's vrio, and the row's note says when it was measured.
import { PEER_TOOLS, type PeerTool, type ProvisioningResult, type ProvisionRow } from './model.js';

const rowKey = (r: ProvisionRow) => `${r.hosts} ${r.workload} ${r.phase}`;
const rowOrder = (r: ProvisionRow) => r.hosts * 10 + (r.workload === 'facts' ? 0 : 2) + (r.phase === 'cold' ? 0 : 1);

/** Copies one peer's samples, CPU, memory and ratios from an earlier row into the current one. */
function keepPeer(now: ProvisionRow, old: ProvisionRow, p: PeerTool): void {
  now[p] = old[p];
  if (old.cpu?.[p]) (now.cpu ??= {})[p] = old.cpu[p];
  if (old.memory?.[p]) (now.memory ??= {})[p] = old.memory[p];
  if (old.ratios?.[p] !== undefined) (now.ratios ??= {})[p] = old.ratios[p];
  if (old.cpuRatios?.[p] !== undefined) (now.cpuRatios ??= {})[p] = old.cpuRatios[p];
  if (p === 'ansible') {
    now.ratio = old.ratio;
    now.cpuRatio = old.cpuRatio;
  }
  if (now.notRun?.[p]) {
    delete now.notRun[p];
    if (!Object.keys(now.notRun).length) delete now.notRun;
  }
  (now.notes ??= []).push(keptNote(old, p));
}

/**
 * Where a kept peer's samples come from. A peer the earlier row had itself
 * kept from a still earlier run keeps that note: the earlier row's time and
 * vrio are of another sitting than the peer's rounds.
 */
function keptNote(old: ProvisionRow, p: PeerTool): string {
  const prefix = `${p}: measured by an earlier run (`;
  const carried = old.notes?.find((n) => n.startsWith(prefix));
  if (carried) return carried;
  const vrio = old.vrio ? `, vrio ${old.vrio.median.toFixed(2)} s in those rounds` : '';
  return `${prefix}${old.measuredAt ?? 'time unknown'}${old.load !== undefined ? `, load ${old.load}` : ''}${vrio}), kept; its ratio is against the vrio of its own rounds`;
}

/**
 * Merges `old` into `cur` in place: rows (host count, workload, phase) this
 * run did not measure are kept whole; in a row it did measure, every peer it
 * has no samples for (not asked, or left out by the time bound) is kept from
 * the earlier row. Returns the notes for the report.
 */
export function mergeProvisioning(cur: ProvisioningResult, old: ProvisioningResult): string[] {
  const byKey = new Map(cur.rows.map((r) => [rowKey(r), r]));
  const keptRows = old.rows.filter((r) => !byKey.has(rowKey(r)));
  const keptPeers = new Set<string>();
  for (const o of old.rows) {
    const now = byKey.get(rowKey(o));
    if (!now) continue;
    for (const p of PEER_TOOLS) {
      if (o[p] && !now[p]) {
        keepPeer(now, o, p);
        keptPeers.add(`${p} at ${o.hosts}`);
      } else if (!now[p] && !now.notRun?.[p] && o.notRun?.[p]) {
        // Not part of this run, and left out before (a workload it does not do, the bound): still why.
        (now.notRun ??= {})[p] = o.notRun[p];
      }
    }
  }
  const notes: string[] = [];
  if (keptRows.length) {
    cur.rows = [...cur.rows, ...keptRows].sort((a, b) => rowOrder(a) - rowOrder(b));
    cur.hostCounts = [...new Set([...cur.hostCounts, ...keptRows.map((r) => r.hosts)])].sort((a, b) => a - b);
    if (cur.status === 'ok' && old.status !== 'ok') cur.status = old.status;
    // Each cell with its own time: the kept cells may come from several earlier sittings.
    const at = (r: ProvisionRow) => (r.measuredAt ? `${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC` : 'time unknown');
    notes.push(
      `provisioning cells measured by an earlier run, kept: ${keptRows.map((r) => `${r.hosts} host(s) ${r.workload} ${r.phase} (${at(r)})`).join(', ')}`,
    );
  }
  if (keptPeers.size) notes.push(`provisioning peers kept from an earlier run in cells this run measured: ${[...keptPeers].join(', ')} (see each row's note)`);
  return notes;
}
