// Ansible's YAML inventory plugin (ansible/plugins/inventory/yaml.py): top-level
// keys are groups, each with hosts:, children:, vars:. A string where a
// mapping belongs names one entry (`hosts: web1` is the host web1, not five
// one-letter hosts). Values are read as PyYAML reads them (YAML 1.1: yes/no
// are booleans, 0755 is octal), so types match what Ansible sees.
import { isAlias, isMap, isScalar, LineCounter, parseDocument, type Document, type Node, type Pair, type ScalarTag } from 'yaml';
import type { PyValue } from './literal.js';
import { AnsibleParseError, Inventory } from './model.js';
import { expandHostPattern, HostPatternError, splitPort } from './patterns.js';

const MAX_BYTES = 4 * 1024 * 1024;

/**
 * A YAML date or timestamp as Ansible prints it: PyYAML makes a Python date
 * or datetime (keeping the written UTC offset), and ansible-inventory's JSON
 * encoder writes its isoformat(): 2024-01-02, 2024-01-02T10:20:30,
 * 2001-12-14T21:59:43.100000-05:00. A JS Date would lose the offset and
 * invent a time, so the text is built the way Python builds it.
 */
export class PyDate {
  constructor(readonly iso: string) {}
  toString(): string {
    return this.iso;
  }
}

// PyYAML's implicit timestamp resolver and construct_yaml_timestamp's pattern.
const TIMESTAMP_RESOLVE =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;
const TIMESTAMP =
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$/;

const two = (n: string | number) => String(n).padStart(2, '0');

/** datetime.isoformat() of what PyYAML builds from the text, or a reason Python refuses it. */
export function pythonTimestamp(text: string): PyDate | string {
  const m = TIMESTAMP.exec(text);
  if (!m) return 'not a timestamp';
  const [, y, mo, d, h, mi, s, frac, tz, sign, tzh, tzm] = m;
  const days = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
  if (Number(mo) < 1 || Number(mo) > 12) return 'month must be in 1..12';
  if (Number(d) < 1 || Number(d) > days) return 'day is out of range for month';
  const date = `${y}-${two(mo)}-${two(d)}`;
  if (h === undefined) return new PyDate(date);
  if (Number(h) > 23) return 'hour must be in 0..23';
  if (Number(mi) > 59) return 'minute must be in 0..59';
  if (Number(s) > 59) return 'second must be in 0..59';
  // Microseconds: the first six digits, zero-padded; isoformat() leaves out zero.
  const micro = (frac ?? '').slice(0, 6).padEnd(6, '0');
  let out = `${date}T${two(h)}:${mi}:${s}${Number(micro) ? '.' + micro : ''}`;
  if (tz === 'Z') out += '+00:00';
  else if (sign) {
    const minutes = Number(tzh) * 60 + Number(tzm ?? 0);
    if (minutes >= 24 * 60) return 'offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)';
    out += minutes ? `${sign}${two(Math.floor(minutes / 60))}:${two(minutes % 60)}` : '+00:00';
  }
  return new PyDate(out);
}

const timestampTag: ScalarTag = {
  identify: (v) => v instanceof PyDate,
  default: true,
  tag: 'tag:yaml.org,2002:timestamp',
  test: TIMESTAMP_RESOLVE,
  resolve(str, onError) {
    const r = pythonTimestamp(str);
    if (typeof r === 'string') onError(`timestamp ${str}: ${r}`);
    return r;
  },
  stringify: ({ value }) => String(value),
};

/** A parsed YAML document: its data (as PyYAML gives it) and where each node is. */
export interface YamlSource {
  doc: Document;
  lineOf(node: Node | Pair['key']): number | undefined;
}

/** YAML text as PyYAML's safe loader would give it, or an AnsibleParseError. */
export function loadYaml(text: string, maxItems: number): unknown {
  return loadYamlSource(text, maxItems).data;
}

export function loadYamlSource(text: string, maxItems: number): { data: unknown; source: YamlSource } {
  if (Buffer.byteLength(text) > MAX_BYTES) throw new AnsibleParseError(`file is larger than ${MAX_BYTES} bytes`, undefined, 'max-size');
  const lc = new LineCounter();
  // Duplicate keys: PyYAML keeps the last one, and so does Ansible.
  const doc: Document = parseDocument(text, {
    version: '1.1',
    uniqueKeys: false,
    lineCounter: lc,
    prettyErrors: false,
    schema: 'yaml-1.1',
    customTags: (tags) => tags.map((t) => (typeof t === 'object' && t.tag === timestampTag.tag ? timestampTag : t)),
  });
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
  const lineOf = (node: unknown) => {
    const range = (node as Node | null)?.range;
    return range ? lc.linePos(range[0]).line : undefined;
  };
  return { data, source: { doc, lineOf } };
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof PyDate);

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'NoneType';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyDate) return v.iso.includes('T') ? 'datetime.datetime' : 'datetime.date';
  return typeof v;
}

/** How Python prints a YAML scalar key (str() of what PyYAML made of it). */
function pyStr(v: unknown, source: string): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    // The int/float distinction is in the text: PyYAML floats have a '.' (or are .inf/.nan).
    return Number.isInteger(v) && /\./.test(source) ? `${v}.0` : String(v);
  }
  return String(v);
}

/** The property name the yaml library gives a scalar key in plain objects (null is ''). */
const jsKey = (v: unknown) => (v === null ? '' : String(v));

/**
 * The key of each entry of a YAML mapping as written (the last one of a
 * duplicated key, which is the one PyYAML keeps), to check its type and name
 * its line; undefined when there is no YAML node behind the data (JSON input).
 */
