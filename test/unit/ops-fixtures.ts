// Fixture facts and hosts for the operations tests (pyinfra-style: data in,
// expected changes out; no SSH).
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { parseFacts, type Facts, type NicFact } from '../../provision/facts.js';
import type { Host, Inventory } from '../../provision/inventory-types.js';
import { parseInventory } from '../../provision/inventory.js';
import { dataPath } from '../../lib/paths.js';

export function nic(mac: string, o: Partial<NicFact> = {}): NicFact {
  return { mtu: 1500, mac, up: true, operstate: 'up', rxQueues: 1, txQueues: 1, ipv4: [], ...o };
}

/** A freshly booted appliance: no vRIO modules, default MTU and sysctls. */
export function freshFacts(o: Partial<Facts> = {}): Facts {
  return {
    hostname: 'h',
    kernel: '3.10.0-vrio',
    memTotalKiB: 2_000_000,
    memAvailableKiB: 1_600_000,
    modulesSupported: true,
    modules: {},
    iohypDevice: false,
    helper: true,
    tools: { modprobe: true, rmmod: true, ethtool: true, ip: true, sysctl: true },
    nics: { lo: nic('00:00:00:00:00:00', { mtu: 65536 }), eth0: nic('52:54:00:55:00:01'), eth1: nic('52:54:00:66:00:01') },
    blockDevices: ['vda', 'ram0', 'ram1', 'ram2'],
    sysctls: { 'net.core.rmem_max': '212992', 'net.core.wmem_max': '212992', 'net.core.rmem_default': '212992', 'net.core.wmem_default': '212992' },
    vrio: { blk: [], net: [], core: [] },
    ...o,
  };
}

export function guestFacts(mac: string, o: Partial<Facts> = {}): Facts {
  return freshFacts({ nics: { lo: nic('00:00:00:00:00:00', { mtu: 65536 }), eth0: nic(mac) }, helper: false, ...o });
}

export const labInventory = {
  version: 1,
  iohyps: { io1: { address: '192.0.2.10', l2: { interface: 'eth0', address: '10.55.0.1/24' } } },
  guests: {
    g1: {
      iohyp: 'io1',
      address: '192.0.2.11',
      l2: { interface: 'eth0', mac: '52:54:00:55:00:02', ip: '10.55.0.2' },
      devices: [{ type: 'blk', name: 'vdb', backing: '/dev/ram1', writeCache: true }],
    },
    g2: {
      iohyp: 'io1',
      address: '192.0.2.12',
      l2: { interface: 'eth0', mac: '52:54:00:55:00:03', ip: '10.55.0.3' },
      devices: [
        { type: 'blk', name: 'vdb', backing: '/dev/ram2' },
        { type: 'net', lower: 'eth1', mac: '52:54:00:aa:00:03' },
      ],
    },
  },
};

export function lab(mut?: (i: any) => void): { inv: Inventory; io: Host; g1: Host; g2: Host } {
  const raw = structuredClone(labInventory) as any;
  mut?.(raw);
  const inv = parseInventory('lab.yaml', stringify(raw), { env: {} });
  const by = (n: string) => inv.hosts.find((h) => h.name === n)!;
  return { inv, io: by('io1'), g1: by('g1'), g2: by('g2') };
}

export function fixtureFacts(name: string): Facts {
  return parseFacts(readFileSync(dataPath('test/fixtures/provision', name), 'utf8'));
}
