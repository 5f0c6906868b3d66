// `npm run bench -- --quick` keeps working: a real (short) provisioning run,
// vrio vs Ansible over one real sshd host (an IOhyp), writes the three reports, leaves
// no namespace, sshd or ssh master behind. No timing is asserted: only that
// every cell was measured for both tools and the no-op runs changed nothing.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BenchReport } from '../../bench/model.js';
import { which } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-quick-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function skipReason(): string | false {
  const s = sshdSupport();
  if (!s.ok) return s.reason ?? 'no sshd';
  if (!which('ansible-playbook') && process.getuid?.() !== 0) return 'ansible-playbook missing and not root to install it';
  return false;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'bench', 'run.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // SIGTERM first: the bench then removes its fleet (sshd, namespaces, login user); a SIGKILL left them behind.
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      grace = setTimeout(() => child.kill('SIGKILL'), 15_000);
    }, 260_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ code, stdout, stderr, pid: child.pid ?? 0 });
    });
  });
}

describe('bench --quick', { skip: prerequisite(skipReason()) }, () => {
  it('measures both tools on every cell and writes JSON, HTML and Markdown', { timeout: 300_000 }, async () => {
    const out = join(tmp, 'results');
    const r = await run(['--quick', '--sections', 'provisioning', '--hosts', '1', '--output-dir', out]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const date = new Date().toISOString().slice(0, 10);
    // The run may straddle midnight: take the date the report names.
    const report = JSON.parse(readFileSync(join(out, `${date}-quick.json`), 'utf8')) as BenchReport;
    for (const ext of ['html', 'md']) assert.ok(existsSync(join(out, `${date}-quick.${ext}`)), ext);

    assert.equal(report.mode, 'quick');
    assert.ok(report.machine.cpus > 0);
    assert.equal(report.machine.loadBefore.length, 3);
    assert.notEqual(report.machine.tools.ansible, 'missing');
    const p = report.provisioning!;
    assert.ok(p, 'provisioning section present');
    assert.deepEqual(
      p.rows.map((x) => `${x.hosts} ${x.workload} ${x.phase}`),
      ['1 facts cold', '1 facts warm', '1 write cold', '1 write warm'],
    );
    for (const row of p.rows) {
      assert.equal(row.vrio?.runs.length, 1, `vrio measured: ${JSON.stringify(row)}`);
      assert.equal(row.ansible?.runs.length, 1, `Ansible measured: ${JSON.stringify(row)}`);
      assert.ok(row.ratio !== undefined && row.ratio > 0);
      const bad = (row.notes ?? []).filter((n) => /failed|expected none|reported no changes/.test(n));
      assert.deepEqual(bad, [], 'no failures; warm runs changed nothing; cold write runs changed something');
    }
    assert.match(p.settings.ansible, /forks = number of hosts, pipelining = True/);
    assert.equal(p.startup?.vrio?.runs.length, 3, 'vrio start-up measured on its own');
    assert.equal(p.startup?.ansible?.runs.length, 3, 'Ansible start-up measured on its own');

    const md = readFileSync(join(out, `${date}-quick.md`), 'utf8');
    assert.match(md, /\| 1 \| write \(files and dirs\) \| warm \|/);
    assert.match(r.stdout, /## Provisioning: vrio vs Ansible/, 'the summary is printed too');

    // Nothing left behind: namespaces of that process, and processes naming its work dir.
    const tag = `vrio-bench-${r.pid % 100000}-`;
    assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(tag), 'namespaces removed');
    const work = /work dir (\S+)/.exec(r.stderr)?.[1];
    assert.ok(work, 'the run names its work dir');
    assert.ok(!existsSync(work!), 'work dir removed');
    const fleetDir = /files in (\S+)/.exec(r.stderr)?.[1];
    assert.ok(fleetDir, 'the run names its fleet dir');
    assert.ok(!existsSync(fleetDir!), 'fleet dir removed');
    const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    assert.ok(!procs.includes(work!), 'no ssh master of the run is left');
    assert.ok(!procs.includes(fleetDir!), 'no sshd of the run is left');
  });

  it('rejects bad options with the rule, before any work', async () => {
    const r = await run(['--hosts', '0,x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--hosts '0,x': expected a comma-separated list of host counts, each an integer 1\.\.250/);
    const s = await run(['--sections', 'provisoning']);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /--sections 'provisoning': unknown section/);
  });
});
