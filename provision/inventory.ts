// Loading an inventory: parse (YAML/JSON) -> JSON Schema -> semantic checks ->
// resolve (defaults, groups, ${NAME} references, paths). Every problem is
// reported with file, line:column, JSON pointer and rule before anything runs.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  parseDocumentFile,
  parseDocumentText,
  pointerOf,
  revalidateSubstituted,
  validateDocument,
  type ParsedDocument,
  type Substituted,
} from '../lib/document.js';
import { InputError, type InputIssue } from '../lib/errors.js';
import { linkParams } from '../lib/vrio-modules.js';
import { inventorySchema, provisionDefaults, type Role } from './defaults.js';
import type { Connection, Endpoint } from '../lib/ssh/client.js';
import type { SshConfig } from '../lib/ssh/config.js';
import type { Device, Host, Inventory, ModuleSpec, RawConnection, RawGuest, RawInventory, RawIohyp, RawVrioParams, Scalar } from './inventory-types.js';
import { resolveFiles } from './files-inventory.js';
import { groupsByHost } from './groups.js';
import { defaultMacvtapName, effectivePacketSize, semanticIssues } from './semantic.js';

export const BUILTIN_CONNECTION = {
  user: 'root',
  port: 22,
  connectTimeout: 10,
  commandTimeout: 120,
  keepaliveInterval: 15,
  retries: 2,
} as const;

/** Connection settings from outside the inventory (the provision verbs' options). */
export interface SshSettings {
  /** -u USER: every host's login user; wins over the inventory. */
  user?: string;
  /** --key FILE (an absolute path): every host's identity file; wins over the inventory. */
  identityFile?: string;
  /** ~/.ssh/config or -F FILE: what the inventory does not set comes from there. */
  config?: SshConfig;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  ssh?: SshSettings;
}

export function loadInventory(file: string, opts: LoadOptions = {}): Inventory {
  return inventoryFromDocument(parseDocumentFile(file), opts);
}

export function parseInventory(file: string, text: string | Buffer, opts: LoadOptions = {}): Inventory {
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
      // A setting every host inherits is resolved once per host: say its problem once.
      if (issues.some((i) => i.pointer === pointer && i.rule === rule && i.message === message)) return;
      const pos = doc.locate(pointer);
      issues.push({ file: doc.file, pointer, line: pos?.line, column: pos?.column, rule, message, hint });
    },
    (pointer, value) => substituted.push({ pointer, value }),
    opts.ssh,
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

type RawHost = RawIohyp | RawGuest;

/** What resolving every host needs: the raw inventory, where it lives, the environment and where problems go. */
interface Resolution {
  raw: RawInventory;
  env: NodeJS.ProcessEnv;
  report: Report;
  substituted?: (pointer: string, value: string) => void;
  d: ReturnType<typeof provisionDefaults>;
  /** Relative paths are relative to the inventory's directory. */
  baseDir: string;
  groups: Record<string, string[]>;
  groupsOf: (name: string) => string[];
  rawOf: Map<string, { role: Role; h: RawHost }>;
  knownHostsFiles: string[];
  ssh: SshSettings;
}

/** The inventory's hosts with defaults, groups, ${NAME} references and paths resolved; problems go to `report`. */
export function resolveInventory(
  raw: RawInventory,
  file: string,
  env: NodeJS.ProcessEnv,
  report: Report,
  substituted?: (pointer: string, value: string) => void,
  ssh: SshSettings = {},
): Inventory {
  const groups: Record<string, string[]> = Object.fromEntries(Object.entries(raw.groups ?? {}).map(([g, v]) => [g, [...v.hosts]]));
  const byHost = groupsByHost(Object.entries(groups));
  const entries: [Role, string, RawHost][] = [
    ...Object.entries(raw.iohyps ?? {}).map(([n, h]) => ['iohyp', n, h] as [Role, string, RawIohyp]),
    ...Object.entries(raw.guests ?? {}).map(([n, h]) => ['guest', n, h] as [Role, string, RawGuest]),
  ];
  const r: Resolution = {
    raw,
    env,
    report,
    substituted,
    d: provisionDefaults(),
    baseDir: dirname(resolve(file)),
    groups,
    groupsOf: (name) => byHost.get(name) ?? [],
    rawOf: new Map(entries.map(([role, n, h]) => [n, { role, h }])),
    knownHostsFiles: [],
    ssh,
  };
  r.knownHostsFiles = knownHostsFilesOf(r);
  const hosts: Host[] = entries.map(([role, name, h]) => hostOf(r, role, name, h));
  return { file, hosts, groups };
}

