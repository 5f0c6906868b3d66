// Typed access to provision/defaults.yaml (the measured vRIO facts the
// operations are built from) and, through lib/vrio-modules.ts, to vRIO's module
// knowledge (kernel-config/vrio-modules.yaml). Loaded once; data stays out of the code.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dataPath } from '../lib/paths.js';
import { vrioModules, type VrioRole } from '../lib/vrio-modules.js';

export type Role = VrioRole;

/** provision/defaults.yaml as written. */
interface ProvisionData {
  defaultMtu: number;
  memoryPerEntryPerPacketByte: number;
  memoryHeadroom: number;
  defaultQueues: number;
  defaultSocketMemory: number;
  sysctls: string[];
  blk: { segMax: number };
  net: { features: string };
  helper: string;
  stateFile: string;
  deviceAppearSeconds: number;
}

export interface ProvisionDefaults extends ProvisionData {
  /** Load order per role (kernel-config/vrio-modules.yaml roles.<role>.support, .load). */
  modules: Record<Role, { support: string[]; vrio: string[] }>;
  frontEndFor: { blk: string; net: string };
  /** vMTU -> vrio_eth l2_packet_size. */
  l2PacketSize: Record<string, number>;
  vrioEthDefaults: { l2_packet_list_size: number; large_packet_list_size: number };
}

let cached: ProvisionDefaults | undefined;

export function provisionDefaults(): ProvisionDefaults {
  if (cached) return cached;
  const m = vrioModules();
  return (cached = {
    ...(parse(readFileSync(dataPath('provision/defaults.yaml'), 'utf8')) as ProvisionData),
    modules: { iohyp: { support: m.roles.iohyp.support, vrio: m.roles.iohyp.load }, guest: { support: m.roles.guest.support, vrio: m.roles.guest.load } },
    frontEndFor: m.frontEndFor,
    l2PacketSize: m.vrio_eth.l2PacketSizeByMtu,
    vrioEthDefaults: m.vrio_eth.listSizes,
  });
}

let schema: object | undefined;

/** The published inventory schema (one object, so ajv compiles it once). */
export function inventorySchema(): object {
  schema ??= JSON.parse(readFileSync(dataPath('provision/inventory.schema.json'), 'utf8')) as object;
  return schema;
}
