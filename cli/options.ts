// The option tables: what every short flag means, the global options, and the
// one conversion from a verb's table to the parser, the parsed values and the
// help text. Completion (cli/completion.ts) and the man page (cli/man.ts) read
// the same tables, so none of them can drift from what the parser accepts.
import { parseArgs } from 'node:util';
import { UsageError } from '../lib/errors.js';
import type { Command, OptionSpec, ParsedValues } from './command.js';

/**
 * Each short flag has one meaning in every verb (test/unit/cli-options.test.ts
 * walks every verb's table against this). A verb may leave one out, never reuse it.
 */
export const RESERVED_SHORTS: Readonly<Record<string, string>> = {
  C: 'directory',
  F: 'ssh-config',
  d: 'diff',
  f: 'forks',
  h: 'help',
  i: 'inventory',
  l: 'limit',
  m: 'manifest',
  o: 'output-dir',
  q: 'quiet',
  r: 'role',
  u: 'user',
  v: 'verbose',
  V: 'version',
};

const GLOBAL = 'Global options';

export const globalOptions: Record<string, OptionSpec> = {
  directory: { type: 'string', short: 'C', arg: 'DIR', complete: 'dir', group: GLOBAL, description: 'run as if started in DIR (like git -C, make -C)' },
  manifest: {
    type: 'string',
    short: 'm',
    arg: 'FILE',
    complete: 'file',
    group: GLOBAL,
    description: 'build manifest (env VRIO_MANIFEST; default: ./vrio.yaml when present)',
  },
  json: { type: 'boolean', group: GLOBAL, description: 'machine-readable output: JSON, with progress events for long steps' },
  quiet: { type: 'boolean', short: 'q', group: GLOBAL, description: 'only errors and requested data' },
  verbose: { type: 'boolean', short: 'v', multiple: true, group: GLOBAL, description: 'show every external and remote command; -vv also their output' },
  'no-color': { type: 'boolean', group: GLOBAL, description: 'no ANSI colours (also: NO_COLOR=1)' },
  help: { type: 'boolean', short: 'h', group: GLOBAL, description: 'show help' },
};

/** Only before a verb: `vrio -V`. */
export const versionOption: Record<string, OptionSpec> = {
  version: { type: 'boolean', short: 'V', group: GLOBAL, description: 'print the version' },
};

/** Every option a verb parses: its own, then the global ones. */
export function optionsOf(c: Pick<Command, 'options'>): Record<string, OptionSpec> {
  return { ...(c.options ?? {}), ...globalOptions };
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parserOptions(options: Record<string, OptionSpec>): ParseArgsOptions {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean | string[] }> = {};
  for (const [name, o] of Object.entries(options)) {
    out[name] = { type: o.type };
    if (o.short) out[name].short = o.short;
    // Every value option is parsed as repeatable, so a single-value option
    // given twice is seen (and refused in normalizeValues) instead of the
    // last one silently winning (`-i a.yaml -i b.yaml`).
    if (o.type === 'string' || o.multiple) out[name].multiple = true;
    // A default goes through the same splitting and unwrapping as a given value.
    if (o.default !== undefined) out[name].default = o.type === 'string' && typeof o.default === 'string' ? [o.default] : o.default;
  }
  return out as ParseArgsOptions;
}

/**
 * Split list values on commas, and check values against their choices: a bad
 * value is a usage error naming the flag, the value and what is allowed.
 */
export function normalizeValues(options: Record<string, OptionSpec>, values: ParsedValues): ParsedValues {
  const out: ParsedValues = { ...values };
  for (const [name, o] of Object.entries(options)) {
    const v = out[name];
    if (v === undefined || typeof v === 'boolean') continue;
    if (o.type === 'string' && !o.list && !o.multiple && Array.isArray(v)) {
      if (v.length > 1)
        throw new UsageError(`--${name} given ${v.length} times (${v.map((x) => `'${x}'`).join(', ')}): it takes one value`, `give --${name} once`);
      out[name] = v[0];
    }
    const one = out[name] as string | string[];
    const items = o.list ? (one as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()) : Array.isArray(one) ? one : [one];
    if (o.list) {
      if (items.some((x) => x === ''))
        throw new UsageError(`--${name} '${(v as string[]).join(',')}': empty list item`, `e.g. --${name} ${o.choices?.slice(0, 2).join(',') ?? 'a,b'}`);
      out[name] = items;
    }
    if (o.choices) {
      const bad = items.find((x) => !o.choices!.includes(x));
      if (bad !== undefined) throw new UsageError(`--${name} ${bad}: must be ${listWords(o.choices)}`);
    }
  }
  return out;
}

function listWords(xs: readonly string[]): string {
  return xs.length === 1 ? xs[0] : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/**
 * For a passthrough verb, the arguments with `--` inserted after the first
 * positional, so what follows it is never parsed as our options.
 */
export function withPassthrough(args: string[], options: Record<string, OptionSpec>): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args;
    if (a.startsWith('-') && a !== '-') {
      const long = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
      const spec = long ? options[long] : Object.values(options).find((o) => o.short === a.slice(1, 2));
      // A string option's value is the next argument unless given inline (--x=v, -xv).
      const inline = long ? a.includes('=') : a.length > 2;
      if (spec?.type === 'string' && !inline) i++;
      continue;
    }
    return [...args.slice(0, i + 1), '--', ...args.slice(i + 1)];
  }
  return args;
}

// ---- help text ------------------------------------------------------------

export const HELP_WIDTH = 80;

/** Greedy word wrap to `width` columns, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent = 0, first = indent): string[] {
  const lines: string[] = [];
  let line = ' '.repeat(first);
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

/** `-o, --output-dir DIR` as shown in help, completion descriptions and the man page. */
export function flagLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
}

/** The description with what the table knows: list, repeatable, default. */
export function fullDescription(o: OptionSpec): string {
  const notes: string[] = [];
  if (o.list) notes.push('comma-separated or repeated');
  else if (o.multiple) notes.push('repeatable');
  if (o.default !== undefined && o.default !== false) notes.push(`default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}`);
  return notes.length ? `${o.description} (${notes.join('; ')})` : o.description;
}

const COL = 28;

/** `  name   summary` rows, the summary wrapped in its column. */
export function twoColumns(rows: [string, string][], col: number): string[] {
  return rows.flatMap(([left, text]) => {
    const lines = wrap(text, HELP_WIDTH, col);
    if (left.length <= col - 2) lines[0] = left.padEnd(col) + lines[0].slice(col);
    else lines.unshift(left);
    return lines;
  });
}

/** Options grouped by their `group`, each entry wrapped to HELP_WIDTH. */
export function optionHelp(options: Record<string, OptionSpec>): string[] {
  const groups = new Map<string, [string, OptionSpec][]>();
  for (const [name, o] of Object.entries(options)) {
    const g = o.group ?? 'Options';
    groups.set(g, [...(groups.get(g) ?? []), [name, o]]);
  }
  const out: string[] = [];
  for (const [g, entries] of groups) {
    out.push('', `${g}:`);
    out.push(
      ...twoColumns(
        entries.map(([name, o]) => [`  ${o.short ? '' : '    '}${flagLabel(name, o)}`, fullDescription(o)]),
        COL,
      ),
    );
  }
  return out;
}
