// `npm run bench`: the benchmark entry point (also reachable as `vrio bench`).
//   node dist/bench/run.js [--quick] [--sections provisioning,build,boot]
//                          [--hosts 1,10,50] [--runs N] [--network netns|loopback]
//                          [--output-dir DIR] [--keep-work]
//   node dist/bench/run.js --render bench/results/<date>.json   (HTML + Markdown again from a saved report)
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { exitCodeOf, InputError, UsageError, VrioError } from '../lib/errors.js';
import type { BenchReport } from './model.js';
import { writeReports, type WrittenReports } from './report/write.js';
import { defaultOptions, parseHostCounts, parseSections, parseTools, parseWorkloads, runBench, TOOLS, type BenchOptions } from './harness.js';
import { renderMarkdown } from './report/markdown.js';

export const USAGE = `usage: npm run bench -- [--quick] [--sections LIST] [--hosts N,N,...] [--runs N]
                        [--network netns|loopback] [--output-dir DIR] [--keep-work]
  --quick      N = 1 and 5 hosts, one run each (keeps the harness working in CI)
  --sections   comma-separated sections: provisioning, build, boot, inventory (default: all)
  --hosts      host counts for the provisioning comparison (default 1,10,50,200; quick: 1,5)
  --runs       runs per measurement, medians reported (default 5; quick: 1)
  --workloads  provisioning workloads: facts, write (default both)
  --tools      provisioning peers beside vrio: ${TOOLS.slice(1).join(', ')} (default all; quick: ansible)
  --no-pin     do not keep the controller and the fleet on separate CPUs
  --max-cell-minutes M  bound on one tool's provisioning cell (default 6; 0 = none): see bench/README.md
  --network    where the sshd hosts live (default: netns when root, else loopback)
  -o, --output-dir  where <date>.json/.html/.md go (default bench/results)
  --keep-work  keep the temp work dir with every tool's log
  --reuse-ci   the ci/ dir of a kept run: build/boot reuse its kernel (no cold build, no raw make)
usage: npm run bench -- --render bench/results/<date>.json   (HTML + Markdown again from the JSON)`;

export function optionsFromArgs(argv: string[], log: (m: string) => void): BenchOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        sections: { type: 'string' },
        hosts: { type: 'string' },
        runs: { type: 'string' },
        tools: { type: 'string' },
        workloads: { type: 'string' },
        'no-pin': { type: 'boolean' },
        'max-cell-minutes': { type: 'string' },
        network: { type: 'string' },
        'output-dir': { type: 'string', short: 'o' },
        'keep-work': { type: 'boolean' },
        'reuse-ci': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0], USAGE);
  }
  const o = defaultOptions(Boolean(v.quick), log);
  if (v.sections) o.sections = parseSections(v.sections);
  if (v.hosts) o.hostCounts = parseHostCounts(v.hosts);
  if (v.runs !== undefined) {
    const n = Number(v.runs);
    if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError(`--runs '${v.runs}': expected an integer 1..50`);
    o.runs = n;
  }
  if (v.tools !== undefined) o.tools = parseTools(v.tools);
  if (v.workloads !== undefined) o.workloads = parseWorkloads(v.workloads);
  if (v['no-pin']) o.pin = false;
  if (v['max-cell-minutes'] !== undefined) {
    const m = Number(v['max-cell-minutes']);
    if (!Number.isFinite(m) || m < 0 || m > 600) throw new UsageError(`--max-cell-minutes '${v['max-cell-minutes']}': expected a number of minutes 0..600`);
    o.maxCellSeconds = m === 0 ? undefined : m * 60;
  }
  if (v.network !== undefined) {
    if (v.network !== 'netns' && v.network !== 'loopback') throw new UsageError(`--network '${v.network}': expected netns or loopback`);
    o.network = v.network;
  }
  if (v['output-dir']) o.outDir = resolve(v['output-dir']);
  o.keepWork = Boolean(v['keep-work']);
  if (v['reuse-ci'] !== undefined) {
    const d = resolve(v['reuse-ci']);
    if (!existsSync(join(d, 'ci.yaml')))
      throw new UsageError(`--reuse-ci ${v['reuse-ci']}: no ci.yaml there`, 'give the ci/ directory of a run kept with --keep-work');
    o.reuseCi = d;
  }
  if (v.help) throw new UsageError('help', USAGE);
  return o;
}

/** Re-render the HTML and Markdown of a saved JSON report (e.g. after a report-format change). */
export function rerender(jsonFile: string): WrittenReports {
  let report: BenchReport;
  try {
    report = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchReport;
  } catch (e) {
    throw new InputError([{ file: jsonFile, pointer: '', rule: 'json', message: `not a readable JSON report: ${(e as Error).message}` }]);
  }
  if (report.format !== 1 || !report.machine || !report.startedAt) {
    throw new InputError([{ file: jsonFile, pointer: '/format', rule: 'const', message: 'not a vrio bench report (format 1)' }]);
  }
  return writeReports(report, dirname(resolve(jsonFile)), { json: false });
}

export async function main(argv: string[]): Promise<number> {
  const log = (m: string) => process.stderr.write(m + '\n');
  if (argv[0] === '--render') {
    try {
      if (argv.length !== 2) throw new UsageError('--render takes exactly one JSON report', USAGE);
      const f = rerender(argv[1]);
      log(`reports: ${f.html}\n         ${f.markdown}`);
      return 0;
    } catch (e) {
      log(`error: ${(e as Error).message}`);
      return exitCodeOf(e);
    }
  }
  const ac = new AbortController();
  const onSignal = () => ac.abort(new VrioError('interrupted', { exitCode: 130 }));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const o = optionsFromArgs(argv, log);
    o.signal = ac.signal;
    const { report, files } = await runBench(o);
    process.stdout.write(renderMarkdown(report) + '\n');
    log(`reports: ${files.json}\n         ${files.html}\n         ${files.markdown}`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError && e.message === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    log(`error: ${(e as Error).message}`);
    if (e instanceof VrioError && e.hint) log(`  hint: ${e.hint}`);
    return exitCodeOf(e);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
