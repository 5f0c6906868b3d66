// What the planner produces and the runner executes: one change to one host
// (a remote command as data, with what it shows in plan and --diff), and a
// host's plan. Every operation (vrio.ts, files.ts) builds these.
import type { Host } from '../inventory-types.js';
import type { Payload } from '../payload.js';

export type ChangeKind =
  | 'save-state'
  | 'sysctl'
  | 'mtu'
  | 'queues'
  | 'link-up'
  | 'address'
  | 'module-load'
  | 'module-unload'
  | 'macvtap-add'
  | 'macvtap-del'
  | 'device-create'
  | 'device-remove'
  | 'clear-state'
  // provision/ops/files.ts
  | 'file-write'
  | 'file-mode'
  | 'dir-create'
  | 'file-remove';

export interface Change {
  host: string;
  kind: ChangeKind;
  /** One human line, e.g. "load vrio_gen h_eth_name=eth0 h_cpu_affinity=1". */
  summary: string;
  /** Machine form (what, on which object, with which values). */
  data: Record<string, unknown>;
  /** The remote command, as an argument array (quoted by the transport). */
  argv: string[];
  /** What the command reads on stdin (a file's content): never in argv, shown only as sha256 and size. */
  stdin?: Payload;
  /** Run when argv fails, then argv once more (REMOVE then CREATE). */
  recover?: string[];
  /** For --diff: before -> after of the thing changed. */
  diff?: { path: string; before: string | null; after: string | null; unified?: string };
  /** May run in one remote command with its batchable neighbours (provision/batch.ts). */
  batch?: boolean;
}

export interface HostPlan {
  host: string;
  role: Host['role'];
  changes: Change[];
  /** Reasons the host cannot be brought to the desired state (nothing runs for it). */
  errors: string[];
  /** Things worth knowing that do not block (e.g. devices left alone). */
  notes: string[];
}
