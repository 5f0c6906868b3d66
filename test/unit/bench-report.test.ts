// The report writers, fed a real quick-run report (bench/testdata): the
// Markdown table the README quotes, the self-contained HTML with inline SVG
// charts, and the three files written per run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BenchReport } from '../../bench/model.js';
import { renderHtml } from '../../bench/report/html.js';
import { cell, renderMarkdown } from '../../bench/report/markdown.js';
import { lineChart, niceMax, timelineChart } from '../../bench/report/svg.js';
import { writeReports } from '../../bench/report/write.js';
import { carryOver } from '../../bench/harness.js';
import { dataPath } from '../../lib/paths.js';

const sample = (): BenchReport => JSON.parse(readFileSync(dataPath('bench', 'testdata', 'quick-report.json'), 'utf8')) as BenchReport;
const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A build and boot section in the shapes the suites produce. */
function withBuildAndBoot(r: BenchReport): BenchReport {
  r.build = {
    status: 'ok',
    figures: [
      { id: 'kernel-cold', label: 'Cold `vrio kernel build`', value: 212.4, unit: 's' },
      { id: 'kernel-overhead', label: 'vs raw make', value: 14.2, unit: '%' },
      { id: 'kernel-noop', label: 'No-op build', value: 0.61, unit: 's', samples: { runs: [0.6, 0.61, 0.7], median: 0.61, min: 0.6, max: 0.7 }, goal: '~1 s', goalMet: true },
      { id: 'kernel-bzimage-size', label: 'bzImage size', value: 1_234_567, unit: 'bytes' },
    ],
    timelines: [
      { label: 'vrio kernel build (cold)', spans: [{ name: 'unpacking', start: 0, end: 31.5 }, { name: 'compiling', start: 31.5, end: 200 }, { name: 'staging', start: 200, end: 212.4 }] },
      { label: 'raw make', spans: [{ name: 'make bzImage modules', start: 0, end: 180 }] },
    ],
  };
  r.boot = {
    status: 'ok',
    figures: [{ id: 'boot-bios-tcg-ssh', label: 'BIOS, TCG: SSH ready', value: 9.8, unit: 's', goal: '<= 15 s', goalMet: true }],
    timelines: [{ label: 'iohyp BIOS cdrom TCG', spans: [{ name: 'firmware', start: 0, end: 0.9 }, { name: 'kernel', start: 0.9, end: 2.1 }, { name: 'init to SSH', start: 2.1, end: 9.8 }] }],
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
    assert.match(md, /- vrio: plan reported host errors \(expected: the bench kernel has no module support\) \(1\/facts\/cold, 1\/facts\/warm, 5\/facts\/cold, 5\/facts\/warm\)/);
  });

  it('separates process start-up from the per-run figures', () => {
    const r = sample();
    r.provisioning!.startup = {
      vrio: { runs: [0.41, 0.4, 0.45], median: 0.41, min: 0.4, max: 0.45 },
      ansible: { runs: [1.2, 1.1, 1.3], median: 1.2, min: 1.1, max: 1.3 },
    };
    const md = renderMarkdown(r);
    assert.match(md, /Process start-up alone, included in every figure above: vrio \(`vrio --version`: node \+ CLI modules\) 0\.41 s \(0\.40–0\.45 s, n=3\); Ansible \(`ansible-playbook --version`\) 1\.20 s \(1\.10–1\.30 s, n=3\)\./);
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

  it('draws provisioning time vs hosts for both tools, the build timeline and the boot timeline', () => {
    const html = renderHtml(withBuildAndBoot(sample()));
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    // facts cold/warm + write cold/warm, build steps, boot
    assert.equal(svgs.length, 6);
    assert.equal((html.match(/<svg/g) ?? []).length, (html.match(/<\/svg>/g) ?? []).length);
    const prov = svgs[0];
    assert.match(prov, /facts \+ plan \(read-only\), cold run/);
    assert.match(prov, />vrio</);
    assert.match(prov, />Ansible</);
    // one point per host count per tool
    const hostCounts = sample().provisioning!.hostCounts.length;
    assert.equal((prov.match(/<circle/g) ?? []).length, 2 * hostCounts);
    assert.match(svgs[4], /Build steps/);
    assert.match(svgs[4], /compiling/);
    assert.match(svgs[5], /SSH ready|init to SSH/);
  });

  it('escapes text from tool output and notes', () => {
    const r = sample();
    r.notes.push('a host said <script>alert(1)</script> & left');
    const html = renderHtml(r);
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; left/);
  });
});

describe('bench SVG charts', () => {
  it('scales the y axis to a round number above the largest value or whisker', () => {
    assert.equal(niceMax(21.5), 25);
    assert.equal(niceMax(0.8), 1);
    assert.equal(niceMax(101), 200);
    const svg = lineChart({ title: 't', xLabel: 'hosts', yLabel: 's', series: [{ name: 'A', points: [{ x: 1, y: 3, lo: 2, hi: 4.2 }] }] });
    assert.match(svg, />5</, 'top tick is 5 (whisker 4.2)');
  });

  it('puts each timeline span on a shared axis with its duration in the tooltip', () => {
    const svg = timelineChart('t', [{ label: 'row', spans: [{ name: 'a', start: 0, end: 2 }, { name: 'b', start: 2, end: 5 }] }]);
    assert.match(svg, /row: b 2–5 s \(3 s\)/);
    assert.equal((svg.match(/<rect[^>]*opacity/g) ?? []).length, 2);
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
    assert.ok(now.notes.some((n) => n.startsWith('build: measured by an earlier run (2026-11-25T19:31:00.000Z, load 3.1 2 1.5)')), now.notes.join('\n'));
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
      ['1 facts cold 19:05', '1 facts warm 19:05', '1 write cold 19:05', '1 write warm 19:05', '5 facts cold 19:55', '5 facts warm 19:55', '5 write cold 19:55', '5 write warm 19:55'],
    );
    assert.ok(now.notes.some((n) => /provisioning with 1 host\(s\): measured by an earlier run \(2026-11-25T19:05/.test(n)));
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
