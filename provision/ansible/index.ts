// `vrio inventory import`: read an Ansible inventory the way ansible-inventory
// does (INI, YAML, or `ansible-inventory --list` JSON, plus group_vars/ and
// host_vars/ beside it) and write ours. The pieces live beside it:
// literal.ts (INI values), patterns.ts (host:port, ranges), ini.ts and
// yaml.ts (the two file plugins), script-json.ts, vars-dirs.ts, model.ts
// (groups, depth, priority, variable precedence), mapping.ts (to our format).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { InputError, type InputIssue } from '../../lib/errors.js';
import type { RawInventory } from '../inventory-types.js';
import { loadAnsibleText, NotAnInventory, type Format } from './load.js';
import { mapInventory, RoleTargetError, type MapOptions } from './mapping.js';
import { FileInDirectoryError, IGNORED_EXTS_TEXT, loadDirectory, ScriptInventoryError } from './directory.js';
import { AnsibleParseError, type Inventory } from './model.js';
import { readVarsDirs, VarsFileError } from './vars-dirs.js';

export { expandHostPattern } from './patterns.js';
export type { MapOptions } from './mapping.js';

export interface ImportResult {
  inventory: RawInventory;
  warnings: string[];
  /** How the file was read; 'directory' for an inventory directory (its files may differ). */
  format: Format | 'directory';
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
    file: e instanceof VarsFileError || e instanceof ScriptInventoryError ? e.file : file,
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
    throw notAnInventory(file, e);
  }
  // --list output already holds group_vars/host_vars values; reading them again could reorder precedence.
  const varsDir = loaded.format === 'ansible-inventory-json' ? undefined : opts.varsDir;
  return finish(loaded.inventory, loaded.format, file, [...loaded.warnings], { ...opts, varsDir });
}

function notAnInventory(file: string, e: NotAnInventory): InputError {
  const issues = e.failures.map((f) => issueOf(file, f.error, f.plugin));
  if (issues.length > 1) issues[issues.length - 1].hint ??= 'Ansible rejects this file too (ansible-inventory -i FILE --list names the same problems)';
  return new InputError(issues);
}

/** group_vars/host_vars, then our format; errors as InputError naming `file`. */
function finish(inv: Inventory, format: ImportResult['format'], file: string, warnings: string[], opts: ImportOptions): ImportResult {
  let varsFiles: string[] = [];
  if (opts.varsDir !== undefined) {
    try {
      varsFiles = readVarsDirs(inv, opts.varsDir, (w) => warnings.push(w));
    } catch (e) {
      if (e instanceof AnsibleParseError) throw new InputError([issueOf(file, e)]);
      throw e;
    }
  }
  let mapped;
  try {
    mapped = mapInventory(inv, opts);
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
  return { inventory: mapped.inventory, warnings: [...warnings, ...mapped.warnings], format, names: mapped.names, varsFiles };
}

/**
 * Import an inventory directory as `ansible-inventory -i DIR` reads it
 * (directory.ts): its files merged in Ansible's order, then DIR's own
 * group_vars/ and host_vars/.
 */
export function importAnsibleDirectory(path: string, opts: MapOptions = {}, shownAs = path): ImportResult {
  const shown = (p: string) => join(shownAs, relative(path, p));
  let loaded;
  try {
    loaded = loadDirectory(path, shown);
  } catch (e) {
    if (e instanceof FileInDirectoryError) throw notAnInventory(e.file, e.reason);
    if (e instanceof ScriptInventoryError)
      throw new InputError([{ ...issueOf(e.file, e), hint: 'run it through Ansible and import the output: ansible-inventory -i DIR --list > all.json' }]);
    if ((e as NodeJS.ErrnoException).code)
      throw new InputError([{ file: shownAs, pointer: '', rule: 'readable', message: `cannot read the directory (${(e as NodeJS.ErrnoException).code})` }]);
    throw e;
  }
  if (!loaded.parsed.length)
    throw new InputError(
      loaded.failed.length
        ? loaded.failed.flatMap(({ file, failures }) => failures.map((f) => issueOf(file, f.error, f.plugin)))
        : [
            {
              file: shownAs,
              pointer: '',
              rule: 'inventory-directory',
              message: 'holds no file Ansible reads as an inventory',
              hint: `Ansible skips hidden files, group_vars/, host_vars/ and names ending ${IGNORED_EXTS_TEXT} in a directory (so hosts.ini is skipped: import that file itself)`,
            },
          ],
    );
  loaded.inventory.reconcile();
  return finish(loaded.inventory, 'directory', shownAs, loaded.warnings, { ...opts, varsDir: path });
}

/** Import a file (with the group_vars/ and host_vars/ beside it) or a directory. */
export function importAnsibleFile(path: string, opts: MapOptions = {}, shownAs = path): ImportResult {
  let text: string;
  try {
    if (statSync(path).isDirectory()) return importAnsibleDirectory(path, opts, shownAs);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (!(e as NodeJS.ErrnoException).code) throw e;
    throw new InputError([{ file: shownAs, pointer: '', rule: 'readable', message: `cannot read file (${(e as NodeJS.ErrnoException).code})` }]);
  }
  return importAnsible(text, shownAs, { ...opts, varsDir: dirname(path) });
}
