// What a run produced, per host and per change: the data behind the recap,
// the --json events and the library API.
import type { Facts } from './facts.js';
import type { Change } from './ops/change.js';

export type Verb = 'plan' | 'apply' | 'teardown' | 'status';

export interface ChangeResult {
  change: Change;
  status: 'planned' | 'changed' | 'failed' | 'skipped';
  durationMs: number;
  code?: number | null;
  stderr?: string;
  /** true when a failed CREATE was recovered by REMOVE then CREATE. */
  recovered?: boolean;
}

export interface HostResult {
  host: string;
  role: 'iohyp' | 'guest';
  /** Steps that ended fine (facts, setup, verify, devices ...), like Ansible's ok count. */
  ok: number;
  changed: number;
  failed: number;
  unreachable: boolean;
  skipped: number;
  durationMs: number;
  changes: ChangeResult[];
  errors: string[];
  notes: string[];
  facts?: Facts;
  fingerprint?: string;
  /** A rolling run (--serial) stopped before this host's batch. */
  notStarted?: boolean;
}

/** One batch of a rolling run: its hosts, and how many of them failed or were unreachable. */
export interface BatchResult {
  hosts: string[];
  failed: number;
}

export interface RunResult {
  verb: Verb;
  hosts: HostResult[];
  durationMs: number;
  exitCode: number;
  /** A rolling run's batches (one batch without --serial). */
  batches?: BatchResult[];
  /** Why a rolling run stopped before its last batch. */
  stopped?: string;
}

export function newHostResult(host: string, role: HostResult['role']): HostResult {
  return { host, role, ok: 0, changed: 0, failed: 0, unreachable: false, skipped: 0, durationMs: 0, changes: [], errors: [], notes: [] };
}

export function hostStatus(r: HostResult): 'not-started' | 'unreachable' | 'failed' | 'changed' | 'ok' {
  if (r.notStarted) return 'not-started';
  if (r.unreachable) return 'unreachable';
  if (r.failed || r.errors.length) return 'failed';
  if (r.changed || r.changes.some((c) => c.status === 'planned')) return 'changed';
  return 'ok';
}

/** 0 all ok, 1 some host failed or was not started (a rolling run stopped), 4 some unreachable (and none failed). */
export function exitCodeFor(hosts: HostResult[]): number {
  if (hosts.some((h) => hostStatus(h) === 'failed' || h.notStarted)) return 1;
  if (hosts.some((h) => h.unreachable)) return 4;
  return 0;
}
