// The contract every verb implements: one file per verb under cli/commands/.
// A verb only parses its own options and calls into builder/ or provision/.
import type { Logger } from '../lib/log.js';

/**
 * One option of a verb. The verb's table of these is the single source of
 * parsing, --help, shell completion and the man page (cli/options.ts).
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Only the letters reserved in cli/options.ts (RESERVED_SHORTS), each with one meaning. */
  short?: string;
  /** Repeatable; the value is a string[]. */
  multiple?: boolean;
  /** A list: repeats and comma-separated values both work (`--role a,b` = `--role a --role b`); implies multiple. */
  list?: boolean;
  /** The allowed values (of each list item): checked before the verb runs, offered by completion. */
  choices?: readonly string[];
  /** What completion offers for the value when there are no choices. */
  complete?: 'file' | 'dir';
  default?: string | boolean | string[];
  /** Shown in --help; `arg` names the value, e.g. FILE. */
  description: string;
  arg?: string;
  /** Help section heading (default: "Options"). */
  group?: string;
}

export interface GlobalOptions {
  /** --manifest, else $VRIO_MANIFEST. */
  manifest?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

export interface CommandContext {
  log: Logger;
  global: GlobalOptions;
  /** Working directory the command was started in. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM so long steps can stop and clean up. */
  signal: AbortSignal;
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** Verb path, e.g. "doctor" or "kernel build". */
  name: string;
  summary: string;
  /** Usage line after `vrio <name>`, e.g. "[--role R] [FILE]". */
  usage?: string;
  /** Longer description paragraph(s). */
  description?: string;
  examples: string[];
  options?: Record<string, OptionSpec>;
  /** Allow positional arguments (default: none). */
  positionals?: { name: string; min?: number; max?: number; complete?: 'file' | 'dir' };
  /**
   * Everything after the first positional is passed on verbatim (a remote
   * command with its own options: `vrio lab ssh guest1 ls -la`), as if after `--`.
   */
  passthrough?: boolean;
  run(ctx: CommandContext, values: ParsedValues, positionals: string[]): Promise<number>;
}

/**
 * What the CLI knows about a verb before loading it: enough for `vrio --help`
 * and for finding the verb. `load()` imports the verb's module (and whatever
 * it needs) only when the verb runs or shows its own help.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  /** Heading the verb is listed under in `vrio --help`. */
  group: string;
  load(): Promise<Command>;
}
