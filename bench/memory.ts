// Peak memory of a controller run. Two figures, because neither alone is fair:
// the largest single process (exact: GNU time's %M, the ru_maxrss wait4 gives
// over the command and everything it waited for) understates a tool that forks
// a worker per host (Ansible), and the summed RSS of the whole process tree
// (sampled) overstates it, since forked workers share their pages.
import { readdirSync, readFileSync } from 'node:fs';

const PAGE_KIB = 4;

/** RSS of one process in KiB (undefined when it is gone). */
export function rssKiB(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KIB;
  } catch {
    return undefined;
  }
}

/** Live children of a process (all its threads' children). */
export function childrenOf(pid: number | 'self'): number[] {
  const out: number[] = [];
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Every live pid in the trees under `roots` (roots first). */
export function treePids(roots: readonly number[]): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const walk = (p: number, depth: number) => {
    if (seen.has(p) || depth > 32) return;
    seen.add(p);
    out.push(p);
    for (const c of childrenOf(p)) walk(c, depth + 1);
  };
  for (const p of roots) walk(p, 0);
  return out;
}

/** Summed RSS (KiB) of the trees under `roots`. */
export function treeRssKiB(roots: readonly number[]): number {
  let sum = 0;
  const seen = new Set<number>();
  const walk = (p: number, depth: number) => {
    if (seen.has(p) || depth > 32) return;
    seen.add(p);
    const r = rssKiB(p);
    if (r === undefined) return;
    sum += r;
    for (const c of childrenOf(p)) walk(c, depth + 1);
  };
  for (const p of roots) walk(p, 0);
  return sum;
}

/**
 * Sample the summed RSS of this process's children that are not in `exclude`
 * (the fleet's sshds are our children too) every `everyMs` until stopped; the
 * peak in KiB. Bounded: one timer, stopped by the caller in a finally.
 */
export function sampleTreePeak(exclude: readonly (number | undefined)[], everyMs = 100): { stop(): number } {
  const skip = new Set(exclude.filter((p): p is number => p !== undefined));
  let peak = 0;
  const tick = () => {
    const roots = childrenOf('self').filter((p) => !skip.has(p));
    peak = Math.max(peak, treeRssKiB(roots));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** argv that runs `argv` under GNU time writing its peak RSS (KiB) to `file`. */
export function withMaxRss(argv: readonly string[], file: string): string[] {
  return ['/usr/bin/time', '-f', '%M', '-o', file, ...argv];
}

/** The KiB figure GNU time wrote (its last line; a failed command adds a status line before it). */
export function parseMaxRss(text: string): number | undefined {
  const last = text.trim().split('\n').pop()?.trim() ?? '';
  return /^\d+$/.test(last) ? Number(last) : undefined;
}
