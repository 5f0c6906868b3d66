// Several independent changes of one host in ONE remote command: each SSH exec
// costs a channel, a session and a shell on the host, which at 50 hosts and a
// handful of file changes each was most of a cold `apply --only files` (76 s
// for 300 changes, one exec each, on a loaded 2-core machine). The batch runs
// the changes in order, prints each one's exit status and stops at the first
// failure, so the runner can still report per change.
//
// The batch is a script the remote `sh` reads on stdin, with each change's
// content (provision/payload.ts) in a here-document: nothing of it is in a
// command line, so `ps` on the host shows no content and no size limit of
// argv applies. (The batch used to be one `sh -c BODY` argument: the content
// was visible to every user of the host, and its quoting, measured before the
// second round of it, overran the 128 KiB argument limit for 40 KB of quotes.)
import type { Change } from './ops/change.js';
import { commandLine } from '../lib/shell.js';

/** Bytes of script per batch: bounds one exec's size (and so its time on a slow link). */
export const MAX_BATCH_BYTES = 128 * 1024;

/** The command that runs a batch script given on its stdin. */
export const BATCH_ARGV: readonly string[] = ['sh', '-s'];

/**
 * One change's part of the script. A change with stdin gets it from a quoted
 * here-document in base64 (here-documents cannot hold NUL bytes; base64 lines
 * never equal the delimiter, which has a '_'); the others read /dev/null, so
 * no command can eat the rest of the script from the shell's stdin.
 */
function piece(c: Change, i: number): string {
  const status = `rc=$?; echo "@rc ${i} $rc"; [ "$rc" -eq 0 ] || exit 0\n`;
  if (!c.stdin) return `${commandLine(c.argv)} </dev/null\n${status}`;
  const b64 = c.stdin
    .bytes()
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  return `base64 -d <<'VRIO_DATA_${i}' | ${commandLine(c.argv)}\n${b64}VRIO_DATA_${i}\n${status}`;
}

/** Split changes into batches whose script stays under the limit (a big change goes alone). */
export function batches(changes: readonly Change[], maxBytes = MAX_BATCH_BYTES): Change[][] {
  const out: Change[][] = [];
  let cur: Change[] = [];
  let size = 0;
  for (const c of changes) {
    // The exact bytes this change adds (the index in its batch is at most as long as here).
    const n = Buffer.byteLength(piece(c, changes.length));
    if (cur.length && size + n > maxBytes) {
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

/** The script that runs `changes` in order and reports `@rc <index> <status>` after each (run it with BATCH_ARGV). */
export function batchScript(changes: readonly Change[]): Buffer {
  return Buffer.from(changes.map(piece).join(''), 'utf8');
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
