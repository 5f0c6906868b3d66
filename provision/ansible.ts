// `vrio inventory import`: read an Ansible inventory (INI or YAML) and write
// ours. Hosts, groups (children flattened), ansible_host/port/user/
// ssh_private_key_file, and ProxyJump map directly; vRIO facts an Ansible
// inventory cannot know come from vrio_* variables, or from group names
// (iohyp(s)/guest(s)). Secrets (passwords, vault values) are dropped, loudly.
import { parse as parseYaml } from 'yaml';
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

function addHost(p: Parsed, name: string, vars: Record<string, Scalar>): void {
  if (!p.hostVars.has(name)) {
    p.hostVars.set(name, {});
    p.hostOrder.push(name);
  }
  Object.assign(p.hostVars.get(name)!, vars);
}

/** host[01:03] -> host01 host02 host03; [a:c] -> a b c. */
export function expandHostPattern(s: string): string[] {
  const m = /^(.*)\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\](.*)$/i.exec(s);
  if (!m) return [s];
  const [, pre, a, b, stepS, post] = m;
  const step = Number(stepS ?? 1);
  const out: string[] = [];
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    for (let i = Number(a); i <= Number(b) && out.length < 10000; i += step) out.push(...expandHostPattern(`${pre}${String(i).padStart(a.length, '0')}${post}`));
  } else {
    for (let c = a.charCodeAt(0); c <= b.charCodeAt(0); c += step) out.push(...expandHostPattern(`${pre}${String.fromCharCode(c)}${post}`));
  }
  return out;
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

export function parseAnsibleIni(text: string): Parsed {
  const p: Parsed = { groups: new Map(), hostVars: new Map(), hostOrder: [] };
  let section = 'ungrouped';
  let kind: 'hosts' | 'children' | 'vars' = 'hosts';
  text.split('\n').forEach((raw) => {
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
      for (const h of expandHostPattern(name)) {
        addHost(p, h, vars);
        group(p, section).hosts.add(h);
      }
    }
  });
  return p;
}

export function parseAnsibleYaml(text: string): Parsed {
  const p: Parsed = { groups: new Map(), hostVars: new Map(), hostOrder: [] };
  const doc = parseYaml(text) as Record<string, unknown> | null;
  const walk = (name: string, node: Record<string, unknown> | null, depth: number) => {
    if (depth > 32) return;
    const g = group(p, name);
    const hosts = (node?.hosts ?? {}) as Record<string, Record<string, Scalar> | null>;
    for (const [hn, hv] of Object.entries(hosts)) {
      for (const h of expandHostPattern(hn)) {
        addHost(p, h, hv ?? {});
        g.hosts.add(h);
      }
    }
    Object.assign(g.vars, (node?.vars ?? {}) as Record<string, Scalar>);
    for (const [cn, cv] of Object.entries((node?.children ?? {}) as Record<string, Record<string, unknown> | null>)) {
      g.children.add(cn);
      walk(cn, cv, depth + 1);
    }
  };
  for (const [name, node] of Object.entries(doc ?? {})) walk(name, node as Record<string, unknown> | null, 0);
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

function members(p: Parsed, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const g = p.groups.get(name);
  if (!g) return [];
  return [...g.hosts, ...[...g.children].flatMap((c) => members(p, c, seen))];
}

export function importAnsible(text: string, file: string): ImportResult {
  const warnings: string[] = [];
  const isIni = !/\.ya?ml$/i.test(file) && !/^\s*(all|[A-Za-z_][\w-]*)\s*:\s*$/m.test(text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '');
  const p = isIni ? parseAnsibleIni(text) : parseAnsibleYaml(text);
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
  for (const [name] of p.groups) {
    if (name === 'all' || name === 'ungrouped') continue;
    const hs = [...new Set(members(p, name))];
    const role = roleOfGroup(name);
    for (const h of hs) {
      if (role) hostRole.set(h, role);
      // Group vars that carry vRIO settings apply to members (host vars win below).
      hostGroupVars.set(h, { ...(hostGroupVars.get(h) ?? {}), ...Object.fromEntries(Object.entries(p.groups.get(name)!.vars).filter(([k]) => k.startsWith('vrio_'))) });
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
