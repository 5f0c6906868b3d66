// Provisioning, vrio vs Ansible: N real sshd hosts, the same work for both
// tools, cold (first: nothing on the hosts, no open connections) and warm
// (no-op: everything already in place) runs, medians of R runs and the ratio.
// The tools take turns within each round, so a burst of load from another
// process on the machine hits both rather than one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFleet, type Fleet, type FleetNetwork } from '../fleet.js';
import type { Phase, ProvisioningResult, ProvisionRow, Samples, Tool, Workload } from '../model.js';
import { run } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { reapedChildrenCpu, treeCpu } from '../cpu.js';
import { loadAverage } from '../machine.js';
import { speedup, summarize, timed } from '../stats.js';
import type { ToolDriver } from './drivers.js';

export interface ProvisioningOptions {
  hostCounts: number[];
  runs: number;
  drivers: ToolDriver[];
  workloads?: Workload[];
  network?: FleetNetwork;
  /** Logs of every tool run go here. */
  workDir: string;
  log: (msg: string) => void;
  signal?: AbortSignal;
  /** Told after every finished cell, so an interrupted run still reports what it measured. */
  onProgress?: (partial: ProvisioningResult) => void;
}

interface CellState {
  runs: Record<Tool, number[]>;
  cpu: Record<Tool, { controller: number[]; hosts: number[] }>;
  notes: string[];
  failed: Set<Tool>;
}

export async function benchProvisioning(o: ProvisioningOptions): Promise<ProvisioningResult> {
  const workloads = o.workloads ?? ['facts', 'write'];
  const rows: ProvisionRow[] = [];
  const settings: Record<string, string> = {};
  let network: FleetNetwork | undefined;
  const startup = await measureStartup(o);
  for (const n of o.hostCounts) {
    o.signal?.throwIfAborted();
    o.log(`provisioning: ${n} host(s)`);
    const fleet = await createFleet(n, { network: o.network, log: o.log });
    network = fleet.network;
    try {
      const dir = join(o.workDir, `hosts-${n}`);
      mkdirSync(dir, { recursive: true });
      for (const d of o.drivers) {
        await d.prepare(fleet, dir);
        Object.assign(settings, d.settings(n));
      }
      for (const w of workloads) {
        for (const phase of ['cold', 'warm'] as Phase[]) {
          const cell = await measureCell(fleet, o.drivers, w, phase, o, dir);
          const row: ProvisionRow = { hosts: n, workload: w, phase, measuredAt: new Date().toISOString(), load: loadAverage()[0] };
          for (const d of o.drivers) {
            if (!cell.runs[d.tool].length) continue;
            row[d.tool] = summarize(cell.runs[d.tool]);
            (row.cpu ??= {})[d.tool] = { controller: summarize(cell.cpu[d.tool].controller), hosts: summarize(cell.cpu[d.tool].hosts) };
          }
          row.ratio = speedup(row.vrio, row.ansible);
          const total = (t: Tool) => (row.cpu?.[t] ? row.cpu[t]!.controller.median + row.cpu[t]!.hosts.median : undefined);
          const [cv, ca] = [total('vrio'), total('ansible')];
          if (cv && ca) row.cpuRatio = ca / cv;
          if (cell.notes.length) row.notes = [...new Set(cell.notes)];
          rows.push(row);
          o.log(`  ${w} ${phase}: ${describe(row)}`);
          o.onProgress?.({ ...result(o, rows, settings, network), startup });
        }
      }
    } finally {
      // Also on an interrupt: no persistent ssh master may outlive the fleet.
      for (const d of o.drivers) await d.close().catch(() => undefined);
      await fleet.destroy();
    }
  }
  return { ...result(o, rows, settings, network), startup };
}

/**
 * Start-up of each tool's process alone, so a reader can tell fixed cost from
 * per-host cost: node loading the vrio CLI, Python loading ansible-playbook.
 */
