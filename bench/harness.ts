// One benchmark run: machine facts, the sections asked for, and the three
// reports. Shared by `npm run bench` (bench/run.ts) and `vrio bench`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';
import { ensureAnsible, MITOGEN_STRATEGY_DIR } from './ansible.js';
import { which } from '../lib/exec.js';
import type { Tool } from './model.js';
import { cpuSplit } from './pin.js';
import type { FleetNetwork } from './fleet.js';
import { loadAverage, machineFacts } from './machine.js';
import type { BenchReport, BootResult, BuildResult, Section, Workload } from './model.js';
import { mergeProvisioning } from './merge.js';
import { reportStem, writeReports, type WrittenReports } from './report/write.js';
import { benchBoot } from './workloads/boot.js';
import { benchBuild } from './workloads/build.js';
import { benchInventoryCheck } from './workloads/inventory-check.js';
import { ansibleDriver, parallelShellDriver, vrioDriver, type ToolDriver } from './workloads/drivers.js';
import { benchProvisioning } from './workloads/provisioning.js';

export const SECTIONS = ['provisioning', 'build', 'boot', 'inventory'] as const;
export const TOOLS = ['vrio', 'ansible', 'ansible-batched', 'ansible-mitogen', 'clush', 'pssh'] as const satisfies readonly Tool[];
export const WORKLOADS = ['facts', 'write'] as const satisfies readonly Workload[];
export type SectionName = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: SectionName[];
  hostCounts: number[];
  runs: number;
  /** The provisioning tools compared (vrio always among them). */
  tools: Tool[];
  /** Keep the controller and the fleet on separate CPUs (taskset), when there are two. */
  pin: boolean;
  /** Bound on one tool's provisioning cell (see benchProvisioning's maxCellSeconds). */
  maxCellSeconds?: number;
  /** The provisioning workloads measured (default both). */
  workloads: Workload[];
  /** Measure the read-only workload's warm run (quick mode: yes; full: no, to bound the time). */
  warmReads: boolean;
  network?: FleetNetwork;
  outDir: string;
  /** Keep the temp work dir (logs of every tool run) instead of removing it. */
  keepWork: boolean;
  /** A CI work dir (ci.yaml + out/) kept by an earlier --keep-work run: build and boot reuse its kernel. */
  reuseCi?: string;
  log: (msg: string) => void;
  signal?: AbortSignal;
}

export function defaultOptions(quick: boolean, log: (m: string) => void = () => {}): BenchOptions {
  return {
    quick,
    sections: [...SECTIONS],
    hostCounts: quick ? [1, 5] : [1, 10, 50, 200],
    runs: quick ? 1 : 5,
    // Quick mode keeps the harness working: vrio and Ansible only.
    tools: quick ? ['vrio', 'ansible'] : [...TOOLS],
    workloads: [...WORKLOADS],
    pin: true,
    maxCellSeconds: quick ? undefined : 360,
    warmReads: quick,
    outDir: join(packageRoot(), 'bench', 'results'),
    keepWork: false,
    log,
  };
}

/** Parse "1,10,50" into host counts; bad input names the option and the rule. */
export function parseHostCounts(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  const nums = parts.map(Number);
  if (!parts.length || nums.some((n) => !Number.isInteger(n) || n < 1 || n > 250)) {
    throw new UsageError(`--hosts '${s}': expected a comma-separated list of host counts, each an integer 1..250`, 'e.g. --hosts 1,10,50');
  }
  return [...new Set(nums)].sort((a, b) => a - b);
}

export function parseTools(s: string): Tool[] {
  const out: Tool[] = ['vrio'];
  for (const p of s.split(',').map((x) => x.trim())) {
    if (!(TOOLS as readonly string[]).includes(p)) throw new UsageError(`--tools '${p}': unknown tool`, `tools: ${TOOLS.join(', ')}`);
    if (!out.includes(p as Tool)) out.push(p as Tool);
  }
  return out;
}

/**
 * The drivers for the tools asked, each peer only when installed: a missing
 * one is a note in the report (with its Debian package), not a failed run.
 */
export function provisioningDrivers(tools: readonly Tool[], notes: string[]): ToolDriver[] {
  const out: ToolDriver[] = [];
  const missing = (tool: string, what: string, pkg: string) => notes.push(`${tool} not compared: ${what} not found (apt-get install ${pkg})`);
  for (const t of tools) {
    if (t === 'vrio') out.push(vrioDriver());
    else if (t === 'ansible') out.push(ansibleDriver('plain'));
    else if (t === 'ansible-batched') out.push(ansibleDriver('batched'));
    else if (t === 'ansible-mitogen') {
      if (existsSync(MITOGEN_STRATEGY_DIR)) out.push(ansibleDriver('mitogen'));
      else missing(t, MITOGEN_STRATEGY_DIR, 'ansible-mitogen');
    } else if (t === 'clush') {
      if (which('clush')) out.push(parallelShellDriver('clush'));
      else missing(t, 'clush', 'clustershell');
    } else if (which('parallel-ssh')) out.push(parallelShellDriver('pssh'));
    else missing(t, 'parallel-ssh', 'pssh');
  }
  return out;
}

export function parseWorkloads(s: string): Workload[] {
  const out: Workload[] = [];
  for (const p of s.split(',').map((x) => x.trim())) {
    if (!(WORKLOADS as readonly string[]).includes(p)) throw new UsageError(`--workloads '${p}': unknown workload`, `workloads: ${WORKLOADS.join(', ')}`);
    if (!out.includes(p as Workload)) out.push(p as Workload);
  }
  return out;
}

