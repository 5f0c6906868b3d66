// `vrio completion bash|zsh|fish` and `vrio man`: generated from the option tables.
import { ExitCode } from '../../lib/errors.js';
import type { Command } from '../command.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { exitCodesHelp, version } from '../about.js';
import { manPage } from '../man.js';

/**
 * Both verbs get every verb's definition from the verb table
 * (cli/commands/index.ts), which passes its loadAllCommands in: importing the
 * table from here would make it import itself through this module.
 */
type AllCommands = () => Promise<Command[]>;

export const completionCommand = (loadAllCommands: AllCommands): Command => ({
  name: 'completion',
  summary: 'print the shell completion script for bash, zsh or fish',
  usage: 'bash|zsh|fish',
  description:
    'bash: source <(vrio completion bash), or save it as /etc/bash_completion.d/vrio. ' +
    'zsh: source <(vrio completion zsh). fish: vrio completion fish > ~/.config/fish/completions/vrio.fish.',
  examples: [
    'vrio completion bash > /etc/bash_completion.d/vrio',
    'source <(vrio completion zsh)',
    'vrio completion fish > ~/.config/fish/completions/vrio.fish',
  ],
  positionals: { name: 'a shell: bash, zsh or fish', min: 1, max: 1 },
  async run(ctx, _values, [shell]) {
    if (!(SHELLS as readonly string[]).includes(shell)) {
      ctx.log.error(`unknown shell '${shell}': must be ${SHELLS.join(', ')}`, { exitCode: ExitCode.USAGE });
      return ExitCode.USAGE;
    }
    ctx.log.print(completionScript(shell as Shell, await loadAllCommands()));
    return ExitCode.OK;
  },
});

export const manCommand = (loadAllCommands: AllCommands): Command => ({
  name: 'man',
  summary: 'print the vrio(1) man page (roff), generated from the option tables',
  examples: ['vrio man | man -l -', 'vrio man > /usr/local/share/man/man1/vrio.1'],
  async run(ctx) {
    ctx.log.print(manPage(await loadAllCommands(), version(), exitCodesHelp));
    return ExitCode.OK;
  },
});