function keysOf(node: unknown, src: YamlSource | undefined): Map<string, { value: unknown; text: string; line?: number }> | undefined {
  if (!src) return undefined;
  const resolved = isAlias(node) ? node.resolve(src.doc) : node;
  if (!isMap(resolved)) return undefined;
  const out = new Map<string, { value: unknown; text: string; line?: number }>();
  for (const p of resolved.items) {
    if (!isScalar(p.key)) continue;
    const text = p.key.source ?? String(p.key.value);
    out.set(jsKey(p.key.value), { value: p.key.value, text, line: src.lineOf(p.key) });
  }
  return out;
}

/** The YAML node under `key` in a mapping node (aliases followed). */
function nodeAt(node: unknown, key: string, src: YamlSource | undefined): unknown {
  if (!src) return undefined;
  const resolved = isAlias(node) ? node.resolve(src.doc) : node;
  if (!isMap(resolved)) return undefined;
  let found: unknown;
  for (const p of resolved.items) if (isScalar(p.key) && jsKey(p.key.value) === key) found = p.value;
  return isAlias(found) ? found.resolve(src.doc) : found;
}

/** YAML values as PyValue (dates become their isoformat() text, as Ansible's JSON output shows them). */
function pyOf(v: unknown): PyValue {
  if (v instanceof PyDate) return v.iso;
  if (Array.isArray(v)) return v.map(pyOf);
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pyOf(x)]));
  if (typeof v === 'bigint') return Number(v);
  return v as PyValue;
}

/** Ansible's InventoryData.add_group refuses names that are not strings, and empty/false ones. */
function checkGroupKey(key: { value: unknown; text: string; line?: number } | undefined): void {
  if (!key || typeof key.value === 'string') {
    if (key?.value === '') throw new AnsibleParseError('Unable to add group : Invalid empty/false group name provided: ', key.line);
    return;
  }
  const shown = pyStr(key.value, key.text);
  if (!key.value) throw new AnsibleParseError(`Unable to add group ${shown}: Invalid empty/false group name provided: ${shown}`, key.line);
  throw new AnsibleParseError(
    `Unable to add group ${shown}: Invalid group name supplied, expected a string but got <class '${typeName(key.value)}'> for ${shown} (quote the group name)`,
    key.line,
  );
}

export function parseYamlInventory(data: unknown, inv: Inventory, budget: () => number, warn: (w: string) => void, src?: YamlSource): void {
  if (data === null || data === undefined || (isMapping(data) && !Object.keys(data).length)) throw new AnsibleParseError('Parsed empty YAML file');
  if (!isMapping(data)) throw new AnsibleParseError(`YAML inventory has invalid structure, it should be a dictionary, got: ${typeName(data)}`);
  if (data.plugin) throw new AnsibleParseError('Plugin configuration YAML file, not YAML inventory', undefined, 'inventory-plugin');
  // `yNode` is the YAML node behind `node` (when read from YAML text): it knows each key's type and line.
  const walk = (group: string, node: unknown, yNode: unknown): void => {
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
        throw new AnsibleParseError(
          `Invalid "${section}" entry for "${group}" group, requires a dictionary, found "${typeName(node[section])}" instead.`,
          keysOf(yNode, src)?.get(section)?.line,
        );
    }
    for (const [key, value] of Object.entries(node)) {
      if (value === null) continue;
      if (!isMapping(value)) {
        warn(`skipping key (${key}) in group (${group}) as it is not a mapping, it is a ${typeName(value)} (Ansible skips it too)`);
        continue;
      }
      const yValue = nodeAt(yNode, key, src);
      const keys = keysOf(yValue, src);
      if (key === 'vars') for (const [k, v] of Object.entries(value)) inv.setGroupVar(group, k, pyOf(v));
      else if (key === 'children')
        for (const [sub, subNode] of Object.entries(value)) {
          checkGroupKey(keys?.get(sub));
          walk(sub, subNode, nodeAt(yValue, sub, src));
          if (inv.groups.has(sub)) inv.addChild(group, sub);
        }
      else if (key === 'hosts')
        for (const [pattern, hv] of Object.entries(value)) {
          const k = keys?.get(pattern);
          if (k && typeof k.value !== 'string')
            throw new AnsibleParseError(`Host pattern ${pyStr(k.value, k.text)} must be a string. Enclose integers/floats in quotation marks.`, k.line);
          const { host, port } = splitPort(pattern);
          let names: string[];
          try {
            names = expandHostPattern(host, budget());
          } catch (e) {
            if (!(e instanceof HostPatternError)) throw e;
            throw new AnsibleParseError(`${e.message} (hosts of group ${group})`, k?.line, 'host-range');
          }
          if (!(hv === null || isMapping(hv)))
            throw new AnsibleParseError(`Invalid data from file, expected dictionary and got:\n\n${String(hv)} (host ${pattern} in group ${group})`, k?.line);
          for (const n of names) {
            const h = inv.addHost(n, group, port);
            for (const [k, v] of Object.entries(hv ?? {})) h.vars[k] = pyOf(v);
          }
        }
      else warn(`skipping unexpected key (${key}) in group (${group}), only "vars", "children" and "hosts" are valid (Ansible skips it too)`);
    }
  };
  const top = keysOf(src?.doc.contents, src);
  for (const [name, node] of Object.entries(data)) {
    checkGroupKey(top?.get(name));
    walk(name, node, nodeAt(src?.doc.contents, name, src));
  }
}