export function parseSections(s: string): SectionName[] {
  const out: SectionName[] = [];
  for (const p of s.split(',').map((x) => x.trim())) {
    if (!(SECTIONS as readonly string[]).includes(p)) throw new UsageError(`--sections '${p}': unknown section`, `sections: ${SECTIONS.join(', ')}`);
    out.push(p as SectionName);
  }
  return out;
}

function revision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: packageRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export async function runBench(o: BenchOptions): Promise<{ report: BenchReport; files: WrittenReports }> {
  const work = mkdtempSync(join(tmpdir(), 'vrio-bench-'));
  const report: BenchReport = {
    format: 1,
    mode: o.quick ? 'quick' : 'full',
    startedAt: new Date().toISOString(),
    revision: revision(),
    machine: machineFacts(),
    notes: [],
  };
  o.log(`bench (${report.mode}): ${o.sections.join(', ')}; load ${report.machine.loadBefore.join(' ')}; work dir ${work}`);
  try {
    for (const s of o.sections) {
      o.signal?.throwIfAborted();
      const dir = join(work, s);
      mkdirSync(dir, { recursive: true });
      const started = { at: new Date().toISOString(), t: Date.now(), load: loadAverage() };
      const stamp = (sec: Section | undefined) => {
        if (!sec) return;
        sec.startedAt = started.at;
        sec.seconds = (Date.now() - started.t) / 1000;
        sec.load = { before: started.load, after: loadAverage() };
      };
      if (s === 'provisioning') {
        await ensureAnsible(o.log);
        report.machine.tools = machineFacts().tools; // ansible may have just been installed
        const split = o.pin ? cpuSplit() : undefined;
        if (o.pin && !split) report.notes.push('provisioning: one CPU only, controller and fleet could not be kept apart');
        try {
          report.provisioning = await benchProvisioning({
            hostCounts: o.hostCounts,
            runs: o.runs,
            workloads: o.workloads,
            drivers: provisioningDrivers(o.tools, report.notes),
            cpuSplit: split,
            maxCellSeconds: o.maxCellSeconds,
            warmReads: o.warmReads,
            network: o.network,
            workDir: dir,
            log: o.log,
            signal: o.signal,
            onProgress: (p) => {
              report.provisioning = p;
              stamp(report.provisioning);
            },
          });
        } catch (e) {
          // Keep every cell measured before the stop (an interrupt, a fleet that would not start).
          const msg = (e as Error).message.split('\n')[0];
          if (report.provisioning) report.provisioning = { ...report.provisioning, status: 'partial', reason: `stopped early: ${msg}` };
          stamp(report.provisioning);
          throw e;
        }
        stamp(report.provisioning);
      } else if (s === 'inventory') {
        // Quick mode keeps the harness working with a tenth of the hosts.
        report.inventory = await benchInventoryCheck({ runs: o.runs, workDir: dir, log: o.log, hosts: o.quick ? 1_000 : 10_000, groups: 30 });
        stamp(report.inventory);
      } else {
        // A build or boot failure is a finding, not a reason to drop the other sections.
        const bench = s === 'build' ? benchBuild : benchBoot;
        let result: BuildResult | BootResult;
        try {
          result = await bench({
            quick: o.quick,
            runs: o.runs,
            workDir: dir,
            ciDir: o.reuseCi ?? join(work, 'ci'),
            reuse: Boolean(o.reuseCi),
            log: o.log,
            signal: o.signal,
          });
          // A section that stopped on an interrupt returns what it has: keep it, then stop.
          if (o.signal?.aborted) {
            stamp(result);
            if (s === 'build') report.build = result;
            else report.boot = result;
            o.signal.throwIfAborted();
          }
        } catch (e) {
          if (o.signal?.aborted) throw e;
          o.log(`${s} failed: ${(e as Error).message.split('\n')[0]}`);
          result = { status: 'failed', reason: (e as Error).message.split('\n').slice(0, 3).join(' '), figures: [], timelines: [] };
        }
        stamp(result);
        if (s === 'build') report.build = result;
        else report.boot = result;
      }
    }
  } catch (e) {
    // What was measured before the stop is still worth a report; then fail.
    report.notes.push(`run stopped early: ${(e as Error).message.split('\n')[0]}`);
    finish(report, o, work);
    const files = writeReports(report, o.outDir);
    o.log(`partial reports: ${files.json}, ${files.html}, ${files.markdown}`);
    throw e;
  }
  finish(report, o, work);
  const files = writeReports(report, o.outDir);
  return { report, files };
}

function finish(report: BenchReport, o: BenchOptions, work: string): void {
  report.finishedAt = new Date().toISOString();
  report.machine.loadAfter = loadAverage();
  if (o.keepWork) o.log(`work dir kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  carryOver(report, o);
}

/**
 * A run of some sections only (--only) keeps the other sections of the same
 * day's report, so a long build can be measured at one time and provisioning
 * at another; each section keeps its own time and load figures.
 */
export function carryOver(report: BenchReport, o: Pick<BenchOptions, 'sections' | 'outDir'>): void {
  const file = join(o.outDir, `${reportStem(report)}.json`);
  if (!existsSync(file)) return;
  let old: BenchReport;
  try {
    old = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  } catch {
    return;
  }
  if (old.format !== 1 || old.mode !== report.mode) return;
  // Provisioning cells (and peers within a cell) this run did not measure: see merge.ts.
  if (report.provisioning && old.provisioning && o.sections.includes('provisioning'))
    report.notes.push(...mergeProvisioning(report.provisioning, old.provisioning));
  for (const s of SECTIONS) {
    if (o.sections.includes(s) || !old[s]) continue;
    (report as unknown as Record<string, unknown>)[s] = old[s];
    const when = old[s]!.startedAt ?? old.startedAt;
    report.notes.push(`${s}: measured by an earlier run (${when}${old[s]!.load ? `, load ${old[s]!.load!.before.join(' ')}` : ''}), kept`);
  }
}
