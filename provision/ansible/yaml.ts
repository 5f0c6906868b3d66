// Ansible's YAML inventory plugin (ansible/plugins/inventory/yaml.py): top-level
// keys are groups, each with hosts:, children:, vars:. A string where a
// mapping belongs names one entry (`hosts: web1` is the host web1, not five
// one-letter hosts). Values are read as PyYAML reads them (YAML 1.1: yes/no
// are booleans, 0755 is octal), so types match what Ansible sees.
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { PyValue } from './literal.js';
import { AnsibleParseError, Inventory } from './model.js';
import { expandHostPattern, HostPatternError, splitPort } from './patterns.js';

const MAX_BYTES = 4 * 1024 * 1024;

/** YAML text as PyYAML's safe loader would give it, or an AnsibleParseError. */
export function loadYaml(text: string, maxItems: number): unknown {
  if (Buffer.byteLength(text) > MAX_BYTES) throw new AnsibleParseError(`file is larger than ${MAX_BYTES} bytes`, undefined, 'max-size');
  const lc = new LineCounter();
  // Duplicate keys: PyYAML keeps the last one, and so does Ansible.
  const doc: Document = parseDocument(text, { version: '1.1', uniqueKeys: false, lineCounter: lc, prettyErrors: false, schema: 'yaml-1.1' });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new AnsibleParseError(`YAML syntax error: ${e.message.split('\n')[0]}`, lc.linePos(e.pos[0]).line, 'yaml-syntax');
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  // Bound the work the rest does on one document.
  let items = 0;
  const todo: unknown[] = [data];
  while (todo.length) {
    const v = todo.pop();
    if (v && typeof v === 'object') {
      const kids = Array.isArray(v) ? v : Object.values(v);
      items += kids.length;
      if (items > maxItems) throw new AnsibleParseError(`more than ${maxItems} entries in one document`, undefined, 'max-items');
      todo.push(...kids);
    }
  }
  return data;
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'NoneType';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  return typeof v;
}

/** YAML values as PyValue (dates become their text, as Ansible's JSON output shows them). */
function pyOf(v: unknown): PyValue {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(pyOf);
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pyOf(x)]));
  if (typeof v === 'bigint') return Number(v);
  return v as PyValue;
}

export function parseYamlInventory(data: unknown, inv: Inventory, budget: () => number, warn: (w: string) => void): void {
  if (data === null || data === undefined || (isMapping(data) && !Object.keys(data).length)) throw new AnsibleParseError('Parsed empty YAML file');
  if (!isMapping(data)) throw new AnsibleParseError(`YAML inventory has invalid structure, it should be a dictionary, got: ${typeName(data)}`);
  if (data.plugin) throw new AnsibleParseError('Plugin configuration YAML file, not YAML inventory', undefined, 'inventory-plugin');
  // Iterative walk (no recursion over deep children); a group's children are parsed before it is linked to them.
  const walk = (group: string, node: unknown): void => {
    if (!(node === null || isMapping(node))) {
      warn(`skipping '${group}' as this is not a valid group definition (Ansible skips it too)`);
      return;
    }
    inv.addGroup(group);
    if (node === null) return;
    for (const section of ['vars', 'children', 'hosts']) {
      if (!(section in node)) continue;
      if (typeof node[section] === 'string') node[section] = { [node[section] as string]: null };
      if (!(node[section] === null || isMapping(node[section])))
        throw new AnsibleParseError(`Invalid "${section}" entry for "${group}" group, requires a dictionary, found "${typeName(node[section])}" instead.`);
    }
    for (const [key, value] of Object.entries(node)) {
      if (value === null) continue;
      if (!isMapping(value)) {
        warn(`skipping key (${key}) in group (${group}) as it is not a mapping, it is a ${typeName(value)} (Ansible skips it too)`);
        continue;
      }
      if (key === 'vars') for (const [k, v] of Object.entries(value)) inv.setGroupVar(group, k, pyOf(v));
      else if (key === 'children')
        for (const [sub, subNode] of Object.entries(value)) {
          walk(sub, subNode);
          if (inv.groups.has(sub)) inv.addChild(group, sub);
        }
      else if (key === 'hosts')
        for (const [pattern, hv] of Object.entries(value)) {
          const { host, port } = splitPort(pattern);
          let names: string[];
          try {
            names = expandHostPattern(host, budget());
          } catch (e) {
            if (!(e instanceof HostPatternError)) throw e;
            throw new AnsibleParseError(`${e.message} (hosts of group ${group})`, undefined, 'host-range');
          }
          if (!(hv === null || isMapping(hv)))
            throw new AnsibleParseError(`Invalid data from file, expected dictionary and got:\n\n${String(hv)} (host ${pattern} in group ${group})`);
          for (const n of names) {
            const h = inv.addHost(n, group, port);
            for (const [k, v] of Object.entries(hv ?? {})) h.vars[k] = pyOf(v);
          }
        }
      else warn(`skipping unexpected key (${key}) in group (${group}), only "vars", "children" and "hosts" are valid (Ansible skips it too)`);
    }
  };
  for (const [name, node] of Object.entries(data)) walk(name, node);
}
