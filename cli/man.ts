// The vrio(1) man page, generated from the verbs' option tables and help text
// (the same tables the parser uses). `vrio man | man -l -` shows it.
import type { Command, OptionSpec } from './command.js';
import { flagLabel, fullDescription, globalOptions, versionOption } from './options.js';

/** Text safe in a roff line: backslashes escaped, no line starting with a control character. */
function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

function options(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).flatMap(([n, o]) => ['.TP', `.B ${roff(flagLabel(n, o))}`, roff(fullDescription(o))]);
}

export function manPage(commands: Command[], version: string, exitCodes: string): string {
  const lines = [
    `.TH VRIO 1 "" "vrio-appliance ${roff(version)}" "User Commands"`,
    '.SH NAME',
    'vrio \\- build vRIO appliance images and provision machines running them',
    '.SH SYNOPSIS',
    '.B vrio',
    '.RI [ global\\ options ] " verb " [ options ] " " [ arguments ]',
    '.br',
    '.B vrio \\-V',
    '.SH DESCRIPTION',
    roff(
      'vrio builds bootable appliance images for vRIO (Linux 3.10 with the vRIO series, for the I/O hypervisor and guest roles), boots them under QEMU, and provisions machines running them over SSH. Every verb has --help with examples.',
    ),
    '.SH GLOBAL OPTIONS',
    ...options({ ...globalOptions, ...versionOption }),
    '.SH VERBS',
  ];
  for (const c of commands) {
    lines.push(`.SS "vrio ${roff(c.name)}${c.usage ? ' ' + roff(c.usage) : ''}"`, roff(c.summary) + '.');
    if (c.description) for (const p of c.description.split(/\n\s*\n/)) lines.push('.PP', roff(p));
    if (c.options && Object.keys(c.options).length) lines.push('.PP', 'Options:', '.RS', ...options(c.options), '.RE');
    lines.push('.PP', 'Examples:', '.RS', '.nf', ...c.examples.map(roff), '.fi', '.RE');
  }
  lines.push(
    '.SH ENVIRONMENT',
    '.TP',
    '.B VRIO_MANIFEST',
    roff('the build manifest when --manifest is not given'),
    '.TP',
    '.B VRIO_CACHE_DIR',
    roff('download/source cache (default ~/.cache/vrio)'),
    '.TP',
    '.B VRIO_ACCEL',
    roff('QEMU accelerator: auto, kvm or tcg'),
    '.TP',
    '.B NO_COLOR',
    'no ANSI colours',
    '.SH EXIT STATUS',
    '.nf',
    ...exitCodes
      .split('\n')
      .slice(1)
      .map((l) => roff(l.trim())),
    '.fi',
    '.SH SEE ALSO',
    roff('vrio completion bash|zsh|fish; README.md and docs/ in the vrio-appliance package.'),
  );
  return lines.join('\n') + '\n';
}
