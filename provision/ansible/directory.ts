// An inventory directory (`ansible-inventory -i DIR`), read the way
// ansible-core 2.14's InventoryManager.parse_source reads it: every entry in
// sorted (byte) order, sub-directories recursively, skipping hidden names,
// group_vars, host_vars, vars_plugins and the default INVENTORY_IGNORE_EXTS
// (note '.ini': Ansible skips hosts.ini inside a directory), each file parsed
// by the first plugin that takes it into one shared inventory. A file no
// plugin can parse is skipped with a warning, as Ansible does; only when no
// file parses at all is the directory refused. group_vars/ and host_vars/ are
// those of DIR itself (not of its sub-directories), as Ansible's vars plugin
// reads them for the source DIR.
import { openSync, readFileSync, readSync, closeSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AnsibleParseError, Inventory } from './model.js';
import { NotAnInventory, parseInto } from './load.js';

/** ansible-core 2.14 defaults: IGNORED_ALWAYS, INVENTORY_IGNORE_PATTERNS (none), INVENTORY_IGNORE_EXTS. */
const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const IGNORED = new RegExp(
  ['^\\.', '^host_vars$', '^group_vars$', '^vars_plugins$', ...IGNORED_EXTS.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$')].join('|'),
);

/** For messages: the ignored endings, as a list. */
export const IGNORED_EXTS_TEXT = IGNORED_EXTS.join(' ');

/** Python's sorted() of os.listdir() output: by the names' bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The files Ansible tries, in its order; `warn` hears about directory loops. */
export function inventoryFiles(dir: string, warn: (w: string) => void): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string) => {
    const real = realpathSync(d);
    // A symlink loop would make Ansible recurse until the path is too long; we read each directory once.
    if (seen.has(real)) return warn(`${d}: already read (symlink loop), skipped`);
    seen.add(real);
    for (const name of readdirSync(d).sort(byBytes)) {
      if (IGNORED.test(name)) {
        // Silent in Ansible, and surprising: hosts.ini in a directory is not read.
        if (name.endsWith('.ini') && !name.startsWith('.'))
          warn(`${join(d, name)}: skipped, as Ansible skips '.ini' files in an inventory directory (import that file itself to read it)`);
        continue;
      }
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** Ansible's script plugin runs a file that starts with '#!' (or is executable and runs); we run nothing. */
function startsWithShebang(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b.toString() === '#!';
  } finally {
    closeSync(fd);
  }
}

export class ScriptInventoryError extends AnsibleParseError {
  constructor(readonly file: string) {
    super("starts with '#!': Ansible runs it as an inventory script, which this import does not do", 1, 'inventory-script');
  }
}

/** A file of the directory that stops the whole import (our limits), named as shown. */
export class FileInDirectoryError extends Error {
  constructor(
    readonly file: string,
    readonly reason: NotAnInventory,
  ) {
    super(`${file}: ${reason.message}`);
  }
}

export interface DirectoryLoad {
  inventory: Inventory;
  warnings: string[];
  /** Files that parsed, as shown to the user. */
  parsed: string[];
  /** Every plugin's reason, per file that did not parse. */
  failed: { file: string; failures: NotAnInventory['failures'] }[];
}

/**
 * Read every inventory file of `dir` into one inventory (not reconciled:
 * the caller reconciles once, after all files, as Ansible does).
 * `shown(path)` is how a file is named in messages.
 */
export function loadDirectory(dir: string, shown: (path: string) => string): DirectoryLoad {
  let inventory = new Inventory();
  const warnings: string[] = [];
  const parsed: string[] = [];
  const failed: DirectoryLoad['failed'] = [];
  for (const f of inventoryFiles(dir, (w) => warnings.push(w))) {
    const name = shown(f);
    if (startsWithShebang(f)) throw new ScriptInventoryError(name);
    const text = readFileSync(f, 'utf8');
    try {
      const r = parseInto(inventory, text, f, { listJson: false });
      inventory = r.inventory;
      warnings.push(...r.warnings.map((w) => `${name}: ${w}`));
      parsed.push(name);
    } catch (e) {
      if (!(e instanceof NotAnInventory)) throw e;
      // Our own limits (host budget, file size) are errors, not a file to skip.
      if (e.failures.some((x) => x.error.rule === 'host-range' || x.error.rule === 'max-size')) throw new FileInDirectoryError(name, e);
      failed.push({ file: name, failures: e.failures });
      warnings.push(
        `${name}: skipped, Ansible cannot parse it either (${e.failures
          .map((x) => `${x.plugin}${x.error.line === undefined ? '' : ` line ${x.error.line}`}: ${x.error.message}`)
          .join('; ')})`,
      );
    }
  }
  return { inventory, warnings, parsed, failed };
}