const kindOf = (role: Role) => (role === 'iohyp' ? 'iohyps' : 'guests');

/** A host's variables: the inventory's, then its groups', then its own. */
function varsOf(r: Resolution, name: string, h: RawHost): Record<string, Scalar> {
  const v: Record<string, Scalar> = { ...(r.raw.vars ?? {}) };
  for (const g of r.groupsOf(name)) Object.assign(v, r.raw.groups?.[g]?.vars ?? {});
  return Object.assign(v, h.vars ?? {});
}

/** Merged connection settings with the pointer each value came from. */
function mergedConn(r: Resolution, name: string, h: RawHost, role: Role): Record<string, { value: unknown; pointer: string }> {
  const merged: Record<string, { value: unknown; pointer: string }> = {};
  const layer = (c: RawConnection | undefined, base: (string | number)[]) => {
    for (const [k, v] of Object.entries(c ?? {})) merged[k] = { value: v, pointer: pointerOf([...base, k]) };
  };
  layer(r.raw.connection, ['connection']);
  for (const g of r.groupsOf(name)) layer(r.raw.groups?.[g]?.connection, ['groups', g, 'connection']);
  layer(h.connection, [kindOf(role), name, 'connection']);
  return merged;
}

/**
 * ${NAME} from the host's variables, else the environment. Own keys only:
 * `n in vars` (or env[n]) would resolve ${constructor} or ${toString} to
 * members every object has. The result is validated again by the caller.
 */
function subst(r: Resolution, s: string, vars: Record<string, Scalar>, pointer: string): string {
  let resolved = true;
  const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n: string) => {
    if (Object.hasOwn(vars, n)) return String(vars[n]);
    const e = Object.hasOwn(r.env, n) ? r.env[n] : undefined;
    if (typeof e === 'string' && e !== '') return e;
    r.report(pointer, 'unresolved-variable', `\${${n}} is not a variable here and not set in the environment`, `define it under vars: or export ${n}=...`);
    resolved = false;
    return '';
  });
  if (resolved && out !== s) r.substituted?.(pointer, out);
  return out;
}

/** A path from the inventory: ~ is the home directory, relative is relative to the inventory file. */
function pathOf(r: Resolution, p: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(r.baseDir, p);
}

/** hostKeys.knownHosts (one file or a list), else ~/.ssh/known_hosts when it exists. */
function knownHostsFilesOf(r: Resolution): string[] {
  const kh = r.raw.hostKeys?.knownHosts;
  const khList = kh === undefined ? undefined : Array.isArray(kh) ? kh : [kh];
  return khList
    ? khList.map((k, i) => pathOf(r, subst(r, k, r.raw.vars ?? {}, pointerOf(['hostKeys', 'knownHosts', ...(Array.isArray(kh) ? [i] : [])]))))
    : [resolve(homedir(), '.ssh/known_hosts')].filter((f) => existsSync(f));
}

