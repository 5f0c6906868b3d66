// Provisioning, vrio vs Ansible: N real sshd hosts, the same work for both
// tools, cold (first: nothing on the hosts, no open connections) and warm
// (no-op: everything already in place) runs, medians of R runs and the ratio.
// The tools take turns within each round, so a burst of load from another
// process on the machine hits both rather than one.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFleet, type Fleet, type FleetNetwork } from '../fleet.js';
import { PEER_TOOLS, type Phase, type ProvisioningResult, type ProvisionRow, type Samples, type Tool, type Workload } from '../model.js';
import { run } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { reapedChildrenCpu, treeCpu } from '../cpu.js';
import { loadAverage } from '../machine.js';
import { childrenOf, parseMaxRss, sampleTreePeak, treePids, withMaxRss } from '../memory.js';
import { pinned, type CpuSplit } from '../pin.js';
import { speedup, summarize, timed } from '../stats.js';
import type { ToolDriver } from './drivers.js';

const GNU_TIME = '/usr/bin/time';

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
  /** Controller on one CPU, the fleet's sshds on the others (see pin.ts); undefined: not pinned. */
  cpuSplit?: CpuSplit;
  /**
   * Bound on one tool's cell (all its runs), in seconds: a tool whose runs at
   * the previous host count project (linearly in hosts) past it is not run at
   * the larger count, and the report says so with the projection.
   */
  maxCellSeconds?: number;
  /** Measure the read-only workload's warm run too (default true). */
  warmReads?: boolean;
}

interface CellState {
  runs: Partial<Record<Tool, number[]>>;
  cpu: Partial<Record<Tool, { controller: number[]; hosts: number[] }>>;
  memory: Partial<Record<Tool, { tree: number[]; largest: number[] }>>;
  notes: string[];
  failed: Set<Tool>;
}

const MIN_HOSTS_TO_PROJECT = 10;

/**
 * Whether a tool's cell at `hosts` fits the bound, from its median at the
 * largest smaller host count measured: the per-run time grows at most
 * linearly with the hosts (a fixed fork count and one CPU per side make it so).
 */
export function projectedCell(
  prev: { hosts: number; median: number } | undefined,
  hosts: number,
  runs: number,
  maxCellSeconds: number | undefined,
): string | undefined {
  // From one host the time is nearly all start-up, and projects nothing about the per-host cost.
  if (!prev || prev.hosts < MIN_HOSTS_TO_PROJECT || maxCellSeconds === undefined) return undefined;
  const perRun = prev.median * (hosts / prev.hosts);
  const total = perRun * runs;
  if (total <= maxCellSeconds) return undefined;
  return `not run at ${hosts} hosts to bound the bench: ${prev.median.toFixed(1)} s per run at ${prev.hosts} hosts projects to ~${Math.round(perRun)} s per run, ~${Math.round(total / 60)} min for ${runs} runs (bound ${Math.round(maxCellSeconds / 60)} min per cell)`;
}

/** Drivers in the order of round i: rotated, so no tool always runs right after the same other tool's burst. */
export function roundOrder<T>(drivers: readonly T[], i: number): T[] {
  if (!drivers.length) return [];
  const k = i % drivers.length;
  return [...drivers.slice(k), ...drivers.slice(0, k)];
}

