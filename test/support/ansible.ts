// The real ansible-inventory as the reference for `vrio inventory import`:
// its --list output, and a host-by-host comparison with what our import gives
// once loaded by our own inventory loader (address, port, user, groups, plain
// variables; every variable not carried must be named in a warning).
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { relative } from 'node:path';
import { stringify } from 'yaml';
import { InputError } from '../../lib/errors.js';
import { importAnsibleFile, type MapOptions } from '../../provision/ansible/index.js';
import { parseInventory } from '../../provision/inventory.js';

/** Why the reference is missing, or false when ansible-inventory runs. */
export function ansibleMissing(): string | false {
  return spawnSync('ansible-inventory', ['--version'], { encoding: 'utf8' }).status === 0 ? false : 'ansible-inventory (ansible-core) is not installed';
}

export function emptyFigures(): Figures {
  return {
    files: 0,
    rejectedByBoth: 0,
    hosts: 0,
    skippedWarned: 0,
    compared: 0,
    address: 0,
    port: 0,
    user: 0,
    groups: 0,
    vars: 0,
    varsCompared: 0,
    unmappedSettings: 0,
    unmappedWarned: 0,
    warnings: 0,
  };
}

export interface AnsibleList {
  ok: boolean;
  stderr: string;
  hostvars: Record<string, Record<string, unknown>>;
  /** Host -> every group it is in (children followed), without all/ungrouped. */
  groups: Record<string, string[]>;
}

