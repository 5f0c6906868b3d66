// `vrio bench`: the benchmark suite (same as `npm run bench`), measured side by
// side with the real alternatives; writes bench/results/<date>.json|.html|.md.
import { resolve } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import type { Command } from '../command.js';

// Loaded when the verb runs, so every other verb starts without the bench code.
const SECTIONS = ['provisioning', 'build', 'boot'];

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark provisioning (vs Ansible), builds and boots; write JSON, HTML and Markdown reports',
  usage: '[--quick] [--sections LIST] [--hosts N,N,...] [--runs N] [--output-dir DIR] [--history DIR]',
  description:
    'Provisioning: N real sshd hosts (network namespaces as root, else loopback), the same read-only facts+plan and write workloads for vrio and ' +
    'for Ansible (forks = N, pipelining on), cold and warm runs, medians and ratios. Build: the CI test kernel cold vs raw make, no-op, a one-file ' +
    'module change, image assembly per role, sizes. Boot: `vrio smoke` BIOS/UEFI under TCG and KVM. Takes minutes; not part of the test suite. ' +
    `Sections: ${SECTIONS.join(', ')}.`,
  examples: [
    'vrio bench',
    'vrio bench --quick',
    'vrio bench --sections provisioning --hosts 1,10,50 --runs 5',
    'vrio bench --sections build,boot -o /tmp/bench',
  ],
  options: {
    quick: { type: 'boolean', description: 'N = 1 and 5 hosts, one run each (keeps the harness working in CI)' },
    sections: { type: 'string', list: true, choices: SECTIONS, arg: 'LIST', description: `sections to run: ${SECTIONS.join(', ')} (default: all)` },
    hosts: { type: 'string', list: true, arg: 'N,N,...', description: 'host counts for the provisioning comparison (default 1,10,50)' },
    runs: { type: 'string', arg: 'N', description: 'runs per measurement, medians reported (default 3; quick: 1)' },
    network: {
      type: 'string',
      choices: ['netns', 'loopback'],
      arg: 'netns|loopback',
      description: 'where the sshd hosts live (default: netns as root, else loopback)',
    },
    'output-dir': {
      type: 'string',
      short: 'o',
      arg: 'DIR',
      complete: 'dir',
      description: 'where the reports go (default: the working directory); the HTML trend charts read the earlier reports there',
    },
    history: {
      type: 'string',
      arg: 'DIR',
      complete: 'dir',
      description: 'read the earlier reports for the trend charts from DIR (default: the output directory)',
    },
    'keep-work': { type: 'boolean', description: "keep the temp work dir with every tool's log" },
  },
  async run(ctx, values) {
    const { defaultOptions, parseHostCounts, parseSections, runBench } = await import('../../bench/harness.js');
    const { renderMarkdown } = await import('../../bench/report/markdown.js');
    const o = defaultOptions(Boolean(values.quick), (m) => ctx.log.info(m));
    if (values.sections) o.sections = parseSections((values.sections as string[]).join(','));
    if (values.hosts) o.hostCounts = parseHostCounts((values.hosts as string[]).join(','));
    if (values.runs !== undefined) {
      const n = Number(values.runs);
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError(`--runs ${values.runs}: must be an integer 1..50`);
      o.runs = n;
    }
    if (values.network !== undefined) o.network = values.network as 'netns' | 'loopback';
    // The reports land where the user is, never inside the installed package.
    o.outDir = resolve(ctx.cwd, (values['output-dir'] as string | undefined) ?? '.');
    o.keepWork = Boolean(values['keep-work']);
    o.signal = ctx.signal;
    const { report, files } = await runBench(o);
    if (values.history !== undefined) {
      // The run wrote its HTML with the output directory's history: draw it again with DIR's.
      const { writeReports } = await import('../../bench/report/write.js');
      writeReports(report, o.outDir, { json: false, history: resolve(ctx.cwd, values.history as string) });
    }
    if (ctx.global.json) ctx.log.event('bench-report', { files, report });
    else {
      ctx.log.print(renderMarkdown(report));
      ctx.log.info(`reports: ${files.json}, ${files.html}, ${files.markdown}`);
    }
    return 0;
  },
};
