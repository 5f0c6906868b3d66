// Checks an inventory must pass that JSON Schema cannot express: names that
// must be unique across the whole file, references between hosts, and vRIO's
// own constraints (same L2 segment, matching vMTU, a measured packet size).
import { didYouMean, pointerOf } from '../lib/document.js';
import { provisionDefaults } from './defaults.js';
import { fileIssues } from './files-inventory.js';
import { groupsByHost } from './groups.js';
import type { Issue } from './issue.js';
import type { RawGuest, RawInventory, RawIohyp } from './inventory-types.js';

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** Whether two addresses share their first `prefix` bits (0..32). */
export function sameSubnet(a: string, b: string, prefix: number): boolean {
  // A shift by 32 is a shift by 0 in JavaScript: /32 needs its own mask (and /0 gets mask 0 from the formula).
  const mask = prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0;
  return (ipv4ToInt(a) & mask) >>> 0 === (ipv4ToInt(b) & mask) >>> 0;
}

/**
 * The macvtap name used when the inventory gives none: "mvt" + the MAC's last 4
 * bytes. It must start with 'm': vRIO's back end (hnet.c vtap_open) opens
 * /dev/<name> as a macvtap only when the name starts with 'm', and treats any
 * other name as a tun/tap device (TUNSETIFF), which then fails.
 */
export function defaultMacvtapName(mac: string): string {
  return 'mvt' + mac.toLowerCase().split(':').slice(2).join('');
}

export function effectiveMtu(inv: RawInventory, guest: RawGuest): number {
  const d = provisionDefaults();
  return guest.mtu ?? inv.iohyps?.[guest.iohyp]?.mtu ?? d.defaultMtu;
}

/**
 * The vrio_eth l2_packet_size a host loads: its own, else the one measured for
 * its vMTU, else vMTU + the Ethernet header. Both ends of a link must agree on
 * this value, not on whether they spell it out.
 */
export function effectivePacketSize(h: RawIohyp | RawGuest, mtu: number): number {
  // The schema makes it an integer; the raw type is any scalar.
  return Number(h.params?.vrio_eth?.l2_packet_size ?? provisionDefaults().l2PacketSize[String(mtu)] ?? mtu + 14);
}

/** What every check needs: the inventory, where issues go, and the names, IPs and MACs claimed so far. */
interface Checks {
  inv: RawInventory;
  d: ReturnType<typeof provisionDefaults>;
  iohyps: Record<string, RawIohyp>;
  guests: Record<string, RawGuest>;
  names: string[];
  memberOf: (name: string) => string[];
  add: (path: (string | number)[], rule: string, message: string, hint?: string) => void;
  /** Records a value at `where`, or reports it as already used. */
  claim: (map: Map<string, string>, key: string, where: (string | number)[], rule: string, what: string) => void;
  /** SSH endpoints (jump>address:port): two entries reaching the same sshd are a copy-paste mistake. */
  endpoints: Map<string, string>;
  ips: Map<string, string>;
  macs: Map<string, string>;
}

export function semanticIssues(inv: RawInventory, file: string): Issue[] {
  const issues: Issue[] = [];
  const add = (path: (string | number)[], rule: string, message: string, hint?: string) =>
    issues.push({ file, pointer: pointerOf(path), rule, message, ...(hint ? { hint } : {}) });
  const iohyps = inv.iohyps ?? {};
  const guests = inv.guests ?? {};
  const byHost = groupsByHost(Object.entries(inv.groups ?? {}).map(([n, g]) => [n, g.hosts]));
  const c: Checks = {
    inv,
    d: provisionDefaults(),
    iohyps,
    guests,
    names: [...Object.keys(iohyps), ...Object.keys(guests)],
    memberOf: (name) => byHost.get(name) ?? [],
    add,
    claim: (map, key, where, rule, what) => {
      const prev = map.get(key);
      if (prev !== undefined) add(where, rule, `${what} ${key} is already used at ${prev}`);
      else map.set(key, pointerOf(where));
    },
    endpoints: new Map(),
    ips: new Map(),
    macs: new Map(),
  };
  checkHostNames(c);
  for (const [name, h] of Object.entries(iohyps)) {
    checkHost(c, 'iohyps', name, h);
    if (h.l2.address) c.claim(c.ips, h.l2.address.split('/')[0], ['iohyps', name, 'l2', 'address'], 'unique-ip', 'IP');
  }
  for (const [name, g] of Object.entries(guests)) checkGuest(c, name, g);
  checkSharedOnIohyp(c);
  checkGroups(c);
  checkJumpLoops(c);
  issues.push(...fileIssues(inv, file));
  return issues;
}