/** How to reach a host (address, user, credentials, pinned keys, timeouts) and its jump setting, unresolved. */
function endpointOf(
  r: Resolution,
  name: string,
  h: RawHost,
  role: Role,
): Endpoint & { commandTimeoutMs: number; become?: 'sudo'; jumpSpec?: { value: string; pointer: string } } {
  const { env, report, knownHostsFiles } = r;
  const vars = varsOf(r, name, h);
  const c = mergedConn(r, name, h, role);
  const get = <T>(k: keyof RawConnection, dflt: T): T => (c[k]?.value as T | undefined) ?? dflt;
  const str = (k: keyof RawConnection) => (c[k] && typeof c[k].value === 'string' ? subst(r, c[k].value as string, vars, c[k].pointer) : undefined);
  let agent: string | undefined;
  const a = c.agent?.value;
  if (a === true) {
    agent = env.SSH_AUTH_SOCK;
    if (!agent) report(c.agent.pointer, 'agent-available', 'agent: true but SSH_AUTH_SOCK is not set', 'start ssh-agent, or use identityFile');
  } else if (typeof a === 'string') agent = pathOf(r, str('agent')!);
  let identity = str('identityFile');
  if (identity !== undefined && notAPath(identity)) {
    // The value itself is never shown: typically a CI secret variable holding the key.
    report(
      c.identityFile.pointer,
      'identity-file-path',
      `identityFile resolves to ${/PRIVATE KEY/.test(identity) ? 'a private key itself' : 'text that is not a file path'}, not to the path of a key file (value not shown)`,
      'write the key to a file (mode 0600) and give its path, e.g. identityFile: ~/.ssh/id_ed25519',
    );
    identity = undefined;
  }
  const transport = get<'ssh2' | 'openssh'>('transport', 'ssh2');
  let certificate = str('certificateFile');
  if (certificate !== undefined && notAPath(certificate)) {
    report(
      c.certificateFile.pointer,
      'certificate-file-path',
      'certificateFile resolves to text that is not a file path (value not shown)',
      'give the path of the -cert.pub file',
    );
    certificate = undefined;
  }
  // ssh2 implements no *-cert-v01@openssh.com algorithm: the certificate would be silently unused.
  if (certificate !== undefined && transport !== 'openssh')
    report(
      c.certificateFile.pointer,
      'certificate-needs-openssh',
      `certificateFile needs connection.transport: openssh (this host's transport is ${transport}, which cannot present user certificates)`,
      'set connection.transport: openssh next to it (or for the group or the whole inventory)',
    );
  const pins = h.hostKey === undefined ? [] : Array.isArray(h.hostKey) ? h.hostKey : [h.hostKey];
  const addressPtr = pointerOf([kindOf(role), name, 'address']);
  // The address is an ssh_config alias as on ssh's command line; whatever the
  // inventory sets itself wins over the config (issue #17).
  const alias = h.address ? subst(r, h.address, vars, addressPtr) : name;
  const sc = r.ssh.config?.lookup(alias) ?? {};
  const identityFile = identity ? pathOf(r, identity) : sc.identityFile;
  if (!identityFile && !agent && env.SSH_AUTH_SOCK && a !== false) agent = env.SSH_AUTH_SOCK;
  const jumpFromConfig = sc.proxyJump && { value: sc.proxyJump, pointer: addressPtr };
  return {
    name,
    address: sc.hostName ?? alias,
    port: get('port', sc.port ?? BUILTIN_CONNECTION.port),
    user: str('user') ?? sc.user ?? BUILTIN_CONNECTION.user,
    identityFile,
    certificateFile: certificate === undefined ? undefined : pathOf(r, certificate),
    transport,
    alias,
    sshConfigFile: r.ssh.config?.file ?? 'none',
    agent,
    // hostKeys.knownHosts in the inventory wins over the config's UserKnownHostsFile.
    hostKeys: { knownHostsFiles: (r.raw.hostKeys?.knownHosts === undefined && sc.knownHostsFiles) || knownHostsFiles, pins },
    connectTimeoutMs: get('connectTimeout', BUILTIN_CONNECTION.connectTimeout) * 1000,
    commandTimeoutMs: get('commandTimeout', BUILTIN_CONNECTION.commandTimeout) * 1000,
    keepaliveMs: get('keepaliveInterval', BUILTIN_CONNECTION.keepaliveInterval) * 1000,
    retries: get('retries', BUILTIN_CONNECTION.retries),
    become: c.become?.value as 'sudo' | undefined,
    jumpSpec: c.jump ? { value: c.jump.value as string, pointer: c.jump.pointer } : jumpFromConfig || undefined,
  };
}