/** `ansible-inventory -i FILE --list`, failing (not warning) on a file it cannot parse. */
export function ansibleList(file: string): AnsibleList {
  const r = spawnSync('ansible-inventory', ['-i', file, '--list'], {
    encoding: 'utf8',
    timeout: 60_000,
    // No ansible.cfg from the working directory; a file Ansible cannot parse is an error, not a warning.
    cwd: tmpdir(),
    env: { ...process.env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', ANSIBLE_NOCOLOR: '1' },
  });
  if (r.status !== 0) return { ok: false, stderr: r.stderr, hostvars: {}, groups: {} };
  const data = JSON.parse(r.stdout) as Record<string, { hosts?: string[]; children?: string[] }> & {
    _meta?: { hostvars?: Record<string, Record<string, unknown>> };
  };
  const hostvars = data._meta?.hostvars ?? {};
  const hostsOf = (g: string, seen = new Set<string>()): string[] => {
    if (seen.has(g)) return [];
    seen.add(g);
    const node = data[g] ?? {};
    return [...(node.hosts ?? []), ...(node.children ?? []).flatMap((c) => hostsOf(c, seen))];
  };
  const groups: Record<string, string[]> = {};
  const all = new Set<string>(Object.keys(hostvars));
  for (const g of Object.keys(data)) {
    if (g === '_meta') continue;
    for (const h of hostsOf(g)) all.add(h);
    if (g === 'all' || g === 'ungrouped') continue;
    for (const h of hostsOf(g)) (groups[h] ??= []).includes(g) || groups[h].push(g);
  }
  for (const h of all) {
    hostvars[h] ??= {};
    groups[h] ??= [];
  }
  return { ok: true, stderr: r.stderr, hostvars, groups };
}

export interface Figures {
  files: number;
  rejectedByBoth: number;
  hosts: number;
  skippedWarned: number;
  compared: number;
  address: number;
  port: number;
  user: number;
  groups: number;
  vars: number;
  varsCompared: number;
  unmappedSettings: number;
  unmappedWarned: number;
  warnings: number;
}

const first = (v: Record<string, unknown>, ...keys: string[]) => keys.map((k) => v[k]).find((x) => x !== undefined && x !== null);
const MAPPED = /^ansible_(ssh_)?(host|port|user)$|^ansible_(ssh_)?private_key_file$|^ansible_(ssh_)?timeout$|^ansible_connection$/;

/** Compare one file (with what Ansible makes of `truthFrom`, by default the file itself); fills in the figures, returns the mismatches. */
export function compareFile(file: string, f: Figures, root: string, opts: MapOptions = { iohyps: ['all'] }, truthFrom = file): string[] {
  const bad: string[] = [];
  const name = relative(root, file);
  const truth = ansibleList(truthFrom);
  f.files++;
  let ours;
  try {
    ours = importAnsibleFile(file, opts, name);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (!truth.ok) {
      f.rejectedByBoth++;
      return bad;
    }
    return [`${name}: we reject what Ansible accepts: ${e.message}`];
  }
  if (!truth.ok) return [`${name}: Ansible rejects it (${truth.stderr.trim().split('\n').pop()}) but we import it`];
  f.warnings += ours.warnings.length;
  const inv = ours.inventory;
  for (const io of Object.values(inv.iohyps ?? {})) io.l2.interface = 'eth1';
  const hostsTotal = Object.keys(inv.iohyps ?? {}).length + Object.keys(inv.guests ?? {}).length;
  const resolved = hostsTotal ? parseInventory(`${name}.yaml`, stringify(inv), { env: {} }) : { hosts: [] };
  const byName = new Map(resolved.hosts.map((h) => [h.name, h]));
  const warned = (word: string) => ours.warnings.some((w) => w.includes(word));
  for (const [h, hv] of Object.entries(truth.hostvars)) {
    f.hosts++;
    const our = ours.names.get(h);
    if (our === undefined) {
      if (warned(h)) f.skippedWarned++;
      else bad.push(`${name}: host ${h} is missing and no warning names it`);
      continue;
    }
    const r = byName.get(our);
    if (!r) {
      bad.push(`${name}: host ${h} (${our}) is not in the loaded result`);
      continue;
    }
    f.compared++;
    const check = (what: 'address' | 'port' | 'user', want: unknown, got: unknown) => {
      if (String(want) === String(got)) f[what]++;
      else bad.push(`${name}: host ${h}: ${what} is ${got}, Ansible says ${want}`);
    };
    check('address', first(hv, 'ansible_ssh_host', 'ansible_host') ?? h, r.connection.address);
    check('port', first(hv, 'ansible_ssh_port', 'ansible_port') ?? 22, r.connection.port);
    check('user', first(hv, 'ansible_ssh_user', 'ansible_user') ?? 'root', r.connection.user);
    // iohyps/guests groups are our roles, not groups.
    const roleGroup = (g: string) => /^(iohyps?|guests?)$/i.test(g);
    const roleFromGroups = truth.groups[h].find(roleGroup);
    if (roleFromGroups && !roleFromGroups.toLowerCase().startsWith(r.role))
      bad.push(`${name}: host ${h} is in Ansible group ${roleFromGroups} but imported as ${r.role}`);
    const wantGroups = truth.groups[h].filter((g) => !roleGroup(g)).sort();
    const gotGroups = [...r.groups].sort();
    if (JSON.stringify(wantGroups) === JSON.stringify(gotGroups)) f.groups++;
    else bad.push(`${name}: host ${h}: groups ${gotGroups.join(',')}, Ansible says ${wantGroups.join(',')}`);
    let varsOk = true;
    for (const [k, v] of Object.entries(hv)) {
      if (MAPPED.test(k) || k.startsWith('vrio_')) continue;
      const plain = v !== null && ['string', 'number', 'boolean'].includes(typeof v) && !(typeof v === 'string' && /\{\{|\{%/.test(v));
      if (!k.startsWith('ansible_') && plain && k in r.vars) {
        f.varsCompared++;
        if (r.vars[k] !== v) {
          varsOk = false;
          bad.push(`${name}: host ${h}: ${k} is ${JSON.stringify(r.vars[k])}, Ansible says ${JSON.stringify(v)}`);
        }
      } else {
        f.unmappedSettings++;
        if (warned(k)) f.unmappedWarned++;
        else bad.push(`${name}: host ${h}: ${k} is not carried over and no warning names it`);
      }
    }
    for (const k of Object.keys(r.vars)) if (!(k in hv)) bad.push(`${name}: host ${h}: has ${k}, which Ansible does not give it`);
    if (varsOk) f.vars++;
  }
  for (const h of ours.names.keys()) if (!(h in truth.hostvars)) bad.push(`${name}: we import host ${h}, which Ansible does not have`);
  if (hostsTotal !== ours.names.size) bad.push(`${name}: ${hostsTotal} hosts written, ${ours.names.size} named`);
  return bad;
}