/** Some host, and no name that is both an IOhyp and a guest. */
function checkHostNames({ names, iohyps, guests, add }: Checks): void {
  if (names.length === 0) add([], 'has-hosts', 'the inventory has no hosts', "add 'iohyps:' and/or 'guests:'");
  for (const g of Object.keys(guests)) if (g in iohyps) add(['guests', g], 'unique-host', `host '${g}' is also an IOhyp (/iohyps/${g})`);
}

/** The SSH port a host ends up with: its own, its first group's that sets one, the inventory's, 22. */
function portOf({ inv }: Checks, h: RawIohyp | RawGuest, groupsOf: string[]): number {
  return h.connection?.port ?? groupsOf.map((g) => inv.groups?.[g]?.connection?.port).find((p) => p !== undefined) ?? inv.connection?.port ?? 22;
}

/** Checks of either role: a unique SSH endpoint, a vMTU with a packet size, a sane modules list. */
function checkHost(c: Checks, kind: 'iohyps' | 'guests', name: string, h: RawIohyp | RawGuest): void {
  const { inv, d, add } = c;
  const groups = c.memberOf(name);
  const addr = h.address ?? name;
  if (!addr.includes('${')) {
    const jump = h.connection?.jump ?? groups.map((g) => inv.groups?.[g]?.connection?.jump).find(Boolean) ?? inv.connection?.jump ?? '';
    c.claim(c.endpoints, `${jump}>${addr}:${portOf(c, h, groups)}`, [kind, name, h.address ? 'address' : ''].filter(Boolean), 'unique-address', 'SSH endpoint');
  }
  // vMTU needs a vrio_eth packet size that was measured to work, or an explicit one.
  const mtu = kind === 'guests' ? effectiveMtu(inv, h as RawGuest) : (h.mtu ?? d.defaultMtu);
  const explicitPkt = h.params?.vrio_eth?.l2_packet_size;
  if (!h.modules && explicitPkt === undefined && d.l2PacketSize[String(mtu)] === undefined) {
    add(
      [kind, name, h.mtu !== undefined ? 'mtu' : ''].filter(Boolean),
      'mtu-packet-size',
      `vMTU ${mtu} has no measured vrio_eth l2_packet_size`,
      `use mtu 8100 or 1500, or set params.vrio_eth.l2_packet_size`,
    );
  }
  if (typeof explicitPkt === 'number' && explicitPkt < mtu) {
    add([kind, name, 'params', 'vrio_eth', 'l2_packet_size'], 'mtu-packet-size', `l2_packet_size ${explicitPkt} is smaller than the vMTU ${mtu}`);
  }
  if (h.modules && h.params)
    add(
      [kind, name, 'params'],
      'modules-params',
      "'params' sets vRIO module parameters but 'modules' replaces the vRIO modules",
      'put the parameters under modules[].params',
    );
  if (h.modules) {
    const seen = new Set<string>();
    h.modules.forEach((m, i) => {
      if (seen.has(m.name)) add([kind, name, 'modules', i, 'name'], 'unique-module', `module '${m.name}' is listed twice`);
      seen.add(m.name);
    });
  }
}

