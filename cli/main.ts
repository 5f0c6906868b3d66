// The `vrio` entry point: finds the verb, parses options, runs it, maps errors
// to exit codes. Nothing here knows how a verb does its work.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { ExitCode, exitCodeOf, InputError, UsageError, VrioError } from '../lib/errors.js';
import { log, Logger, setLogger, type Verbosity } from '../lib/log.js';
import { exitCodesHelp, version } from './about.js';
import type { Command, CommandContext, GlobalOptions, ParsedValues } from './command.js';
import { commands } from './commands/index.js';
import {
  globalOptions,
  HELP_WIDTH,
  normalizeValues,
  optionHelp,
  optionsOf,
  parserOptions,
  twoColumns,
  versionOption,
  withPassthrough,
  wrap,
} from './options.js';

function paragraphs(text: string, indent = 0): string[] {
  return text.split(/\n\s*\n/).flatMap((p, i) => [...(i ? [''] : []), ...wrap(p, HELP_WIDTH, indent)]);
}

export function commandHelp(c: Command): string {
  const lines = [...wrap(`Usage: vrio ${c.name}${c.usage ? ' ' + c.usage : ''}`, HELP_WIDTH, 6, 0), '', ...paragraphs(c.summary)];
  if (c.description) lines.push('', ...paragraphs(c.description));
  lines.push(...optionHelp(optionsOf(c)));
  lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function mainHelp(): string {
  const verbs: string[] = [];
  for (const g of [...new Set(commands.map((c) => c.group))]) verbs.push('', `${g}:`, ...verbList(commands.filter((x) => x.group === g)));
  return [
    `vrio ${version()}: build vRIO appliance images and provision machines running them`,
    '',
    'Usage: vrio <verb> [options]      (vrio <verb> --help for details)',
    ...verbs,
    ...optionHelp({ ...globalOptions, ...versionOption }),
    '',
    'Environment: VRIO_MANIFEST (the manifest when no --manifest), VRIO_CACHE_DIR,',
    'VRIO_ACCEL, NO_COLOR.',
    '',
    exitCodesHelp,
  ].join('\n');
}

function verbList(entries: { name: string; summary: string }[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return twoColumns(
    entries.map((c) => [`  ${c.name}`, c.summary]),
    width,
  );
}

/** Split argv into global options before the verb, the verb's words, and the rest (verb arguments, in order). */
function splitVerb(argv: string[]): { pre: string[]; words: string[]; rest: string[] } {
  const globals = { ...globalOptions, ...versionOption };
  const pre: string[] = [];
  const words: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    if (a.startsWith('-') && a !== '-' && a !== '--') {
      const long = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
      const spec = long ? globals[long] : Object.values(globals).find((o) => o.short === a.slice(1, 2));
      if (!spec) break; // a verb option: the verb's arguments start here
      pre.push(a);
      const inline = long ? a.includes('=') : a.length > 2;
      if (spec.type === 'string' && !inline && i + 1 < argv.length) pre.push(argv[++i]);
      i++;
      continue;
    }
    const candidate = [...words, a].join(' ');
    if (!commands.some((c) => c.name === candidate || c.name.startsWith(candidate + ' '))) break;
    words.push(a);
    i++;
  }
  return { pre, words, rest: argv.slice(i) };
}

/** The verb's arguments as the parser sees them (global options given before the verb included). */
function verbArgs(command: Command, pre: string[], rest: string[]): string[] {
  return command.passthrough ? withPassthrough([...pre, ...rest], optionsOf(command)) : [...pre, ...rest];
}

/** Parse against the verb's table: throws on an unknown option, a missing value, a bad choice. */
function parseVerbArgs(command: Command, args: string[]): { values: ParsedValues; positionals: string[] } {
  const options = optionsOf(command);
  const parsed = parseArgs({ args, options: parserOptions(options), allowPositionals: true, strict: true });
  return { values: normalizeValues(options, parsed.values as ParsedValues), positionals: parsed.positionals };
}

function positionalError(command: Command, positionals: string[]): string | undefined {
  const pos = command.positionals;
  const min = pos?.min ?? 0;
  const max = pos ? (pos.max ?? Infinity) : 0;
  if (positionals.length > max) return `unexpected argument '${positionals[max]}' for 'vrio ${command.name}'`;
  if (positionals.length < min) return `'vrio ${command.name}' needs ${pos?.name ?? 'an argument'}`;
  return undefined;
}

/**
 * Check a command line against the option tables without running anything
 * (the docs test checks every `vrio ...` line of the docs with it): the error
 * the CLI would give, or undefined when it would be accepted.
 */
export async function checkInvocation(argv: string[]): Promise<string | undefined> {
  const { pre, words, rest } = splitVerb(argv);
  const entry = commands.find((c) => c.name === words.join(' '));
  if (!entry) return words.length || rest.length ? `unknown verb '${[...words, rest[0]].filter(Boolean).join(' ')}'` : undefined;
  const command = await entry.load();
  try {
    const { values, positionals } = parseVerbArgs(command, verbArgs(command, pre, rest));
    return values.help ? undefined : positionalError(command, positionals);
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** A logger for errors found before the options are parsed (only --json and --no-color matter then). */
function earlyLogger(args: string[], env: NodeJS.ProcessEnv): Logger {
  const ours = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  return new Logger({ json: ours.includes('--json'), color: ours.includes('--no-color') || env.NO_COLOR ? false : undefined });
}

/**
 * Run the CLI. With --json, every way out (success, failure, usage error,
 * missing tool, interrupt, an internal error) ends the stream with exactly one
 * `result` event carrying the exit code.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let code: number;
  try {
    code = await dispatch(argv, env);
  } catch (e) {
    const logger = log();
    if (logger.json) {
      logger.error(`internal error: ${(e as Error).message}`, { exitCode: ExitCode.FAILED });
      logger.result(ExitCode.FAILED);
    }
    throw e;
  }
  log().result(code);
  return code;
}

async function dispatch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { pre, words, rest } = splitVerb(argv);
  const name = words.join(' ');
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const logger = earlyLogger(argv, env);
    setLogger(logger);
    if (words.length === 0 && rest.length === 0) {
      if (pre.includes('--version') || pre.includes('-V')) {
        if (logger.json) logger.event('version', { version: version() });
        else process.stdout.write(version() + '\n');
        return ExitCode.OK;
      }
      const help = pre.includes('--help') || pre.includes('-h');
      if (help) logger.print(mainHelp());
      else usageError(logger, 'no verb given', "run 'vrio --help' for the list of verbs", mainHelp());
      return help ? ExitCode.OK : ExitCode.USAGE;
    }
    const group = commands.filter((c) => c.name.startsWith(name + ' '));
    if (words.length && (rest.length === 0 || rest[0].startsWith('-'))) {
      const list = `vrio ${name}: verbs:\n${verbList(group).join('\n')}`;
      if (rest.includes('--help') || rest.includes('-h')) {
        logger.print(list);
        return ExitCode.OK;
      }
      usageError(logger, `'vrio ${name}' needs a verb`, `one of: ${group.map((c) => c.name.slice(name.length + 1)).join(', ')}`, list);
      return ExitCode.USAGE;
    }
    const attempted = [...words, rest[0]].filter(Boolean).join(' ');
    // lib/document.js pulls in ajv and yaml: load it only on the error paths.
    const { didYouMean } = await import('../lib/document.js');
    const first = words[0] ?? rest[0] ?? '';
    const dym = words.length
      ? didYouMean(
          rest[0],
          group.map((c) => c.name.slice(name.length + 1).split(' ')[0]),
        )
      : didYouMean(first, [...new Set(commands.map((c) => c.name.split(' ')[0]))]);
    usageError(
      logger,
      `unknown verb '${attempted}'`,
      `${dym ? `did you mean 'vrio ${words.length ? `${name} ${dym}` : dym}'? ` : ''}run 'vrio --help' for the list of verbs`,
    );
    return ExitCode.USAGE;
  }
  // Only the verb that runs is imported (see cli/commands/index.ts).
  const command = await entry.load();
  const options = optionsOf(command);
  const args = verbArgs(command, pre, rest);
  let values: ParsedValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseVerbArgs(command, args));
  } catch (e) {
    const logger = earlyLogger(args, env);
    setLogger(logger);
    const msg = (e as Error).message.split('\n')[0];
    const m = /Unknown option '(-{1,2})([^']+)'/.exec(msg);
    const { didYouMean } = await import('../lib/document.js');
    const dym = m ? didYouMean(m[2], Object.keys(options)) : undefined;
    const hint = `${e instanceof UsageError && e.hint ? e.hint + '; ' : dym ? `did you mean '--${dym}'? ` : ''}see 'vrio ${command.name} --help'`;
    usageError(logger, msg, hint);
    return ExitCode.USAGE;
  }
  const wantsJson = Boolean(values.json);
  const logger = new Logger({
    json: wantsJson,
    verbosity: values.quiet ? 'quiet' : verbosityOf(values.verbose),
    color: values['no-color'] || env.NO_COLOR ? false : undefined,
  });
  setLogger(logger);
  if (values.help) {
    logger.print(commandHelp(command));
    return ExitCode.OK;
  }
  const bad = positionalError(command, positionals);
  if (bad) {
    const usage = `vrio ${command.name} ${command.usage ?? ''}`.trimEnd();
    if (logger.json) logger.error(bad, { exitCode: ExitCode.USAGE, hint: `usage: ${usage}; see 'vrio ${command.name} --help'` });
    else {
      logger.error(bad);
      process.stderr.write(`  usage: ${usage}\n  hint: see 'vrio ${command.name} --help'\n`);
    }
    return ExitCode.USAGE;
  }
  if (values.directory !== undefined) {
    const dir = resolve(values.directory as string);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      logger.error(`-C ${values.directory}: not a directory`, { exitCode: ExitCode.USAGE });
      return ExitCode.USAGE;
    }
    // Like git -C: every relative path (options, ./vrio.yaml, out/) is taken from DIR.
    process.chdir(dir);
  }

  const ac = new AbortController();
  // Every host's SSH connection and command listens to this one signal: at 50
  // hosts Node warned "MaxListenersExceededWarning ... 11 abort listeners".
  setMaxListeners(0, ac.signal);
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      // stdout is synchronous for files and pipes on Linux: the result line is out before exit.
      logger.result(ExitCode.INTERRUPTED);
      process.exit(ExitCode.INTERRUPTED);
    }
    logger.warn(`${sig} received: stopping (again to force)`);
    ac.abort(new VrioError(`interrupted by ${sig}`, { exitCode: ExitCode.INTERRUPTED }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const global: GlobalOptions = {
    manifest: (values.manifest as string | undefined) ?? (env.VRIO_MANIFEST || undefined),
    json: Boolean(values.json),
    quiet: Boolean(values.quiet),
    verbose: Boolean(values.verbose),
    color: logger.color,
  };
  const ctx: CommandContext = { log: logger, global, cwd: process.cwd(), env, signal: ac.signal };
  try {
    const code = await command.run(ctx, values, positionals);
    // A verb that winds down on the abort (provision marks its hosts unreachable
    // and returns 4) was still interrupted: exit 130, as Ctrl-C anywhere else does.
    if (ac.signal.aborted && code !== ExitCode.OK) {
      logger.error((ac.signal.reason as Error).message, { exitCode: ExitCode.INTERRUPTED });
      return ExitCode.INTERRUPTED;
    }
    return code;
  } catch (e) {
    const code = ac.signal.aborted ? ExitCode.INTERRUPTED : exitCodeOf(e);
    logger.error((e as Error).message, {
      exitCode: code,
      ...(e instanceof InputError ? { issues: e.issues } : {}),
      ...(e instanceof VrioError && e.hint ? { hint: e.hint } : {}),
    });
    if (!wantsJson && !(e instanceof VrioError) && (logger.verbosity === 'verbose' || logger.verbosity === 'trace'))
      process.stderr.write(String((e as Error).stack) + '\n');
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** -v is verbose, -vv (or -v -v) also shows what remote commands printed. */
function verbosityOf(v: ParsedValues[string]): Verbosity {
  const n = Array.isArray(v) ? v.length : v ? 1 : 0;
  return n >= 2 ? 'trace' : n === 1 ? 'verbose' : 'normal';
}

/**
 * A usage error (exit 2): message and hint on stderr, or one `error` event in
 * JSON mode. When `usage` (the help, a verb list) is given, a person sees just
 * that on stdout, as before; a --json reader gets the error event instead.
 */
function usageError(logger: Logger, message: string, hint: string, usage?: string): void {
  if (usage !== undefined && !logger.json) process.stdout.write(usage + '\n');
  else logger.error(message, { exitCode: ExitCode.USAGE, hint });
}
