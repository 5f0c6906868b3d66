import { doctor, missingPackages, purposes, type Purpose } from '../../builder/doctor.js';
import { ExitCode } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { table } from '../../lib/log.js';
import type { Command } from '../command.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the host tools that build, image, smoke and provision need',
  usage: '[--for build,image,smoke,provision,test] [--install] [--json]',
  description: 'Prints each tool with its Debian package; exit code 3 when a required tool is missing. --install runs apt-get for the missing packages.',
  examples: ['vrio doctor', 'vrio doctor --for build,image,smoke', 'vrio doctor --install', 'vrio doctor --json'],
  options: {
    for: { type: 'string', list: true, choices: purposes, arg: 'VERBS', description: `only tools for these verbs: ${purposes.join(', ')}` },
    install: { type: 'boolean', description: 'apt-get install the missing packages' },
  },
  async run(ctx, values) {
    // Values are checked against `purposes` by the option table.
    const wanted = (values.for as string[] | undefined) ?? purposes.filter((p) => p !== 'test');
    let report = await doctor(wanted as Purpose[]);
    if (values.install && missingPackages(report).length) {
      const pkgs = missingPackages(report);
      ctx.log.step(`installing ${pkgs.join(' ')}`);
      await run('apt-get', ['update', '-q'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
      await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
      report = await doctor(wanted as Purpose[]);
    }
    if (ctx.global.json) {
      ctx.log.event('doctor', { ...report });
      // Every failing stream says why in an error event (the table says it to a person).
      if (report.missingRequired.length)
        ctx.log.error(`missing required tools: ${report.missingRequired.map((t) => t.name).join(', ')}`, {
          exitCode: ExitCode.MISSING_TOOL,
          hint: report.installCommand,
        });
    } else {
      ctx.log.print(
        table(
          ['TOOL', 'STATUS', 'PACKAGE', 'NEEDED FOR'],
          report.tools.map((t) => [
            t.name,
            t.found ? `ok${t.version ? ` ${t.version}` : ''}` : t.optional ? 'missing (optional)' : 'MISSING',
            t.package,
            `${t.for.join(',')}: ${t.why}`,
          ]),
        ),
      );
      ctx.log.print(
        `kvm: ${report.kvm.usable ? 'usable (QEMU uses KVM)' : report.kvm.present ? 'present but not usable (QEMU uses TCG)' : 'absent (QEMU uses TCG, slower)'}`,
      );
      if (report.installCommand) ctx.log.print(`\nto install what is missing:\n  ${report.installCommand}`);
      else ctx.log.print('\nall tools present');
    }
    return report.missingRequired.length ? ExitCode.MISSING_TOOL : ExitCode.OK;
  },
};