/** A guest: the host checks, a unique IP and MAC, an existing IOhyp it can reach, and its devices. */
function checkGuest(c: Checks, name: string, g: RawGuest): void {
  const { iohyps, add } = c;
  checkHost(c, 'guests', name, g);
  const io = iohyps[g.iohyp];
  if (!io) {
    const dym = didYouMean(g.iohyp, Object.keys(iohyps));
    add(
      ['guests', name, 'iohyp'],
      'iohyp-exists',
      `IOhyp '${g.iohyp}' is not in /iohyps`,
      dym ? `did you mean '${dym}'?` : Object.keys(iohyps).length ? `IOhyps: ${Object.keys(iohyps).join(', ')}` : 'add it under iohyps:',
    );
  }
  const [ip, pfx] = g.l2.ip.split('/');
  c.claim(c.ips, ip, ['guests', name, 'l2', 'ip'], 'unique-ip', 'IP');
  c.claim(c.macs, g.l2.mac.toLowerCase(), ['guests', name, 'l2', 'mac'], 'unique-mac', 'MAC');
  if (io) checkGuestLink(c, name, g, io, ip, pfx);
  checkGuestDevices(c, name, g, io);
}

/** The IOhyp reaches the guest by MAC on one Ethernet segment: same segment, subnet, vMTU and packet size. */
function checkGuestLink(c: Checks, name: string, g: RawGuest, io: RawIohyp, ip: string, pfx: string | undefined): void {
  const { inv, d, add } = c;
  if (io.l2.segment && g.l2.segment && io.l2.segment !== g.l2.segment)
    add(['guests', name, 'l2', 'segment'], 'same-segment', `guest is on L2 segment '${g.l2.segment}' but its IOhyp '${g.iohyp}' is on '${io.l2.segment}'`);
  if (io.l2.address) {
    const [ioIp, ioPfx] = io.l2.address.split('/');
    if (!sameSubnet(ioIp, ip, Number(ioPfx)))
      add(
        ['guests', name, 'l2', 'ip'],
        'same-segment',
        `guest IP ${ip} is outside its IOhyp's segment ${io.l2.address}`,
        `use an address in ${io.l2.address} or fix /iohyps/${g.iohyp}/l2/address`,
      );
    else if (pfx !== undefined && pfx !== ioPfx) add(['guests', name, 'l2', 'ip'], 'same-segment', `prefix /${pfx} differs from the IOhyp's /${ioPfx}`);
  }
  const gm = effectiveMtu(inv, g);
  const im = io.mtu ?? d.defaultMtu;
  if (gm !== im)
    add(
      ['guests', name, 'mtu'],
      'same-mtu',
      `vMTU ${gm} differs from its IOhyp's vMTU ${im}`,
      'both ends of a vRIO link need the same vMTU and l2_packet_size',
    );
  // Compared as loaded (an unset one is the measured default), so one end
  // spelling out the default is fine and one end changing it is not. Only
  // when the vMTUs agree: otherwise same-mtu already says what to fix.
  const gp = effectivePacketSize(g, gm);
  const ipkt = effectivePacketSize(io, im);
  if (gm === im && !g.modules && !io.modules && gp !== ipkt)
    add(
      ['guests', name, 'params', 'vrio_eth', 'l2_packet_size'],
      'same-packet-size',
      `l2_packet_size ${gp} differs from the IOhyp's ${ipkt}`,
      `set the same params.vrio_eth.l2_packet_size on guest '${name}' and IOhyp '${g.iohyp}' (or on neither)`,
    );
  if ((g.devices?.length ?? 0) > 0 && (io.modules || g.modules))
    add(
      ['guests', name, 'devices'],
      'devices-need-vrio',
      `devices need the vRIO modules, but ${io.modules ? `IOhyp '${g.iohyp}'` : 'this guest'} replaces them with 'modules'`,
    );
}

