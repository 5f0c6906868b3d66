// The inventory as written (RawInventory, mirrors inventory.schema.json) and as
// the rest of the provisioner sees it (Host: every default and group merged,
// ${NAME} references resolved, paths absolute).
import type { Role } from './defaults.js';
import type { Connection } from '../lib/ssh/client.js';

export type Scalar = string | number | boolean;

export interface RawConnection {
  user?: string;
  port?: number;
  identityFile?: string;
  certificateFile?: string;
  transport?: 'ssh2' | 'openssh';
  agent?: boolean | string;
  jump?: string;
  become?: 'sudo';
  connectTimeout?: number;
  commandTimeout?: number;
  keepaliveInterval?: number;
  retries?: number;
}

export interface RawModule {
  name: string;
  params?: Record<string, Scalar>;
}

export interface RawHostCommon {
  address?: string;
  connection?: RawConnection;
  hostKey?: string | string[];
  vars?: Record<string, Scalar>;
  mtu?: number;
  cpuAffinity?: number;
  params?: RawVrioParams;
  modules?: RawModule[];
  queues?: number;
  socketMemory?: number;
  files?: RawFile[];
}

/** Extra vRIO module parameters, per module (the schema's vrioParams). */
export interface RawVrioParams {
  vrio_eth?: { l2_packet_size?: number; l2_packet_list_size?: number; large_packet_list_size?: number };
  vrio_gen?: { work_queue_size?: number; poll_budget?: number };
  vrio_hblk?: { num_outstanding_reqs?: number };
  vrio_hnet?: { VHOST_NET_WEIGHT?: number; zcopytx?: number };
  vrio_gblk?: { use_bio?: boolean; initial_request_timeout?: number; num_outstanding_reqs?: number };
  /** No parameters (the key is allowed and must stay empty). */
  vrio_gnet?: Record<never, never>;
}

/** A file or directory a host must (not) have; see provision/ops/files.ts. */
export interface RawFile {
  path: string;
  type?: 'file' | 'directory';
  content?: string;
  source?: string;
  mode?: string;
  state?: 'present' | 'absent';
}

export interface RawIohyp extends RawHostCommon {
  l2: { interface: string; address?: string; segment?: string };
}

export interface RawBlkDevice {
  type: 'blk';
  name: string;
  backing: string;
  writeCache?: boolean;
  segMax?: number;
  capacity?: number;
}
export interface RawNetDevice {
  type: 'net';
  lower: string;
  mac: string;
  macvtap?: string;
  features?: string;
}

export interface RawGuest extends RawHostCommon {
  iohyp: string;
  l2: { interface: string; mac: string; ip: string; segment?: string };
  devices?: (RawBlkDevice | RawNetDevice)[];
}

export interface RawInventory {
  $schema?: string;
  version: 1;
  connection?: RawConnection;
  hostKeys?: { knownHosts?: string | string[] };
  vars?: Record<string, Scalar>;
  groups?: Record<string, { hosts: string[]; connection?: RawConnection; vars?: Record<string, Scalar>; files?: RawFile[] }>;
  iohyps?: Record<string, RawIohyp>;
  guests?: Record<string, RawGuest>;
}

// ---- resolved -------------------------------------------------------------

export interface ModuleSpec {
  name: string;
  /** Parameters as the kernel shows them in /sys/module/NAME/parameters. */
  params: Record<string, string>;
  /** A stock module the role needs (unloaded on teardown only if apply loaded it). */
  support: boolean;
}

export interface BlkDevice {
  type: 'blk';
  name: string;
  backing: string;
  writeCache: boolean;
  segMax: number;
  capacity?: number;
}
export interface NetDevice {
  type: 'net';
  lower: string;
  mac: string;
  macvtap: string;
  features: string;
}
export type Device = BlkDevice | NetDevice;

/** A resolved file entry: content loaded (from `content` or `source`), mode numeric. */
export interface FileSpec {
  path: string;
  type: 'file' | 'directory';
  state: 'present' | 'absent';
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** Files present only. */
  content?: Buffer;
  /** sha256 (hex) of content. */
  sha256?: string;
  /** Where the entry was written (JSON pointer), for messages. */
  pointer: string;
}

export interface Host {
  name: string;
  role: Role;
  /** JSON pointer of the host's entry, for messages. */
  pointer: string;
  groups: string[];
  vars: Record<string, Scalar>;
  connection: Connection;
  l2: { interface: string; mac?: string; ip?: string; prefix?: number; address?: string; segment?: string };
  mtu: number;
  queues: number;
  socketMemory: number;
  /** Load order; teardown is the reverse. */
  modules: ModuleSpec[];
  /** true when the inventory replaced the vRIO module set (e.g. CI test images). */
  customModules: boolean;
  /** Guests only. */
  iohyp?: string;
  devices: Device[];
  /** Files and directories (group entries first, host entries win per path). */
  files: FileSpec[];
}

export interface Inventory {
  file: string;
  /** IOhyps first, then guests, each in inventory order. */
  hosts: Host[];
  groups: Record<string, string[]>;
}
