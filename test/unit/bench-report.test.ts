// The report writers, fed a real quick-run report (bench/testdata): the
// Markdown table the README quotes, the self-contained HTML with inline SVG
// charts, and the three files written per run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BenchReport, ProvisionRow } from '../../bench/model.js';
import { inline, renderHtml } from '../../bench/report/html.js';
import { cell, renderMarkdown } from '../../bench/report/markdown.js';
import { logScale, tickLabel } from '../../bench/report/scale.js';
import { timelineChart, xyChart } from '../../bench/report/svg.js';
import { writeReports } from '../../bench/report/write.js';
import { carryOver } from '../../bench/harness.js';
import { dataPath } from '../../lib/paths.js';

const sample = (): BenchReport => JSON.parse(readFileSync(dataPath('bench', 'testdata', 'quick-report.json'), 'utf8')) as BenchReport;
const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function svgsOf(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

/** The plotted points of a chart: series, data values and drawn position. */
function pointsOf(svg: string): { series: string; x: number; y: number; cx: number; cy: number }[] {
  return [...svg.matchAll(/<circle class="point" data-series="([^"]*)" data-x="([^"]*)" data-y="([^"]*)" cx="([^"]*)" cy="([^"]*)"/g)].map((m) => ({
    series: m[1],
    x: Number(m[2]),
    y: Number(m[3]),
    cx: Number(m[4]),
    cy: Number(m[5]),
  }));
}

/** Labelled ticks of an axis: value -> position (x or y). */
function ticksOf(svg: string, axis: 'x' | 'y'): Map<number, number> {
  const re = new RegExp(`<text class="tick-${axis}" data-v="([^"]*)" x="([^"]*)" y="([^"]*)"`, 'g');
  return new Map([...svg.matchAll(re)].map((m) => [Number(m[1]), axis === 'x' ? Number(m[2]) : Number(m[3]) - 4]));
}

/** A build and boot section in the shapes the suites produce. */
function withBuildAndBoot(r: BenchReport): BenchReport {
  r.build = {
    status: 'ok',
    figures: [
      { id: 'kernel-cold', label: 'Cold `vrio kernel build`', value: 212.4, unit: 's' },
      { id: 'kernel-overhead', label: 'vs raw make', value: 14.2, unit: '%' },
      {
        id: 'kernel-noop',
        label: 'No-op build',
        value: 0.61,
        unit: 's',
        samples: { runs: [0.6, 0.61, 0.7], median: 0.61, min: 0.6, max: 0.7 },
        goal: '~1 s',
        goalMet: true,
      },
      { id: 'kernel-bzimage-size', label: 'bzImage size', value: 1_234_567, unit: 'bytes' },
    ],
    timelines: [
      {
        label: 'vrio kernel build (cold)',
        spans: [
          { name: 'unpacking', start: 0, end: 31.5 },
          { name: 'compiling', start: 31.5, end: 200 },
          { name: 'staging', start: 200, end: 212.4 },
        ],
      },
      { label: 'raw make', spans: [{ name: 'make bzImage modules', start: 0, end: 180 }] },
    ],
  };
  r.boot = {
    status: 'ok',
    figures: [{ id: 'boot-bios-tcg-ssh', label: 'BIOS, TCG: SSH ready', value: 9.8, unit: 's', goal: '<= 15 s', goalMet: true }],
    timelines: [
      {
        label: 'iohyp BIOS cdrom TCG',
        spans: [
          { name: 'firmware', start: 0, end: 0.9 },
          { name: 'kernel', start: 0.9, end: 2.1 },
          { name: 'init to SSH', start: 2.1, end: 9.8 },
        ],
      },
    ],
  };
  return r;
}

