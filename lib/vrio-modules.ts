// Typed access to kernel-config/vrio-modules.yaml: vRIO's kernel modules per
// role (shipped, loaded, in which order) and the parameters vRIO needs. Here in
// lib/ because the builder, smoke and the provisioner all read it and lib/ is
// what all three already depend on. Checked against its schema and for
// consistency (a module loaded must be one the image ships) on first use.
import { readFileSync } from 'node:fs';
import { loadValidated, pointerOf, type SemanticCheck } from './document.js';
import { dataPath } from './paths.js';

export type VrioRole = 'iohyp' | 'guest';

export interface VrioRoleModules {
  /** Built and staged in the image. */
  image: string[];
  /** Stock modules loaded before vRIO's (teardown unloads them only if provisioning loaded them). */
  support: string[];
  /** vRIO's modules in load order; teardown unloads in reverse. */
  load: string[];
  /** Character devices that exist once a module is loaded. */
  deviceNodes: Record<string, string[]>;
}

export interface VrioModules {
  roles: Record<VrioRole, VrioRoleModules>;
  /** The guest's front end per device type, loaded before the IOhyp creates such a device. */
  frontEndFor: { blk: string; net: string };
  vrio_eth: {
    /** vMTU -> l2_packet_size pairs measured to work. */
    l2PacketSizeByMtu: Record<string, number>;
    listSizes: { l2_packet_list_size: number; large_packet_list_size: number };
  };
  vrio_gen: {
    /** The role's parameter names for the L2 NIC and the number of I/O cores. */
    params: Record<VrioRole, { ethName: string; cpuAffinity: string }>;
    defaultCpuAffinity: number;
  };
}

const ROLES: VrioRole[] = ['iohyp', 'guest'];

/** What the schema cannot say: loaded modules, device nodes and front ends belong to the role's image. */
const consistent: SemanticCheck<VrioModules> = (d, file) => {
  const issues: ReturnType<SemanticCheck<VrioModules>> = [];
  for (const r of ROLES) {
    const { image, support, load, deviceNodes } = d.roles[r];
    for (const [key, mods] of [
      ['support', support],
      ['load', load],
      ['deviceNodes', Object.keys(deviceNodes)],
    ] as const) {
      mods.forEach((m, i) => {
        if (!image.includes(m))
          issues.push({
            file,
            pointer: pointerOf(['roles', r, key, key === 'deviceNodes' ? m : i]),
            rule: 'shipped',
            message: `module '${m}' is not in roles.${r}.image: the image would not have it`,
          });
      });
    }
  }
  for (const [t, m] of Object.entries(d.frontEndFor)) {
    if (!d.roles.guest.load.includes(m))
      issues.push({ file, pointer: pointerOf(['frontEndFor', t]), rule: 'loaded', message: `front end '${m}' is not in roles.guest.load` });
  }
  return issues;
};

/** Load and check a modules file (the shipped one unless a test names another). */
export function loadVrioModules(file = dataPath('kernel-config/vrio-modules.yaml')): VrioModules {
  const schema = JSON.parse(readFileSync(dataPath('kernel-config/vrio-modules.schema.json'), 'utf8')) as object;
  return loadValidated<VrioModules>(file, schema, consistent).data;
}

let cached: VrioModules | undefined;
export function vrioModules(): VrioModules {
  return (cached ??= loadVrioModules());
}

/**
 * The parameters vRIO's transport and core need on a role whose L2 NIC is
 * `iface` with vMTU `mtu`, in the order they are passed: vrio_eth's frame and
 * list sizes, vrio_gen's NIC and I/O cores. Undefined l2_packet_size: no
 * measured value for this vMTU.
 */
export function linkParams(
  role: VrioRole,
  iface: string,
  mtu: number,
  cpuAffinity?: number,
): { vrio_eth: Record<string, number | undefined>; vrio_gen: Record<string, string | number> } {
  const d = vrioModules();
  const gen = d.vrio_gen.params[role];
  return {
    vrio_eth: { l2_packet_size: d.vrio_eth.l2PacketSizeByMtu[String(mtu)], ...d.vrio_eth.listSizes },
    vrio_gen: { [gen.ethName]: iface, [gen.cpuAffinity]: cpuAffinity ?? d.vrio_gen.defaultCpuAffinity },
  };
}
