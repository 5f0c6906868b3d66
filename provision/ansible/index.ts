// `vrio inventory import`: read an Ansible inventory the way ansible-inventory
// does (INI, YAML, or `ansible-inventory --list` JSON, plus group_vars/ and
// host_vars/ beside it) and write ours. The pieces live beside it:
// literal.ts (INI values), patterns.ts (host:port, ranges), ini.ts and
// yaml.ts (the two file plugins), script-json.ts, vars-dirs.ts, model.ts
// (groups, depth, priority, variable precedence), mapping.ts (to our format).
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError, type InputIssue } from '../../lib/errors.js';
import type { RawInventory } from '../inventory-types.js';
import { loadAnsibleText, NotAnInventory, type Format } from './load.js';
import { mapInventory, RoleTargetError, type MapOptions } from './mapping.js';
import { AnsibleParseError } from './model.js';
import { readVarsDirs, VarsFileError } from './vars-dirs.js';

export { expandHostPattern } from './patterns.js';
export type { MapOptions } from './mapping.js';

export interface ImportResult {
  inventory: RawInventory;
  warnings: string[];
  format: Format;
  /** Ansible host name -> our host name, for every host imported. */
  names: Map<string, string>;
  /** group_vars/host_vars files read. */
  varsFiles: string[];
}

export interface ImportOptions extends MapOptions {
  /** Read group_vars/ and host_vars/ in this directory (the inventory's own, for a file). */
  varsDir?: string;
}

const HINTS: Record<string, string> = {
  'host-range': 'Ansible ranges are [start:end] or [start:end:step]; at most 100000 hosts per import',
  'inventory-plugin': "inventory plugin configs need Ansible to run them: import the output of 'ansible-inventory -i FILE --list' instead",
};

function issueOf(file: string, e: AnsibleParseError, plugin?: string): InputIssue {
  return {
    file: e instanceof VarsFileError ? e.file : file,
    pointer: '',
    line: e.line,
    column: e.line === undefined ? undefined : 1,
    rule: e.rule === 'ansible-inventory' ? `ansible-${plugin ?? 'inventory'}` : e.rule,
    message: e.message,
    ...(HINTS[e.rule] ? { hint: HINTS[e.rule] } : {}),
  };
}

/** Import from text (no group_vars/host_vars unless opts.varsDir names their directory). */
export function importAnsible(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  let loaded;
  try {
    loaded = loadAnsibleText(text, file);
  } catch (e) {
    if (!(e instanceof NotAnInventory)) throw e;
    const issues = e.failures.map((f) => issueOf(file, f.error, f.plugin));
    if (issues.length > 1) issues[issues.length - 1].hint ??= 'Ansible rejects this file too (ansible-inventory -i FILE --list names the same problems)';
    throw new InputError(issues);
  }
  const warnings = [...loaded.warnings];
  let varsFiles: string[] = [];
  // --list output already holds group_vars/host_vars values; reading them again could reorder precedence.
  if (opts.varsDir !== undefined && loaded.format !== 'ansible-inventory-json') {
    try {
      varsFiles = readVarsDirs(loaded.inventory, opts.varsDir, (w) => warnings.push(w));
    } catch (e) {
      if (e instanceof AnsibleParseError) throw new InputError([issueOf(file, e)]);
      throw e;
    }
  }
  let mapped;
  try {
    mapped = mapInventory(loaded.inventory, opts);
  } catch (e) {
    if (e instanceof RoleTargetError)
      throw new InputError([
        {
          file,
          pointer: '',
          rule: 'role-target',
          message: e.message,
          hint: 'name a group or host of the Ansible inventory (ansible-inventory -i FILE --graph lists them)',
        },
      ]);
    if (e instanceof AnsibleParseError) throw new InputError([issueOf(file, e)]);
    throw e;
  }
  return { inventory: mapped.inventory, warnings: [...warnings, ...mapped.warnings], format: loaded.format, names: mapped.names, varsFiles };
}

/** Import a file, with the group_vars/ and host_vars/ directories beside it. */
export function importAnsibleFile(path: string, opts: MapOptions = {}, shownAs = path): ImportResult {
  let text: string;
  try {
    if (statSync(path).isDirectory())
      throw new InputError([
        {
          file: shownAs,
          pointer: '',
          rule: 'inventory-file',
          message: 'is a directory',
          hint: "import one inventory file, or the output of 'ansible-inventory -i DIR --list' saved as a .json file",
        },
      ]);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError([{ file: shownAs, pointer: '', rule: 'readable', message: `cannot read file (${(e as NodeJS.ErrnoException).code})` }]);
  }
  return importAnsible(text, shownAs, { ...opts, varsDir: dirname(path) });
}
