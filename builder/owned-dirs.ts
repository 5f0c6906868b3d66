// The output and cache directories carry a marker file, written when vrio
// creates them, so `vrio clean` empties only directories vrio made. Without
// it a mistaken or symlinked outputDir (a home directory, a project tree)
// would be wiped: path checks alone cannot tell "ours" from "the user's".
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createExclusive } from '../lib/fsx.js';

export type OwnedKind = 'output' | 'cache';

export function markerName(kind: OwnedKind): string {
  return kind === 'output' ? '.vrio-output' : '.vrio-cache';
}

export function markerOf(dir: string, kind: OwnedKind): string {
  return join(dir, markerName(kind));
}

/**
 * Create `dir` (and mark it as vrio's) if it does not exist. An existing empty
 * directory is marked too; an existing directory with content is used as it is
 * but never marked: it may be someone's files (outputDir: ~/project).
 */
export function claimDir(dir: string, kind: OwnedKind): void {
  const created = mkdirSync(dir, { recursive: true }) !== undefined;
  if (!created && readdirSync(dir).length > 0) return;
  try {
    createExclusive(
      markerOf(dir, kind),
      `This ${kind} directory was created by vrio-appliance; \`vrio clean${kind === 'cache' ? ' --all' : ''}\` may empty it.\n`,
      0o644,
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Whether `dir` carries its marker (a regular file, not a link planted to look like one). */
export function isOwned(dir: string, kind: OwnedKind): boolean {
  try {
    return lstatSync(markerOf(dir, kind)).isFile();
  } catch {
    return false;
  }
}
