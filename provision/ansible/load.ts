// Which plugin reads a file, as ansible-inventory decides it: the YAML plugin
// takes files ending .yml/.yaml/.json or with no extension, and when it
// cannot parse one the INI plugin tries next. So an INI file called `hosts`
// is INI, and a YAML file called `hosts` is YAML, whatever its first line is.
// `ansible-inventory --list` JSON is recognised by its shape.
import { extname } from 'node:path';
import { AnsibleParseError, Inventory } from './model.js';
import { parseIni } from './ini.js';
import { isScriptJson, parseScriptJson } from './script-json.js';
import { loadYamlSource, parseYamlInventory, type YamlSource } from './yaml.js';
import { MAX_IMPORTED_HOSTS } from './patterns.js';

export type Format = 'yaml' | 'ini' | 'ansible-inventory-json';

export interface Loaded {
  inventory: Inventory;
  format: Format;
  warnings: string[];
}

/** Every plugin that was tried failed: each one's reason, as Ansible lists them. */
export class NotAnInventory extends Error {
  constructor(readonly failures: { plugin: string; error: AnsibleParseError }[]) {
    super(failures.map((f) => `${f.plugin}: ${f.error.message}`).join('; '));
  }
}

const YAML_EXTENSIONS = ['', '.yml', '.yaml', '.json'];

/** One file read on its own (reconciled, as ansible-inventory -i FILE does). */
export function loadAnsibleText(text: string, file: string): Loaded {
  const loaded = parseInto(new Inventory(), text, file, { listJson: true });
  loaded.inventory.reconcile();
  return loaded;
}

/**
 * One file parsed into `base` (not changed: the result is a new inventory),
 * trying the plugins in Ansible's order. Groups and hosts already in `base`
 * count, as they do when Ansible reads the files of a directory into one
 * inventory. `listJson`: recognise `ansible-inventory --list` output (our
 * extension for a single file; in a directory Ansible reads it as YAML).
 */
export function parseInto(base: Inventory, text: string, file: string, opts: { listJson: boolean }): Loaded {
  const failures: { plugin: string; error: AnsibleParseError }[] = [];
  const attempt = (plugin: Format, run: (inv: Inventory) => void): Inventory | undefined => {
    const inv = base.clone();
    try {
      run(inv);
      return inv;
    } catch (e) {
      if (!(e instanceof AnsibleParseError)) throw e;
      // A range that is too big is our limit, not a format mismatch: report it alone.
      if (e.rule === 'host-range' || e.rule === 'max-size') throw new NotAnInventory([{ plugin, error: e }]);
      failures.push({ plugin, error: e });
      return undefined;
    }
  };
  if (YAML_EXTENSIONS.includes(extname(file).toLowerCase())) {
    let data: unknown;
    let source: YamlSource | undefined;
    let parsed = false;
    try {
      ({ data, source } = loadYamlSource(text, MAX_IMPORTED_HOSTS));
      parsed = true;
    } catch (e) {
      if (!(e instanceof AnsibleParseError)) throw e;
      if (e.rule === 'max-size') throw new NotAnInventory([{ plugin: 'yaml', error: e }]);
      failures.push({ plugin: 'yaml', error: e });
    }
    if (parsed && opts.listJson && isScriptJson(data)) {
      const inv = attempt('ansible-inventory-json', (i) => parseScriptJson(data as Record<string, unknown>, i));
      if (inv) return { inventory: inv, format: 'ansible-inventory-json', warnings: [] };
      throw new NotAnInventory(failures);
    }
    if (parsed) {
      const yamlWarnings: string[] = [];
      const inv = attempt('yaml', (i) =>
        parseYamlInventory(
          data,
          i,
          () => MAX_IMPORTED_HOSTS - i.hosts.size,
          (w) => yamlWarnings.push(w),
          source,
        ),
      );
      if (inv) return { inventory: inv, format: 'yaml', warnings: yamlWarnings };
    }
  }
  const inv = attempt('ini', (i) => parseIni(text, i, () => MAX_IMPORTED_HOSTS - i.hosts.size));
  if (inv) return { inventory: inv, format: 'ini', warnings: [] };
  throw new NotAnInventory(failures);
}
