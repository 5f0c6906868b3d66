// Applying a patch series to a tree with `git apply` (which works outside a
// repository, applies a series atomically in one call, and never fuzzes).
// The whole series is checked first (dry run); nothing changes unless every
// patch applies, and a failure names the patch, the file and the hunk.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { hunkAt, type PatchFile } from './patchfile.js';

export class PatchError extends VrioError {
  constructor(
    readonly patch: string,
    readonly file: string | undefined,
    readonly hunk: number | undefined,
    readonly detail: string,
  ) {
    super(
      `patch ${patch} does not apply` + (file ? `: file ${file}` : '') + (hunk ? `, hunk #${hunk}` : '') + `\n  ${detail.split('\n').join('\n  ')}`,
      { hint: 'the tree was left untouched; fix or drop the patch (see the series order with `vrio kernel config --series`)' },
    );
    this.name = 'PatchError';
  }
}

/**
 * git must not discover a repository above the tree (the output dir often
 * sits inside a checkout): with one, `git apply` would patch paths relative to
 * that repository's root and silently skip the rest.
 */
function gitApplyEnv(cwd: string): Record<string, string> {
  return { GIT_CEILING_DIRECTORIES: dirname(cwd), GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
}

/** Write patches to files named NNNN-<name> in `dir`, returning the paths in order. */
export function writeSeries(dir: string, patches: readonly PatchFile[]): string[] {
  mkdirSync(dir, { recursive: true });
  return patches.map((p, i) => {
    const f = join(dir, `${String(i + 1).padStart(4, '0')}-${p.name.replace(/[^A-Za-z0-9._-]+/g, '-')}`);
    writeFileSync(f, p.text);
    return f;
  });
}

async function gitApply(cwd: string, files: string[], check: boolean, logFile?: string) {
  return run('git', ['apply', ...(check ? ['--check'] : []), '-p1', '--whitespace=nowarn', ...files], {
    cwd,
    env: gitApplyEnv(cwd),
    allowFail: true,
    logFile,
  });
}

/** Dry-run the whole series against `tree`; throws PatchError for the first patch that fails. */
export async function checkSeries(tree: string, patches: readonly PatchFile[], files: string[], logFile?: string): Promise<void> {
  if (files.length === 0) return;
  const all = await gitApply(tree, files, true, logFile);
  if (all.code === 0) return;
  // Find the first failing patch: the shortest prefix that fails.
  for (let k = 1; k <= files.length; k++) {
    const r = k === files.length ? all : await gitApply(tree, files.slice(0, k), true);
    if (r.code === 0) continue;
    const err = r.stderr.trim();
    const failed = /error: patch failed: (.+):(\d+)/.exec(err);
    const other = /error: ([^:]+): (No such file or directory|already exists in working directory|does not exist in index|patch does not apply|does not match index)/.exec(err);
    const file = failed?.[1] ?? other?.[1];
    const hunk = failed ? hunkAt(patches[k - 1], failed[1], Number(failed[2]))?.index : undefined;
    throw new PatchError(patches[k - 1].name, file, hunk, err.split('\n').slice(0, 6).join('\n'));
  }
  throw new PatchError(patches[patches.length - 1].name, undefined, undefined, all.stderr.trim());
}

/** Check, then apply. The tree is unchanged when this throws. */
export async function applySeries(tree: string, patches: readonly PatchFile[], seriesDir: string, logFile?: string): Promise<void> {
  const files = writeSeries(seriesDir, patches);
  await checkSeries(tree, patches, files, logFile);
  if (files.length === 0) return;
  const r = await gitApply(tree, files, false, logFile);
  if (r.code !== 0) throw new VrioError(`applying the series failed after a clean dry run:\n${r.stderr.trim()}`);
}