/** The host's endpoint with its jump host resolved: an inventory host, or user@host:port. */
function connectionOf(r: Resolution, name: string, h: RawHost, role: Role): Connection {
  const { jumpSpec, ...ep } = endpointOf(r, name, h, role);
  // -u/--key are for the hosts themselves, like ssh -l/-i: an inventory host
  // used as a jump keeps its own user and key (resolved above by endpointOf).
  if (r.ssh.user !== undefined) ep.user = r.ssh.user;
  if (r.ssh.identityFile !== undefined) ep.identityFile = r.ssh.identityFile;
  let jump: Endpoint | undefined;
  if (jumpSpec && jumpSpec.value !== name) {
    const target = r.rawOf.get(jumpSpec.value);
    if (target) {
      // An inventory host as jump: its own address, credentials and pins.
      const { jumpSpec: _j, commandTimeoutMs: _c, become: _b, ...jep } = endpointOf(r, jumpSpec.value, target.h, target.role);
      jump = jep;
    } else {
      const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(jumpSpec.value);
      if (!m) {
        r.report(jumpSpec.pointer, 'jump-syntax', `jump ${jumpSpec.value} (ProxyJump from ${r.ssh.config?.file}) is not [user@]host[:port]`);
        return { ...ep };
      }
      // The jump host's own ssh_config entry, as ssh -J reads it.
      const alias = m[2].replace(/^\[|\]$/g, '');
      const sc = r.ssh.config?.lookup(alias) ?? {};
      const port = m[3] ? Number(m[3]) : (sc.port ?? 22);
      if (port < 1 || port > 65535) r.report(jumpSpec.pointer, 'port-range', `jump port ${port} is not 1..65535`);
      // The host's own settings as defaults, without what only the host's commands use.
      const { commandTimeoutMs: _c, become: _b, ...own } = ep;
      jump = {
        ...own,
        name: jumpSpec.value,
        alias,
        address: sc.hostName ?? alias,
        port,
        user: m[1] ?? sc.user ?? ep.user,
        identityFile: sc.identityFile ?? ep.identityFile,
        hostKeys: { knownHostsFiles: r.knownHostsFiles, pins: [] },
      };
    }
  }
  return { ...ep, jump };
}

/** The host's own module list, else the role's vRIO modules with parameters from its MTU, NIC and params. */
function modulesOf(r: Resolution, role: Role, h: RawHost): ModuleSpec[] {
  const { d } = r;
  if (h.modules)
    return h.modules.map((m) => ({
      name: m.name,
      params: Object.fromEntries(Object.entries(m.params ?? {}).map(([k, v]) => [k, asParam(v)])),
      support: false,
    }));
  const mtu = mtuOf(r, role, h);
  const p = h.params ?? {};
  const eth = {
    l2_packet_size: effectivePacketSize(h, mtu),
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
}

/** The host's MTU, else (a guest) its IOhyp's, else the default. */
function mtuOf(r: Resolution, role: Role, h: RawHost): number {
  return h.mtu ?? (role === 'guest' ? r.raw.iohyps?.[(h as RawGuest).iohyp]?.mtu : undefined) ?? r.d.defaultMtu;
}

/** One resolved host: what every role has, then its L2 side (and a guest's devices). */
function hostOf(r: Resolution, role: Role, name: string, h: RawHost): Host {
  const { raw, d } = r;
  const vars = varsOf(r, name, h);
  const base = {
    name,
    role,
    pointer: pointerOf([kindOf(role), name]),
    groups: [...r.groupsOf(name)],
    vars,
    connection: connectionOf(r, name, h, role),
    mtu: mtuOf(r, role, h),
    queues: h.queues ?? d.defaultQueues,
    socketMemory: h.socketMemory ?? d.defaultSocketMemory,
    modules: modulesOf(r, role, h),
    customModules: Boolean(h.modules),
    files: resolveFiles(
      r.groupsOf(name).map((g) => ({ list: raw.groups?.[g]?.files ?? [], base: ['groups', g, 'files'] })),
      { list: h.files ?? [], base: [kindOf(role), name, 'files'] },
      (src, pointer) => pathOf(r, subst(r, src, vars, pointer)),
      r.report,
    ),
  };
  if (role === 'iohyp') {
    const io = h as RawIohyp;
    const [ip, prefix] = io.l2.address?.split('/') ?? [];
    return {
      ...base,
      l2: { interface: io.l2.interface, address: io.l2.address, ip, prefix: prefix ? Number(prefix) : undefined, segment: io.l2.segment },
      devices: [],
    };
  }
  const g = h as RawGuest;
  const [ip, prefix] = g.l2.ip.split('/');
  const devices: Device[] = (g.devices ?? []).map((dev) =>
    dev.type === 'blk'
      ? { type: 'blk', name: dev.name, backing: dev.backing, writeCache: dev.writeCache ?? true, segMax: dev.segMax ?? d.blk.segMax, capacity: dev.capacity }
      : {
          type: 'net',
          lower: dev.lower,
          mac: dev.mac.toLowerCase(),
          macvtap: dev.macvtap ?? defaultMacvtapName(dev.mac),
          features: dev.features ?? d.net.features,
        },
  );
  return {
    ...base,
    iohyp: g.iohyp,
    l2: { interface: g.l2.interface, mac: g.l2.mac.toLowerCase(), ip, prefix: prefix ? Number(prefix) : undefined, segment: g.l2.segment },
    devices,
  };
}
