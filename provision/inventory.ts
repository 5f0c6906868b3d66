// Loading an inventory: parse (YAML/JSON) -> JSON Schema -> semantic checks ->
// resolve (defaults, groups, ${NAME} references, paths). Every problem is
// reported with file, line:column, JSON pointer and rule before anything runs.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocumentFile, parseDocumentText, pointerOf, revalidateSubstituted, validateDocument, type ParsedDocument, type Substituted } from '../lib/document.js';
import { InputError, type InputIssue } from '../lib/errors.js';
import { linkParams } from '../lib/vrio-modules.js';
import { inventorySchema, provisionDefaults, type Role } from './defaults.js';
import type { Connection, Device, Endpoint, Host, Inventory, ModuleSpec, RawConnection, RawGuest, RawInventory, RawIohyp, RawVrioParams, Scalar } from './inventory-types.js';
import { resolveFiles } from './files-inventory.js';
import { groupsByHost } from './groups.js';
import { defaultMacvtapName, semanticIssues } from './semantic.js';

export const BUILTIN_CONNECTION = {
  user: 'root',
  port: 22,
  connectTimeout: 10,
  commandTimeout: 120,
  keepaliveInterval: 15,
  retries: 2,
} as const;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

export function loadInventory(file: string, opts: LoadOptions = {}): Inventory {
  return inventoryFromDocument(parseDocumentFile(file), opts);
}

export function parseInventory(file: string, text: string, opts: LoadOptions = {}): Inventory {
  return inventoryFromDocument(parseDocumentText(file, text), opts);
}

/** Schema + semantic checks only; returns the raw document. */
export function validateInventory(doc: ParsedDocument): RawInventory {
  return validateDocument<RawInventory>(doc, inventorySchema(), semanticIssues);
}

/**
 * An inventory built in code (the lab's, the benchmark's), held to the same
 * schema and semantic checks as a user's file before it is written: `what`
 * names it in the error, as a file name would.
 */
export function checkBuiltInventory<T extends RawInventory>(inv: T, what: string): T {
  validateInventory({ file: what, data: inv, locate: () => undefined });
  return inv;
}

export function inventoryFromDocument(doc: ParsedDocument, opts: LoadOptions = {}): Inventory {
  const raw = validateInventory(doc);
  const issues: InputIssue[] = [];
  const substituted: Substituted[] = [];
  const inv = resolveInventory(
    raw,
    doc.file,
    opts.env ?? process.env,
    (pointer, rule, message, hint) => {
      const pos = doc.locate(pointer);
      issues.push({ file: doc.file, pointer, line: pos?.line, column: pos?.column, rule, message, hint });
    },
    (pointer, value) => substituted.push({ pointer, value }),
  );
  // A value already reported (e.g. key material where a path belongs) is not reported twice.
  issues.push(...revalidateSubstituted(doc, inventorySchema(), substituted).filter((i) => !issues.some((x) => x.pointer === i.pointer)));
  if (issues.length) throw new InputError(issues);
  return inv;
}

type Report = (pointer: string, rule: string, message: string, hint?: string) => void;

/** Key material or other text where a file path belongs (after ${NAME} substitution). */
function notAPath(v: string): boolean {
  return /[\u0000-\u001f]/.test(v) || /PRIVATE KEY/.test(v) || v.length > 4096;
}

function asParam(v: Scalar): string {
  // /sys/module/*/parameters shows bools as Y/N.
  if (typeof v === 'boolean') return v ? 'Y' : 'N';
  return String(v);
}

