// From an Ansible inventory to ours. Each host's settings are worked out the
// way Ansible merges them (model.ts hostVars), then written as compactly as our
// format allows: 'all' values at the top, each group's own values on the
// group (groups in Ansible's merge order, so the later group wins in both),
// and on the host whatever that layering would still get wrong. Every
// Ansible setting with no equivalent here is named in a warning.
import type { RawConnection, RawGuest, RawInventory, RawIohyp, Scalar } from '../inventory-types.js';
import { PyOpaque, type PyValue } from './literal.js';
import type { Inventory, Vars } from './model.js';
import { isIpAddress } from './patterns.js';

export interface MapOptions {
  /** Ansible groups or hosts whose hosts become IOhyps / guests (besides iohyps/guests groups and vrio_role). */
  iohyps?: string[];
  guests?: string[];
}

export interface Mapped {
  inventory: RawInventory;
  warnings: string[];
  /** Ansible host name -> our host name, for the hosts imported. */
  names: Map<string, string>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const ADDRESS = /^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/;
const JUMP = /^(([a-z_][a-z0-9_.-]{0,31})@)?([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const SSH_CONNECTIONS = new Set(['ssh', 'smart', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh']);

/** Settings that become our connection fields (the ssh_ spelling wins when both are set, as in Ansible's ssh plugin). */
const CONNECTION_KEYS = new Set([
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_ssh_timeout',
  'ansible_timeout',
  'ansible_connection',
  'ansible_ssh_common_args',
  'ansible_ssh_extra_args',
]);
const VRIO_KEYS = new Set(['vrio_role', 'vrio_interface', 'vrio_iohyp', 'vrio_mac', 'vrio_ip', 'vrio_l2_address', 'vrio_mtu']);
const SECRET_KEY = /pass(word)?$|secret|token|vault|private_key$/i;

type Field = 'user' | 'port' | 'identityFile' | 'jump' | 'connectTimeout';

const isJinja = (v: string) => /\{\{|\{%/.test(v);
const pick = (v: Vars, ...keys: string[]) => {
  for (const k of keys) if (v[k] !== undefined && v[k] !== null) return v[k];
  return undefined;
};

/** Why a value cannot be one of our connection fields, or undefined when it can. */
function connField(field: Field, raw: PyValue): { value?: Scalar; why?: string } {
  if (raw instanceof PyOpaque || (typeof raw === 'object' && raw !== null)) return { why: 'not a single value' };
  const s = String(raw);
  if (typeof raw === 'string' && isJinja(raw)) return { why: 'a Jinja template (not evaluated here)' };
  switch (field) {
    case 'user':
      return USER.test(s) ? { value: s } : { why: 'not a POSIX user name' };
    case 'port': {
      const n = typeof raw === 'number' ? raw : /^\s*\d+\s*$/.test(s) ? Number(s) : NaN;
      return Number.isInteger(n) && n >= 1 && n <= 65535 ? { value: n } : { why: 'not a port number' };
    }
    case 'identityFile':
      return s && !/[\u0000-\u001f]/.test(s) && !s.includes('$') ? { value: s } : { why: 'not a plain file path' };
    case 'jump':
      return JUMP.test(s) ? { value: s } : { why: 'not [user@]host[:port]' };
    case 'connectTimeout': {
      const n = Number(s);
      return Number.isFinite(n) && n > 0 && n <= 3600 ? { value: n } : { why: 'not a number of seconds up to 3600' };
    }
  }
}

/** ProxyJump (or -J) out of ansible_ssh_common_args/extra_args; other options are reported. */
function sshArgs(v: Vars): { jump?: string; other: string[] } {
  const text = [v.ansible_ssh_common_args, v.ansible_ssh_extra_args].filter((x) => typeof x === 'string').join(' ');
  const other: string[] = [];
  let jump: string | undefined;
  const words = text.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const unq = (w: string) => w.replace(/^(['"])(.*)\1$/, '$2');
  for (let i = 0; i < words.length; i++) {
    const w = unq(words[i]);
    const opt = w === '-o' ? unq(words[++i] ?? '') : w.startsWith('-o') ? w.slice(2) : undefined;
    const j = w === '-J' ? unq(words[++i] ?? '') : opt && /^ProxyJump[= ]/i.test(opt) ? opt.replace(/^ProxyJump[= ]\s*/i, '') : undefined;
    if (j !== undefined) jump = j;
    else other.push(opt !== undefined ? `-o ${opt}` : w);
  }
  return { jump, other };
}

function connectionOf(v: Vars): Partial<Record<Field, PyValue>> {
  const out: Partial<Record<Field, PyValue>> = {};
  const set = (f: Field, x: PyValue | undefined) => {
    if (x !== undefined) out[f] = x;
  };
  set('user', pick(v, 'ansible_ssh_user', 'ansible_user'));
  set('port', pick(v, 'ansible_ssh_port', 'ansible_port'));
  set('identityFile', pick(v, 'ansible_ssh_private_key_file', 'ansible_private_key_file'));
  set('connectTimeout', pick(v, 'ansible_ssh_timeout', 'ansible_timeout'));
  set('jump', sshArgs(v).jump);
  return out;
}

/** Our connection block for one level's own settings (only the values that map cleanly). */
function rawConnection(v: Vars): RawConnection | undefined {
  const c: Record<string, Scalar> = {};
  for (const [f, raw] of Object.entries(connectionOf(v)) as [Field, PyValue][]) {
    const r = connField(f, raw);
    if (r.value !== undefined) c[f] = r.value;
  }
  return Object.keys(c).length ? (c as RawConnection) : undefined;
}

/** Why a plain variable cannot be one of our vars, or undefined when it can. */
function varProblem(k: string, v: PyValue): string | undefined {
  if (!VAR_NAME.test(k)) return 'not a simple variable name';
  if (SECRET_KEY.test(k) || (typeof v === 'string' && v.includes('$ANSIBLE_VAULT'))) return 'looks like a secret: inventories hold no secrets';
  if (v === null) return 'null (no value)';
  if (v instanceof PyOpaque) return `a Python ${v.kind}, not a plain value`;
  if (typeof v === 'object') return `a ${Array.isArray(v) ? 'list' : 'mapping'}: our vars are plain values`;
  if (typeof v === 'string' && isJinja(v)) return 'a Jinja template (not evaluated here)';
  if (typeof v === 'string' && /[\u0000-\u001f]/.test(v)) return 'contains control characters';
  return undefined;
}

function plainVars(v: Vars): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('ansible_') && !k.startsWith('vrio_') && !varProblem(k, x)) out[k] = x as Scalar;
  return out;
}

/** A name our schema accepts, made from an Ansible one; unique among `taken`. */
function ourName(name: string, prefix: string, taken: Set<string>): string {
  let n = NAME.test(name) ? name : `${prefix}-${name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 63).replace(/-+$/, '');
  if (taken.has(n)) {
    let i = 2;
    while (taken.has(`${n.slice(0, 60)}-${i}`)) i++;
    n = `${n.slice(0, 60)}-${i}`;
  }
  taken.add(n);
  return n;
}

/** Warnings collected per setting, so a setting on 500 hosts is one line naming a few of them. */
class Unmapped {
  private readonly byKey = new Map<string, { why: string; places: string[] }>();
  note(key: string, place: string, why: string): void {
    const e = this.byKey.get(key + '\0' + why);
    if (e) e.places.push(place);
    else this.byKey.set(key + '\0' + why, { why, places: [place] });
  }
  lines(): string[] {
    return [...this.byKey].map(([k, { why, places }]) => {
      const shown = places.slice(0, 4).join(', ') + (places.length > 4 ? ` and ${places.length - 4} more` : '');
      return `${k.split('\0')[0]} (${shown}): not imported: ${why}`;
    });
  }
}

const roleOfGroup = (g: string) => (/^iohyps?$/i.test(g) ? 'iohyp' : /^guests?$/i.test(g) ? 'guest' : undefined);

export function mapInventory(inv: Inventory, opts: MapOptions = {}): Mapped {
  const warnings: string[] = [];
  const unmapped = new Unmapped();

  // 1. Every setting as declared, checked once where it is written.
  const levels: { place: string; vars: Vars }[] = [];
  for (const g of inv.groups.values()) {
    levels.push({ place: g.name === 'all' ? 'all:vars' : `group ${g.name}`, vars: g.vars });
    levels.push({ place: `group_vars/${g.name}`, vars: g.fileVars });
  }
  for (const h of inv.hosts.values()) {
    levels.push({ place: `host ${h.name}`, vars: h.vars });
    levels.push({ place: `host_vars/${h.name}`, vars: h.fileVars });
  }
  for (const { place, vars } of levels)
    for (const [k, v] of Object.entries(vars)) {
      if (k.startsWith('ansible_')) {
        if (/^ansible_(ssh_|become_|sudo_|su_)?pass(word)?$/.test(k)) unmapped.note(k, place, 'a secret: inventories hold no secrets (use keys or an agent)');
        else if (k === 'ansible_ssh_common_args' || k === 'ansible_ssh_extra_args') {
          const { other } = sshArgs({ [k]: v });
          if (other.length)
            unmapped.note(`${k} ${other.join(' ')}`, place, 'only ProxyJump/-J is taken from SSH arguments (put other options in ~/.ssh/config)');
        } else if (k === 'ansible_connection') {
          if (!SSH_CONNECTIONS.has(String(v))) continue; // reported per host below (the host is skipped)
        } else if (CONNECTION_KEYS.has(k)) {
          const field: Field | 'address' | undefined = /host$/.test(k)
            ? 'address'
            : /port$/.test(k)
              ? 'port'
              : /user$/.test(k)
                ? 'user'
                : /key_file$/.test(k)
                  ? 'identityFile'
                  : 'connectTimeout';
          const why = field === 'address' ? addressProblem(v) : connField(field, v).why;
          if (why) unmapped.note(k, place, why);
        } else unmapped.note(k, place, 'an Ansible setting with no vrio equivalent');
      } else if (k.startsWith('vrio_')) {
        if (!VRIO_KEYS.has(k)) unmapped.note(k, place, `not a vrio_* setting this import knows (${[...VRIO_KEYS].join(', ')})`);
      } else {
        const why = varProblem(k, v);
        if (why) unmapped.note(k, place, why);
      }
    }

  // 2. Which hosts come over, and under which names.
  const roleSets = { iohyp: new Set(opts.iohyps ?? []), guest: new Set(opts.guests ?? []) };
  for (const [role, set] of Object.entries(roleSets))
    for (const n of set)
      if (!inv.groups.has(n) && !inv.hosts.has(n)) throw new RoleTargetError(`--${role}s ${n}: no such group or host in the Ansible inventory`);
  const taken = new Set<string>();
  const names = new Map<string, string>();
  const effective = new Map<string, Vars>();
  const roles = new Map<string, 'iohyp' | 'guest'>();
  const noRole: string[] = [];
  const byConnection = new Map<string, string[]>();
  const missing = new Missing();
  for (const h of inv.hosts.keys()) {
    const v = inv.hostVars(h);
    const conn = v.ansible_connection === undefined || v.ansible_connection === null ? 'ssh' : String(v.ansible_connection);
    if (!SSH_CONNECTIONS.has(conn)) {
      const l = byConnection.get(conn);
      if (l) l.push(h);
      else byConnection.set(conn, [h]);
      continue;
    }
    const groups = inv.groupsOf(h);
    let role: 'iohyp' | 'guest' | undefined = v.vrio_role === 'iohyp' || v.vrio_role === 'guest' ? v.vrio_role : undefined;
    if (v.vrio_role !== undefined && !role) warnings.push(`host ${h}: vrio_role must be iohyp or guest, got ${JSON.stringify(v.vrio_role)}`);
    for (const r of ['iohyp', 'guest'] as const) if (!role && (roleSets[r].has(h) || groups.some((g) => roleSets[r].has(g) || roleOfGroup(g) === r))) role = r;
    if (!role) {
      noRole.push(h);
      continue;
    }
    roles.set(h, role);
    effective.set(h, v);
    const n = ourName(h, 'host', taken);
    names.set(h, n);
    if (n !== h)
      warnings.push(
        `host ${h} is named ${n} here (names start with a letter and use letters, digits, '.', '-', '_')${pick(v, 'ansible_ssh_host', 'ansible_host') === undefined ? `; address: ${h} keeps it reachable` : ''}`,
      );
  }
  for (const [conn, hs] of byConnection)
    warnings.push(
      `ansible_connection=${conn} on ${listed(hs)}: skipped, vrio provisions over SSH only (to provision such a host, give it an SSH address and drop ansible_connection)`,
    );
  if (noRole.length)
    warnings.push(`no vRIO role for ${listed(noRole)}: skipped (put hosts in an 'iohyps' or 'guests' group, set vrio_role, or pass --iohyps/--guests GROUP)`);

  // 3. Top level and groups: each level's own values; groups in Ansible's merge order.
  const out: RawInventory = { version: 1 };
  const all = inv.groups.get('all')!;
  const allVars = { ...all.vars, ...all.fileVars };
  const topConn = rawConnection(allVars);
  if (topConn) out.connection = topConn;
  const topVars = plainVars(allVars);
  if (Object.keys(topVars).length) out.vars = topVars;
  const groups: NonNullable<RawInventory['groups']> = {};
  const hostNames = new Set(names.values());
  // A group may not have a host's name (our check refuses it), nor another group's.
  const takenGroupNames = new Set(hostNames);
  // Our groups list every member, children's included; worked out once per host.
  const membersOf = new Map<string, string[]>();
  const groupSets = new Map<string, Set<string>>();
  for (const h of names.keys()) {
    const gs = new Set(inv.groupsOf(h));
    groupSets.set(h, gs);
    for (const g of gs) {
      const l = membersOf.get(g);
      if (l) l.push(names.get(h)!);
      else membersOf.set(g, [names.get(h)!]);
    }
  }
  const emitted: { ansible: string; entry: NonNullable<RawInventory['groups']>[string] }[] = [];
  for (const g of inv.sorted([...inv.groups.keys()].filter((n) => n !== 'all' && n !== 'ungrouped'))) {
    if (roleOfGroup(g.name)) continue; // iohyps/guests are built in
    const members = membersOf.get(g.name) ?? [];
    if (!members.length) continue;
    const name = ourName(g.name, 'group', takenGroupNames);
    if (name !== g.name)
      warnings.push(
        `group ${g.name} is named ${name} here (${hostNames.has(g.name) ? 'a host has its name' : "names start with a letter and use letters, digits, '.', '-', '_'"})`,
      );
    const own = { ...g.vars, ...g.fileVars };
    const entry: NonNullable<RawInventory['groups']>[string] = { hosts: members };
    const c = rawConnection(own);
    if (c) entry.connection = c;
    const pv = plainVars(own);
    if (Object.keys(pv).length) entry.vars = pv;
    groups[name] = entry;
    emitted.push({ ansible: g.name, entry });
  }
  if (Object.keys(groups).length) out.groups = groups;

  // 4. Hosts: what the layering above gets wrong is set on the host.
  // What our loader would give a host from the top level and its groups (later group wins).
  const layered = (h: string, pickFrom: (c: { connection?: RawConnection; vars?: Record<string, Scalar> }) => Record<string, unknown> | undefined) => {
    const merged: Record<string, unknown> = { ...(pickFrom(out) ?? {}) };
    const gs = groupSets.get(h)!;
    for (const g of emitted) if (gs.has(g.ansible)) Object.assign(merged, pickFrom(g.entry) ?? {});
    return merged;
  };
  for (const [h, n] of names) {
    const v = effective.get(h)!;
    const role = roles.get(h)!;
    const host: Partial<RawIohyp> = {};
    const addr = pick(v, 'ansible_ssh_host', 'ansible_host');
    if (addr !== undefined && !addressProblem(addr)) {
      if (String(addr) !== n) host.address = String(addr);
    } else if (n !== h) {
      if (!addressProblem(h)) host.address = h;
      else warnings.push(`host ${h}: its name is not an address vrio can connect to; set ansible_host`);
    }
    const want: Record<string, Scalar> = {};
    for (const [f, raw] of Object.entries(connectionOf(v)) as [Field, PyValue][]) {
      const r = connField(f, raw);
      if (r.value !== undefined) want[f] = r.value;
    }
    const have = layered(h, (c) => c.connection as Record<string, unknown> | undefined);
    const conn: Record<string, Scalar> = {};
    for (const [k, x] of Object.entries(want)) if (have[k] !== x) conn[k] = x;
    if (Object.keys(conn).length) host.connection = conn as RawConnection;
    const wantVars = plainVars(v);
    const haveVars = layered(h, (c) => c.vars);
    const hv: Record<string, Scalar> = {};
    for (const [k, x] of Object.entries(wantVars)) if (haveVars[k] !== x) hv[k] = x;
    if (Object.keys(hv).length) host.vars = hv;
    if (v.vrio_mtu !== undefined) host.mtu = Number(v.vrio_mtu);
    const iface = v.vrio_interface !== undefined && v.vrio_interface !== null ? String(v.vrio_interface) : undefined;
    if (!iface) missing.note('l2.interface', 'vrio_interface', n);
    if (role === 'iohyp') {
      const io = { ...host, l2: { interface: iface ?? '' } } as RawIohyp;
      if (v.vrio_l2_address !== undefined) io.l2.address = String(v.vrio_l2_address);
      (out.iohyps ??= {})[n] = io;
    } else {
      const iohyp = v.vrio_iohyp === undefined ? '' : String(v.vrio_iohyp);
      const g = {
        ...host,
        iohyp: names.get(iohyp) ?? iohyp,
        l2: { interface: iface ?? '', mac: String(v.vrio_mac ?? ''), ip: String(v.vrio_ip ?? '') },
      } as RawGuest;
      for (const [k, what] of [
        ['vrio_iohyp', 'iohyp'],
        ['vrio_mac', 'l2.mac'],
        ['vrio_ip', 'l2.ip'],
      ] as const)
        if (v[k] === undefined) missing.note(what, k, n);
      (out.guests ??= {})[n] = g;
    }
  }
  return { inventory: out, warnings: [...warnings, ...missing.lines(), ...unmapped.lines()], names };
}

/** vRIO fields the Ansible inventory does not give, one line per field however many hosts lack it. */
class Missing {
  private readonly byField = new Map<string, { variable: string; hosts: string[] }>();
  note(field: string, variable: string, host: string): void {
    const e = this.byField.get(field);
    if (e) e.hosts.push(host);
    else this.byField.set(field, { variable, hosts: [host] });
  }
  lines(): string[] {
    return [...this.byField].map(([field, { variable, hosts }]) => {
      const why = field === 'l2.interface' ? 'the NIC on the vRIO segment; ' : '';
      const on = hosts.length === 1 ? `host ${hosts[0]}` : `${hosts.length} hosts (${listed(hosts).replace(/^hosts /, '')})`;
      return `set ${field} on ${on}: ${why}${variable} in Ansible, on the hosts or a group of theirs`;
    });
  }
}

function addressProblem(v: PyValue): string | undefined {
  if (typeof v === 'string' && isJinja(v)) return 'a Jinja template (not evaluated here)';
  if (typeof v !== 'string' && typeof v !== 'number') return 'not a single value';
  const s = String(v);
  return s.length <= 253 && (ADDRESS.test(s) || isIpAddress(s)) ? undefined : 'not a host name or IP address';
}

function listed(hs: string[]): string {
  return hs.length === 1 ? `host ${hs[0]}` : `hosts ${hs.slice(0, 5).join(', ')}${hs.length > 5 ? ` and ${hs.length - 5} more` : ''}`;
}

/** --iohyps/--guests naming nothing in the inventory. */
export class RoleTargetError extends Error {}
