// The contract every verb implements: one file per verb under cli/commands/.
// A verb only parses its own options and calls into builder/ or provision/.
import type { Logger } from '../lib/log.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[];
  /** Shown in --help; `arg` names the value, e.g. FILE. */
  description: string;
  arg?: string;
}

export interface GlobalOptions {
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
  positionals?: { name: string; min?: number; max?: number };
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
  load(): Promise<Command>;
}
