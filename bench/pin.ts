// Keeping the controller and the fleet apart: on one 2-core machine the tool
// under test and the hosts it drives compete for the same CPUs, so a tool that
// makes the hosts work hard (Ansible: a Python interpreter per task per host)
// also slows its own controller. The bench pins each side to its own CPUs
// (taskset; children inherit the mask): the controller on the first CPU this
// process may use, every sshd and its sessions on the rest.
import { readFileSync } from 'node:fs';

export interface CpuSplit {
  /** taskset CPU lists (e.g. '0' and '1'), as the kernel writes them. */
  controller: string;
  fleet: string;
}

/** Expand a kernel CPU list ("0-2,5") into CPU numbers. */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`not a CPU list: '${s}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`not a CPU list: '${s}'`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** The CPUs a process may run on (Cpus_allowed_list of /proc/PID/status). */
export function allowedCpus(pid: number | 'self' = 'self'): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no Cpus_allowed_list`);
  return parseCpuList(m[1]);
}

/**
 * Controller on the first allowed CPU, fleet on the others; undefined with
 * fewer than two CPUs (nothing to split: the report then says so).
 */
export function cpuSplit(cpus: readonly number[] = allowedCpus()): CpuSplit | undefined {
  if (cpus.length < 2) return undefined;
  const [first, ...rest] = [...cpus].sort((a, b) => a - b);
  return { controller: String(first), fleet: rest.join(',') };
}

/** argv run on the given CPUs (taskset execs the command: the pid stays the command's). */
export function pinned(argv: readonly string[], cpus: string | undefined): string[] {
  return cpus ? ['taskset', '-c', cpus, ...argv] : [...argv];
}
