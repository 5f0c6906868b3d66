// The tools under comparison, behind one small interface so the suite runs
// them the same way: same fleet, same inventory, same order of cold and warm runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import {
  checkPlaybook,
  closeMasters,
  MITOGEN_STRATEGY_DIR,
  playbookCommand,
  setupAnsible,
  writeSpec,
  type AnsibleSetup,
  type PlaybookName,
} from '../ansible.js';
import type { Fleet } from '../fleet.js';
import { fleetInventory, inventoryYaml, toAnsibleIni, writeInventory } from '../inventory.js';
import type { Phase, Tool, Workload } from '../model.js';
import { checkPeerOutput, clushInvocation, factsCommandLine, psshInvocation } from '../peers.js';

export interface RunOutcome {
  /** Changes the tool reported (0 on a no-op run), when it reports them. */
  changed?: number;
  /** Anything the reader should know about this run (e.g. plan errors on a host). */
  note?: string;
}

/** One run of a tool: what the harness runs (pinned, timed, its memory watched) and how it judges the output. */
export interface ToolCommand {
  argv: string[];
  env?: Record<string, string>;
  /** Throws when the run does not count (a host failed or was missed). */
  check(stdout: string, code: number | null, logFile: string): RunOutcome;
}

export interface ToolDriver {
  tool: Tool;
  /** Why this tool is not run on a workload/phase by design (undefined: it is). */
  notRun?(w: Workload, phase: Phase): string | undefined;
  prepare(fleet: Fleet, dir: string): Promise<void>;
  /** Forget any connection state, so the next run is a cold one. */
  resetConnections(): Promise<void>;
  command(w: Workload): ToolCommand;
  close(): Promise<void>;
  /** How the tool was run, for the report. */
  settings(hosts: number): Record<string, string>;
}

export type AnsibleVariant = 'plain' | 'batched' | 'mitogen';

const ANSIBLE_TOOL: Record<AnsibleVariant, Tool> = { plain: 'ansible', batched: 'ansible-batched', mitogen: 'ansible-mitogen' };

/**
 * Ansible as a user writes it (plain: a task per read), as a skilled user
 * batches the reads (one shell task running vrio's own facts command), and
 * with Debian's Mitogen strategy (the plain playbooks, Mitogen's connection
 * and module runner instead of ssh + a Python per task).
 */
export function ansibleDriver(variant: AnsibleVariant = 'plain'): ToolDriver {
  let setup: AnsibleSetup | undefined;
  const tool = ANSIBLE_TOOL[variant];
  return {
    tool,
    notRun: (w, phase) =>
      variant === 'batched' && w === 'write'
        ? 'batching is about the reads; the write workload is the plain playbook (see Ansible)'
        : variant === 'mitogen' && w === 'facts' && phase === 'warm'
          ? 'Mitogen keeps no connection between runs: its warm read-only run is its cold one'
          : undefined,
    async prepare(fleet, dir) {
      const ini = toAnsibleIni(fleetInventory(fleet));
      setup = setupAnsible(join(dir, tool), ini, {
        forks: fleet.hosts.length,
        knownHostsFile: fleet.knownHostsFile,
        factsCommand: variant === 'batched' ? factsCommandLine(fleet.hosts[0].iface) : undefined,
        mitogen: variant === 'mitogen',
      });
    },
    async resetConnections() {
      if (setup) await closeMasters(setup);
    },
    command(w) {
      if (!setup) throw new Error(`${tool} driver used before prepare()`);
      const name: PlaybookName = w === 'facts' && variant === 'batched' ? 'facts-batched' : w;
      const { argv, env } = playbookCommand(setup, name);
      return { argv, env, check: (stdout, _code, logFile) => ({ changed: checkPlaybook(name, stdout, logFile).changed }) };
    },
    async close() {
      if (setup) await closeMasters(setup);
    },
    settings: (): Record<string, string> =>
      variant === 'plain'
        ? {
            ansible:
              'ansible-playbook (ansible-core from Debian), forks = number of hosts, pipelining = True, ControlMaster=auto + ControlPersist=300s (closed before every cold run), gathering = explicit (gather_facts: false), interpreter_python = /usr/bin/python3 (no discovery), strategy linear, strict host key checking against the same known_hosts',
            'ansible playbooks':
              'bench/ansible/facts.yml (9 remote tasks + a controller-side set_fact plan), bench/ansible/write.yml (file + copy loops over bench/workloads/write-spec.yaml)',
          }
        : variant === 'batched'
          ? {
              'ansible-batched':
                "the same settings; bench/ansible/facts-batched.yml: ONE `shell` task per host running vrio's own facts command (provision/facts.ts), then the same plan as facts.yml from its output on the controller",
            }
          : {
              'ansible-mitogen': `the same settings and the plain playbooks, with Debian's ansible-mitogen: strategy = mitogen_linear (strategy_plugins = ${MITOGEN_STRATEGY_DIR})`,
            },
  };
}

/** clush or parallel-ssh sending vrio's facts command to every host at once (the read-only workload only). */
export function parallelShellDriver(tool: 'clush' | 'pssh'): ToolDriver {
  let names: string[] = [];
  let hostsFile = '';
  let sshConfig = '';
  let command = '';
  return {
    tool,
    notRun: (w, phase) =>
      w === 'write'
        ? 'a parallel shell has no idempotent file operations: the read-only workload only'
        : phase === 'warm'
          ? 'keeps no connection between runs: its warm run is its cold one'
          : undefined,
    async prepare(fleet, dir) {
      names = fleet.hosts.map((h) => h.name);
      sshConfig = fleet.sshConfigFile;
      hostsFile = join(dir, `${tool}-hosts`);
      writeFileSync(hostsFile, names.join('\n') + '\n');
      command = factsCommandLine(fleet.hosts[0].iface);
    },
    async resetConnections() {},
    command(w) {
      if (w !== 'facts') throw new Error(`${tool} runs the read-only workload only`);
      const inv = tool === 'clush' ? clushInvocation(names, sshConfig, command) : psshInvocation(hostsFile, names.length, sshConfig, command);
      return { argv: [inv.cmd, ...inv.args], check: (stdout, code) => (checkPeerOutput(tool, stdout, code, names), {}) };
    },
    async close() {},
    settings: () => ({
      [tool]:
        tool === 'clush'
          ? "ClusterShell's clush (Debian's clustershell): fanout = number of hosts, `-S -L`, ssh -F with the fleet's ssh_config (same user, key, known_hosts, strict checking); vrio's facts command as the one command; output collected, no plan"
          : "parallel-ssh (Debian's pssh): -p = number of hosts, -i, ssh -F with the fleet's ssh_config; vrio's facts command as the one command; output collected, no plan",
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
    // A real child process, as a user runs it: node start-up is part of the figure,
    // as Python's is part of Ansible's.
    command(w) {
      if (!inventoryFile) throw new Error('vrio driver used before prepare()');
      const env = { NO_COLOR: '1' };
      if (w === 'write')
        return {
          argv: [process.execPath, bin, 'provision', 'apply', '-i', writeInventoryFile!, '--only', 'files', '--json'],
          env,
          check: (stdout, code) => checkApplyOutput(stdout, code, hosts),
        };
      return {
        argv: [process.execPath, bin, 'provision', 'plan', '-i', inventoryFile, '--json'],
        env,
        check: (stdout, code) => checkPlanOutput(stdout, code, hosts),
      };
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
