// CPU seconds, the figure that survives a busy machine: wall time on a shared
// 2-core box grows with everyone else's load, CPU time much less. Read from
// /proc: the bench's reaped children (the tool run and everything it waited
// for) and each fleet sshd with its reaped sessions (the hosts' side).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { childrenOf } from './memory.js';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime, stime, cutime, cstime of a process, in seconds (undefined when it is gone). */
export function procCpu(pid: number | 'self'): { self: number; children: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i]) / clockTicks();
  return { self: n(11) + n(12), children: n(13) + n(14) };
}

/** CPU seconds of every child this process has reaped so far (and their reaped descendants). */
export function reapedChildrenCpu(): number {
  return procCpu('self')?.children ?? 0;
}

/**
 * CPU seconds of process trees: each process, its reaped children, and its
 * live descendants (an sshd listener with the sessions still open, e.g.
 * Ansible's persistent connections). A difference of two readings is the CPU
 * spent in between, whether the sessions ended or not.
 */
export function treeCpu(pids: readonly (number | undefined)[]): number {
  let s = 0;
  const seen = new Set<number>();
  const walk = (p: number, depth: number) => {
    if (seen.has(p) || depth > 32) return;
    seen.add(p);
    const c = procCpu(p);
    if (!c) return;
    s += c.self + c.children;
    for (const k of childrenOf(p)) walk(k, depth + 1);
  };
  for (const p of pids) if (p) walk(p, 0);
  return s;
}
