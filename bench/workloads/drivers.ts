// The two tools under comparison, behind one small interface so the suite runs
// them the same way: same fleet, same inventory, same order of cold and warm runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { closeMasters, runPlaybook, setupAnsible, writeSpec, type AnsibleSetup } from '../ansible.js';
import type { Fleet } from '../fleet.js';
import { fleetInventory, inventoryYaml, toAnsibleIni, writeInventory } from '../inventory.js';
import type { Tool, Workload } from '../model.js';

export interface RunOutcome {
  /** Changes the tool reported (0 on a no-op run), when it reports them. */
  changed?: number;
  /** Anything the reader should know about this run (e.g. plan errors on a host). */
  note?: string;
}

export interface ToolDriver {
  tool: Tool;
  prepare(fleet: Fleet, dir: string): Promise<void>;
  /** Forget any connection state, so the next run is a cold one. */
  resetConnections(): Promise<void>;
  run(w: Workload, logFile: string, signal?: AbortSignal): Promise<RunOutcome>;
  close(): Promise<void>;
  /** How the tool was run, for the report. */
  settings(hosts: number): Record<string, string>;
}

export function ansibleDriver(): ToolDriver {
  let setup: AnsibleSetup | undefined;
  return {
    tool: 'ansible',
    async prepare(fleet, dir) {
      const ini = toAnsibleIni(fleetInventory(fleet));
      setup = setupAnsible(join(dir, 'ansible'), ini, { forks: fleet.hosts.length, knownHostsFile: fleet.knownHostsFile });
    },
    async resetConnections() {
      if (setup) await closeMasters(setup);
    },
    async run(w, logFile, signal) {
      if (!setup) throw new Error('ansible driver used before prepare()');
      const recap = await runPlaybook(setup, w, { logFile, signal });
      return { changed: recap.changed };
    },
    async close() {
      if (setup) await closeMasters(setup);
    },
    settings: () => ({
      ansible:
        'ansible-playbook (ansible-core from Debian), forks = number of hosts, pipelining = True, ControlMaster=auto + ControlPersist=300s (closed before every cold run), gathering = explicit (gather_facts: false), interpreter_python = /usr/bin/python3 (no discovery), strategy linear, strict host key checking against the same known_hosts',
      'ansible playbooks':
        'bench/ansible/facts.yml (9 remote tasks + a controller-side set_fact plan), bench/ansible/write.yml (file + copy loops over bench/workloads/write-spec.yaml)',
    }),
  };
}

export function vrioDriver(): ToolDriver {
  let inventoryFile: string | undefined;
  let writeInventoryFile: string | undefined;
  let hosts = 0;
  const bin = join(packageRoot(), 'dist', 'cli', 'bin.js');
  return {
    tool: 'vrio',
    async prepare(fleet, dir) {
      hosts = fleet.hosts.length;
      inventoryFile = join(dir, 'inventory.yaml');
      writeFileSync(inventoryFile, inventoryYaml(fleetInventory(fleet)));
      // The write workload: the same hosts with a files: list each.
      writeInventoryFile = join(dir, 'inventory-write.yaml');
      writeFileSync(writeInventoryFile, inventoryYaml(writeInventory(fleetInventory(fleet), writeSpec())));
    },
    async resetConnections() {
      /* every vrio run opens its own connections and keeps none */
    },
    async run(w, logFile, signal) {
      if (!inventoryFile) throw new Error('vrio driver used before prepare()');
      if (w === 'write') {
        const r = await run(process.execPath, [bin, 'provision', 'apply', '-i', writeInventoryFile!, '--only', 'files', '--json'], {
          logFile,
          signal,
          allowFail: true,
          timeoutMs: 10 * 60_000,
          env: { NO_COLOR: '1' },
        });
        return checkApplyOutput(r.stdout, r.code, hosts);
      }
      // A real child process, as a user runs it: node start-up is part of the figure,
      // as Python's is part of Ansible's.
      const r = await run(process.execPath, [bin, 'provision', 'plan', '-i', inventoryFile, '--json'], {
        logFile,
        signal,
        allowFail: true,
        timeoutMs: 10 * 60_000,
        env: { NO_COLOR: '1' },
      });
      return checkPlanOutput(r.stdout, r.code, hosts);
    },
    async close() {},
    settings: () => ({
      vrio: 'facts + plan: `vrio provision plan -i inventory.yaml --json` (node dist/cli/bin.js, a fresh process per run, default forks = all hosts, facts in one SSH round trip per host)',
      'vrio write':
        "`vrio provision apply -i inventory-write.yaml --only files --json`: the same write set as the inventory's files: entries per host (facts with stat + sha256 in one round trip, then one command per changed entry, then facts again to verify; a no-op run is the one facts round trip)",
    }),
  };
}

/**
 * A plan run counts only if every host was reached and planned. The bench hosts
 * run this machine's kernel, which has no loadable-module support, so the plan
 * may legitimately report per-host errors ("cannot load modules"): the facts
 * were still gathered and the plan computed, which is the work measured.
 */
export function checkPlanOutput(stdout: string, code: number | null, hosts: number): RunOutcome {
  const events = jsonEvents(stdout);
  if (code === 4 || /unreachable/i.test(events.map((e) => String(e.type)).join(' '))) {
    throw new Error(`vrio provision plan: some hosts were unreachable (exit ${code})`);
  }
  if (code !== 0 && code !== 1) throw new Error(`vrio provision plan exited with ${code}`);
  const planned = countPlannedHosts(events);
  if (planned !== hosts) throw new Error(`vrio provision plan covered ${planned ?? 0} of ${hosts} hosts`);
  return { note: code === 1 ? 'plan reported host errors (expected: the bench kernel has no module support)' : undefined };
}

/** An apply --only files run counts only when it exited 0 and reported every host. */
export function checkApplyOutput(stdout: string, code: number | null, hosts: number): RunOutcome {
  const events = jsonEvents(stdout);
  const errs = events.filter((e) => e.type === 'host-error').map((e) => `${String(e.host)}: ${String(e.message)}`);
  if (code !== 0) throw new Error(`vrio provision apply --only files exited with ${code}${errs.length ? `: ${errs.slice(0, 3).join('; ')}` : ''}`);
  const reported = new Set(events.filter((e) => e.type === 'host').map((e) => String(e.host))).size;
  if (reported !== hosts) throw new Error(`vrio provision apply covered ${reported} of ${hosts} hosts`);
  const changed = events.filter((e) => e.type === 'change' && e.status === 'changed').length;
  return { changed };
}

function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .filter((e): e is Record<string, unknown> => e !== undefined);
}

/** Hosts that got a plan event (their facts were gathered and the plan computed). */
function countPlannedHosts(events: Record<string, unknown>[]): number {
  const names = new Set<string>();
  for (const e of events) if (e.type === 'plan' && typeof e.host === 'string') names.add(e.host);
  return names.size;
}
