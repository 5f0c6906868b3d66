// Ansible's INI inventory plugin (ansible/plugins/inventory/ini.py), rule for
// rule: sections [g], [g:hosts], [g:children], [g:vars]; host lines split by
// shlex with key=value pairs; values through literal_eval; groups named in
// :children or :vars must be declared somewhere in the file; what the plugin
// rejects is rejected here with the same reason and line.
import { pythonValue, shlexSplit, ShlexError } from './literal.js';
import { AnsibleParseError, Inventory } from './model.js';
import { expandHostPattern, HostPatternError, splitPort } from './patterns.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/u;
const GROUPNAME = /^([^:\]\s]+)\s*(?:#.*)?$/u;

/** Python's str.splitlines() separators. */
const LINES = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  parents: string[];
}

export function parseIni(text: string, inv: Inventory, budget: () => number): void {
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state = 'hosts';
  const lines = text.split(LINES);
  let lineno = 0;
  const fail = (message: string): never => {
    throw new AnsibleParseError(message, lineno);
  };
  const addPendingChildren = (g: string) => {
    // Iterative form of _add_pending_children: a pending child's parents may be pending children too.
    const todo = [g];
    while (todo.length) {
      const name = todo.pop()!;
      const decl = pending.get(name);
      if (!decl) continue;
      for (const parent of decl.parents) {
        inv.addChild(parent, name);
        if (pending.get(parent)?.state === 'children') todo.push(parent);
      }
      pending.delete(name);
    }
  };
  for (const raw of lines) {
    lineno++;
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') continue;
    const m = SECTION.exec(line);
    if (m) {
      group = m[1];
      state = m[2] ?? 'hosts';
      if (!['hosts', 'children', 'vars'].includes(state)) fail(`Section [${m[1]}:${m[2]}] has unknown type: ${state}`);
      if (!inv.groups.has(group)) {
        // [g:vars] alone does not declare g; it must be declared elsewhere in the file.
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: lineno, state: 'vars', parents: [] });
        inv.addGroup(group);
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group);
        else pending.delete(group);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']'))
      fail(`Invalid section entry: '${line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters`);
    if (state === 'hosts') {
      let tokens: string[];
      try {
        tokens = shlexSplit(line);
      } catch (e) {
        if (!(e instanceof ShlexError)) throw e;
        return fail(`Error parsing host definition '${line}': ${e.message}`);
      }
      if (!tokens.length) fail(`Expected a host name, got: ${line}`);
      const pattern = tokens[0];
      const { host, port } = splitPort(pattern);
      if (pattern.trim().endsWith(':') && port === undefined)
        fail(`Invalid host pattern '${pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port.`);
      let names: string[];
      try {
        names = expandHostPattern(host, budget());
      } catch (e) {
        if (!(e instanceof HostPatternError)) throw e;
        throw new AnsibleParseError(e.message, lineno, 'host-range');
      }
      if (names.some((n) => n.trim() === '---')) fail(`Invalid host pattern '${pattern}' supplied, '---' is normally a sign this is a YAML file.`);
      const vars: [string, ReturnType<typeof pythonValue>][] = [];
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf('=');
        if (eq < 0) fail(`Expected key=value host variable assignment, got: ${t}`);
        vars.push([t.slice(0, eq), pythonValue(t.slice(eq + 1))]);
      }
      for (const n of names) {
        const h = inv.addHost(n, group, port);
        for (const [k, v] of vars) h.vars[k] = v;
      }
    } else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) fail(`Expected key=value, got: ${line}`);
      try {
        inv.setGroupVar(group, line.slice(0, eq).trim(), pythonValue(line.slice(eq + 1).trim()));
      } catch (e) {
        if (e instanceof AnsibleParseError && e.line === undefined) fail(e.message);
        throw e;
      }
    } else {
      const c = GROUPNAME.exec(line);
      if (!c) fail(`Expected group name, got: ${line}`);
      const child = c![1];
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: lineno, state: 'children', parents: [group] });
        else p.parents.push(group);
      } else {
        try {
          inv.addChild(group, child);
        } catch (e) {
          if (e instanceof AnsibleParseError && e.line === undefined) fail(e.message);
          throw e;
        }
      }
    }
  }
  // Ansible reports the first unresolved reference.
  for (const [name, decl] of pending) {
    if (decl.state === 'vars') throw new AnsibleParseError(`Section [${name}:vars] not valid for undefined group: ${name}`, decl.line);
    throw new AnsibleParseError(`Section [${decl.parents[decl.parents.length - 1]}:children] includes undefined group: ${name}`, decl.line);
  }
}