export function resolveInventory(raw: RawInventory, file: string, env: NodeJS.ProcessEnv, report: Report, substituted?: (pointer: string, value: string) => void): Inventory {
  const d = provisionDefaults();
  const baseDir = dirname(resolve(file));
  const groups: Record<string, string[]> = Object.fromEntries(Object.entries(raw.groups ?? {}).map(([g, v]) => [g, [...v.hosts]]));
  const byHost = groupsByHost(Object.entries(groups));
  const groupsOf = (name: string): string[] => byHost.get(name) ?? [];
  const entries: [Role, string, RawIohyp | RawGuest][] = [
    ...Object.entries(raw.iohyps ?? {}).map(([n, h]) => ['iohyp', n, h] as [Role, string, RawIohyp]),
    ...Object.entries(raw.guests ?? {}).map(([n, h]) => ['guest', n, h] as [Role, string, RawGuest]),
  ];
  const rawOf = new Map(entries.map(([role, n, h]) => [n, { role, h }]));
  const kindOf = (role: Role) => (role === 'iohyp' ? 'iohyps' : 'guests');

  const varsOf = (name: string, h: RawIohyp | RawGuest): Record<string, Scalar> => {
    const v: Record<string, Scalar> = { ...(raw.vars ?? {}) };
    for (const g of groupsOf(name)) Object.assign(v, raw.groups?.[g]?.vars ?? {});
    return Object.assign(v, h.vars ?? {});
  };
  // Merged connection settings with the pointer each value came from.
  const mergedConn = (name: string, h: RawIohyp | RawGuest, role: Role) => {
    const merged: Record<string, { value: unknown; pointer: string }> = {};
    const layer = (c: RawConnection | undefined, base: (string | number)[]) => {
      for (const [k, v] of Object.entries(c ?? {})) merged[k] = { value: v, pointer: pointerOf([...base, k]) };
    };
    layer(raw.connection, ['connection']);
    for (const g of groupsOf(name)) layer(raw.groups?.[g]?.connection, ['groups', g, 'connection']);
    layer(h.connection, [kindOf(role), name, 'connection']);
    return merged;
  };
  // Own keys only: `n in vars` (or env[n]) would resolve ${constructor} or ${toString}
  // to members every object has. The result is validated again by the caller.
  const subst = (s: string, vars: Record<string, Scalar>, pointer: string): string => {
    let resolved = true;
    const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n: string) => {
      if (Object.hasOwn(vars, n)) return String(vars[n]);
      const e = Object.hasOwn(env, n) ? env[n] : undefined;
      if (typeof e === 'string' && e !== '') return e;
      report(pointer, 'unresolved-variable', `\${${n}} is not a variable here and not set in the environment`, `define it under vars: or export ${n}=...`);
      resolved = false;
      return '';
    });
    if (resolved && out !== s) substituted?.(pointer, out);
    return out;
  };
  const path = (p: string) => {
    if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
    return isAbsolute(p) ? p : resolve(baseDir, p);
  };

  const kh = raw.hostKeys?.knownHosts;
  const khList = kh === undefined ? undefined : Array.isArray(kh) ? kh : [kh];
  const knownHostsFiles = khList
    ? khList.map((k, i) => path(subst(k, raw.vars ?? {}, pointerOf(['hostKeys', 'knownHosts', ...(Array.isArray(kh) ? [i] : [])]))))
    : [resolve(homedir(), '.ssh/known_hosts')].filter((f) => existsSync(f));

  const endpointOf = (name: string, h: RawIohyp | RawGuest, role: Role): Endpoint & { commandTimeoutMs: number; jumpSpec?: { value: string; pointer: string } } => {
    const vars = varsOf(name, h);
    const c = mergedConn(name, h, role);
    const get = <T>(k: keyof RawConnection, dflt: T): T => (c[k]?.value as T | undefined) ?? dflt;
    const str = (k: keyof RawConnection) => (c[k] && typeof c[k].value === 'string' ? subst(c[k].value as string, vars, c[k].pointer) : undefined);
    let agent: string | undefined;
    const a = c.agent?.value;
    if (a === true) {
      agent = env.SSH_AUTH_SOCK;
      if (!agent) report(c.agent.pointer, 'agent-available', 'agent: true but SSH_AUTH_SOCK is not set', 'start ssh-agent, or use identityFile');
    } else if (typeof a === 'string') agent = path(str('agent')!);
    let identity = str('identityFile');
    if (identity !== undefined && notAPath(identity)) {
      // The value itself is never shown: typically a CI secret variable holding the key.
      report(c.identityFile.pointer, 'identity-file-path', `identityFile resolves to ${/PRIVATE KEY/.test(identity) ? 'a private key itself' : 'text that is not a file path'}, not to the path of a key file (value not shown)`, 'write the key to a file (mode 0600) and give its path, e.g. identityFile: ~/.ssh/id_ed25519');
      identity = undefined;
    }
    if (!identity && !agent && env.SSH_AUTH_SOCK && a !== false) agent = env.SSH_AUTH_SOCK;
    const pins = h.hostKey === undefined ? [] : Array.isArray(h.hostKey) ? h.hostKey : [h.hostKey];
    const addressPtr = pointerOf([kindOf(role), name, 'address']);
    return {
      name,
      address: h.address ? subst(h.address, vars, addressPtr) : name,
      port: get('port', BUILTIN_CONNECTION.port),
      user: str('user') ?? BUILTIN_CONNECTION.user,
      identityFile: identity ? path(identity) : undefined,
      agent,
      hostKeys: { knownHostsFiles, pins },
      connectTimeoutMs: get('connectTimeout', BUILTIN_CONNECTION.connectTimeout) * 1000,
      commandTimeoutMs: get('commandTimeout', BUILTIN_CONNECTION.commandTimeout) * 1000,
      keepaliveMs: get('keepaliveInterval', BUILTIN_CONNECTION.keepaliveInterval) * 1000,
      retries: get('retries', BUILTIN_CONNECTION.retries),
      jumpSpec: c.jump ? { value: c.jump.value as string, pointer: c.jump.pointer } : undefined,
    };
  };

  const connectionOf = (name: string, h: RawIohyp | RawGuest, role: Role): Connection => {
    const { jumpSpec, ...ep } = endpointOf(name, h, role);
    let jump: Endpoint | undefined;
    if (jumpSpec && jumpSpec.value !== name) {
      const target = rawOf.get(jumpSpec.value);
      if (target) {
        // An inventory host as jump: its own address, credentials and pins.
        const { jumpSpec: _j, commandTimeoutMs: _c, ...jep } = endpointOf(jumpSpec.value, target.h, target.role);
        jump = jep;
      } else {
        const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(jumpSpec.value)!;
        const port = m[3] ? Number(m[3]) : 22;
        if (port < 1 || port > 65535) report(jumpSpec.pointer, 'port-range', `jump port ${port} is not 1..65535`);
        jump = { ...ep, name: jumpSpec.value, address: m[2].replace(/^\[|\]$/g, ''), port, user: m[1] ?? ep.user, hostKeys: { knownHostsFiles, pins: [] } };
      }
    }
    return { ...ep, jump };
  };

  const modulesOf = (role: Role, name: string, h: RawIohyp | RawGuest): ModuleSpec[] => {
    if (h.modules) return h.modules.map((m) => ({ name: m.name, params: Object.fromEntries(Object.entries(m.params ?? {}).map(([k, v]) => [k, asParam(v)])), support: false }));
    const mtu = mtuOf(role, h);
    const p = h.params ?? {};
    const eth = {
      l2_packet_size: p.vrio_eth?.l2_packet_size ?? d.l2PacketSize[String(mtu)] ?? mtu + 14,
      l2_packet_list_size: p.vrio_eth?.l2_packet_list_size ?? d.vrioEthDefaults.l2_packet_list_size,
      large_packet_list_size: p.vrio_eth?.large_packet_list_size ?? d.vrioEthDefaults.large_packet_list_size,
    };
    const gen = { ...linkParams(role, h.l2?.interface ?? '', mtu, h.cpuAffinity).vrio_gen, ...(p.vrio_gen ?? {}) };
    const set = d.modules[role];
    const paramsFor: Record<string, Record<string, Scalar>> = { vrio_eth: eth, vrio_gen: gen };
    return [
      ...set.support.map((m) => ({ name: m, params: {}, support: true })),
      ...set.vrio.map((m) => ({
        name: m,
        params: Object.fromEntries(Object.entries(paramsFor[m] ?? p[m as keyof RawVrioParams] ?? {}).map(([k, v]) => [k, asParam(v)])),
        support: false,
      })),
    ];
  };
  const mtuOf = (role: Role, h: RawIohyp | RawGuest): number =>
    h.mtu ?? (role === 'guest' ? raw.iohyps?.[(h as RawGuest).iohyp]?.mtu : undefined) ?? d.defaultMtu;

  const hosts: Host[] = entries.map(([role, name, h]) => {
    const vars = varsOf(name, h);
    const base = {
      name,
      role,
      pointer: pointerOf([kindOf(role), name]),
      groups: [...groupsOf(name)],
      vars,
      connection: connectionOf(name, h, role),
      mtu: mtuOf(role, h),
      queues: h.queues ?? d.defaultQueues,
      socketMemory: h.socketMemory ?? d.defaultSocketMemory,
      modules: modulesOf(role, name, h),
      customModules: Boolean(h.modules),
      files: resolveFiles(
        groupsOf(name).map((g) => ({ list: raw.groups?.[g]?.files ?? [], base: ['groups', g, 'files'] })),
        { list: h.files ?? [], base: [kindOf(role), name, 'files'] },
        (src, pointer) => path(subst(src, vars, pointer)),
        report,
      ),
    };
    if (role === 'iohyp') {
      const io = h as RawIohyp;
      const [ip, prefix] = io.l2.address?.split('/') ?? [];
      return { ...base, l2: { interface: io.l2.interface, address: io.l2.address, ip, prefix: prefix ? Number(prefix) : undefined, segment: io.l2.segment }, devices: [] };
    }
    const g = h as RawGuest;
    const [ip, prefix] = g.l2.ip.split('/');
    const devices: Device[] = (g.devices ?? []).map((dev) =>
      dev.type === 'blk'
        ? { type: 'blk', name: dev.name, backing: dev.backing, writeCache: dev.writeCache ?? true, segMax: dev.segMax ?? d.blk.segMax, capacity: dev.capacity }
        : { type: 'net', lower: dev.lower, mac: dev.mac.toLowerCase(), macvtap: dev.macvtap ?? defaultMacvtapName(dev.mac), features: dev.features ?? d.net.features },
    );
    return {
      ...base,
      iohyp: g.iohyp,
      l2: { interface: g.l2.interface, mac: g.l2.mac.toLowerCase(), ip, prefix: prefix ? Number(prefix) : undefined, segment: g.l2.segment },
      devices,
    };
  });
  return { file, hosts, groups };
}

/** Hosts selected by --limit patterns: host names, group names, 'iohyps'/'guests', '*' globs; '!x' excludes. */
export function limitHosts(inv: Inventory, patterns: string[] | undefined): Host[] {
  if (!patterns?.length) return inv.hosts;
  const words = patterns.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  const match = (h: Host, w: string): boolean => {
    if (w === 'all' || w === '*') return true;
    if (w === 'iohyps' || w === 'guests') return h.role === w.slice(0, -1);
    if (members.get(w)?.has(h.name)) return true;
    if (w.includes('*') || w.includes('?')) {
      const re = new RegExp('^' + w.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      return re.test(h.name);
    }
    return h.name === w;
  };
  // One set per group named (not a scan of its list per host).
  const members = new Map(words.map((w) => w.replace(/^!/, '')).filter((w) => inv.groups[w]).map((w) => [w, new Set(inv.groups[w])]));
  const inc = words.filter((w) => !w.startsWith('!'));
  const exc = words.filter((w) => w.startsWith('!')).map((w) => w.slice(1));
  return inv.hosts.filter((h) => (inc.length === 0 || inc.some((w) => match(h, w))) && !exc.some((w) => match(h, w)));
}