describe('bench Markdown summary', () => {
  it('has one row per provisioning cell with both medians and the ratio', () => {
    const r = sample();
    const md = renderMarkdown(r);
    const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.equal(rows.length, r.provisioning!.rows.length);
    const first = r.provisioning!.rows[0];
    const line = rows[0];
    assert.match(line, new RegExp(`^\\| ${first.hosts} \\| facts`));
    assert.ok(line.includes(`${first.vrio!.median.toFixed(2)} s`), line);
    assert.ok(line.includes(`${first.ansible!.median.toFixed(2)} s`) || line.includes(`${first.ansible!.median.toFixed(1)} s`), line);
    assert.match(line, /\d(\.\d)?×/);
  });

  it('records the machine, its load and the tool versions, and says how each tool ran', () => {
    const md = renderMarkdown(sample());
    assert.match(md, /- Machine: 2 × AMD EPYC/);
    assert.match(md, /Load average \(1\/5\/15 min\): before 7\.93/);
    assert.match(md, /ansible 2\.14\.18/);
    assert.match(md, /forks = number of hosts, pipelining = True/);
  });

  it('says which sections did not run rather than leaving them out', () => {
    const md = renderMarkdown(sample());
    assert.match(md, /## Build\n\n_Build: not run._/);
  });

  it('shows build and boot figures with their goals', () => {
    const md = renderMarkdown(withBuildAndBoot(sample()));
    assert.match(md, /\| No-op build \| 0\.61 s \| 3 \| ~1 s \| yes \|/);
    assert.match(md, /\| vs raw make \| \+14\.2 % \|/);
    assert.match(md, /\| bzImage size \| 1\.18 MiB \|/);
    assert.match(md, /\| BIOS, TCG: SSH ready \| 9\.80 s \| 1 \| <= 15 s \| yes \|/);
  });

  it('lists each observation once with the cells it applies to', () => {
    const md = renderMarkdown(sample());
    assert.match(
      md,
      /- vrio: plan reported host errors \(expected: the bench kernel has no module support\) \(1\/facts\/cold, 1\/facts\/warm, 5\/facts\/cold, 5\/facts\/warm\)/,
    );
  });

  it('separates process start-up from the per-run figures', () => {
    const r = sample();
    r.provisioning!.startup = {
      vrio: { runs: [0.41, 0.4, 0.45], median: 0.41, min: 0.4, max: 0.45 },
      ansible: { runs: [1.2, 1.1, 1.3], median: 1.2, min: 1.1, max: 1.3 },
    };
    const md = renderMarkdown(r);
    assert.match(
      md,
      /Process start-up alone, included in every figure above: vrio \(`vrio --version`: node \+ CLI modules\) 0\.41 s \(0\.40–0\.45 s, n=3\); Ansible \(`ansible-playbook --version`\) 1\.20 s \(1\.10–1\.30 s, n=3\)\./,
    );
    assert.match(renderHtml(r), /<code>ansible-playbook --version<\/code>\) 1\.20 s/);
  });

  it('escapes table cell separators in free text', () => {
    assert.equal(cell('a|b\nc'), 'a\\|b c');
  });
});

