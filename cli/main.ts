// The `vrio` entry point: finds the verb, parses options, runs it, maps errors
// to exit codes. Nothing here knows how a verb does its work.
import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { ExitCode, exitCodeOf, InputError, UsageError, VrioError } from '../lib/errors.js';
import { Logger, setLogger } from '../lib/log.js';
import { dataPath } from '../lib/paths.js';
import type { Command, CommandContext, CommandEntry, GlobalOptions, OptionSpec, ParsedValues } from './command.js';
import { commands } from './commands/index.js';

export const globalOptions: Record<string, OptionSpec> = {
  manifest: { type: 'string', short: 'm', arg: 'FILE', description: 'build manifest (default: ./vrio.yaml when present)' },
  json: { type: 'boolean', description: 'machine-readable output (JSON)' },
  quiet: { type: 'boolean', short: 'q', description: 'only errors and requested data' },
  verbose: { type: 'boolean', short: 'v', description: 'show every external command' },
  'no-color': { type: 'boolean', description: 'no ANSI colours (also: NO_COLOR=1)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export const exitCodesHelp = `Exit codes:
  0  success
  1  failed (a build step, a check, a host)
  2  bad input: usage, manifest, inventory
  3  a required host tool is missing (see: vrio doctor)
  4  some hosts were unreachable
  130 interrupted`;

function version(): string {
  return (JSON.parse(readFileSync(dataPath('package.json'), 'utf8')) as { version: string }).version;
}

function optionLines(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    const more = o.multiple ? ' (repeatable)' : '';
    return `  ${flag.padEnd(30)} ${o.description}${more}`;
  });
}

export function commandHelp(c: Command): string {
  const lines = [`vrio ${c.name}${c.usage ? ' ' + c.usage : ''}`, '', c.summary];
  if (c.description) lines.push('', c.description);
  if (c.options && Object.keys(c.options).length) lines.push('', 'Options:', ...optionLines(c.options));
  lines.push('', 'Global options:', ...optionLines(globalOptions));
  lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `vrio ${version()} — build vRIO appliance images and provision machines running them`,
    '',
    'Usage: vrio <verb> [options]      (vrio <verb> --help for details)',
    '',
    'Verbs:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(globalOptions),
    '  --version                      print the version',
    '',
    exitCodesHelp,
  ].join('\n');
}

/** Words before the first option, skipping global options (and their values). */
function leadingWords(argv: string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  let i = 0;
  let collecting = true;
  while (i < argv.length) {
    const a = argv[i];
    if (a.startsWith('-')) {
      rest.push(a);
      const name = a.replace(/^--?/, '').split('=')[0];
      const spec = globalOptions[name] ?? Object.values(globalOptions).find((o) => o.short === name);
      if (spec?.type === 'string' && !a.includes('=') && i + 1 < argv.length) rest.push(argv[++i]);
      else if (!spec) collecting = false; // a verb option: verb words are over
    } else if (collecting) words.push(a);
    else rest.push(a);
    i++;
  }
  return { words, rest };
}

export function findCommand(words: string[]): { entry?: CommandEntry; used: number } {
  for (let n = Math.min(words.length, 3); n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const c = commands.find((x) => x.name === name);
    if (c) return { entry: c, used: n };
  }
  return { used: 0 };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { words, rest } = leadingWords(argv);
  if (words.length === 0) {
    if (rest.includes('--version')) {
      process.stdout.write(version() + '\n');
      return ExitCode.OK;
    }
    if (rest.includes('--help') || rest.includes('-h') || argv.length === 0) {
      process.stdout.write(mainHelp() + '\n');
      return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
    }
  }
  const { entry, used } = findCommand(words);
  const wantsJson = rest.includes('--json');
  const logger = new Logger({
    json: wantsJson,
    verbosity: rest.includes('--quiet') || rest.includes('-q') ? 'quiet' : rest.includes('--verbose') || rest.includes('-v') ? 'verbose' : 'normal',
    color: rest.includes('--no-color') || env.NO_COLOR ? false : undefined,
  });
  setLogger(logger);

  if (!entry) {
    const group = commands.filter((c) => c.name.startsWith(words[0] + ' '));
    if (group.length && words.length === 1) {
      process.stdout.write(`vrio ${words[0]} — verbs:\n${group.map((c) => `  ${c.name.padEnd(24)} ${c.summary}`).join('\n')}\n`);
      return ExitCode.USAGE;
    }
    const attempted = words.slice(0, 2).join(' ') || rest[0] || '';
    // lib/document.js pulls in ajv and yaml: load it only on the error paths.
    const { didYouMean } = await import('../lib/document.js');
    const dym = didYouMean(words[0] ?? '', [...new Set(commands.map((c) => c.name.split(' ')[0]))]);
    logger.error(`unknown verb '${attempted}'`);
    process.stderr.write(`  hint: ${dym ? `did you mean 'vrio ${dym}'? ` : ''}run 'vrio --help' for the list of verbs\n`);
    return ExitCode.USAGE;
  }
  // Only the verb that runs is imported (see cli/commands/index.ts).
  const command = await entry.load();

  const options = { ...globalOptions, ...(command.options ?? {}) };
  let values: ParsedValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: [...words.slice(used), ...rest],
      options: Object.fromEntries(
        Object.entries(options).map(([k, o]) => [
          k,
          Object.fromEntries(Object.entries({ type: o.type, short: o.short, multiple: o.multiple, default: o.default }).filter(([, v]) => v !== undefined)),
        ]),
      ) as unknown as NonNullable<Parameters<typeof parseArgs>[0]>["options"],
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values as ParsedValues;
    positionals = parsed.positionals;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const m = /Unknown option '(-{1,2})([^']+)'/.exec(msg);
    const { didYouMean } = await import('../lib/document.js');
    const dym = m ? didYouMean(m[2], Object.keys(options)) : undefined;
    logger.error(msg);
    process.stderr.write(`  hint: ${dym ? `did you mean '--${dym}'? ` : ''}see 'vrio ${command.name} --help'\n`);
    return ExitCode.USAGE;
  }
  if (values.help) {
    process.stdout.write(commandHelp(command) + '\n');
    return ExitCode.OK;
  }
  const pos = command.positionals;
  const min = pos?.min ?? 0;
  const max = pos ? (pos.max ?? Infinity) : 0;
  if (positionals.length < min || positionals.length > max) {
    logger.error(
      positionals.length > max
        ? `unexpected argument '${positionals[max]}' for 'vrio ${command.name}'`
        : `'vrio ${command.name}' needs ${pos?.name ?? 'an argument'}`,
    );
    process.stderr.write(`  usage: vrio ${command.name} ${command.usage ?? ''}\n  hint: see 'vrio ${command.name} --help'\n`);
    return ExitCode.USAGE;
  }

  const ac = new AbortController();
  // Every host's SSH connection and command listens to this one signal: at 50
  // hosts Node warned "MaxListenersExceededWarning ... 11 abort listeners".
  setMaxListeners(0, ac.signal);
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(ExitCode.INTERRUPTED);
    logger.warn(`${sig} received: stopping (again to force)`);
    ac.abort(new VrioError(`interrupted by ${sig}`, { exitCode: ExitCode.INTERRUPTED }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const global: GlobalOptions = {
    manifest: values.manifest as string | undefined,
    json: Boolean(values.json),
    quiet: Boolean(values.quiet),
    verbose: Boolean(values.verbose),
    color: logger.color,
  };
  const ctx: CommandContext = { log: logger, global, cwd: process.cwd(), env, signal: ac.signal };
  try {
    return await command.run(ctx, values, positionals);
  } catch (e) {
    const code = ac.signal.aborted ? ExitCode.INTERRUPTED : exitCodeOf(e);
    if (wantsJson) {
      logger.event('error', {
        message: (e as Error).message,
        exitCode: code,
        ...(e instanceof InputError ? { issues: e.issues } : {}),
        ...(e instanceof VrioError && e.hint ? { hint: e.hint } : {}),
      });
    } else {
      logger.error((e as Error).message);
      if (e instanceof VrioError && e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      if (!(e instanceof VrioError) && logger.verbosity === 'verbose') process.stderr.write(String((e as Error).stack) + '\n');
    }
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