export async function benchProvisioning(o: ProvisioningOptions): Promise<ProvisioningResult> {
  const workloads = o.workloads ?? ['facts', 'write'];
  const rows: ProvisionRow[] = [];
  const settings: Record<string, string> = {};
  let network: FleetNetwork | undefined;
  const startup = await measureStartup(o);
  /** Each tool's median per workload/phase at the last host count it ran at (for projectedCell). */
  const last = new Map<string, { hosts: number; median: number }>();
  for (const n of o.hostCounts) {
    o.signal?.throwIfAborted();
    o.log(`provisioning: ${n} host(s)`);
    const fleet = await createFleet(n, { network: o.network, log: o.log, cpus: o.cpuSplit?.fleet });
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
          if (w === 'facts' && phase === 'warm' && o.warmReads === false) continue;
          const row: ProvisionRow = { hosts: n, workload: w, phase };
          const active: ToolDriver[] = [];
          for (const d of o.drivers) {
            const why = d.notRun?.(w, phase) ?? projectedCell(last.get(`${d.tool} ${w} ${phase}`), n, o.runs, o.maxCellSeconds);
            if (why && d.tool !== 'vrio') (row.notRun ??= {})[d.tool as Exclude<Tool, 'vrio'>] = why;
            else active.push(d);
          }
          const cell = await measureCell(fleet, active, w, phase, o, dir);
          row.measuredAt = new Date().toISOString();
          row.load = loadAverage()[0];
          for (const d of active) {
            const runs = cell.runs[d.tool] ?? [];
            if (!runs.length) continue;
            row[d.tool] = summarize(runs);
            last.set(`${d.tool} ${w} ${phase}`, { hosts: n, median: row[d.tool]!.median });
            const c = cell.cpu[d.tool]!;
            (row.cpu ??= {})[d.tool] = { controller: summarize(c.controller), hosts: summarize(c.hosts) };
            const m = cell.memory[d.tool]!;
            if (m.tree.length && m.largest.length) (row.memory ??= {})[d.tool] = { tree: summarize(m.tree), largest: summarize(m.largest) };
          }
          Object.assign(row, ratiosOf(row));
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

/** Every peer's wall and CPU ratio over vrio in a row (Ansible's also as the historical ratio/cpuRatio). */
export function ratiosOf(row: ProvisionRow): Pick<ProvisionRow, 'ratio' | 'ratios' | 'cpuRatio' | 'cpuRatios'> {
  const out: Pick<ProvisionRow, 'ratio' | 'ratios' | 'cpuRatio' | 'cpuRatios'> = {};
  const total = (t: Tool) => (row.cpu?.[t] ? row.cpu[t]!.controller.median + row.cpu[t]!.hosts.median : undefined);
  const cv = total('vrio');
  for (const p of PEER_TOOLS) {
    const r = speedup(row.vrio, row[p]);
    if (r !== undefined) (out.ratios ??= {})[p] = r;
    const cp = total(p);
    if (cv && cp) (out.cpuRatios ??= {})[p] = cp / cv;
  }
  out.ratio = out.ratios?.ansible;
  out.cpuRatio = out.cpuRatios?.ansible;
  return out;
}

/**
 * Start-up of each tool's process alone, so a reader can tell fixed cost from
 * per-host cost: node loading the vrio CLI, Python loading ansible-playbook.
 */
async function measureStartup(o: ProvisioningOptions): Promise<Partial<Record<Tool, Samples>>> {
  const out: Partial<Record<Tool, Samples>> = {};
  const cmds: Partial<Record<Tool, [string, string[]]>> = {
    vrio: [process.execPath, [join(packageRoot(), 'dist', 'cli', 'bin.js'), '--version']],
    ansible: ['ansible-playbook', ['--version']],
  };
  for (const d of o.drivers) {
    const t: number[] = [];
    if (!cmds[d.tool]) continue;
    for (let i = 0; i < Math.max(3, o.runs); i++) {
      const [cmd, args] = cmds[d.tool]!;
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
  settings.runs = `${o.runs} run(s) per cell, the tools taking turns (the order rotated each round); cold = scratch roots removed and persistent SSH connections closed before each run; warm = the same run again with nothing to do`;
  if (o.cpuSplit)
    settings.cpus = `controller and fleet kept apart (taskset): every tool run on CPU ${o.cpuSplit.controller}, every sshd and its sessions on CPU ${o.cpuSplit.fleet}; CPU seconds counted on each side`;
  if (o.warmReads === false)
    settings.phases =
      "read-only workload: cold runs only (no peer keeps state between its read-only runs but Ansible's ControlPersist; the warm read-only figures are in the earlier reports); write workload: cold and warm";
  if (o.maxCellSeconds !== undefined)
    settings.bound = `a tool whose runs at the previous host count project past ${Math.round(o.maxCellSeconds / 60)} min for a cell (linear in hosts) is not run at the larger count: the row says so`;
  const ran = (r: ProvisionRow) => [r.vrio, ...PEER_TOOLS.map((p) => r[p])].filter(Boolean).length;
  const expected = (r: ProvisionRow) => 1 + PEER_TOOLS.filter((p) => o.drivers.some((d) => d.tool === p) && !r.notRun?.[p]).length;
  const anyRows = rows.some((r) => ran(r) > 0);
  return {
    status: !anyRows ? 'failed' : rows.some((r) => ran(r) < expected(r)) ? 'partial' : 'ok',
    settings,
    hostCounts: o.hostCounts,
    runsPerCell: o.runs,
    rows: [...rows],
    ...(o.cpuSplit ? { cpuSplit: o.cpuSplit } : {}),
  };
}

function describe(row: ProvisionRow): string {
  const f = (s?: Samples) => (s ? `${s.median.toFixed(2)} s` : 'n/a');
  const peers = PEER_TOOLS.filter((p) => row[p] || (row.notes ?? []).some((n) => n.startsWith(p)));
  return [`vrio ${f(row.vrio)}`, ...peers.map((p) => `${p} ${f(row[p])}${row.ratios?.[p] ? ` (${row.ratios[p]!.toFixed(1)}x)` : ''}`)].join(', ');
}

async function measureCell(fleet: Fleet, drivers: ToolDriver[], w: Workload, phase: Phase, o: ProvisioningOptions, dir: string): Promise<CellState> {
  const cell: CellState = { runs: {}, cpu: {}, memory: {}, notes: [], failed: new Set() };
  for (const d of drivers) {
    cell.runs[d.tool] = [];
    cell.cpu[d.tool] = { controller: [], hosts: [] };
    cell.memory[d.tool] = { tree: [], largest: [] };
  }
  const sshdPids = fleet.hosts.map((h) => h.sshd.pid);
  const gnuTime = existsSync(GNU_TIME);
  for (let i = 0; i < o.runs; i++) {
    for (const d of roundOrder(drivers, i)) {
      if (cell.failed.has(d.tool)) continue;
      o.signal?.throwIfAborted();
      // Warm runs follow the cold ones directly: the state is in place and
      // connections a tool keeps (Ansible's ControlPersist) are still open.
      if (phase === 'cold') {
        fleet.resetScratch();
        await d.resetConnections();
      }
      const logFile = join(dir, `${w}-${phase}-${d.tool}-${i + 1}.log`);
      const rssFile = join(dir, `${w}-${phase}-${d.tool}-${i + 1}.maxrss`);
      try {
        const cmd = d.command(w);
        const argv = pinned(gnuTime ? withMaxRss(cmd.argv, rssFile) : cmd.argv, o.cpuSplit?.controller);
        const c0 = reapedChildrenCpu();
        const h0 = treeCpu(sshdPids);
        const mem = sampleTreePeak(sshdPids);
        let peakTree = 0;
        // On an interrupt, the whole tool tree goes at once, before the runner
        // signals its direct child: GNU time dies on SIGTERM and would leave the
        // tool itself (an ansible-playbook and its forks) running as an orphan.
        const killTools = () => killAll(treePids(childrenOf('self').filter((p) => !sshdPids.includes(p))));
        o.signal?.addEventListener('abort', killTools, { once: true });
        const { seconds, value } = await timed(async () => {
          try {
            return await run(argv[0], argv.slice(1), { env: cmd.env, logFile, signal: o.signal, allowFail: true, timeoutMs: 30 * 60_000 });
          } finally {
            o.signal?.removeEventListener('abort', killTools);
            peakTree = mem.stop();
          }
        });
        const controllerCpu = Math.max(0, reapedChildrenCpu() - c0);
        const hostsCpu = Math.max(0, treeCpu(sshdPids) - h0);
        const outcome = cmd.check(value.stdout, value.code, logFile);
        cell.runs[d.tool]!.push(seconds);
        cell.cpu[d.tool]!.controller.push(controllerCpu);
        cell.cpu[d.tool]!.hosts.push(hostsCpu);
        const largest = gnuTime && existsSync(rssFile) ? parseMaxRss(readFileSync(rssFile, 'utf8')) : undefined;
        rmSync(rssFile, { force: true });
        if (largest !== undefined && peakTree > 0) {
          cell.memory[d.tool]!.tree.push(Math.max(peakTree, largest) / 1024);
          cell.memory[d.tool]!.largest.push(largest / 1024);
        }
        if (outcome.note) cell.notes.push(`${d.tool}: ${outcome.note}`);
        if (outcome.changed !== undefined) {
          if (phase === 'warm' && outcome.changed > 0) cell.notes.push(`${d.tool}: warm run ${i + 1} reported ${outcome.changed} change(s), expected none`);
          if (phase === 'cold' && w === 'write' && outcome.changed === 0) cell.notes.push(`${d.tool}: cold run ${i + 1} reported no changes`);
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

/** SIGKILL each pid (by pid: only the bench's own descendants are ever passed). */
function killAll(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
