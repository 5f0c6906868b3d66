// An Ansible inventory as ansible-core holds it (ansible/inventory/data.py,
// group.py, helpers.py): groups with a depth (longest path from 'all') and a
// priority, hosts with their own vars, and the rule that turns them into one
// host's variables. The parsers fill it in; the mapping reads it.
import type { PyValue } from './literal.js';

export type Vars = Record<string, PyValue>;

export interface Group {
  name: string;
  /** Direct members, in the order they were added. */
  hosts: Set<string>;
  children: string[];
  parents: string[];
  vars: Vars;
  /** Vars from group_vars/NAME files (they rank above every inventory-file group var). */
  fileVars: Vars;
  depth: number;
  priority: number;
}

export interface Host {
  name: string;
  vars: Vars;
  fileVars: Vars;
  groups: string[];
}

/** Bad input in Ansible's eyes, with the line when there is one. */
export class AnsibleParseError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly rule = 'ansible-inventory',
  ) {
    super(message);
  }
}

export class Inventory {
  readonly groups = new Map<string, Group>();
  readonly hosts = new Map<string, Host>();

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  /**
   * A copy to parse the next file of a directory into: a plugin that fails
   * half-way leaves the copy, not the inventory, half-changed. (Ansible keeps
   * such partial state; files that fail are named in a warning either way.)
   */
  clone(): Inventory {
    const c = new Inventory();
    c.groups.clear();
    for (const [n, g] of this.groups)
      c.groups.set(n, { ...g, hosts: new Set(g.hosts), children: [...g.children], parents: [...g.parents], vars: { ...g.vars }, fileVars: { ...g.fileVars } });
    for (const [n, h] of this.hosts) c.hosts.set(n, { ...h, vars: { ...h.vars }, fileVars: { ...h.fileVars }, groups: [...h.groups] });
    return c;
  }

  addGroup(name: string): Group {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = { name, hosts: new Set(), children: [], parents: [], vars: {}, fileVars: {}, depth: 0, priority: 1 }));
    return g;
  }

  /** add_host(name, group, port): the port counts only when the host is first seen. */
  addHost(name: string, group?: string, port?: number): Host {
    if (!name) throw new AnsibleParseError(`Invalid empty host name provided: ${name}`);
    let h = this.hosts.get(name);
    if (!h) {
      this.hosts.set(name, (h = { name, vars: {}, fileVars: {}, groups: [] }));
      if (port) h.vars.ansible_port = port;
    }
    if (group) {
      const g = this.groups.get(group);
      if (!g) throw new AnsibleParseError(`Could not find group ${group} in inventory`);
      if (!g.hosts.has(name)) {
        g.hosts.add(name);
        h.groups.push(group);
      }
    }
    return h;
  }

  setGroupVar(group: string, key: string, value: PyValue): void {
    const g = this.groups.get(group)!;
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isInteger(n)) throw new AnsibleParseError(`ansible_group_priority must be an integer, got ${JSON.stringify(value)}`);
      g.priority = n;
      return;
    }
    g.vars[key] = value;
  }

  /** Is `target` below `from` (children followed)? Walked down from the new child, which is usually small. */
  private below(from: string, target: string): boolean {
    const seen = new Set<string>();
    const todo = [...this.groups.get(from)!.children];
    while (todo.length) {
      const g = todo.pop()!;
      if (g === target) return true;
      if (seen.has(g)) continue;
      seen.add(g);
      todo.push(...this.groups.get(g)!.children);
    }
    return false;
  }

  addChild(parent: string, child: string): void {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    if (parent === child) throw new AnsibleParseError(`can't add group ${child} to itself`);
    if (p.children.includes(child)) return;
    if (this.below(child, parent)) throw new AnsibleParseError(`Adding group '${child}' as child to '${parent}' creates a recursive dependency loop.`);
    p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
    // The child and everything below it sit at least one level under the parent.
    const todo: [string, number][] = [[child, p.depth + 1]];
    while (todo.length) {
      const [n, d] = todo.pop()!;
      const g = this.groups.get(n)!;
      if (g.depth >= d) continue;
      g.depth = d;
      for (const k of g.children) todo.push([k, d + 1]);
    }
  }

  /** reconcile_inventory(): every group under 'all', hosts with no group in 'ungrouped'. */
  reconcile(): void {
    for (const g of this.groups.values()) if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    const ungrouped = this.groups.get('ungrouped')!;
    for (const h of this.hosts.values()) {
      const others = h.groups.filter((g) => g !== 'all' && g !== 'ungrouped');
      if (h.groups.includes('ungrouped')) {
        if (others.length) {
          ungrouped.hosts.delete(h.name);
          h.groups = h.groups.filter((g) => g !== 'ungrouped');
        }
      } else if (!others.length) this.addHost(h.name, 'ungrouped');
    }
  }

  /** Every group a host is in, directly or through children, 'all' included. */
  groupsOf(host: string): string[] {
    const out = new Set<string>();
    const todo = [...this.hosts.get(host)!.groups];
    while (todo.length) {
      const g = todo.pop()!;
      if (out.has(g)) continue;
      out.add(g);
      todo.push(...this.groups.get(g)!.parents);
    }
    out.add('all');
    return [...out];
  }

  /** sort_groups(): depth, then ansible_group_priority, then name (Python's code-point order). */
  sorted(names: string[]): Group[] {
    return names
      .map((n) => this.groups.get(n)!)
      .sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * A host's variables the way ansible-inventory --list (VariableManager.get_vars)
   * merges them, lowest first: 'all' inventory vars, other groups' inventory
   * vars, group_vars/all, group_vars/<group>, host inventory vars, host_vars/<host>.
   */
  hostVars(host: string): Vars {
    const h = this.hosts.get(host)!;
    const groups = this.sorted(this.groupsOf(host).filter((g) => g !== 'all'));
    const all = this.groups.get('all')!;
    return Object.assign({}, all.vars, ...groups.map((g) => g.vars), all.fileVars, ...groups.map((g) => g.fileVars), h.vars, h.fileVars);
  }
}