/** A guest's devices: unique block device names, unique MACs, no macvtap on the IOhyp's vRIO NIC. */
function checkGuestDevices(c: Checks, name: string, g: RawGuest, io: RawIohyp | undefined): void {
  const { add } = c;
  const devNames = new Map<string, number>();
  (g.devices ?? []).forEach((dev, i) => {
    if (dev.type === 'blk') {
      const prev = devNames.get(dev.name);
      if (prev !== undefined)
        add(['guests', name, 'devices', i, 'name'], 'unique-device', `device name '${dev.name}' is already used by /guests/${name}/devices/${prev}`);
      else devNames.set(dev.name, i);
    } else {
      c.claim(c.macs, dev.mac.toLowerCase(), ['guests', name, 'devices', i, 'mac'], 'unique-mac', 'MAC');
      if (io && dev.lower === io.l2.interface)
        add(
          ['guests', name, 'devices', i, 'lower'],
          'macvtap-lower',
          `the macvtap would sit on the IOhyp's vRIO interface ${dev.lower}`,
          'use another IOhyp NIC (the upstream setup uses a second NIC toward the peers)',
        );
    }
  });
}

/** Per IOhyp: backing devices and macvtap names are shared by all its guests. */
function checkSharedOnIohyp({ iohyps, guests, add, claim }: Checks): void {
  const perIohyp = new Map<string, { backing: Map<string, string>; taps: Map<string, string> }>();
  for (const [name, g] of Object.entries(guests)) {
    if (!iohyps[g.iohyp]) continue;
    const slot = perIohyp.get(g.iohyp) ?? { backing: new Map(), taps: new Map() };
    perIohyp.set(g.iohyp, slot);
    (g.devices ?? []).forEach((dev, i) => {
      if (dev.type === 'blk') claim(slot.backing, dev.backing, ['guests', name, 'devices', i, 'backing'], 'unique-backing', `backing device on '${g.iohyp}':`);
      else {
        const tap = dev.macvtap ?? defaultMacvtapName(dev.mac);
        claim(slot.taps, tap, ['guests', name, 'devices', i, dev.macvtap ? 'macvtap' : 'mac'], 'unique-macvtap', `macvtap name on '${g.iohyp}':`);
        if (tap === iohyps[g.iohyp].l2.interface || tap === dev.lower)
          add(['guests', name, 'devices', i, 'macvtap'], 'unique-macvtap', `macvtap name '${tap}' clashes with an IOhyp NIC`);
      }
    });
  }
}

/** Groups: not named like a host, and listing only hosts of the inventory. */
function checkGroups({ inv, iohyps, guests, names, add }: Checks): void {
  for (const [gname, grp] of Object.entries(inv.groups ?? {})) {
    if (gname in iohyps || gname in guests) add(['groups', gname], 'unique-group', `group '${gname}' has the name of a host`);
    grp.hosts.forEach((h, i) => {
      if (!(h in iohyps) && !(h in guests)) {
        const dym = didYouMean(h, names);
        add(['groups', gname, 'hosts', i], 'host-exists', `host '${h}' is not in the inventory`, dym ? `did you mean '${dym}'?` : undefined);
      }
    });
  }
}

/** Jump hosts named after inventory hosts: must not form a loop. */
function checkJumpLoops({ inv, iohyps, guests, names, memberOf, add }: Checks): void {
  const jumpOf = (n: string): string | undefined => {
    const h = iohyps[n] ?? guests[n];
    const groups = memberOf(n);
    const j = h?.connection?.jump ?? groups.map((g) => inv.groups?.[g]?.connection?.jump).find(Boolean) ?? inv.connection?.jump;
    // A host never jumps through itself (a default jump host reaches itself directly).
    return j && j !== n && (j in iohyps || j in guests) ? j : undefined;
  };
  for (const n of names) {
    const seen = new Set([n]);
    let cur = jumpOf(n);
    while (cur) {
      if (seen.has(cur)) {
        add([n in iohyps ? 'iohyps' : 'guests', n, 'connection', 'jump'], 'jump-loop', `jump hosts loop back to '${cur}'`);
        break;
      }
      seen.add(cur);
      cur = jumpOf(cur);
    }
  }
}
