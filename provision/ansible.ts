// `vrio inventory import`: read an Ansible inventory (INI or YAML) and write
// ours. Hosts, groups (children flattened), ansible_host/port/user/
// ssh_private_key_file, and ProxyJump map directly; vRIO facts an Ansible
// inventory cannot know come from vrio_* variables, or from group names
// (iohyp(s)/guest(s)). Secrets (passwords, vault values) are dropped, loudly.
import { parseDocumentText, pointerOf } from '../lib/document.js';
import { InputError } from '../lib/errors.js';
import type { RawConnection, RawGuest, RawInventory, RawIohyp, Scalar } from './inventory-types.js';

export interface ImportResult {
  inventory: RawInventory;
  warnings: string[];
}

interface AGroup {
  hosts: Set<string>;
  children: Set<string>;
  vars: Record<string, Scalar>;
}

interface Parsed {
  groups: Map<string, AGroup>;
  hostVars: Map<string, Record<string, Scalar>>;
  hostOrder: string[];
}

function group(p: Parsed, name: string): AGroup {
  let g = p.groups.get(name);
  if (!g) p.groups.set(name, (g = { hosts: new Set(), children: new Set(), vars: {} }));
  return g;
}

/** The hosts of one pattern, or bad input naming where it is (the budget is what the whole import has left). */
function expandAt(p: Parsed, pattern: string, file: string, where: { line?: number; column?: number; pointer?: string }): string[] {
  try {
    return expandHostPattern(pattern, MAX_IMPORTED_HOSTS - p.hostOrder.length);
  } catch (e) {
    if (!(e instanceof HostPatternError)) throw e;
    throw new InputError([{ file, pointer: where.pointer ?? '', line: where.line, column: where.column, rule: 'host-range', message: e.message, hint: `at most ${MAX_IMPORTED_HOSTS} hosts per import; Ansible ranges are [start:end] or [start:end:step] with step >= 1` }]);
  }
}

function addHost(p: Parsed, name: string, vars: Record<string, Scalar>): void {
  if (!p.hostVars.has(name)) {
    p.hostVars.set(name, {});
    p.hostOrder.push(name);
  }
  Object.assign(p.hostVars.get(name)!, vars);
}

/**
 * Most hosts one import may produce. Ranges multiply (`h[0:99][0:99]` is 10,000
 * names), so the count is worked out from the ranges before a single name is
 * made: a hostile pattern is refused at once instead of eating the heap.
 */
export const MAX_IMPORTED_HOSTS = 100_000;

/** A host pattern Ansible would not expand, or one that expands to too much. */
export class HostPatternError extends Error {}

const RANGE = /\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\]/gi;

/** The values of one `[a:b:step]` range (numbers keep a's width, letters are single characters). */
function rangeValues(a: string, b: string, stepText: string | undefined, budget: number): string[] {
  const step = stepText === undefined ? 1 : Number(stepText);
  if (!Number.isSafeInteger(step) || step < 1) throw new HostPatternError(`range [${a}:${b}:${stepText}]: the step must be 1 or more`);
  let from: number, to: number, show: (i: number) => string;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    [from, to] = [Number(a), Number(b)];
    show = (i) => String(i).padStart(a.length, '0');
  } else if (/^[a-z]$/i.test(a) && /^[a-z]$/i.test(b)) {
    [from, to] = [a.charCodeAt(0), b.charCodeAt(0)];
    show = (i) => String.fromCharCode(i);
  } else throw new HostPatternError(`range [${a}:${b}]: give two numbers or two single letters`);
  if (!Number.isSafeInteger(to) || from > to) throw new HostPatternError(`range [${a}:${b}]: the start must not be after the end`);
  const count = Math.floor((to - from) / step) + 1;
  if (count > budget) throw new HostPatternError(`range [${a}:${b}${stepText ? `:${stepText}` : ''}] alone is ${count} hosts, more than the ${budget} allowed`);
  const out: string[] = [];
  for (let i = from; i <= to; i += step) out.push(show(i));
  return out;
}

