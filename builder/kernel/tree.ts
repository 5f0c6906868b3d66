// The prepared (patched) source tree, cached under <out>/kernel/trees/<key>/
// where the key hashes the base and every patch section outside the module
// directories. Sections inside module directories (drivers/vrio) are keyed
// separately: when only they change, the module directories are rebuilt from
// a pristine copy of the base instead of re-extracting the whole tree.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { replaceDir, sha256, tempSibling, writeFileAtomic } from '../../lib/fsx.js';
import { log } from '../../lib/log.js';
import type { Manifest } from '../manifest.js';
import { exportTree } from '../sources/git.js';
import type { ResolvedSource } from '../sources/index.js';
import { applySeries } from './apply.js';
import { makePatch, partitionSeries, type PatchFile } from './patchfile.js';

export interface Base {
  /** A stable identity: commit id, sha256 or directory fingerprint. */
  ref: string;
  source: ResolvedSource;
  extract(dest: string, logFile: string, signal?: AbortSignal): Promise<void>;
}

export interface PreparedTree {
  /** The patched source tree (srctree for make). */
  src: string;
  /** Hash of base + core sections: the tree outside the module directories. */
  key: string;
  /** Hash of the module-directory sections. */
  moduleKey: string;
  moduleDirs: string[];
  /** Whether this call changed the module directories of an existing tree. */
  modulesRefreshed: boolean;
}

interface TreeState {
  key: string;
  moduleKey: string;
  base: string;
  patches: { name: string; sha256: string; origin: string }[];
}

/** The base tree of the kernel: the series' `from` commit when the series comes from the kernel source itself. */
export function baseOf(m: Manifest, sources: Record<string, ResolvedSource>): Base {
  const src = sources[m.kernel.source];
  if (!src) throw new VrioError(`kernel source '${m.kernel.source}' was not fetched`);
  switch (src.kind) {
    case 'git': {
      const s = m.kernel.series;
      const commit = s && s.source === src.name ? s.from : src.spec.commit;
      return { ref: `git:${commit}`, source: src, extract: (dest, logFile, signal) => exportTree(src.repo, commit, dest, logFile, signal) };
    }
    case 'tarball': {
      const strip = src.spec.stripComponents ?? 1;
      return {
        ref: `sha256:${src.spec.sha256}:strip${strip}`,
        source: src,
        extract: async (dest, logFile, signal) => {
          await run('tar', ['-x', '-f', src.file, '-C', dest, `--strip-components=${strip}`, '--no-same-owner'], { logFile, signal });
        },
      };
    }
    case 'dir':
      return {
        ref: src.ref,
        source: src,
        extract: async (dest, logFile, signal) => {
          // A copy without VCS metadata: git must not see a repository in the tree.
          await run('bash', ['-c', 'set -o pipefail; tar -C "$1" --exclude=.git -c . | tar -C "$2" -x', 'copy', src.dir, dest], { logFile, signal });
        },
      };
  }
}

export function treeKeys(
  base: Base,
  patches: readonly PatchFile[],
  moduleDirs: readonly string[],
): { key: string; moduleKey: string; modules: { patch: string; text: string }[] } {
  const part = partitionSeries(patches, moduleDirs);
  const key = sha256(JSON.stringify({ v: 1, base: base.ref, core: part.core, moduleDirs }));
  const moduleKey = sha256(JSON.stringify({ v: 1, modules: part.modules }));
  return { key, moduleKey, modules: part.modules };
}

async function copyDirs(from: string, to: string, dirs: readonly string[], logFile: string): Promise<void> {
  for (const d of dirs) {
    if (!existsSync(join(from, d))) continue;
    mkdirSync(join(to, d), { recursive: true });
    await run('cp', ['-a', join(from, d) + '/.', join(to, d)], { logFile });
  }
}

/** Rebuild the module directories of `src` from the pristine base copy plus the module sections. */
async function refreshModules(root: string, moduleDirs: readonly string[], modules: { patch: string; text: string }[], logFile: string): Promise<void> {
  const src = join(root, 'src');
  const work = tempSibling(join(root, 'modules'));
  mkdirSync(work, { recursive: true });
  try {
    await copyDirs(join(root, 'base-modules'), work, moduleDirs, logFile);
    const patches = modules.map((m) => makePatch(m.patch, m.text, 'user'));
    await applySeries(work, patches, join(work, '.series'), logFile);
    for (const d of moduleDirs) {
      const target = join(src, d);
      const fresh = join(work, d);
      const old = `${target}.old-${process.pid}`;
      if (existsSync(target)) await rename(target, old);
      if (existsSync(fresh)) await rename(fresh, target);
      rmSync(old, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where the prepared tree of `key` lives, and its state file (written last: the tree is complete). */
export function treeDir(outputDir: string, key: string): { root: string; state: string } {
  const root = join(outputDir, 'kernel', 'trees', key.slice(0, 16));
  return { root, state: join(root, 'state.json') };
}

/** Without doing anything: is the tree of these keys prepared ('fresh'), prepared with other module sources ('modules'), or not at all? */
export function treeStatus(outputDir: string, key: string, moduleKey: string): 'fresh' | 'modules' | 'missing' {
  const { state } = treeDir(outputDir, key);
  if (!existsSync(state)) return 'missing';
  return (JSON.parse(readFileSync(state, 'utf8')) as TreeState).moduleKey === moduleKey ? 'fresh' : 'modules';
}

export async function prepareTree(opts: {
  outputDir: string;
  base: Base;
  patches: readonly PatchFile[];
  moduleDirs: readonly string[];
  logFile: string;
  signal?: AbortSignal;
}): Promise<PreparedTree> {
  const { base, patches, moduleDirs, logFile } = opts;
  const { key, moduleKey, modules } = treeKeys(base, patches, moduleDirs);
  const { root, state: statePath } = treeDir(opts.outputDir, key);
  const result = (modulesRefreshed: boolean): PreparedTree => ({ src: join(root, 'src'), key, moduleKey, moduleDirs: [...moduleDirs], modulesRefreshed });
  if (existsSync(statePath)) {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as TreeState;
    if (state.moduleKey === moduleKey) return result(false);
    log().step(`updating module sources in the prepared tree (${moduleDirs.join(', ')})`);
    await refreshModules(root, moduleDirs, modules, logFile);
    writeFileAtomic(
      statePath,
      JSON.stringify({ ...state, moduleKey, patches: patches.map((p) => ({ name: p.name, sha256: p.sha256, origin: p.origin })) }, null, 2),
    );
    return result(true);
  }
  log().step(`preparing the source tree (${patches.length} patches on ${base.source.name})`);
  const tmp = tempSibling(root);
  mkdirSync(join(tmp, 'src'), { recursive: true });
  try {
    await base.extract(join(tmp, 'src'), logFile, opts.signal);
    await copyDirs(join(tmp, 'src'), join(tmp, 'base-modules'), moduleDirs, logFile);
    await applySeries(join(tmp, 'src'), patches, join(tmp, 'series'), logFile);
    const state: TreeState = { key, moduleKey, base: base.ref, patches: patches.map((p) => ({ name: p.name, sha256: p.sha256, origin: p.origin })) };
    writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state, null, 2));
    await replaceDir(tmp, root);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return result(false);
}
