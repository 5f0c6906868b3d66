// The vRIO operations: kernel modules with their parameters, the links and
// sysctls they need (setup), the devices an IOhyp creates for its guests, and
// the teardown of all of it. Pure functions from (facts, inventory) to changes
// (provision/ops/plan.ts explains the whole planner).
//
// What shapes them (measured, see vrio-reference.md):
// - load order back end: support (macvlan, macvtap, tun) -> vrio_eth -> vrio_gen
//   -> vrio_hblk, vrio_hnet; front end: vrio_eth -> vrio_gen -> vrio_gblk, vrio_gnet;
//   teardown is the reverse;
// - vrio_gen needs h_/g_cpu_affinity (the inventory enforces != 0);
// - a guest's front end must be loaded before any CREATE for it;
// - a failed CREATE leaves the back end attached: REMOVE then CREATE recovers;
// - vrio_eth's list sizes cost memory: refuse a load that cannot fit.
import { provisionDefaults } from '../defaults.js';
import type { Facts, VrioBlkFact, VrioNetFact } from '../facts.js';
import type { BlkDevice, Host, NetDevice } from '../inventory-types.js';
import { shScript } from '../../lib/shell.js';
import type { Change, ChangeKind, HostPlan } from './change.js';

const d = () => provisionDefaults();
const change = (host: Host, kind: ChangeKind, summary: string, argv: string[], data: Record<string, unknown>, extra: Partial<Change> = {}): Change => ({
  host: host.name,
  kind,
  summary,
  data: { kind, ...data },
  argv,
  ...extra,
});