/**
 * host[01:03] -> host01 host02 host03; [a:c] -> a b c; several ranges in one
 * pattern multiply. Throws HostPatternError for a step below 1, a backwards or
 * mixed range, or more than `budget` names. Iterative: no recursion, no spread.
 */
export function expandHostPattern(s: string, budget = MAX_IMPORTED_HOSTS): string[] {
  const literals: string[] = [];
  const ranges: string[][] = [];
  let at = 0;
  let total = 1;
  for (const m of s.matchAll(RANGE)) {
    literals.push(s.slice(at, m.index));
    const values = rangeValues(m[1], m[2], m[3], budget);
    total *= values.length;
    ranges.push(values);
    at = m.index + m[0].length;
  }
  if (total > budget) throw new HostPatternError(`${s} expands to ${total > 1e15 ? 'more than 10^15' : total} hosts, more than the ${budget} allowed`);
  const tail = s.slice(at);
  if (!ranges.length) return [s];
  // An odometer over the ranges, last range fastest (Ansible's order).
  const out: string[] = [];
  const idx = ranges.map(() => 0);
  for (;;) {
    let name = '';
    for (let k = 0; k < ranges.length; k++) name += literals[k] + ranges[k][idx[k]];
    out.push(name + tail);
    let k = ranges.length - 1;
    while (k >= 0 && ++idx[k] === ranges[k].length) idx[k--] = 0;
    if (k < 0) return out;
  }
}

function scalar(v: string): Scalar {
  const t = v.replace(/^(['"])(.*)\1$/, '$2');
  if (/^-?\d+$/.test(t)) return Number(t);
  if (/^(true|yes|True|False|false|no)$/.test(t)) return /^(true|yes|True)$/.test(t);
  return t;
}

/** key=value pairs with quotes allowed. */
function kvPairs(s: string): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|'([^']*)'|(\S+))/g;
  for (const m of s.matchAll(re)) out[m[1]] = m[3] !== undefined || m[4] !== undefined ? (m[3] ?? m[4]) : scalar(m[5]);
  return out;
}

export function parseAnsibleIni(text: string, file: string): Parsed {
  const p: Parsed = { groups: new Map(), hostVars: new Map(), hostOrder: [] };
  let section = 'ungrouped';
  let kind: 'hosts' | 'children' | 'vars' = 'hosts';
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s[;#].*$/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]:]+)(?::(children|vars))?\]$/.exec(line);
    if (sec) {
      section = sec[1];
      kind = (sec[2] as 'children' | 'vars') ?? 'hosts';
      group(p, section);
      return;
    }
    if (kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq > 0) group(p, section).vars[line.slice(0, eq).trim()] = scalar(line.slice(eq + 1).trim());
    } else if (kind === 'children') group(p, section).children.add(line.split(/\s+/)[0]);
    else {
      const [name, ...rest] = line.split(/\s+/);
      const vars = kvPairs(rest.join(' '));
      for (const h of expandAt(p, name, file, { line: i + 1, column: raw.indexOf(name) + 1 })) {
        addHost(p, h, vars);
        group(p, section).hosts.add(h);
      }
    }
  });
  return p;
}

export function parseAnsibleYaml(text: string, file: string): Parsed {
  const p: Parsed = { groups: new Map(), hostVars: new Map(), hostOrder: [] };
  // lib/document: size and depth limits, and line numbers for errors.
  const parsed = parseDocumentText(file, text, { maxItems: MAX_IMPORTED_HOSTS });
  const doc = parsed.data as Record<string, unknown> | null;
  const walk = (name: string, node: Record<string, unknown> | null, depth: number, at: string[]) => {
    if (depth > 32) return;
    const g = group(p, name);
    const hosts = (node?.hosts ?? {}) as Record<string, Record<string, Scalar> | null>;
    for (const [hn, hv] of Object.entries(hosts)) {
      const pointer = pointerOf([...at, 'hosts', hn]);
      for (const h of expandAt(p, hn, file, { pointer, ...parsed.locate(pointer, true) })) {
        addHost(p, h, hv ?? {});
        g.hosts.add(h);
      }
    }
    Object.assign(g.vars, (node?.vars ?? {}) as Record<string, Scalar>);
    for (const [cn, cv] of Object.entries((node?.children ?? {}) as Record<string, Record<string, unknown> | null>)) {
      g.children.add(cn);
      walk(cn, cv, depth + 1, [...at, 'children', cn]);
    }
  };
  for (const [name, node] of Object.entries(doc ?? {})) walk(name, node as Record<string, unknown> | null, 0, [name]);
  return p;
}

