// `vrio build --dry-run`: which stages a build would redo, and why, without
// fetching, preparing, configuring, compiling or writing anything. Every key is
// computed by the same functions the stages use (treeKeys, configCache,
// buildCache, imageStatus), so the answer cannot drift from what a build does.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../lib/log.js';
import { imageStatus, type ImageOptions } from './image/index.js';
import { buildCache, jobsFor, mergeMakeFlags } from './kernel/build.js';
import { configCache, resolveDefconfig } from './kernel/config.js';
import { loadFragments, manifestDirOf } from './kernel/fragments.js';
import { moduleDirsOf, roleFragments } from './kernel/index.js';
import { collectSeries, seriesCacheDir } from './kernel/series.js';
import { hostToolchain } from './kernel/toolchain.js';
import { baseOf, treeDir, treeKeys, treeStatus } from './kernel/tree.js';
import type { Manifest } from './manifest.js';
import { commitsNeeded, ensureSources, kernelSourceNames } from './sources/index.js';
import { bareRepoPath, hasCommit } from './sources/git.js';
import { tarballCachePath } from './sources/tarball.js';

export interface PlanStep {
  stage: 'source' | 'series' | 'tree' | 'config' | 'kernel' | 'image';
  /** The source or role the step is for. */
  what: string;
  fresh: boolean;
  why: string;
}

/** What is missing from the cache for each kernel source (read-only). */
async function sourceSteps(m: Manifest): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  for (const name of kernelSourceNames(m)) {
    const s = m.sources[name];
    if (s.kind === 'git') {
      const repo = bareRepoPath(m.cacheDir, name);
      const missing: string[] = [];
      for (const c of commitsNeeded(m, name)) if (!(await hasCommit(repo, c))) missing.push(c.slice(0, 12));
      steps.push({
        stage: 'source',
        what: name,
        fresh: !missing.length,
        why: missing.length
          ? `commits ${missing.join(', ')} not in ${repo}: fetched from ${m.mirrors[name] ? 'the mirror, then ' : ''}upstream`
          : `every pinned commit in ${repo}`,
      });
    } else if (s.kind === 'tarball') {
      const f = tarballCachePath(m.cacheDir, name, s.url);
      steps.push({ stage: 'source', what: name, fresh: existsSync(f), why: existsSync(f) ? `${f} (sha256 checked when used)` : `${f} missing: downloaded` });
    } else {
      const d = m.mirrors[name] ?? s.path;
      steps.push({ stage: 'source', what: name, fresh: existsSync(d), why: existsSync(d) ? `local directory ${d}` : `directory ${d} does not exist` });
    }
  }
  return steps;
}

export async function planBuild(m: Manifest, roles: string[], opts: ImageOptions = {}): Promise<PlanStep[]> {
  const steps = await sourceSteps(m);
  const later = (because: string) =>
    roles.flatMap((r): PlanStep[] => (['config', 'kernel', 'image'] as const).map((stage) => ({ stage, what: r, fresh: false, why: because })));
  if (steps.some((s) => !s.fresh))
    return [...steps, { stage: 'tree', what: m.kernel.source, fresh: false, why: 'after the sources are fetched' }, ...later('after the sources are fetched')];
  if (m.kernel.series) {
    const dir = seriesCacheDir(m, m.kernel.series);
    const done = existsSync(join(dir, '.complete'));
    steps.push({ stage: 'series', what: m.kernel.series.source, fresh: done, why: done ? `${dir}` : `generated with git format-patch into ${dir}` });
    if (!done)
      return [
        ...steps,
        { stage: 'tree', what: m.kernel.source, fresh: false, why: 'after the series is generated' },
        ...later('after the series is generated'),
      ];
  }
  // Every source is in the cache and the series is generated: resolving them (offline) fetches and writes nothing.
  const logFile = join(m.outputDir, 'logs', 'dry-run.log');
  const sources = await ensureSources(m, kernelSourceNames(m), { offline: true, logFile });
  const tc = await hostToolchain();
  const series = await collectSeries(m, sources, tc, logFile);
  const { key, moduleKey } = treeKeys(baseOf(m, sources), series.patches, moduleDirsOf(m));
  const tree = treeStatus(m.outputDir, key, moduleKey);
  steps.push({
    stage: 'tree',
    what: m.kernel.source,
    fresh: tree === 'fresh',
    why:
      tree === 'fresh'
        ? `${treeDir(m.outputDir, key).root} (${series.patches.length} patches)`
        : tree === 'modules'
          ? `only the module sources changed (${moduleDirsOf(m).join(', ')}): refreshed`
          : `no prepared tree for this base and ${series.patches.length} patches: extracted and patched`,
  });
  const makeFlags = mergeMakeFlags(series.makeFlags, m.kernel.makeFlags);
  const dir = manifestDirOf(m.file);
  for (const role of roles) {
    const cfg = configCache({
      outputDir: m.outputDir,
      tree: { key },
      defconfig: resolveDefconfig(m.kernel.defconfig, dir),
      fragments: loadFragments(roleFragments(m, role), dir),
      makeFlags,
    });
    steps.push({
      stage: 'config',
      what: role,
      fresh: cfg.text !== undefined,
      why: cfg.text !== undefined ? cfg.path : `no config for this tree, defconfig and ${cfg.wanted.length} fragment symbols: made and verified`,
    });
    if (cfg.text === undefined) {
      steps.push(
        { stage: 'kernel', what: role, fresh: false, why: 'after its config is made' },
        { stage: 'image', what: role, fresh: false, why: 'after its kernel is built' },
      );
      continue;
    }
    const b = buildCache({ outputDir: m.outputDir, tree: { key, moduleKey }, configText: cfg.text, makeFlags });
    const modulesOnly = !b.cached && b.prev && existsSync(join(b.paths.obj, 'Module.symvers'));
    steps.push({
      stage: 'kernel',
      what: role,
      fresh: Boolean(b.cached),
      why: b.cached
        ? `${b.paths.stage} (${b.cached.release})`
        : modulesOnly
          ? `module sources changed: only ${moduleDirsOf(m).join(', ')} rebuilt`
          : `never built with this tree and config: full make -j${jobsFor(m.kernel.jobs)}`,
    });
    if (!b.cached) {
      steps.push({ stage: 'image', what: role, fresh: false, why: 'after its kernel is built' });
      continue;
    }
    const img = await imageStatus(m, role, { hash: b.cached.hash, release: b.cached.release, bzImage: join(b.paths.stage, 'bzImage') }, opts);
    steps.push({ stage: 'image', what: role, ...img });
  }
  log().debug(`dry run: ${steps.filter((s) => !s.fresh).length} of ${steps.length} steps stale`);
  return steps;
}