function paramsText(p: Record<string, string>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Parameters of a loaded module that differ from the wanted ones (unreadable ones count as equal). */
export function paramMismatch(wanted: Record<string, string>, loaded: Record<string, string>): string[] {
  return Object.entries(wanted)
    .filter(([k, v]) => k in loaded && normalizeParam(loaded[k]) !== normalizeParam(v))
    .map(([k, v]) => `${k}=${loaded[k]} (want ${v})`);
}

/**
 * A parameter value as the kernel shows it: a bool given as 1/0 (or true/false)
 * reads back Y/N (Y and N themselves stay). An int 1 or 0 then compares equal
 * to Y or N, which no real parameter can show for the other type, so nothing
 * is missed.
 */
function normalizeParam(v: string): string {
  const t = v.trim();
  if (t === '1' || t === 'true') return 'Y';
  if (t === '0' || t === 'false') return 'N';
  return t;
}

/** Estimated bytes vrio_eth/vrio_gen allocate for the packet lists. */
export function vrioMemoryBytes(host: Host): number {
  const eth = host.modules.find((m) => m.name === 'vrio_eth');
  if (!eth) return 0;
  const pkt = Number(eth.params.l2_packet_size ?? 0);
  const entries = Number(eth.params.l2_packet_list_size ?? 0) + Number(eth.params.large_packet_list_size ?? 0);
  return Math.round(entries * pkt * d().memoryPerEntryPerPacketByte);
}

/**
 * Loaded modules (transitively) using `name`, outermost first, that are not in
 * `unloaded` yet; they are added to it (the caller unloads them in this order).
 * A user /proc/modules names but does not list (it went away while the facts
 * were read) has no users of its own.
 */
function usersOf(facts: Facts, name: string, unloaded: Set<string>): string[] {
  const out: string[] = [];
  for (const u of facts.modules[name]?.usedBy ?? []) {
    if (unloaded.has(u)) continue;
    unloaded.add(u);
    out.push(...usersOf(facts, u, unloaded), u);
  }
  return out;
}

function unloadChange(host: Host, name: string, why: string): Change {
  return change(
    host,
    'module-unload',
    `unload ${name}${why ? ` (${why})` : ''}`,
    ['rmmod', name],
    { module: name },
    { diff: { path: `module ${name}`, before: 'loaded', after: null } },
  );
}

/** Module loads/reloads for `apply`, in load order. */
export function planModules(host: Host, facts: Facts): { changes: Change[]; errors: string[] } {
  // Without module support nothing can load; the plan still shows what would.
  const errors: string[] = facts.modulesSupported ? [] : [`kernel ${facts.kernel || '?'} has no loadable-module support (/proc/modules missing)`];
  // Loaded vRIO modules with other parameters (support modules get none from us).
  const mismatch: Record<string, string[]> = {};
  for (const m of host.modules) {
    const loaded = facts.modules[m.name];
    if (!loaded || m.support) continue;
    const diff = paramMismatch(m.params, loaded.params);
    if (diff.length) mismatch[m.name] = diff;
  }
  const changes: Change[] = [];
  const unloaded = new Set<string>();
  // Only what has to be reloaded goes: the first mismatching module and everything
  // loaded after it, in reverse load order, each after the modules using it. (Support
  // modules come first in host.modules, provision/inventory.ts, so none is among them.)
  const firstMismatch = host.modules.findIndex((m) => mismatch[m.name]);
  if (firstMismatch >= 0) {
    for (const m of host.modules.slice(firstMismatch).reverse()) {
      if (!facts.modules[m.name] || unloaded.has(m.name)) continue;
      for (const u of usersOf(facts, m.name, unloaded)) changes.push(unloadChange(host, u, `uses ${m.name}`));
      unloaded.add(m.name);
      changes.push(unloadChange(host, m.name, mismatch[m.name] ? `reload: ${mismatch[m.name].join(', ')}` : 'reload after a module it needs'));
    }
  }
  // Then every module that is not loaded (or was just unloaded) loads, in load order.
  const loads = host.modules.filter((m) => !facts.modules[m.name] || unloaded.has(m.name));
  for (const m of loads) {
    const args = Object.entries(m.params).map(([k, v]) => `${k}=${v}`);
    changes.push(
      change(
        host,
        'module-load',
        `load ${m.name}${args.length ? ' ' + paramsText(m.params) : ''}`,
        ['modprobe', m.name, ...args],
        { module: m.name, params: m.params },
        {
          diff: {
            path: `module ${m.name}`,
            before: unloaded.has(m.name) ? 'loaded (old parameters)' : null,
            after: args.length ? paramsText(m.params) : 'loaded',
          },
        },
      ),
    );
  }
  if (loads.some((m) => m.name === 'vrio_eth')) {
    const need = vrioMemoryBytes(host) * d().memoryHeadroom;
    if (facts.memAvailableKiB > 0 && need > facts.memAvailableKiB * 1024)
      errors.push(
        `vrio_eth's packet lists need ~${Math.round(need / 1048576)} MiB but only ${Math.round(facts.memAvailableKiB / 1024)} MiB are available; lower params.vrio_eth.l2_packet_list_size/large_packet_list_size or add memory`,
      );
  }
  return { changes, errors };
}

/**
 * The host's L2 address as ip/prefix when the inventory gives a prefix (an
 * IOhyp's l2.address, a guest's l2.ip with /prefix): only then does apply add
 * it (and teardown remove it). A prefix always comes with an ip (ipv4Cidr).
 */
function l2Cidr(host: Host): string | undefined {
  return host.l2.prefix === undefined ? undefined : `${host.l2.ip}/${host.l2.prefix}`;
}

/** State recorded before apply's first change, so teardown can restore it. */
export function savedStateLines(host: Host, facts: Facts): string[] {
  const nic = facts.nics[host.l2.interface];
  const lines: string[] = [];
  if (nic) lines.push(`mtu.${host.l2.interface}=${nic.mtu}`, `up.${host.l2.interface}=${nic.up ? 1 : 0}`);
  if (nic?.combined) lines.push(`combined.${host.l2.interface}=${nic.combined.current}`);
  for (const s of d().sysctls) if (facts.sysctls[s] !== undefined) lines.push(`sysctl.${s}=${facts.sysctls[s]}`);
  lines.push(
    `preloaded=${host.modules
      .filter((m) => facts.modules[m.name])
      .map((m) => m.name)
      .join(',')}`,
  );
  const cidr = l2Cidr(host);
  if (cidr) lines.push(`address.${host.l2.interface}=${nic?.ipv4.includes(cidr) ? 1 : 0}`);
  return lines;
}

export function saveStateChange(host: Host, facts: Facts): Change {
  const file = d().stateFile;
  const lines = savedStateLines(host, facts);
  return change(
    host,
    'save-state',
    `record current settings in ${file} (teardown restores them)`,
    shScript('f=$1; shift; umask 077; mkdir -p "${f%/*}" && printf "%s\\n" "$@" > "$f.tmp" && mv "$f.tmp" "$f"', [file, ...lines]),
    { file, lines },
  );
}

/** Link, sysctl and module changes a host needs before any device work. */
export function planSetup(host: Host, facts: Facts): HostPlan {
  const plan: HostPlan = { host: host.name, role: host.role, changes: [], errors: [], notes: [] };
  const ifname = host.l2.interface;
  const nic = facts.nics[ifname];
  const c: Change[] = [];
  if (!nic) {
    plan.errors.push(`L2 interface ${ifname} does not exist (NICs: ${Object.keys(facts.nics).join(', ') || 'none'})`);
    return plan;
  }
  // Only a guest has an L2 MAC in the inventory (the IOhyp addresses the guest by it).
  if (host.l2.mac && nic.mac !== host.l2.mac) {
    plan.errors.push(`${ifname} has MAC ${nic.mac} but the inventory says ${host.l2.mac} (the IOhyp addresses the guest by it)`);
  }
  if (!host.customModules) {
    for (const s of d().sysctls) {
      const cur = facts.sysctls[s];
      if (cur !== undefined && Number(cur) !== host.socketMemory)
        c.push(
          change(
            host,
            'sysctl',
            `set ${s} ${cur} -> ${host.socketMemory}`,
            ['sysctl', '-w', `${s}=${host.socketMemory}`],
            { key: s, value: String(host.socketMemory) },
            { diff: { path: s, before: cur, after: String(host.socketMemory) } },
          ),
        );
    }
  }
  if (nic.mtu !== host.mtu)
    c.push(
      change(
        host,
        'mtu',
        `set ${ifname} mtu ${nic.mtu} -> ${host.mtu}`,
        ['ip', 'link', 'set', 'dev', ifname, 'mtu', String(host.mtu)],
        { interface: ifname, mtu: host.mtu },
        { diff: { path: `${ifname}/mtu`, before: String(nic.mtu), after: String(host.mtu) } },
      ),
    );
  if (!host.customModules) {
    if (nic.combined && nic.combined.current !== host.queues) {
      if (nic.combined.max < host.queues) plan.notes.push(`${ifname} supports at most ${nic.combined.max} combined queues; leaving ${nic.combined.current}`);
      else
        c.push(
          change(
            host,
            'queues',
            `set ${ifname} combined queues ${nic.combined.current} -> ${host.queues}`,
            ['ethtool', '-L', ifname, 'combined', String(host.queues)],
            { interface: ifname, combined: host.queues },
            { diff: { path: `${ifname}/combined`, before: String(nic.combined.current), after: String(host.queues) } },
          ),
        );
    } else if (!nic.combined && !facts.tools.ethtool && nic.rxQueues > host.queues) {
      plan.notes.push(`${ifname} has ${nic.rxQueues} queues and ethtool is missing: cannot reduce them to ${host.queues}`);
    }
  }
  if (!nic.up)
    c.push(
      change(
        host,
        'link-up',
        `bring ${ifname} up`,
        ['ip', 'link', 'set', 'dev', ifname, 'up'],
        { interface: ifname },
        { diff: { path: `${ifname}/state`, before: 'down', after: 'up' } },
      ),
    );
  const cidr = l2Cidr(host);
  if (cidr) {
    if (!nic.ipv4.includes(cidr))
      c.push(
        change(
          host,
          'address',
          `add address ${cidr} to ${ifname}`,
          ['ip', 'addr', 'add', cidr, 'dev', ifname],
          { interface: ifname, address: cidr },
          { diff: { path: `${ifname}/ipv4`, before: nic.ipv4.join(',') || null, after: [...nic.ipv4, cidr].join(',') } },
        ),
      );
  }
  const mods = planModules(host, facts);
  plan.errors.push(...mods.errors);
  c.push(...mods.changes);
  if (c.length && !facts.saved) c.unshift(saveStateChange(host, facts));
  plan.changes = c;
  return plan;
}

// ---- devices (on the IOhyp, for its guests) --------------------------------

export interface GuestView {
  host: Host;
  /** The guest's facts, when known (after its own setup during apply). */
  facts?: Facts;
  /** false when the guest's setup failed or it is unreachable. */
  ok: boolean;
}

function helperArgsHeader(iohyp: Host, guest: Host): string[] {
  return ['--iface', iohyp.l2.interface, '--guest-mac', guest.l2.mac!, '--guest-ip', guest.l2.ip!];
}

export function blkCreateArgv(iohyp: Host, guest: Host, dev: BlkDevice): string[] {
  return [
    d().helper,
    'create-blk',
    ...helperArgsHeader(iohyp, guest),
    '--backing',
    dev.backing,
    '--name',
    dev.name,
    ...(dev.writeCache ? [] : ['--no-write-cache']),
    '--seg-max',
    String(dev.segMax),
    ...(dev.capacity !== undefined ? ['--capacity', String(dev.capacity)] : []),
  ];
}

export function netCreateArgv(iohyp: Host, guest: Host, dev: NetDevice): string[] {
  return [d().helper, 'create-net', ...helperArgsHeader(iohyp, guest), '--backing', dev.macvtap, '--mac', dev.mac, '--features', dev.features];
}

export function removeArgv(iohyp: Host, guest: Host, backing: string): string[] {
  return [d().helper, 'remove', ...helperArgsHeader(iohyp, guest), '--backing', backing];
}

/** Does the guest show the device (a disk in /sys/block, a NIC with the vNIC MAC)? */
export function guestSees(facts: Facts, dev: BlkDevice | NetDevice): boolean {
  if (dev.type === 'blk') return facts.blockDevices.includes(dev.name);
  return Object.values(facts.nics).some((n) => n.mac === dev.mac);
}

/**
 * Who the backing of an inventory device is attached to on the IOhyp, and
 * whether that is this guest's device. A disk is the guest's only under the
 * name the inventory gives it (a vNIC has a name on neither side).
 */
function attachment(facts: Facts, guest: Host, dev: BlkDevice | NetDevice): { existing?: VrioBlkFact | VrioNetFact; mine: boolean } {
  if (dev.type === 'blk') {
    const existing = facts.vrio.blk.find((x) => x.backing === dev.backing);
    return { existing, mine: existing !== undefined && existing.guestIp === guest.l2.ip && existing.guestDevice === dev.name };
  }
  const existing = facts.vrio.net.find((x) => x.backing === dev.macvtap);
  return { existing, mine: existing?.guestIp === guest.l2.ip };
}

/** Device and macvtap changes on an IOhyp for its guests (apply). */
export function planDevices(iohyp: Host, facts: Facts, guests: GuestView[]): HostPlan {
  const plan: HostPlan = { host: iohyp.name, role: 'iohyp', changes: [], errors: [], notes: [] };
  const c = plan.changes;
  const frontEnd = d().frontEndFor;
  const wanted = new Set<string>();
  // Backings removed here from where they are attached (an inventory device wants them).
  const removed = new Set<string>();
  for (const g of guests) {
    for (const dev of g.host.devices) {
      const backing = dev.type === 'blk' ? dev.backing : dev.macvtap;
      wanted.add(`${backing}|${g.host.l2.ip}`);
      const label =
        dev.type === 'blk' ? `blk ${dev.name} for ${g.host.name} (${dev.backing})` : `net ${dev.mac} for ${g.host.name} (${dev.macvtap} on ${dev.lower})`;
      const { existing, mine } = attachment(facts, g.host, dev);
      const seen = g.facts ? guestSees(g.facts, dev) : undefined;
      if (mine && seen !== false) continue;
      if (!g.ok) {
        plan.notes.push(`skipped ${label}: guest ${g.host.name} is not ready`);
        continue;
      }
      if (g.facts && !g.facts.modules[frontEnd[dev.type]]) {
        // CREATE before the guest's front end is up fails and leaves the back end attached.
        plan.errors.push(`cannot create ${label}: the guest's front end ${frontEnd[dev.type]} is not loaded`);
        continue;
      }
      if (existing) {
        const why = mine ? `the guest does not see it` : `it is attached to ${existing.guestIp}`;
        const owner = mine ? g.host : (guests.find((x) => x.host.l2.ip === existing.guestIp)?.host ?? g.host);
        removed.add(backing);
        c.push(
          change(
            iohyp,
            'device-remove',
            `remove vRIO ${dev.type} on ${backing} (${why})`,
            removeArgv(iohyp, owner, backing),
            { type: dev.type, backing, guest: owner.name, guestIp: existing.guestIp },
            { diff: { path: `vrio/${dev.type}/${backing}`, before: existing.guestIp, after: null } },
          ),
        );
      }
      if (dev.type === 'net') {
        const tap = facts.nics[dev.macvtap];
        const tapOk = tap && tap.kind === 'macvtap' && tap.mac === dev.mac && (!tap.lower || tap.lower === dev.lower);
        if (tap && !tapOk)
          c.push(
            change(
              iohyp,
              'macvtap-del',
              `delete ${dev.macvtap} (wrong ${tap.kind !== 'macvtap' ? 'kind' : tap.mac !== dev.mac ? 'MAC' : 'lower NIC'})`,
              ['ip', 'link', 'del', 'dev', dev.macvtap],
              { interface: dev.macvtap },
            ),
          );
        if (!tapOk) {
          if (!facts.nics[dev.lower]) {
            plan.errors.push(`cannot create ${label}: NIC ${dev.lower} does not exist on ${iohyp.name}`);
            continue;
          }
          c.push(
            change(
              iohyp,
              'macvtap-add',
              `create macvtap ${dev.macvtap} on ${dev.lower} with MAC ${dev.mac}`,
              shScript('ip link add link "$1" name "$2" address "$3" type macvtap mode bridge && ip link set dev "$2" up', [dev.lower, dev.macvtap, dev.mac]),
              { interface: dev.macvtap, lower: dev.lower, mac: dev.mac },
              { diff: { path: `${dev.macvtap}`, before: null, after: `macvtap on ${dev.lower} ${dev.mac}` } },
            ),
          );
        } else if (!tap.up)
          c.push(change(iohyp, 'link-up', `bring ${dev.macvtap} up`, ['ip', 'link', 'set', 'dev', dev.macvtap, 'up'], { interface: dev.macvtap }));
      }
      const argv = dev.type === 'blk' ? blkCreateArgv(iohyp, g.host, dev) : netCreateArgv(iohyp, g.host, dev);
      c.push(
        change(
          iohyp,
          'device-create',
          `create vRIO ${label}`,
          argv,
          {
            type: dev.type,
            guest: g.host.name,
            guestIp: g.host.l2.ip,
            guestMac: g.host.l2.mac,
            backing,
            ...(dev.type === 'blk' ? { name: dev.name, writeCache: dev.writeCache, segMax: dev.segMax } : { mac: dev.mac, features: dev.features }),
          },
          {
            recover: removeArgv(iohyp, g.host, backing),
            diff: { path: `vrio/${dev.type}/${backing}`, before: null, after: `${g.host.name} ${g.host.l2.ip}` },
          },
        ),
      );
    }
  }
  // Devices for inventory guests that the inventory no longer lists: remove them.
  for (const x of [...facts.vrio.blk.map((b) => ({ type: 'blk', ...b })), ...facts.vrio.net.map((n) => ({ type: 'net', ...n }))]) {
    if (wanted.has(`${x.backing}|${x.guestIp}`)) continue;
    if (removed.has(x.backing)) continue;
    const owner = guests.find((g) => g.host.l2.ip === x.guestIp);
    if (!owner) {
      plan.notes.push(`left alone: vRIO ${x.type} on ${x.backing} for ${x.guestIp} (not a guest of ${iohyp.name} in this inventory)`);
      continue;
    }
    c.push(
      change(
        iohyp,
        'device-remove',
        `remove vRIO ${x.type} on ${x.backing} for ${owner.host.name} (no longer in the inventory)`,
        removeArgv(iohyp, owner.host, x.backing),
        { type: x.type, backing: x.backing, guest: owner.host.name, guestIp: x.guestIp },
        { diff: { path: `vrio/${x.type}/${x.backing}`, before: x.guestIp, after: null } },
      ),
    );
  }
  if (c.some((ch) => ch.kind === 'device-create' || ch.kind === 'device-remove') && !facts.helper)
    plan.errors.push(`the control helper ${d().helper} is missing on ${iohyp.name} (not a vRIO IOhyp image?)`);
  return plan;
}

// ---- teardown -----------------------------------------------------------------

/** Remove every device and macvtap an IOhyp has for the given guests. */
export function planDeviceTeardown(iohyp: Host, facts: Facts, guests: Host[]): HostPlan {
  const plan: HostPlan = { host: iohyp.name, role: 'iohyp', changes: [], errors: [], notes: [] };
  for (const g of guests) {
    for (const dev of g.devices) {
      const backing = dev.type === 'blk' ? dev.backing : dev.macvtap;
      const existing = dev.type === 'blk' ? facts.vrio.blk.find((x) => x.backing === backing) : facts.vrio.net.find((x) => x.backing === backing);
      if (existing) {
        if (existing.guestIp !== g.l2.ip) plan.notes.push(`left alone: vRIO ${dev.type} on ${backing} belongs to ${existing.guestIp}, not ${g.name}`);
        else
          plan.changes.push(
            change(
              iohyp,
              'device-remove',
              `remove vRIO ${dev.type} on ${backing} for ${g.name}`,
              removeArgv(iohyp, g, backing),
              { type: dev.type, backing, guest: g.name, guestIp: g.l2.ip },
              { diff: { path: `vrio/${dev.type}/${backing}`, before: g.l2.ip!, after: null } },
            ),
          );
      }
      // A vNIC's macvtap (a disk's backing is a path, never a NIC's name).
      if (facts.nics[backing]?.kind === 'macvtap')
        plan.changes.push(
          change(
            iohyp,
            'macvtap-del',
            `delete macvtap ${backing}`,
            ['ip', 'link', 'del', 'dev', backing],
            { interface: backing },
            { diff: { path: backing, before: 'macvtap', after: null } },
          ),
        );
    }
  }
  if (plan.changes.some((c) => c.kind === 'device-remove') && !facts.helper) plan.errors.push(`the control helper ${d().helper} is missing on ${iohyp.name}`);
  return plan;
}

/** Unload modules (reverse order) and restore what apply recorded. */
export function planHostTeardown(host: Host, facts: Facts): HostPlan {
  const plan: HostPlan = { host: host.name, role: host.role, changes: [], errors: [], notes: [] };
  const c = plan.changes;
  const saved = facts.saved;
  const preloaded = new Set(saved?.preloaded?.split(','));
  const unloaded = new Set<string>();
  const order = [...host.modules].reverse();
  for (const m of order) {
    const loaded = facts.modules[m.name];
    if (!loaded) continue;
    // Support modules: only those apply loaded, and only when nothing else uses them.
    if (m.support) {
      if (!saved || preloaded.has(m.name)) continue;
      const others = loaded.usedBy.filter((u) => !unloaded.has(u));
      if (others.length) {
        plan.notes.push(`kept ${m.name}: used by ${others.join(', ')}`);
        continue;
      }
    }
    for (const u of usersOf(facts, m.name, unloaded)) c.push(unloadChange(host, u, `uses ${m.name}`));
    unloaded.add(m.name);
    c.push(unloadChange(host, m.name, ''));
  }
  if (saved) {
    const ifname = host.l2.interface;
    const nic = facts.nics[ifname];
    const mtu = saved[`mtu.${ifname}`];
    if (nic && mtu && Number(mtu) !== nic.mtu)
      c.push(
        change(
          host,
          'mtu',
          `restore ${ifname} mtu ${nic.mtu} -> ${mtu}`,
          ['ip', 'link', 'set', 'dev', ifname, 'mtu', mtu],
          { interface: ifname, mtu: Number(mtu) },
          { diff: { path: `${ifname}/mtu`, before: String(nic.mtu), after: mtu } },
        ),
      );
    const comb = saved[`combined.${ifname}`];
    if (nic?.combined && comb && Number(comb) !== nic.combined.current)
      c.push(
        change(host, 'queues', `restore ${ifname} combined queues ${nic.combined.current} -> ${comb}`, ['ethtool', '-L', ifname, 'combined', comb], {
          interface: ifname,
          combined: Number(comb),
        }),
      );
    const cidr = l2Cidr(host);
    if (cidr && saved[`address.${ifname}`] === '0') {
      if (nic?.ipv4.includes(cidr))
        c.push(
          change(host, 'address', `remove address ${cidr} from ${ifname}`, ['ip', 'addr', 'del', cidr, 'dev', ifname], {
            interface: ifname,
            address: cidr,
            remove: true,
          }),
        );
    }
    if (nic && saved[`up.${ifname}`] === '0' && nic.up)
      c.push(change(host, 'link-up', `set ${ifname} down again`, ['ip', 'link', 'set', 'dev', ifname, 'down'], { interface: ifname, down: true }));
    for (const s of d().sysctls) {
      const v = saved[`sysctl.${s}`];
      if (v !== undefined && facts.sysctls[s] !== undefined && facts.sysctls[s] !== v)
        c.push(
          change(
            host,
            'sysctl',
            `restore ${s} ${facts.sysctls[s]} -> ${v}`,
            ['sysctl', '-w', `${s}=${v}`],
            { key: s, value: v },
            { diff: { path: s, before: facts.sysctls[s], after: v } },
          ),
        );
    }
    c.push(change(host, 'clear-state', `forget the recorded settings (${d().stateFile})`, ['rm', '-f', d().stateFile], { file: d().stateFile }));
  } else if (c.length) {
    plan.notes.push('no settings were recorded by apply: MTU, queues and sysctls are left as they are');
  }
  return plan;
}

// ---- verification -----------------------------------------------------------

/** What a converged host must show beyond "its plan is empty" (guests: their devices). */
export function guestDeviceProblems(guest: Host, facts: Facts): string[] {
  return guest.devices
    .filter((dev) => !guestSees(facts, dev))
    .map((dev) => (dev.type === 'blk' ? `block device ${dev.name} is not visible in the guest` : `no NIC with MAC ${dev.mac} in the guest`));
}

/** The vRIO modules a host's facts query must read parameters of. */
export function moduleNames(host: Host): string[] {
  return host.modules.map((m) => m.name);
}