const SECRET = /pass|secret|token|vault|become_pass|private_key$/i;

function connectionFrom(vars: Record<string, Scalar>, where: string, warnings: string[]): RawConnection | undefined {
  const c: RawConnection = {};
  const user = vars.ansible_user ?? vars.ansible_ssh_user;
  if (user !== undefined) c.user = String(user);
  const port = vars.ansible_port ?? vars.ansible_ssh_port;
  if (port !== undefined) c.port = Number(port);
  if (vars.ansible_ssh_private_key_file !== undefined) c.identityFile = String(vars.ansible_ssh_private_key_file);
  const common = `${vars.ansible_ssh_common_args ?? ''} ${vars.ansible_ssh_extra_args ?? ''}`;
  const jump = /ProxyJump[= ]([^\s'"]+)/.exec(common);
  if (jump) c.jump = jump[1];
  else if (/ProxyCommand/.test(common)) warnings.push(`${where}: ProxyCommand is not supported; use a jump host (connection.jump)`);
  if (vars.ansible_ssh_timeout !== undefined || vars.ansible_timeout !== undefined) c.connectTimeout = Number(vars.ansible_ssh_timeout ?? vars.ansible_timeout);
  for (const k of Object.keys(vars)) if (/^ansible_(ssh_)?pass(word)?$|^ansible_become_pass(word)?$/.test(k)) warnings.push(`${where}: dropped ${k}: inventories hold no secrets (use keys or an agent)`);
  return Object.keys(c).length ? c : undefined;
}

function plainVars(vars: Record<string, Scalar>, where: string, warnings: string[]): Record<string, Scalar> | undefined {
  const out: Record<string, Scalar> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (k.startsWith('ansible_') || k.startsWith('vrio_')) continue;
    if (SECRET.test(k) || (typeof v === 'string' && v.includes('$ANSIBLE_VAULT'))) {
      warnings.push(`${where}: dropped variable ${k} (looks like a secret)`);
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k) || (typeof v === 'object' && v !== null)) {
      warnings.push(`${where}: dropped variable ${k} (not a simple name = scalar)`);
      continue;
    }
    if (typeof v === 'string' && (v.includes('{{') || /[\u0000-\u001f]/.test(v))) {
      warnings.push(`${where}: dropped variable ${k} (Jinja templates are not evaluated)`);
      continue;
    }
    out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/**
 * Every group's hosts, its children's included, in host order. Walked up from
 * each host to the groups holding it, so the work is the memberships
 * themselves however long a chain of children is (walking down from every
 * group was quadratic in the chain), and iterative (no stack to overflow).
 */
function membersByGroup(p: Parsed): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  const direct = new Map<string, string[]>();
  for (const [name, g] of p.groups) {
    for (const c of g.children) push(parents, c, name);
    for (const h of g.hosts) push(direct, h, name);
  }
  const out = new Map<string, string[]>();
  for (const h of p.hostOrder) {
    const seen = new Set<string>();
    const todo = [...(direct.get(h) ?? [])];
    while (todo.length) {
      const g = todo.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      push(out, g, h);
      for (const up of parents.get(g) ?? []) todo.push(up);
    }
  }
  return out;
}

export function importAnsible(text: string, file: string): ImportResult {
  const warnings: string[] = [];
  const isIni = !/\.ya?ml$/i.test(file) && !/^\s*(all|[A-Za-z_][\w-]*)\s*:\s*$/m.test(text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '');
  const p = isIni ? parseAnsibleIni(text, file) : parseAnsibleYaml(text, file);
  const inv: RawInventory = { version: 1 };
  const allVars = p.groups.get('all')?.vars ?? {};
  const topConn = connectionFrom(allVars, 'all:vars', warnings);
  if (topConn) inv.connection = topConn;
  const topVars = plainVars(allVars, 'all:vars', warnings);
  if (topVars) inv.vars = topVars;

  const groups: NonNullable<RawInventory['groups']> = {};
  const roleOfGroup = (g: string) => (/^iohyps?$/i.test(g) ? 'iohyp' : /^guests?$/i.test(g) ? 'guest' : undefined);
  const hostRole = new Map<string, 'iohyp' | 'guest'>();
  const hostGroupVars = new Map<string, Record<string, Scalar>>();
  const members = membersByGroup(p);
  for (const [name] of p.groups) {
    if (name === 'all' || name === 'ungrouped') continue;
    const hs = members.get(name) ?? [];
    const role = roleOfGroup(name);
    // Group vars that carry vRIO settings apply to members (host vars win below).
    const vrioVars = Object.entries(p.groups.get(name)!.vars).filter(([k]) => k.startsWith('vrio_'));
    for (const h of hs) {
      if (role) hostRole.set(h, role);
      if (!vrioVars.length) continue;
      const hv = hostGroupVars.get(h) ?? {};
      for (const [k, v] of vrioVars) hv[k] = v;
      hostGroupVars.set(h, hv);
    }
    if (role) continue;
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(name)) {
      warnings.push(`group ${name}: name not allowed here, skipped`);
      continue;
    }
    const g: NonNullable<RawInventory['groups']>[string] = { hosts: hs };
    const gv = p.groups.get(name)!.vars;
    const c = connectionFrom(gv, `group ${name}`, warnings);
    if (c) g.connection = c;
    const v = plainVars(gv, `group ${name}`, warnings);
    if (v) g.vars = v;
    groups[name] = g;
  }
  if (Object.keys(groups).length) inv.groups = groups;

  for (const h of p.hostOrder) {
    const vars = { ...(hostGroupVars.get(h) ?? {}), ...p.hostVars.get(h)! };
    const role = (vars.vrio_role as string | undefined) ?? hostRole.get(h);
    if (role !== 'iohyp' && role !== 'guest') {
      warnings.push(`host ${h}: no vRIO role (put it in an 'iohyps' or 'guests' group, or set vrio_role); skipped`);
      continue;
    }
    const common: Partial<RawIohyp> = {};
    if (vars.ansible_host !== undefined && String(vars.ansible_host) !== h) common.address = String(vars.ansible_host);
    const c = connectionFrom(vars, `host ${h}`, warnings);
    if (c) common.connection = c;
    const v = plainVars(vars, `host ${h}`, warnings);
    if (v) common.vars = v;
    if (vars.vrio_mtu !== undefined) common.mtu = Number(vars.vrio_mtu);
    const iface = vars.vrio_interface !== undefined ? String(vars.vrio_interface) : undefined;
    if (!iface) warnings.push(`host ${h}: set l2.interface (the NIC on the vRIO segment; vrio_interface in Ansible)`);
    if (role === 'iohyp') {
      const io: RawIohyp = { ...common, l2: { interface: iface ?? '' } } as RawIohyp;
      if (vars.vrio_l2_address !== undefined) io.l2.address = String(vars.vrio_l2_address);
      (inv.iohyps ??= {})[h] = io;
    } else {
      const g: RawGuest = { ...common, iohyp: String(vars.vrio_iohyp ?? ''), l2: { interface: iface ?? '', mac: String(vars.vrio_mac ?? ''), ip: String(vars.vrio_ip ?? '') } } as RawGuest;
      for (const [k, what] of [['vrio_iohyp', 'iohyp'], ['vrio_mac', 'l2.mac'], ['vrio_ip', 'l2.ip']] as const) if (vars[k] === undefined) warnings.push(`host ${h}: set ${what} (${k} in Ansible)`);
      (inv.guests ??= {})[h] = g;
    }
  }
  return { inventory: inv, warnings };
}
