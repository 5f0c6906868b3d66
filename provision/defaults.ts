// Typed access to provision/defaults.yaml (the measured vRIO facts the
// operations are built from). Loaded once; data stays out of the code.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dataPath } from '../lib/paths.js';

export type Role = 'iohyp' | 'guest';

export interface ProvisionDefaults {
  modules: Record<Role, { support: string[]; vrio: string[] }>;
  frontEndFor: { blk: string; net: string };
  l2PacketSize: Record<string, number>;
  defaultMtu: number;
  vrioEthDefaults: { l2_packet_list_size: number; large_packet_list_size: number };
  memoryPerEntryPerPacketByte: number;
  memoryHeadroom: number;
  defaultCpuAffinity: number;
  defaultQueues: number;
  defaultSocketMemory: number;
  sysctls: string[];
  blk: { segMax: number };
  net: { features: string };
  helper: string;
  stateFile: string;
  deviceAppearSeconds: number;
}

let cached: ProvisionDefaults | undefined;

export function provisionDefaults(): ProvisionDefaults {
  cached ??= parse(readFileSync(dataPath('provision/defaults.yaml'), 'utf8')) as ProvisionDefaults;
  return cached;
}

let schema: object | undefined;

/** The published inventory schema (one object, so ajv compiles it once). */
export function inventorySchema(): object {
  schema ??= JSON.parse(readFileSync(dataPath('provision/inventory.schema.json'), 'utf8')) as object;
  return schema;
}
