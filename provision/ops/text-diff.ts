// What --diff shows of a file whose content changes: a unified diff of the
// host's text against the inventory's, as `diff -u` would print it. Only for
// files anyone on the host may read anyway (mode o+r both on the host and in
// the inventory): a key or a password file shows its size and hash, never its
// lines. Binary data (NUL bytes, invalid UTF-8) and files over the limit are
// not diffed either.
import { createTwoFilesPatch } from 'diff';

/** Larger files are not diffed (the host's side is read up to this plus one byte). */
export const DIFF_MAX_BYTES = 64 * 1024;

/** The content may be shown: world-readable on the host and as the inventory wants it. */
export function showable(hostMode: number, wantedMode: number): boolean {
  return (hostMode & 0o004) !== 0 && (wantedMode & 0o004) !== 0;
}

function text(b: Buffer): string | undefined {
  if (b.length > DIFF_MAX_BYTES || b.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

/** The unified diff host -> inventory, or undefined when either side is not diffable text. */
export function unifiedDiff(path: string, host: Buffer, wanted: Buffer): string | undefined {
  const a = text(host);
  const b = text(wanted);
  if (a === undefined || b === undefined) return undefined;
  const patch = createTwoFilesPatch(`${path} (host)`, `${path} (inventory)`, a, b, '', '', { context: 3 });
  // jsdiff starts with an Index: line and a rule; diff -u starts at ---.
  return patch.slice(patch.indexOf('--- ')).trimEnd();
}