async function measureStartup(o: ProvisioningOptions): Promise<Partial<Record<Tool, Samples>>> {
  const out: Partial<Record<Tool, Samples>> = {};
  const cmds: Record<Tool, [string, string[]]> = {
    vrio: [process.execPath, [join(packageRoot(), 'dist', 'cli', 'bin.js'), '--version']],
    ansible: ['ansible-playbook', ['--version']],
  };
  for (const d of o.drivers) {
    const t: number[] = [];
    for (let i = 0; i < Math.max(3, o.runs); i++) {
      const [cmd, args] = cmds[d.tool];
      const r = await timed(() => run(cmd, args, { allowFail: true, timeoutMs: 120_000, signal: o.signal }));
      if (r.value.code !== 0) break;
      t.push(r.seconds);
    }
    if (t.length) out[d.tool] = summarize(t);
  }
  return out;
}

function result(o: ProvisioningOptions, rows: ProvisionRow[], settingsIn: Record<string, string>, network: FleetNetwork | undefined): ProvisioningResult {
  const settings = { ...settingsIn };
  settings.hosts = `each host is a real OpenSSH sshd on its own address (${network === 'netns' ? 'one network namespace + veth pair per host' : '127.0.0.0/8 loopback addresses'}), created and removed by the bench; the first host is the I/O hypervisor, the others its guests`;
  settings.runs = `${o.runs} run(s) per cell; cold = scratch roots removed and persistent SSH connections closed before each run; warm = the same run again with nothing to do`;
  const anyRows = rows.some((r) => r.vrio || r.ansible);
  return {
    status: !anyRows ? 'failed' : rows.some((r) => !r.vrio || !r.ansible) ? 'partial' : 'ok',
    settings,
    hostCounts: o.hostCounts,
    runsPerCell: o.runs,
    rows: [...rows],
  };
}

function describe(row: ProvisionRow): string {
  const f = (s?: Samples) => (s ? `${s.median.toFixed(2)} s` : 'n/a');
  return `vrio ${f(row.vrio)}, ansible ${f(row.ansible)}${row.ratio ? `, ratio ${row.ratio.toFixed(1)}x` : ''}`;
}

async function measureCell(fleet: Fleet, drivers: ToolDriver[], w: Workload, phase: Phase, o: ProvisioningOptions, dir: string): Promise<CellState> {
  const cell: CellState = {
    runs: { vrio: [], ansible: [] },
    cpu: { vrio: { controller: [], hosts: [] }, ansible: { controller: [], hosts: [] } },
    notes: [],
    failed: new Set(),
  };
  const sshdPids = fleet.hosts.map((h) => h.sshd.pid);
  for (let i = 0; i < o.runs; i++) {
    // Alternate who goes first, so neither tool always runs right after the other's burst.
    const order = i % 2 ? [...drivers].reverse() : drivers;
    for (const d of order) {
      if (cell.failed.has(d.tool)) continue;
      o.signal?.throwIfAborted();
      // Warm runs follow the cold ones directly: the state is in place and
      // connections a tool keeps (Ansible's ControlPersist) are still open.
      if (phase === 'cold') {
        fleet.resetScratch();
        await d.resetConnections();
      }
      const logFile = join(dir, `${w}-${phase}-${d.tool}-${i + 1}.log`);
      try {
        const c0 = reapedChildrenCpu();
        const h0 = treeCpu(sshdPids);
        const { seconds, value } = await timed(() => d.run(w, logFile, o.signal));
        cell.runs[d.tool].push(seconds);
        cell.cpu[d.tool].controller.push(Math.max(0, reapedChildrenCpu() - c0));
        cell.cpu[d.tool].hosts.push(Math.max(0, treeCpu(sshdPids) - h0));
        if (value.note) cell.notes.push(`${d.tool}: ${value.note}`);
        if (value.changed !== undefined) {
          if (phase === 'warm' && value.changed > 0) cell.notes.push(`${d.tool}: warm run ${i + 1} reported ${value.changed} change(s), expected none`);
          if (phase === 'cold' && w === 'write' && value.changed === 0) cell.notes.push(`${d.tool}: cold run ${i + 1} reported no changes`);
        }
      } catch (e) {
        if (o.signal?.aborted) throw e;
        cell.failed.add(d.tool);
        cell.notes.push(`${d.tool} failed: ${(e as Error).message.split('\n')[0]} (log: ${logFile})`);
        o.log(`  ${d.tool} ${w} ${phase} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  return cell;
}