describe('bench HTML report', () => {
  it('is one self-contained file: no scripts, no external resources', () => {
    const html = renderHtml(withBuildAndBoot(sample()));
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\s(src|href)=/i);
    assert.doesNotMatch(html, /url\(/i);
    assert.match(html, /^<!doctype html>/);
  });

  it('leads with the speed-up of vrio over Ansible per workload and host count, then each tool over hosts, the build and boot timelines and the trend', () => {
    const r = withBuildAndBoot(sample());
    const html = renderHtml(r);
    const titles = svgsOf(html).map((svg) => /aria-label="([^"]*)"/.exec(svg)![1]);
    assert.equal((html.match(/<svg/g) ?? []).length, (html.match(/<\/svg>/g) ?? []).length);
    assert.deepEqual(titles, [
      'vrio vs Ansible: times faster (wall time)',
      'facts + plan (read-only), cold run',
      'facts + plan (read-only), warm run',
      'write (files and dirs), cold run',
      'write (files and dirs), warm run',
      'Build steps',
      'Boot: QEMU start to kernel, init, SSH ready',
      'Provisioning over time',
      'Build, boot and inventory check over time (figures with a goal)',
    ]);
  });

  it('plots the ratio of every cell at its host count, with the last value written beside each line', () => {
    const r = sample();
    const ratioSvg = svgsOf(renderHtml(r))[0];
    const pts = pointsOf(ratioSvg);
    const rows = r.provisioning!.rows;
    assert.equal(pts.length, rows.length);
    for (const row of rows) {
      const p = pts.find((q) => q.series === `${row.workload} ${row.phase}` && q.x === row.hosts);
      assert.ok(p, `${row.hosts} ${row.workload} ${row.phase} plotted`);
      assert.equal(p.y, row.ratio);
    }
    // 5 hosts, write warm: 12.18 -> "12×"
    assert.match(ratioSvg, /class="end-label"[^>]*>write warm 12×</);
    assert.match(ratioSvg, />1× = as fast</);
  });

  it('draws the goals on the ratio chart when a run has them (50 hosts)', () => {
    const r = sample();
    for (const row of r.provisioning!.rows) if (row.hosts === 5) row.hosts = 50;
    const ratioSvg = svgsOf(renderHtml(r))[0];
    assert.match(ratioSvg, />goal 5× \(cold\)</);
    assert.match(ratioSvg, />goal 10× \(warm\)</);
  });

  it('puts host counts at their real place on a log axis, not at equal steps', () => {
    const r = sample(); // 1 and 5 hosts
    const svg = svgsOf(renderHtml(r))[1];
    const tick = ticksOf(svg, 'x');
    assert.deepEqual(
      [...tick.keys()].filter((v) => [1, 10].includes(v)),
      [1, 10],
    );
    const decade = tick.get(10)! - tick.get(1)!;
    const at = (hosts: number) => pointsOf(svg).find((p) => p.series === 'vrio' && p.x === hosts)!.cx;
    assert.ok(Math.abs(at(1) - tick.get(1)!) < 0.2, 'x = 1 at the tick 1');
    assert.ok(Math.abs(at(5) - at(1) - Math.log10(5) * decade) < 0.2, `5 hosts at log10(5) of a decade: ${at(5) - at(1)} vs ${Math.log10(5) * decade}`);
  });

  it('uses a log time axis: Ansible at 100 s does not flatten vrio at 1 s', () => {
    const r = sample();
    const svg = svgsOf(renderHtml(r))[1];
    const tick = ticksOf(svg, 'y');
    const decades = [...tick.keys()].filter((v) => Math.log10(v) % 1 === 0);
    assert.ok(decades.length >= 2, `decade ticks: ${decades}`);
    // every decade the same height
    const gaps = decades.slice(1).map((v, i) => tick.get(decades[i])! - tick.get(v)!);
    for (const g of gaps) assert.ok(Math.abs(g - gaps[0]) < 0.2, `decades equally tall: ${gaps}`);
    const row = r.provisioning!.rows[0];
    const vrio = pointsOf(svg).find((p) => p.series === 'vrio' && p.x === row.hosts)!;
    const expected = tick.get(decades[0])! - Math.log10(row.vrio!.median / decades[0]) * gaps[0];
    assert.ok(Math.abs(vrio.cy - expected) < 0.2, `vrio at its log height: ${vrio.cy} vs ${expected}`);
  });

  it('marks a failed measurement as failed, with the reason as its tooltip, and draws no point for it', () => {
    const r = sample();
    const row = r.provisioning!.rows.find((x) => x.hosts === 5 && x.workload === 'facts' && x.phase === 'cold')!;
    delete row.ansible;
    delete row.ratio;
    row.notes = ['ansible failed: ssh: connect to host 10.213.0.6: Connection refused (log: /tmp/w/facts-cold-ansible-1.log)'];
    const svgs = svgsOf(renderHtml(r));
    const time = svgs[1];
    assert.equal(pointsOf(time).filter((p) => p.series === 'Ansible' && p.x === 5).length, 0, 'no Ansible point at 5 hosts');
    const mark = /<g class="failed" data-series="Ansible" data-x="5"><title>([^<]*)<\/title>[\s\S]*?>failed<\/text><\/g>/.exec(time);
    assert.ok(mark, 'a failed mark for Ansible at 5 hosts');
    assert.match(mark[1], /Ansible, 5 hosts: failed: ansible failed: ssh: connect to host 10\.213\.0\.6: Connection refused/);
    assert.match(svgs[0], /<g class="failed" data-series="facts cold" data-x="5"><title>facts cold, 5 hosts: failed: ansible failed: ssh: connect/);
  });

  it('marks a failed boot as a failed row, not as the short bar of the steps it reached', () => {
    const r = withBuildAndBoot(sample());
    r.boot!.timelines.push({
      label: 'iohyp, BIOS, KVM',
      spans: [{ name: 'firmware', start: 0, end: 0.105 }],
      failed: 'SSH to 127.0.0.1:43451 not ready after 60 s',
    });
    const boot = svgsOf(renderHtml(r)).find((s) => s.includes('aria-label="Boot'))!;
    assert.match(
      boot,
      /<g class="failed" data-row="iohyp, BIOS, KVM"><title>iohyp, BIOS, KVM: failed: SSH to 127\.0\.0\.1:43451 not ready after 60 s<\/title>/,
    );
    assert.match(boot, /✕ failed: SSH to 127\.0\.0\.1:43451/);
    assert.equal((boot.match(/<rect class="span"/g) ?? []).length, 3, 'only the TCG row has bars');
  });

  it('reads a failed boot from the section reason of a report saved before timelines said so', () => {
    const r = JSON.parse(readFileSync(dataPath('bench', 'testdata', 'full-report.json'), 'utf8')) as BenchReport;
    assert.equal(
      r.boot!.timelines.some((t) => t.failed),
      false,
    );
    const boot = svgsOf(renderHtml(r)).find((s) => s.includes('aria-label="Boot'))!;
    assert.match(boot, /<g class="failed" data-row="iohyp, BIOS, KVM"><title>iohyp, BIOS, KVM: failed: SSH never became ready</);
    assert.equal(
      (boot.match(/<rect class="span"/g) ?? []).length,
      r.boot!.timelines.filter((t) => t.label !== 'iohyp, BIOS, KVM').reduce((n, t) => n + t.spans.length, 0),
    );
  });

  it('shows no Markdown: code spans become <code>, everything escaped', () => {
    const r = JSON.parse(readFileSync(dataPath('bench', 'testdata', 'full-report.json'), 'utf8')) as BenchReport;
    r.build!.figures.push({ id: 'x', label: 'Odd `a<b> & c` label', value: 1, unit: 's' });
    const html = renderHtml(r);
    assert.doesNotMatch(html, /`/, 'no backtick anywhere in the page');
    assert.match(html, /<td>Cold <code>vrio kernel build<\/code> \(CI test kernel/);
    assert.match(html, /<dd>facts \+ plan: <code>vrio provision plan -i inventory\.yaml --json<\/code>/);
    assert.match(html, /<td>Odd <code>a&lt;b&gt; &amp; c<\/code> label<\/td>/);
    assert.equal(inline('`x` and <y>'), '<code>x</code> and &lt;y&gt;');
  });

  it('escapes text from tool output and notes', () => {
    const r = sample();
    r.notes.push('a host said <script>alert(1)</script> & left');
    const html = renderHtml(r);
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; left/);
  });
});

describe('bench report trend over runs', () => {
  const earlierRun = (date: string, scale: number): BenchReport => {
    const r = withBuildAndBoot(sample());
    r.startedAt = `${date}T10:00:00.000Z`;
    for (const row of r.provisioning!.rows) for (const s of [row.vrio, row.ansible]) if (s) s.median *= scale;
    return r;
  };

  it('draws one point per earlier report in the output directory, one series per workload and tool, and names what it left out', () => {
    const out = join(tmp, 'trend');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '2026-11-20-quick.json'), JSON.stringify(earlierRun('2026-11-20', 2)));
    writeFileSync(join(out, '2026-11-22-quick.json'), JSON.stringify(earlierRun('2026-11-22', 1.5)));
    writeFileSync(join(out, '2026-11-23-quick.json'), '{ not json');
    writeFileSync(join(out, 'package.json'), '{"name": "not a report"}'); // the working directory holds other JSON
    const full = earlierRun('2026-11-21', 3);
    full.mode = 'full';
    writeFileSync(join(out, '2026-11-21.json'), JSON.stringify(full)); // a full run: not compared with quick ones
    const files = writeReports(withBuildAndBoot(sample()), out);
    const html = readFileSync(files.html, 'utf8');
    const trend = svgsOf(html).find((s) => s.includes('aria-label="Provisioning over time"'))!;
    const pts = pointsOf(trend);
    const names = [...new Set(pts.map((p) => p.series))];
    assert.deepEqual(names.sort(), [
      'Ansible, facts cold, 5 hosts',
      'Ansible, facts warm, 5 hosts',
      'Ansible, write cold, 5 hosts',
      'Ansible, write warm, 5 hosts',
      'vrio, facts cold, 5 hosts',
      'vrio, facts warm, 5 hosts',
      'vrio, write cold, 5 hosts',
      'vrio, write warm, 5 hosts',
    ]);
    const vrio = pts.filter((p) => p.series === 'vrio, facts cold, 5 hosts').sort((a, b) => a.x - b.x);
    const now = sample().provisioning!.rows.find((x) => x.hosts === 5 && x.workload === 'facts' && x.phase === 'cold')!.vrio!.median;
    assert.deepEqual(
      vrio.map((p) => [new Date(p.x).toISOString().slice(0, 10), Number(p.y.toFixed(6))]),
      [
        ['2026-11-20', Number((now * 2).toFixed(6))],
        ['2026-11-22', Number((now * 1.5).toFixed(6))],
        ['2026-11-25', Number(now.toFixed(6))],
      ],
    );
    assert.ok(vrio[0].cx < vrio[1].cx && vrio[1].cx < vrio[2].cx, 'oldest on the left');
    assert.match(html, /Left out:[\s\S]*2026-11-23-quick\.json: /);
    assert.doesNotMatch(html, /package\.json/);
    const figs = svgsOf(html).find((s) => s.includes('over time (figures with a goal)'))!;
    assert.equal(pointsOf(figs).filter((p) => p.series === 'No-op build').length, 3);
  });

  it('reads the history from another directory when told to (--history)', () => {
    const hist = join(tmp, 'history');
    mkdirSync(hist, { recursive: true });
    writeFileSync(join(hist, '2026-11-20-quick.json'), JSON.stringify(earlierRun('2026-11-20', 2)));
    const files = writeReports(sample(), join(tmp, 'trend-elsewhere'), { history: hist });
    const trend = svgsOf(readFileSync(files.html, 'utf8')).find((s) => s.includes('aria-label="Provisioning over time"'))!;
    assert.equal(pointsOf(trend).filter((p) => p.series === 'vrio, facts cold, 5 hosts').length, 2);
  });
});

describe('bench SVG charts', () => {
  it('log axes span whole decades around the data, at most five', () => {
    const s = logScale([1, 10, 50]);
    assert.deepEqual([s.lo, s.hi, s.decades], [1, 100, 2]);
    assert.deepEqual(s.ticks, [1, 10, 100]);
    assert.deepEqual(s.minorTicks, [2, 5, 20, 50]);
    assert.equal(s.at(10), 0.5);
    assert.ok(Math.abs(s.at(50) - Math.log10(50) / 2) < 1e-12);
    const t = logScale([0, 0.063, 350]); // a span starting at 0 s is drawn from the axis start
    assert.deepEqual([t.lo, t.hi], [0.01, 1000]);
    assert.equal(t.at(0), 0);
    assert.equal(logScale([0.001, 5000]).lo, 0.1, 'at most five decades');
    assert.deepEqual([logScale([4.4, 31], { include: [1] }).lo, logScale([4.4, 31], { include: [1] }).hi], [1, 100]);
    assert.equal(tickLabel(0.1 * 3), '0.3');
  });

  it('puts equal ratios at equal distances: ticks 1, 10, 100 evenly spaced', () => {
    const svg = xyChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      x: 'log',
      series: [
        {
          name: 'A',
          points: [
            { x: 1, y: 0.5 },
            { x: 50, y: 80 },
          ],
        },
      ],
      format: String,
      xFormat: String,
    });
    for (const axis of ['x', 'y'] as const) {
      const tick = ticksOf(svg, axis);
      const d1 = tick.get(10)! - tick.get(1)!;
      const d2 = tick.get(100)! - tick.get(10)!;
      assert.ok(Math.abs(d1 - d2) < 0.2 && Math.abs(d1) > 50, `${axis}: ${d1} vs ${d2}`);
    }
  });

  it('shows a 4.9 s rebuild beside a 350 s cold build: the timeline axis is logarithmic', () => {
    const svg = timelineChart('t', [
      {
        label: 'cold',
        spans: [
          { name: 'a', start: 0, end: 40 },
          { name: 'b', start: 40, end: 350 },
        ],
      },
      { label: 'rebuild', spans: [{ name: 'c', start: 1, end: 4.9 }] },
    ]);
    const widths = [...svg.matchAll(/<rect class="span" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const [a, b, c] = widths;
    const axis = a[1] + b[1];
    assert.ok(c[1] / axis > 0.2, `the rebuild spans ${((100 * c[1]) / axis).toFixed(0)} % of the cold build's length`);
    assert.match(svg, /rebuild: c 1–4\.9 s \(3\.9 s\)/);
    assert.match(svg, />seconds since the start \(log scale\)</);
  });
});

