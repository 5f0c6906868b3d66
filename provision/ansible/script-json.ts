// The JSON that `ansible-inventory --list` (and every inventory script) prints:
// groups with hosts/children lists and vars, `_meta.hostvars` holding each
// host's variables. Importing it is the way to bring in what only Ansible can
// produce (dynamic inventory plugins, several sources, vaults it can open):
// run ansible-inventory --list once and import its output.
import type { PyValue } from './literal.js';
import { AnsibleParseError, Inventory } from './model.js';

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Does this parsed document look like --list / script output rather than a YAML inventory? */
export function isScriptJson(data: unknown): boolean {
  if (!isMapping(data)) return false;
  if ('_meta' in data) return true;
  return Object.values(data).some((g) => Array.isArray(g) || (isMapping(g) && (Array.isArray(g.hosts) || Array.isArray(g.children))));
}

export function parseScriptJson(data: Record<string, unknown>, inv: Inventory): void {
  const strings = (v: unknown, where: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new AnsibleParseError(`${where} must be a list of names`);
    return v as string[];
  };
  const children: [string, string][] = [];
  for (const [name, g] of Object.entries(data)) {
    if (name === '_meta') continue;
    inv.addGroup(name);
    // Script output may give a group as a bare list of hosts.
    const node = Array.isArray(g) ? { hosts: g } : g;
    if (!isMapping(node)) throw new AnsibleParseError(`group ${name} must be a mapping or a list of hosts`);
    for (const h of strings(node.hosts, `${name}.hosts`)) inv.addHost(h, name);
    for (const c of strings(node.children, `${name}.children`)) children.push([name, c]);
    if (node.vars !== undefined) {
      if (!isMapping(node.vars)) throw new AnsibleParseError(`${name}.vars must be a mapping`);
      for (const [k, v] of Object.entries(node.vars)) inv.setGroupVar(name, k, v as PyValue);
    }
  }
  for (const [parent, child] of children) {
    inv.addGroup(child);
    inv.addChild(parent, child);
  }
  const meta = data._meta;
  if (meta !== undefined) {
    if (!isMapping(meta) || (meta.hostvars !== undefined && !isMapping(meta.hostvars)))
      throw new AnsibleParseError('_meta.hostvars must be a mapping of host name to variables');
    for (const [h, vars] of Object.entries((meta.hostvars ?? {}) as Record<string, unknown>)) {
      if (!isMapping(vars)) throw new AnsibleParseError(`_meta.hostvars.${h} must be a mapping`);
      // Ansible reads hostvars for the hosts its groups list; others are not hosts.
      const host = inv.hosts.get(h);
      if (!host) continue;
      for (const [k, v] of Object.entries(vars)) host.vars[k] = v as PyValue;
    }
  }
}
