// The parallel-shell peers of the read-only workload, ClusterShell (clush) and
// parallel-ssh from Debian: the same command vrio sends to every host (its
// facts script, provision/facts.ts), over OpenSSH, all hosts at once. They only
// collect the output: the plan vrio (and the Ansible playbooks) compute from it
// is not part of their figure, which is in their favour.
import { factsCommand, factsQueryFor } from '../provision/facts.js';
import { commandLine } from '../lib/shell.js';
import { requiredModules } from './inventory.js';

/**
 * vrio's facts command for one NIC name, as the one command line a login shell
 * runs. The modules asked about are both roles' (the peers send one command to
 * every host, IOhyp and guests alike): reading a few more absent /sys/module
 * entries than vrio does per host.
 */
export function factsCommandLine(nic: string, modules = requiredModules()): string {
  return commandLine(factsCommand(factsQueryFor([...modules.iohyp, ...modules.guest], [nic])));
}

export interface PeerInvocation {
  cmd: string;
  args: string[];
}

/**
 * clush: every host at once (fanout = hosts), ssh told the fleet's config
 * (addresses, ports, user, key, known_hosts, strict checking), the largest
 * exit status returned (-S), output with each host's name (-L: one line per
 * output line, not gathered).
 */
export function clushInvocation(hosts: readonly string[], sshConfigFile: string, command: string): PeerInvocation {
  if (!hosts.length) throw new RangeError('clush: no hosts');
  return {
    cmd: 'clush',
    args: ['-f', String(hosts.length), '-S', '-L', '-o', `-F ${sshConfigFile}`, '-t', '30', '-u', '600', '-w', hosts.join(','), command],
  };
}

/** parallel-ssh: the same, parallelism = hosts, each host's output inline (-i) after it finished. */
export function psshInvocation(hostsFile: string, hosts: number, sshConfigFile: string, command: string): PeerInvocation {
  if (hosts < 1) throw new RangeError('parallel-ssh: no hosts');
  return {
    cmd: 'parallel-ssh',
    args: ['-p', String(hosts), '-t', '600', '-i', '-x', `-F ${sshConfigFile}`, '-h', hostsFile, command],
  };
}

/**
 * A peer run counts when it exited 0 and every host printed the facts
 * script's last line: clush prefixes each line with "host: ", parallel-ssh
 * prints a "[n] time [SUCCESS] host" header before the host's output.
 */
export function checkPeerOutput(tool: 'clush' | 'pssh', stdout: string, code: number | null, hosts: readonly string[]): void {
  if (code !== 0) throw new Error(`${tool} exited with ${code}`);
  const done = new Set<string>();
  if (tool === 'clush') {
    for (const m of stdout.matchAll(/^(\S+?):\s*@done$/gm)) done.add(m[1]);
  } else {
    let current: string | undefined;
    for (const line of stdout.split('\n')) {
      const h = /^\[\d+\] \S+ \[(\w+)\] (\S+)/.exec(line);
      if (h) current = h[1] === 'SUCCESS' ? h[2] : undefined;
      else if (current && line.trim() === '@done') done.add(current);
    }
  }
  const missing = hosts.filter((h) => !done.has(h));
  if (missing.length) throw new Error(`${tool}: no complete facts from ${missing.length} of ${hosts.length} hosts (${missing.slice(0, 3).join(', ')})`);
}
