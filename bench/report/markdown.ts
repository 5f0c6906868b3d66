// The Markdown summary: the table the README quotes and the closing note of
// the issue cites. Every figure is a median with its run count.
import type { BenchReport, Figure, ProvisioningResult, Section } from '../model.js';
import { PEER_TOOLS, type Tool } from '../model.js';
import {
  extraPeers,
  figureValue,
  goalMark,
  mib,
  peerWins,
  provisioningGoal,
  ratio,
  ratioCell,
  rowNotes,
  samplesWithRange,
  sectionMeta,
  toolName,
  toolsIn,
  workloadLabel,
} from './format.js';

/** Escape a value for a Markdown table cell. */
export function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function tableOf(headers: string[], rows: string[][]): string[] {
  return [`| ${headers.map(cell).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function sectionState(name: string, s: Section | undefined): string[] {
  if (!s) return [`_${name}: not run._`, ''];
  const meta = sectionMeta(s);
  if (meta) return [meta, '', ...sectionStatus(name, s)];
  return sectionStatus(name, s);
}

function sectionStatus(name: string, s: Section): string[] {
  if (s.status === 'skipped' || s.status === 'failed') return [`_${name} ${s.status}: ${s.reason ?? 'no reason recorded'}_`, ''];
  if (s.status === 'partial' && s.reason) return [`_Partial: ${s.reason}_`, ''];
  return [];
}

export function provisioningTable(p: ProvisioningResult): string[] {
  const rows = p.rows.map((r) => {
    const goal = provisioningGoal(r);
    const met = goal && r.ratio !== undefined ? r.ratio >= goal.target : undefined;
    return [
      String(r.hosts),
      workloadLabel[r.workload],
      r.phase,
      samplesWithRange(r.vrio),
      samplesWithRange(r.ansible),
      ratio(r.ratio),
      goal ? `${goal.text}${met === undefined ? '' : met ? ' (met)' : ' (not met)'}` : '',
      r.load !== undefined ? r.load.toFixed(1) : '',
    ];
  });
  return tableOf(['Hosts', 'Workload', 'Run', 'vrio', 'Ansible', 'Ansible / vrio', 'Goal', 'Load'], rows);
}

/** CPU seconds per cell: controller + hosts, medians; the load-robust companion of the wall-time table. */
export function cpuTable(p: ProvisioningResult): string[] {
  const d = cpuData(p);
  return d ? tableOf(d.headers, d.rows) : [];
}

export function cpuData(p: ProvisioningResult): TableData | undefined {
  const extra = extraPeers(p);
  const rows = p.rows
    .filter((r) => r.cpu)
    .map((r) => {
      const c = (t: Tool) => {
        const x = r.cpu?.[t];
        return x ? `${x.controller.median.toFixed(2)} + ${x.hosts.median.toFixed(2)}` : '–';
      };
      return [String(r.hosts), workloadLabel[r.workload], r.phase, c('vrio'), c('ansible'), ratio(r.cpuRatio), ...extra.map(c)];
    });
  return rows.length
    ? {
        headers: [
          'Hosts',
          'Workload',
          'Run',
          'vrio CPU s (controller + hosts)',
          'Ansible CPU s (controller + hosts)',
          'Ansible / vrio',
          ...extra.map((t) => `${toolName[t]} CPU s (controller + hosts)`),
        ],
        rows,
      }
    : undefined;
}

export interface TableData {
  headers: string[];
  rows: string[][];
}

/** Every peer's median wall time per cell (beyond plain Ansible, which the main table has). */
export function peersTable(p: ProvisioningResult): string[] {
  const d = peersData(p);
  return d ? tableOf(d.headers, d.rows) : [];
}

export function peersData(p: ProvisioningResult): TableData | undefined {
  const extra = extraPeers(p);
  if (!extra.length) return undefined;
  const cellOf = (r: ProvisioningResult['rows'][number], t: (typeof extra)[number]) => (r[t] ? samplesWithRange(r[t]) : r.notRun?.[t] ? 'not run' : 'failed');
  return {
    headers: ['Hosts', 'Workload', 'Run', 'vrio', ...extra.map((t) => toolName[t])],
    rows: p.rows.map((r) => [String(r.hosts), workloadLabel[r.workload], r.phase, samplesWithRange(r.vrio), ...extra.map((t) => cellOf(r, t))]),
  };
}

/** Each peer's median / vrio's, per cell: above 1× vrio is faster; a peer that wins is named. */
export function ratioTable(p: ProvisioningResult): string[] {
  const d = ratioData(p);
  return tableOf(d.headers, d.rows);
}

export function ratioData(p: ProvisioningResult): TableData {
  const peers = PEER_TOOLS.filter((t) => t === 'ansible' || extraPeers(p).includes(t));
  return {
    headers: ['Hosts', 'Workload', 'Run', ...peers.map((t) => `${toolName[t]} / vrio`)],
    rows: p.rows.map((r) => [String(r.hosts), workloadLabel[r.workload], r.phase, ...peers.map((t) => ratioCell(r, t))]),
  };
}

/** Peak controller memory per tool and host count (the read-only cold cell, else the first measured). */
export function memoryTable(p: ProvisioningResult): string[] {
  const d = memoryData(p);
  return d ? tableOf(d.headers, d.rows) : [];
}

export function memoryData(p: ProvisioningResult): TableData | undefined {
  const tools = toolsIn(p).filter((t) => p.rows.some((r) => r.memory?.[t]));
  if (!tools.length) return undefined;
  const rows: string[][] = [];
  for (const w of ['facts', 'write'] as const) {
    for (const n of p.hostCounts) {
      const r = p.rows.find((x) => x.hosts === n && x.workload === w && x.phase === 'cold');
      if (!r?.memory) continue;
      rows.push([String(n), workloadLabel[w], ...tools.map((t) => (r.memory?.[t] ? `${mib(r.memory[t]!.tree)} / ${mib(r.memory[t]!.largest)}` : '–'))]);
    }
  }
  return { headers: ['Hosts', 'Workload (cold)', ...tools.map((t) => toolName[t])], rows };
}

/** Where the controller and the fleet ran, in words. */
export function cpuSplitText(p: ProvisioningResult): string {
  return p.cpuSplit
    ? ` Controller and fleet on separate CPUs (taskset): every tool on CPU ${p.cpuSplit.controller}, every sshd and its sessions on CPU ${p.cpuSplit.fleet}.`
    : '';
}

export function figureTable(figures: Figure[]): string[] {
  return tableOf(
    ['Figure', 'Value', 'Runs', 'Goal', 'Met', 'Note'],
    figures.map((f) => [f.label, figureValue(f), f.samples ? String(f.samples.runs.length) : '1', f.goal ?? '', goalMark(f.goalMet), f.note ?? '']),
  );
}

export function machineLines(r: BenchReport): string[] {
  const m = r.machine;
  const load = (l?: number[]) => (l && l.length ? l.map((x) => x.toFixed(2)).join(' / ') : 'unknown');
  return [
    `- Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, ${m.os}, KVM ${m.kvm ? 'available' : 'not available'}`,
    `- Load average (1/5/15 min): before ${load(m.loadBefore)}, after ${load(m.loadAfter)}` +
      (m.loadBefore[0] > m.cpus ? ' — the machine was busy (other builds); treat absolute times as upper bounds' : ''),
    `- Tools: ${Object.entries(m.tools)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    ...(r.revision ? [`- Tree: ${r.revision}`] : []),
  ];
}

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push(`# vrio-appliance benchmark, ${r.startedAt.slice(0, 10)} (${r.mode})`, '');
  out.push(...machineLines(r), '');
  out.push('## Provisioning: vrio vs Ansible', '');
  out.push(...sectionState('Provisioning', r.provisioning));
  if (r.provisioning && r.provisioning.rows.length) {
    out.push(
      `Median wall time of ${r.provisioning.runsPerCell} run(s) per cell, range in brackets; ratio > 1 means vrio is faster. Load: the 1-minute load average when the cell finished (${r.machine.cpus} CPUs).`,
      '',
    );
    out.push(...provisioningTable(r.provisioning), '');
    const cpu = cpuTable(r.provisioning);
    if (cpu.length) {
      out.push(
        "CPU seconds per run (median): the tool on the controller with everything it waited for, plus the sshd sessions on the hosts and what they ran. Less sensitive to other load than wall time; Ansible's persistent ssh masters run detached and are not counted (in Ansible's favour)." +
          cpuSplitText(r.provisioning),
        '',
        ...cpu,
        '',
      );
    }
    const peers = peersTable(r.provisioning);
    if (peers.length) {
      out.push(
        'The other peers, same cells: Ansible batched (one shell task for the reads), Ansible with Mitogen, clush and parallel-ssh (the read-only workload: vrio\'s own facts command on every host, output collected, no plan). "not run": left out by design or to bound the time (see the settings and the notes).',
        '',
        ...peers,
        '',
        'Ratios, each peer / vrio (median wall time); above 1× vrio is faster, below 1× the peer wins the cell:',
        '',
        ...ratioTable(r.provisioning),
        '',
      );
      const wins = peerWins(r.provisioning);
      out.push(
        wins.length ? 'Where a peer wins:' : 'No peer is faster than vrio in any cell measured.',
        '',
        ...wins.map((w) => `- ${w}`),
        ...(wins.length ? [''] : []),
      );
    }
    const mem = memoryTable(r.provisioning);
    if (mem.length) {
      out.push(
        "Peak memory of the controller per run (median): the tool's whole process tree (summed RSS sampled every 100 ms; forked workers share pages, so an upper bound) / its largest single process (GNU time's maximum RSS).",
        '',
        ...mem,
        '',
      );
    }
    const st = r.provisioning.startup;
    if (st && (st.vrio || st.ansible)) {
      out.push(
        `Process start-up alone, included in every figure above: vrio (\`vrio --version\`: node + CLI modules) ${samplesWithRange(st.vrio)}; Ansible (\`ansible-playbook --version\`) ${samplesWithRange(st.ansible)}.`,
        '',
      );
    }
    const notes = rowNotes(r.provisioning);
    if (notes.length) out.push('Observations:', '', ...notes.map((n) => `- ${n}`), '');
    out.push('Settings:', '', ...Object.entries(r.provisioning.settings).map(([k, v]) => `- ${k}: ${v}`), '');
  }
  out.push('## Build', '');
  out.push(...sectionState('Build', r.build));
  if (r.build && r.build.figures.length) out.push(...figureTable(r.build.figures), '');
  out.push('## Boot', '');
  out.push(...sectionState('Boot', r.boot));
  if (r.boot && r.boot.figures.length) out.push(...figureTable(r.boot.figures), '');
  out.push('## Inventory check', '');
  out.push(...sectionState('Inventory check', r.inventory));
  if (r.inventory && r.inventory.figures.length)
    out.push('Whole process (`vrio inventory check FILE`, start-up included); medians.', '', ...figureTable(r.inventory.figures), '');
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