describe('bench report files', () => {
  it('writes <date>.json, .html and .md, with nothing half-written left', () => {
    const r = sample();
    const out = join(tmp, 'results');
    const files = writeReports(r, out);
    assert.equal(files.json, join(out, '2026-11-25-quick.json'));
    for (const f of [files.json, files.html, files.markdown]) assert.ok(existsSync(f), f);
    assert.deepEqual(readdirSync(out).sort(), ['2026-11-25-quick.html', '2026-11-25-quick.json', '2026-11-25-quick.md']);
    // The JSON re-renders to the same report.
    const back = JSON.parse(readFileSync(files.json, 'utf8')) as BenchReport;
    assert.equal(renderMarkdown(back), readFileSync(files.markdown, 'utf8'));
  });

  it('names a full run by its date alone', () => {
    const r = sample();
    r.mode = 'full';
    const files = writeReports(r, join(tmp, 'full'));
    assert.match(files.markdown, /\/2026-11-25\.md$/);
  });
});

describe('bench runs of some sections (--only)', () => {
  it('keep the other sections of the same day, each with its own time and load', () => {
    const out = join(tmp, 'merge');
    const earlier = withBuildAndBoot(sample());
    earlier.build!.startedAt = '2026-11-25T19:31:00.000Z';
    earlier.build!.seconds = 612;
    earlier.build!.load = { before: [3.1, 2.0, 1.5], after: [4.2, 3.0, 2.0] };
    writeReports(earlier, out);

    const now = sample();
    now.provisioning!.startedAt = '2026-11-25T19:55:00.000Z';
    carryOver(now, { sections: ['provisioning'], outDir: out });
    assert.deepEqual(now.build, earlier.build, 'build kept');
    assert.deepEqual(now.boot, earlier.boot, 'boot kept');
    assert.equal(now.provisioning!.startedAt, '2026-11-25T19:55:00.000Z', 'the section just measured is not replaced');
    assert.ok(
      now.notes.some((n) => n.startsWith('build: measured by an earlier run (2026-11-25T19:31:00.000Z, load 3.1 2 1.5)')),
      now.notes.join('\n'),
    );
    const md = renderMarkdown(now);
    assert.match(md, /## Build\n\nMeasured 2026-11-25 19:31 UTC, took 10 min 12 s; load \(1 min\) 3\.10 → 4\.20\./);
  });

  it('keep provisioning rows of host counts this run did not measure', () => {
    const out = join(tmp, 'merge-rows');
    const earlier = sample(); // host counts 1 and 5
    earlier.provisioning!.rows.forEach((r) => (r.measuredAt = '2026-11-25T19:05:00.000Z'));
    writeReports(earlier, out);
    const now = sample();
    now.provisioning!.rows = now.provisioning!.rows.filter((r) => r.hosts === 5).map((r) => ({ ...r, measuredAt: '2026-11-25T19:55:00.000Z' }));
    now.provisioning!.hostCounts = [5];
    carryOver(now, { sections: ['provisioning'], outDir: out });
    assert.deepEqual(now.provisioning!.hostCounts, [1, 5]);
    assert.deepEqual(
      now.provisioning!.rows.map((r) => `${r.hosts} ${r.workload} ${r.phase} ${r.measuredAt?.slice(11, 16)}`),
      [
        '1 facts cold 19:05',
        '1 facts warm 19:05',
        '1 write cold 19:05',
        '1 write warm 19:05',
        '5 facts cold 19:55',
        '5 facts warm 19:55',
        '5 write cold 19:55',
        '5 write warm 19:55',
      ],
    );
    assert.ok(
      now.notes.includes(
        'provisioning cells measured by an earlier run, kept: 1 host(s) facts cold (2026-11-25 19:05 UTC), 1 host(s) facts warm (2026-11-25 19:05 UTC), 1 host(s) write cold (2026-11-25 19:05 UTC), 1 host(s) write warm (2026-11-25 19:05 UTC)',
      ),
      now.notes.join('\n'),
    );
  });

  it('keep the peers a run did not measure in a cell it did, with their own ratios, and the cells of other workloads', () => {
    const out = join(tmp, 'merge-peers');
    const earlier = sample();
    for (const r of earlier.provisioning!.rows) {
      r.measuredAt = '2026-11-25T19:05:00.000Z';
      r.load = 3.5;
      r.clush = { runs: [0.5], median: 0.5, min: 0.5, max: 0.5 };
      r.cpu = { clush: { controller: { runs: [0.2], median: 0.2, min: 0.2, max: 0.2 }, hosts: { runs: [0.1], median: 0.1, min: 0.1, max: 0.1 } } };
      r.ratios = { ...r.ratios, clush: 0.5 / r.vrio!.median };
      r.cpuRatios = { clush: 1.5 };
      r.notRun = { pssh: 'not a workload pssh does' };
    }
    writeReports(earlier, out);
    // This run: ansible only, the write workload only, at 5 hosts; ansible was left out by the bound in the cold cell.
    const now = sample();
    now.provisioning!.rows = now
      .provisioning!.rows.filter((r) => r.hosts === 5 && r.workload === 'write')
      .map((r) => ({ ...r, measuredAt: '2026-11-25T20:00:00.000Z', vrio: { runs: [9], median: 9, min: 9, max: 9 } }));
    const cold = now.provisioning!.rows.find((r) => r.phase === 'cold')!;
    const oldCold = earlier.provisioning!.rows.find((r) => r.hosts === 5 && r.workload === 'write' && r.phase === 'cold')!;
    delete cold.ansible;
    delete cold.ratio;
    cold.notRun = { ansible: 'not run at 5 hosts to bound the bench' };
    now.provisioning!.hostCounts = [5];
    carryOver(now, { sections: ['provisioning'], outDir: out });

    const rows = now.provisioning!.rows;
    assert.deepEqual(
      rows.map((r) => `${r.hosts} ${r.workload} ${r.phase} ${r.measuredAt?.slice(11, 16)}`),
      [
        '1 facts cold 19:05',
        '1 facts warm 19:05',
        '1 write cold 19:05',
        '1 write warm 19:05',
        '5 facts cold 19:05',
        '5 facts warm 19:05',
        '5 write cold 20:00',
        '5 write warm 20:00',
      ],
    );
    const merged = rows.find((r) => r.hosts === 5 && r.workload === 'write' && r.phase === 'cold')!;
    assert.equal(merged.vrio!.median, 9, "this run's vrio stays");
    assert.deepEqual(merged.clush, oldCold.clush);
    assert.deepEqual(merged.ansible, oldCold.ansible, 'a peer the bound left out keeps its earlier samples');
    assert.equal(merged.ratios!.clush, oldCold.ratios!.clush, 'the ratio against the vrio of its own rounds, not 0.5 / 9');
    assert.equal(merged.ratio, oldCold.ratio);
    assert.deepEqual(merged.cpu!.clush, oldCold.cpu!.clush);
    assert.equal(merged.cpuRatios!.clush, 1.5);
    const vrioThen = oldCold.vrio!.median.toFixed(2);
    assert.deepEqual(
      merged.notes!.filter((n) => n.includes('earlier run')),
      [
        `ansible: measured by an earlier run (2026-11-25T19:05:00.000Z, load 3.5, vrio ${vrioThen} s in those rounds), kept; its ratio is against the vrio of its own rounds`,
        `clush: measured by an earlier run (2026-11-25T19:05:00.000Z, load 3.5, vrio ${vrioThen} s in those rounds), kept; its ratio is against the vrio of its own rounds`,
      ],
    );
    assert.deepEqual(merged.notRun, { pssh: 'not a workload pssh does' }, "a peer left out before and not part of this run keeps its reason (not 'failed')");
    const warm = rows.find((r) => r.hosts === 5 && r.workload === 'write' && r.phase === 'warm')!;
    assert.ok(warm.ansible && warm.clush, 'the warm cell: this run measured ansible, clush comes from before');
    assert.ok(
      now.notes.includes("provisioning peers kept from an earlier run in cells this run measured: ansible at 5, clush at 5 (see each row's note)"),
      now.notes.join('\n'),
    );
  });

  it('a peer kept twice keeps the note of the run that measured it, not the time and vrio of the run that kept it', () => {
    const out = join(tmp, 'merge-twice');
    const at = (t: string, vrio: number, extra: Partial<ProvisionRow> = {}) => {
      const r = sample();
      r.provisioning!.rows = r
        .provisioning!.rows.filter((x) => x.hosts === 5 && x.workload === 'facts' && x.phase === 'cold')
        .map((x) => ({ ...x, measuredAt: t, load: 2, vrio: { runs: [vrio], median: vrio, min: vrio, max: vrio }, ...extra }));
      r.provisioning!.hostCounts = [5];
      return r;
    };
    // First sitting: clush and ansible; the second: ansible again; the third: vrio alone.
    const first = at('2026-11-25T07:00:00.000Z', 3, { clush: { runs: [0.5], median: 0.5, min: 0.5, max: 0.5 }, ratios: { clush: 0.5 / 3 } });
    writeReports(first, out);
    const second = at('2026-11-25T10:00:00.000Z', 4);
    carryOver(second, { sections: ['provisioning'], outDir: out });
    writeReports(second, out);
    const third = at('2026-11-25T13:00:00.000Z', 5);
    delete third.provisioning!.rows[0].ansible;
    delete third.provisioning!.rows[0].ratio;
    carryOver(third, { sections: ['provisioning'], outDir: out });
    const row = third.provisioning!.rows[0];
    assert.deepEqual(
      row.notes!.filter((n) => n.includes('earlier run')),
      [
        'ansible: measured by an earlier run (2026-11-25T10:00:00.000Z, load 2, vrio 4.00 s in those rounds), kept; its ratio is against the vrio of its own rounds',
        'clush: measured by an earlier run (2026-11-25T07:00:00.000Z, load 2, vrio 3.00 s in those rounds), kept; its ratio is against the vrio of its own rounds',
      ],
    );
    assert.equal(row.ratios!.clush, 0.5 / 3);
  });

  it('do not mix a quick run into a full report', () => {
    const out = join(tmp, 'merge-mode');
    writeReports(withBuildAndBoot(sample()), out); // a quick report
    const full = sample();
    full.mode = 'full';
    delete full.build;
    carryOver(full, { sections: ['provisioning'], outDir: out });
    assert.equal(full.build, undefined);
  });
});
