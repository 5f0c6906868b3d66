// Applying a patch series to a tree with `git apply` (works outside a
// repository, understands git's new-file/mode/binary patches, never fuzzes).
// The whole series is checked first (dry run on a scratch copy of the files it
// touches); nothing changes unless every patch applies, and a failure names
// the patch, the file and the hunk.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { hunkAt, sectionPaths, splitPatch, type PatchFile } from './patchfile.js';

export class PatchError extends VrioError {
  constructor(
    readonly patch: string,
    readonly file: string | undefined,
    readonly hunk: number | undefined,
    readonly detail: string,
  ) {
    super(`patch ${patch} does not apply` + (file ? `: file ${file}` : '') + (hunk ? `, hunk #${hunk}` : '') + `\n  ${detail.split('\n').join('\n  ')}`, {
      hint: 'the tree was left untouched; fix or drop the patch (see the series order with `vrio kernel config --series`)',
    });
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

async function gitApply(cwd: string, files: string[], logFile?: string) {
  return run('git', ['apply', '-p1', '--whitespace=nowarn', ...files], {
    cwd,
    env: gitApplyEnv(cwd),
    allowFail: true,
    logFile,
  });
}

function failure(patch: PatchFile, stderr: string): PatchError {
  const err = stderr.trim();
  const failed = /error: patch failed: (.+):(\d+)/.exec(err);
  const other =
    /error: ([^:]+): (No such file or directory|already exists in working directory|does not exist in index|patch does not apply|does not match index|wrong type)/.exec(
      err,
    );
  const file = failed?.[1] ?? other?.[1];
  const hunk = failed ? hunkAt(patch, failed[1], Number(failed[2]))?.index : undefined;
  return new PatchError(patch.name, file, hunk, err.split('\n').slice(0, 6).join('\n'));
}

/**
 * Dry run: apply the series, patch by patch, to a scratch copy of just the
 * files it touches. Later patches see earlier ones (a file created by patch 4
 * and changed by patch 5), and the tree itself is not written. Throws
 * PatchError for the first patch that fails.
 */
export async function checkSeries(tree: string, patches: readonly PatchFile[], files: string[], logFile?: string): Promise<void> {
  if (files.length === 0) return;
  const scratch = mkdtempSync(join(dirname(files[0]), '.dry-run-'));
  try {
    const paths = new Set(patches.flatMap((p) => splitPatch(p.text).flatMap(sectionPaths)));
    for (const p of paths) {
      const from = join(tree, p);
      if (!existsSync(from)) continue;
      mkdirSync(dirname(join(scratch, p)), { recursive: true });
      cpSync(from, join(scratch, p), { recursive: true, preserveTimestamps: true });
    }
    for (let i = 0; i < files.length; i++) {
      const r = await gitApply(scratch, [files[i]], logFile);
      if (r.code !== 0) throw failure(patches[i], r.stderr);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Check, then apply. The tree is unchanged when this throws a PatchError. */
export async function applySeries(tree: string, patches: readonly PatchFile[], seriesDir: string, logFile?: string): Promise<void> {
  const files = writeSeries(seriesDir, patches);
  await checkSeries(tree, patches, files, logFile);
  for (let i = 0; i < files.length; i++) {
    const r = await gitApply(tree, [files[i]], logFile);
    if (r.code !== 0) throw new VrioError(`applying ${patches[i].name} failed after a clean dry run:\n${r.stderr.trim()}`);
  }
}
