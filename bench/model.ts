// The shape of one benchmark run: what the harness measures and what every
// report writer (JSON, Markdown, HTML) reads. Kept apart from the code that
// measures so that a report can be re-rendered from a saved JSON file.

/** Wall-clock samples of one measurement, in seconds, with their summary. */
export interface Samples {
  runs: number[];
  median: number;
  min: number;
  max: number;
}

/** Whether a section ran; a skipped or failed section says why. */
export type SectionStatus = 'ok' | 'partial' | 'skipped' | 'failed';

export interface Section {
  status: SectionStatus;
  /** Why it was skipped/failed, or what was left out (partial). */
  reason?: string;
  /** When this section was measured, how long it took, and the machine's load then. */
  startedAt?: string;
  seconds?: number;
  load?: { before: number[]; after: number[] };
}

/** vrio and its peers: Ansible as a user writes it, batched (one shell task for the reads), with Mitogen; ClusterShell and parallel-ssh. */
export type Tool = 'vrio' | 'ansible' | 'ansible-batched' | 'ansible-mitogen' | 'clush' | 'pssh';
export const PEER_TOOLS = ['ansible', 'ansible-batched', 'ansible-mitogen', 'clush', 'pssh'] as const satisfies readonly Tool[];
export type PeerTool = (typeof PEER_TOOLS)[number];
export type Workload = 'facts' | 'write';
export type Phase = 'cold' | 'warm';

/** One cell of the provisioning comparison: N hosts, one workload, one phase. */
export interface ProvisionRow {
  hosts: number;
  workload: Workload;
  phase: Phase;
  vrio?: Samples;
  ansible?: Samples;
  'ansible-batched'?: Samples;
  'ansible-mitogen'?: Samples;
  clush?: Samples;
  pssh?: Samples;
  /** ansible median / vrio median (how many times faster we are). */
  ratio?: number;
  /** Each peer's median / vrio's (ansible's is `ratio` again); below 1 the peer wins the cell. */
  ratios?: Partial<Record<PeerTool, number>>;
  /** Peers that were not run in this cell by design (bounded time, a workload they do not do), and why. */
  notRun?: Partial<Record<PeerTool, string>>;
  /**
   * Peak memory of the controller per run, MiB: the whole process tree of the
   * tool (sampled every 100 ms, summed RSS: forked workers share pages, so an
   * upper bound) and its largest single process (exact, from wait4's rusage).
   */
  memory?: Partial<Record<Tool, { tree: Samples; largest: Samples }>>;
  /** Why a tool has no samples here, or anything odd seen. */
  notes?: string[];
  /**
   * CPU seconds per run: on the controller (the tool's process and everything
   * it waited for) and on the hosts (the fleet's sshd sessions and what they
   * ran). Far less sensitive to other load on the machine than wall time.
   */
  cpu?: Partial<Record<Tool, { controller: Samples; hosts: Samples }>>;
  /** Ansible / vrio of the median total CPU seconds (controller + hosts). */
  cpuRatio?: number;
  /** Each peer / vrio of the median total CPU seconds. */
  cpuRatios?: Partial<Record<PeerTool, number>>;
  /** When this cell was measured and the 1-minute load then (rows may come from different runs). */
  measuredAt?: string;
  load?: number;
}

export interface ProvisioningResult extends Section {
  /** How each tool was run, in words a reader can reproduce. */
  settings: Record<string, string>;
  /** Host counts measured. */
  hostCounts: number[];
  runsPerCell: number;
  rows: ProvisionRow[];
  /** Process start-up alone (`vrio --version`, `ansible-playbook --version`): part of every run above. */
  startup?: Partial<Record<Tool, Samples>>;
  /** CPUs the tools ran on (taskset): the controller's and the fleet's sshds', when they were kept apart. */
  cpuSplit?: { controller: string; fleet: string };
}

/** A named span on a timeline, seconds from the timeline's start. */
export interface Span {
  name: string;
  start: number;
  end: number;
}

export interface Timeline {
  label: string;
  spans: Span[];
  /** Why this run did not finish (e.g. SSH never became ready): its spans are not a duration to compare. */
  failed?: string;
}

/** One figure in a table: a time, a size or a percentage. */
export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: 's' | 'bytes' | '%';
  samples?: Samples;
  /** The project goal this figure is held against, in words (e.g. "<= 5 s"). */
  goal?: string;
  /** Whether the goal is met, when it can be judged. */
  goalMet?: boolean;
  note?: string;
}

export interface BuildResult extends Section {
  figures: Figure[];
  timelines: Timeline[];
}

export interface BootResult extends Section {
  figures: Figure[];
  timelines: Timeline[];
}

export interface MachineFacts {
  hostname: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  os: string;
  kvm: boolean;
  /** /proc/loadavg at the start and end of the run (1, 5, 15 min). */
  loadBefore: number[];
  loadAfter?: number[];
  tools: Record<string, string>;
}

export interface BenchReport {
  /** Format version of this document. */
  format: 1;
  mode: 'full' | 'quick';
  startedAt: string;
  finishedAt?: string;
  /** git describe of the tree measured, when known. */
  revision?: string;
  machine: MachineFacts;
  provisioning?: ProvisioningResult;
  build?: BuildResult;
  boot?: BootResult;
  /** `vrio inventory check` of a big generated inventory (bench/workloads/inventory-check.ts). */
  inventory?: BuildResult;
  notes: string[];
}
