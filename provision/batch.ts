// Several independent changes of one host in ONE remote command: each SSH exec
// costs a channel, a session and a shell on the host, which at 50 hosts and a
// handful of file changes each was most of a cold `apply --only files` (76 s
// for 300 changes, one exec each, on a loaded 2-core machine). The batch runs
// the changes in order, prints each one's exit status and stops at the first
// failure, so the runner can still report per change.
import type { Change } from './ops.js';
import { commandLine } from './shell.js';

/**
 * Linux caps one argument (the command line sshd hands to `sh -c`) at 128 KiB
 * (MAX_ARG_STRLEN); stay well below it.
 */
export const MAX_BATCH_CHARS = 96 * 1024;

/** Split changes into batches whose combined command stays under the limit (a big change goes alone). */
export function batches(changes: readonly Change[], maxChars = MAX_BATCH_CHARS): Change[][] {
  const out: Change[][] = [];
  let cur: Change[] = [];
  let size = 0;
  for (const c of changes) {
    const n = commandLine(c.argv).length + 64;
    if (cur.length && size + n > maxChars) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(c);
    size += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The one command that runs `changes` in order and reports `@rc <index> <status>` after each. */
export function batchArgv(changes: readonly Change[]): string[] {
  const body = changes.map((c, i) => `${commandLine(c.argv)}\nrc=$?; echo "@rc ${i} $rc"; [ "$rc" -eq 0 ] || exit 0`).join('\n');
  return ['sh', '-c', body];
}

/** Exit status per change index from a batch's stdout (changes not reached are absent). */
export function batchStatuses(stdout: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of stdout.split('\n')) {
    const x = /^@rc (\d+) (\d+)$/.exec(line.trim());
    if (x) m.set(Number(x[1]), Number(x[2]));
  }
  return m;
}
