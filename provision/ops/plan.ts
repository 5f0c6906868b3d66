// The planner: operations as data. Pure functions from (facts, desired state)
// to an ordered list of changes; no SSH, no I/O, so the unit tests feed fixture
// facts and compare plans, and `plan` shows exactly what `apply` would run.
//
//   change.ts      the Change and HostPlan types every operation returns
//   files.ts       files and directories a host must have (or not)
//   vrio.ts        vRIO's modules, links and sysctls (setup), devices, teardown
//   projection.ts  the facts after a list of changes (plan without a host)
//   plan.ts        a host's whole plan for apply: files, then setup
import type { Facts } from '../facts.js';
import type { Host } from '../inventory-types.js';
import type { HostPlan } from './change.js';
import { planFiles } from './files.js';
import { planSetup } from './vrio.js';

/** Which parts of a host's state a run works on (`--only`). */
export type Scope = 'all' | 'files';

/**
 * A host's plan for apply: its files first (configuration such as
 * /etc/modprobe.d must be in place before modules load), then link, sysctl and
 * module changes. With scope 'files' only the files (no scope: 'all').
 */
export function planHost(host: Host, facts: Facts, scope?: Scope): HostPlan {
  const files = planFiles(host, facts);
  if (scope === 'files') return { host: host.name, role: host.role, changes: files.changes, errors: files.errors, notes: [] };
  const setup = planSetup(host, facts);
  return { ...setup, changes: [...files.changes, ...setup.changes], errors: [...files.errors, ...setup.errors] };
}
