// The self-contained HTML report: tables plus inline SVG charts (the speed-up
// of vrio over each peer, each tool's time per workload, build and boot
// timelines, the trend over earlier runs). One file, no scripts, no network.
// Every text is escaped; the Markdown code spans the labels share with the
// Markdown report (`vrio build`) become <code>, so no Markdown shows as-is.
import type { BenchReport, Figure, Section } from '../model.js';
import { basename } from 'node:path';
import { ratioCharts, timeCharts, trendCharts, withFailures } from './charts.js';
import { figureValue, peerWins, goalMark, provisioningGoal, ratio, rowNotes, samplesWithRange, sectionMeta, workloadLabel } from './format.js';
import { cpuData, cpuSplitText, memoryData, peersData, ratioData } from './markdown.js';
import { runsFor, type History } from './history.js';
import { esc, timelineChart } from './svg.js';

/** Escaped text with its `code spans` as <code>. */
export function inline(s: string): string {
  return esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function table(headers: string[], rows: string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function list(items: string[]): string {
  return `<ul>${items.map((n) => `<li>${inline(n)}</li>`).join('')}</ul>`;
}

function state(name: string, s: Section | undefined): string {
  if (!s) return `<p class="note">${esc(name)}: not run.</p>`;
  const meta = sectionMeta(s) ? `<p>${esc(sectionMeta(s))}</p>` : '';
  if (s.status === 'ok') return meta;
  const why = (s.reason ?? 'no reason recorded').split('; ');
  const head = `<p class="note">${esc(name)} ${esc(s.status)}${why.length === 1 ? `: ${inline(why[0])}</p>` : ':</p>'}`;
  return `${meta}${head}${why.length > 1 ? `<div class="note">${list(why)}</div>` : ''}`;
}

function charts(svgs: string[]): string {
  return svgs.length ? `<div class="charts">${svgs.join('\n')}</div>` : '';
}

function figureTable(figures: Figure[]): string {
  return table(
    ['Figure', 'Value', 'Runs', 'Goal', 'Met', 'Note'],
    figures.map((f) => [f.label, figureValue(f), f.samples ? String(f.samples.runs.length) : '1', f.goal ?? '', goalMark(f.goalMet), f.note ?? '']),
  );
}

const STYLE = `body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}.note{color:#a15c00}code{background:#f4f4f4;padding:1px 4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{font-weight:bold}`;

export interface HtmlOptions {
  /** Earlier runs for the trend charts, and where they came from. */
  history?: History;
}

export function renderHtml(r: BenchReport, o: HtmlOptions = {}): string {
  const m = r.machine;
  const load = (l?: number[]) => (l && l.length ? l.map((x) => x.toFixed(2)).join(' / ') : 'unknown');
  const body: string[] = [];
  body.push(`<h1>vrio-appliance benchmark, ${esc(r.startedAt.slice(0, 10))} (${esc(r.mode)})</h1>`);
  body.push('<h2>Machine</h2><dl>');
  const facts: [string, string][] = [
    ['CPU', `${m.cpus} × ${m.cpuModel}`],
    ['Memory', `${m.memoryGiB} GiB`],
    ['Kernel / OS', `${m.kernel} / ${m.os}`],
    ['KVM', m.kvm ? 'available' : 'not available'],
    ['Load before', load(m.loadBefore)],
    ['Load after', load(m.loadAfter)],
    ['Run', `${r.startedAt} – ${r.finishedAt ?? '?'}${r.revision ? `, tree ${r.revision}` : ''}`],
    ...Object.entries(m.tools),
  ];
  for (const [k, v] of facts) body.push(`<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`);
  body.push('</dl>');

  body.push('<h2>Provisioning: vrio vs Ansible</h2>', state('Provisioning', r.provisioning));
  const p = r.provisioning;
  if (p && p.rows.length) {
    body.push(
      `<p>How many times faster vrio is than Ansible, per workload and host count (ratio of the medians of ${p.runsPerCell} run(s); above 1× vrio is faster; warm runs dashed). A red cross marks a cell where a tool failed; its tooltip says why.</p>`,
      charts(ratioCharts(p)),
      '<h3>Time per workload</h3>',
      charts(timeCharts(p)),
    );
    body.push(
      table(
        ['Hosts', 'Workload', 'Run', 'vrio', 'Ansible', 'Ansible / vrio', 'Goal', 'Load (1 min)', 'Measured'],
        p.rows.map((row) => {
          const g = provisioningGoal(row);
          return [
            String(row.hosts),
            workloadLabel[row.workload],
            row.phase,
            samplesWithRange(row.vrio),
            samplesWithRange(row.ansible),
            ratio(row.ratio),
            g?.text ?? '',
            row.load !== undefined ? row.load.toFixed(1) : '',
            row.measuredAt ? row.measuredAt.slice(11, 16) + ' UTC' : '',
          ];
        }),
      ),
    );
    body.push('<h3>Settings</h3><dl>');
    for (const [k, v] of Object.entries(p.settings)) body.push(`<dt>${esc(k)}</dt><dd>${inline(v)}</dd>`);
    body.push('</dl>');
    const peers = peersData(p);
    if (peers) {
      const wins = peerWins(p);
      body.push(
        '<h3>The other peers</h3>',
        `<p>${inline('Ansible batched (one shell task for the reads), Ansible with Mitogen, clush and parallel-ssh (the read-only workload: vrio\'s own facts command on every host, output collected, no plan), median wall time; "not run": left out by design or to bound the time.')}</p>`,
        table(peers.headers, peers.rows),
        '<p>Each peer / vrio (median wall time); above 1× vrio is faster, below 1× the peer wins the cell.</p>',
        table(ratioData(p).headers, ratioData(p).rows),
        wins.length ? `<p>Where a peer wins:</p>${list(wins)}` : '<p>No peer is faster than vrio in any cell measured.</p>',
      );
    }
    const mem = memoryData(p);
    if (mem)
      body.push(
        '<h3>Controller memory</h3>',
        "<p>Peak memory of the controller per run (median): the tool's whole process tree (summed RSS sampled every 100 ms; forked workers share pages, so an upper bound) / its largest single process (GNU time's maximum RSS).</p>",
        table(mem.headers, mem.rows),
      );
    const cpu = cpuData(p);
    if (cpu) {
      body.push(
        '<h3>CPU seconds per run (median)</h3>',
        `<p>${esc("The tool on the controller with everything it waited for, plus the sshd sessions on the hosts and what they ran: less sensitive to other load than wall time. Ansible's persistent ssh masters run detached and are not counted (in Ansible's favour)." + cpuSplitText(p))}</p>`,
        table(cpu.headers, cpu.rows),
      );
    }
    if (p.startup && (p.startup.vrio || p.startup.ansible)) {
      body.push(
        `<p>${inline(`Process start-up alone, included in every figure above: vrio (\`vrio --version\`: node + CLI modules) ${samplesWithRange(p.startup.vrio)}; Ansible (\`ansible-playbook --version\`) ${samplesWithRange(p.startup.ansible)}.`)}</p>`,
      );
    }
    const notes = rowNotes(p);
    if (notes.length) body.push('<h3>Observations</h3>', list(notes));
  }

  body.push('<h2>Build</h2>', state('Build', r.build));
  if (r.build) {
    if (r.build.timelines.length) body.push(timelineChart('Build steps', withFailures(r.build, r.build.timelines)));
    if (r.build.figures.length) body.push(figureTable(r.build.figures));
  }
  body.push('<h2>Boot</h2>', state('Boot', r.boot));
  if (r.boot) {
    if (r.boot.timelines.length) body.push(timelineChart('Boot: QEMU start to kernel, init, SSH ready', withFailures(r.boot, r.boot.timelines)));
    if (r.boot.figures.length) body.push(figureTable(r.boot.figures));
  }
  body.push('<h2>Inventory check</h2>', state('Inventory check', r.inventory));
  if (r.inventory?.figures.length)
    body.push('<p>Whole process (<code>vrio inventory check FILE</code>, start-up included); medians.</p>', figureTable(r.inventory.figures));
  const runs = runsFor(r, o.history?.reports ?? []);
  const trends = trendCharts(runs);
  if (trends.length) {
    // The folder's name only: a report is shared and kept in the repository, and must not name the machine's paths.
    const from = o.history?.dir ? ` (${runs.length - 1} earlier ${r.mode} run(s) from ${basename(o.history.dir)}/)` : '';
    body.push('<h2>Over time</h2>', `<p>${esc(`This run and every earlier saved ${r.mode} report${from}, one point per run.`)}</p>`, charts(trends));
    if (o.history?.skipped.length) body.push('<p class="note">Left out:</p>', `<div class="note">${list(o.history.skipped)}</div>`);
  }
  if (r.notes.length) body.push('<h2>Notes</h2>', list(r.notes));

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vrio-appliance benchmark ${esc(r.startedAt.slice(0, 10))}</title>
<style>${STYLE}</style></head>
<body>
${body.filter(Boolean).join('\n')}
</body></html>
`;
}
