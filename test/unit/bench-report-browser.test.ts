// The HTML bench report as people see it: rendered by a real browser
// (Debian's chromium, headless), screenshotted, and every chart's plot area
// checked for drawn data. A chart that renders with axes and a legend but no
// points, lines or bars, the way an empty or broken chart looks, fails here.
//
// Chart positions come from the browser itself: a copy of the page with a
// small script records each chart's plot rectangle (--dump-dom), then the
// unchanged page is screenshotted at the same width.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BenchReport } from '../../bench/model.js';
import { xyChart } from '../../bench/report/svg.js';
import { writeReports } from '../../bench/report/write.js';
import { dataPath } from '../../lib/paths.js';
import { decodePng, type Image } from '../support/png.js';
import { lacks } from '../support/prereq.js';

const WIDTH = 1200;
const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-browser-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function noChromium(): string | false {
  const r = spawnSync('chromium', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? false : "Debian's chromium is not installed (apt-get install chromium; listed in scripts/apt-packages.txt)";
}

function chromium(args: string[]): string {
  const r = spawnSync(
    'chromium',
    ['--headless=new', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', `--user-data-dir=${join(tmp, 'profile')}`, ...args],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`chromium ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

interface Box {
  title: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Each chart's plot rectangle in page pixels, and the page's height, as the
 * browser lays them out (in a window taller than the page, so nothing scrolls).
 */
function measure(htmlFile: string): { boxes: Box[]; height: number } {
  const probe = `<script>addEventListener('load', () => {
  const boxes = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const r = svg.querySelector('rect.plot').getBoundingClientRect();
    return { title: svg.getAttribute('aria-label'), x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height };
  });
  const out = document.createElement('pre');
  out.id = 'chart-boxes';
  const height = document.body.getBoundingClientRect().bottom + scrollY + parseFloat(getComputedStyle(document.body).marginBottom);
  out.textContent = JSON.stringify({ boxes, height });
  document.body.append(out);
});</script>`;
  const probeFile = htmlFile.replace(/\.html$/, '.probe.html');
  writeFileSync(probeFile, readFileSync(htmlFile, 'utf8').replace('</body>', `${probe}</body>`));
  const dom = chromium(['--dump-dom', `--window-size=${WIDTH},20000`, `file://${probeFile}`]);
  const m = /<pre id="chart-boxes">([^<]*)<\/pre>/.exec(dom);
  assert.ok(m, 'the probe script ran and wrote the chart positions');
  return JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { boxes: Box[]; height: number };
}

/** Pixels in colour (not white, grey or black): the data series, never the axes, grid or text. */
function inkIn(img: Image, b: Box): number {
  let n = 0;
  for (let y = Math.ceil(b.y); y < Math.floor(b.y + b.h) && y < img.height; y++) {
    for (let x = Math.ceil(b.x); x < Math.floor(b.x + b.w) && x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const [r, g, bl] = [img.rgba[i], img.rgba[i + 1], img.rgba[i + 2]];
      if (Math.max(r, g, bl) - Math.min(r, g, bl) >= 60) n++;
    }
  }
  return n;
}

/** Renders the page, screenshots it, and returns the coloured pixels in each chart's plot area. */
function look(htmlFile: string, shot: string): { title: string; ink: number }[] {
  const { boxes, height } = measure(htmlFile);
  assert.equal(boxes.length, (readFileSync(htmlFile, 'utf8').match(/<svg[^>]*class="chart"/g) ?? []).length, 'every chart was measured');
  chromium([`--screenshot=${shot}`, `--window-size=${WIDTH},${Math.ceil(height)}`, `file://${htmlFile}`]);
  const img = decodePng(readFileSync(shot));
  assert.equal(img.width, WIDTH);
  return boxes.map((b) => ({ title: b.title, ink: inkIn(img, b) }));
}

const MIN_INK = 100; // a few points and a line; an empty plot has none

/** A full run (all sections, a failed KVM boot) and an earlier run beside it, so the trend has two points per series. */
function reportDir(): { dir: string; html: string } {
  const dir = join(tmp, 'results');
  mkdirSync(dir, { recursive: true });
  const current = JSON.parse(readFileSync(dataPath('bench', 'testdata', 'full-report.json'), 'utf8')) as BenchReport;
  const earlier = structuredClone(current);
  earlier.startedAt = '2026-11-18T21:00:00.000Z';
  for (const r of earlier.provisioning!.rows) {
    for (const [s, f] of [
      [r.vrio, 1.6],
      [r.ansible, 1.3],
    ] as const)
      if (s) for (const k of ['median', 'min', 'max'] as const) s[k] *= f;
    if (r.vrio && r.ansible) r.ratio = r.ansible.median / r.vrio.median;
  }
  for (const f of [...earlier.build!.figures, ...earlier.boot!.figures]) if (f.unit === 's') f.value *= 1.2;
  writeFileSync(join(dir, '2026-11-18.json'), JSON.stringify(earlier));
  return { dir, html: writeReports(current, dir).html };
}

describe('bench HTML report in a real browser', () => {
  it('draws data in every chart: ratios, times per workload, build and boot timelines, trends', (t) => {
    if (lacks(t, noChromium())) return;
    const { html } = reportDir();
    const shot = join(tmp, 'report.png');
    const charts = look(html, shot);
    // 2 ratio charts (wall, CPU), 4 time charts, build, boot, 2 trends
    assert.equal(charts.length, 10, charts.map((c) => c.title).join('\n'));
    const empty = charts.filter((c) => c.ink < MIN_INK);
    assert.deepEqual(empty, [], `charts with no drawn data: ${JSON.stringify(empty)}`);
    if (process.env.VRIO_REPORT_SCREENSHOT) copyFileSync(shot, process.env.VRIO_REPORT_SCREENSHOT);
  });

  it('finds a chart empty when it has axes and a legend but no data (the check can fail)', (t) => {
    if (lacks(t, noChromium())) return;
    const { html } = reportDir();
    const page = readFileSync(html, 'utf8');
    const first = /<svg[^>]*class="chart"[\s\S]*?<\/svg>/.exec(page)![0];
    const emptyChart = xyChart({
      title: 'an empty chart',
      xLabel: 'hosts',
      yLabel: 'seconds',
      x: 'log',
      series: [
        { name: 'vrio', points: [] },
        { name: 'Ansible', points: [] },
      ],
      format: String,
      xFormat: String,
    });
    const broken = join(tmp, 'results', 'broken.html');
    writeFileSync(broken, page.replace(first, emptyChart));
    const charts = look(broken, join(tmp, 'broken.png'));
    const empty = charts.filter((c) => c.ink < MIN_INK).map((c) => c.title);
    assert.deepEqual(empty, ['an empty chart']);
  });
});
