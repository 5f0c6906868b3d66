// Error types shared by every verb. Each carries the process exit code the CLI
// should end with, so a module deep in the builder can decide "this is bad input"
// without knowing anything about the CLI.

export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2, // bad input: CLI arguments, manifest, inventory
  MISSING_TOOL: 3,
  UNREACHABLE: 4,
  INTERRUPTED: 130,
} as const;

export interface ErrorOptions {
  exitCode?: number;
  hint?: string;
  cause?: unknown;
}

export class VrioError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VrioError';
    this.exitCode = opts.exitCode ?? ExitCode.FAILED;
    this.hint = opts.hint;
  }
}

export class UsageError extends VrioError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.USAGE, hint });
    this.name = 'UsageError';
  }
}

/** One problem found in an input document (manifest, inventory, pins, CLI value). */
export interface InputIssue {
  file: string;
  /** JSON pointer into the document, '' for the root. */
  pointer: string;
  line?: number;
  column?: number;
  /** The rule that failed, e.g. "additionalProperties", "pattern", "unique-mac". */
  rule: string;
  message: string;
  hint?: string;
}

export function formatIssue(i: InputIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}:${i.column ?? 1}` : i.file;
  const ptr = i.pointer === '' ? '(root)' : i.pointer;
  let s = `${where}: ${ptr}: ${i.message} [${i.rule}]`;
  if (i.hint) s += `\n  hint: ${i.hint}`;
  return s;
}

/** Bad input: one or more issues, all reported together, nothing runs. */
export class InputError extends VrioError {
  readonly issues: InputIssue[];
  constructor(issues: InputIssue[]) {
    const head = issues.length === 1 ? 'invalid input' : `invalid input (${issues.length} problems)`;
    super(`${head}:\n${issues.map(formatIssue).join('\n')}`, { exitCode: ExitCode.USAGE });
    this.name = 'InputError';
    this.issues = issues;
  }
}

export interface MissingTool {
  tool: string;
  debianPackage: string;
  why: string;
}

export class MissingToolError extends VrioError {
  readonly missing: MissingTool[];
  constructor(missing: MissingTool[]) {
    const pkgs = [...new Set(missing.map((m) => m.debianPackage))].sort();
    super(`missing host tools: ${missing.map((m) => `${m.tool} (${m.why})`).join(', ')}`, {
      exitCode: ExitCode.MISSING_TOOL,
      hint: `apt-get install -y ${pkgs.join(' ')}   (or: vrio doctor --install)`,
    });
    this.name = 'MissingToolError';
    this.missing = missing;
  }
}

/** An external command failed; the message carries the command, exit code and log tail. */
export class CommandError extends VrioError {
  readonly command: string;
  readonly code: number | null;
  readonly logFile?: string;
  readonly tail: string;
  /** The signal that killed the command, if one did. */
  readonly signal?: string;
  constructor(command: string, code: number | null, tail: string, logFile?: string, signal?: string | null) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    super(`command ${how}: ${command}` + (logFile ? `\n  log: ${logFile}` : '') + (tail ? `\n  last lines:\n${indent(tail, '    ')}` : ''));
    this.name = 'CommandError';
    this.command = command;
    this.code = code;
    this.logFile = logFile;
    this.tail = tail;
    this.signal = signal ?? undefined;
  }
}

export function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof VrioError) return err.exitCode;
  return ExitCode.FAILED;
}
