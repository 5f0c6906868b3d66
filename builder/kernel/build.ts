// Compiling one kernel: a build directory per (tree, final .config, make
// flags) under <out>/kernel/builds/<key>/ — not per role, so roles with the
// same config build once. Outputs are staged into a temp dir and renamed, and
// state.json (written last) is what marks a build complete.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, relative } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { replaceDir, sha256, tempSibling, writeFileAtomic } from '../../lib/fsx.js';
import { log } from '../../lib/log.js';
import { whileMaking } from './objdir.js';
import type { PreparedTree } from './tree.js';

export interface BuildState {
  key: string;
  moduleKey: string;
  /** Hash of everything the staged outputs depend on. */
  hash: string;
  release: string;
  modules: string[];
  /** Lines of kbuild progress output in the last full build (the next bar's total). */
  objects: number;
  warnings: number;
  /** What the last run did: a full make, only the module directories, or nothing. */
  lastAction: 'full' | 'modules' | 'none';
}

export interface BuildResult extends BuildState {
  dir: string;
  obj: string;
  stage: string;
  logFile: string;
}

/** kbuild's quiet lines: "  CC      kernel/fork.o", "  LD [M]  fs/x.ko". */
const progressLine = /^\s{2}([A-Z][A-Z0-9_]{0,10}(?: \[M\])?)\s+\S/;

export function buildKey(treeKey: string, configText: string, makeFlags: readonly string[]): string {
  return sha256(JSON.stringify({ v: 1, tree: treeKey, config: configText, makeFlags }));
}

export function jobsFor(jobs: number | undefined): number {
  return jobs ?? availableParallelism();
}

/** Reproducible-build variables from SOURCE_DATE_EPOCH. */
export function reproducibleFlags(epoch: number): string[] {
  // KBUILD_BUILD_VERSION: otherwise the "#N" in `uname -v` counts links in this
  // build dir, so a build that was interrupted and resumed (vmlinux linked
  // twice) would differ from an uninterrupted one.
  return [
    `KBUILD_BUILD_TIMESTAMP=${new Date(epoch * 1000).toUTCString()}`,
    'KBUILD_BUILD_USER=vrio',
    'KBUILD_BUILD_HOST=vrio-appliance',
    'KBUILD_BUILD_VERSION=1',
  ];
}

/** User make flags replace compat ones with the same variable name. */
export function mergeMakeFlags(compat: readonly string[], user: readonly string[]): string[] {
  const names = new Set(user.map((f) => f.split('=')[0]));
  return [...compat.filter((f) => !names.has(f.split('=')[0])), ...user];
}

function findKos(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function statsPath(outputDir: string): string {
  return join(outputDir, 'kernel', 'stats.json');
}

function expectedObjects(outputDir: string, key: string): number | undefined {
  try {
    const s = JSON.parse(readFileSync(statsPath(outputDir), 'utf8')) as Record<string, number>;
    return s[key] ?? s.last;
  } catch {
    return undefined;
  }
}

function recordObjects(outputDir: string, key: string, n: number): void {
  let s: Record<string, number> = {};
  try {
    s = JSON.parse(readFileSync(statsPath(outputDir), 'utf8')) as Record<string, number>;
  } catch {
    /* first build */
  }
  s[key] = n;
  s.last = n;
  writeFileAtomic(statsPath(outputDir), JSON.stringify(s, null, 2));
}

export interface BuildOptions {
  outputDir: string;
  tree: PreparedTree;
  configText: string;
  /** Flags that identify the build (toolchain vars, user flags). */
  makeFlags: string[];
  /** Flags that do not change the output's identity beyond the above (-j, timestamps). */
  jobs: number;
  sourceDateEpoch: number;
  label: string;
  signal?: AbortSignal;
}

async function make(o: BuildOptions, obj: string, logFile: string, args: string[], onLine?: (l: string) => void) {
  return run('make', ['-C', o.tree.src, `O=${obj}`, `-j${o.jobs}`, ...reproducibleFlags(o.sourceDateEpoch), ...o.makeFlags, ...args], {
    logFile,
    signal: o.signal,
    onLine,
    tailLines: 40,
  });
}

async function fullBuild(o: BuildOptions, key: string, obj: string, logFile: string): Promise<{ objects: number; warnings: number }> {
  mkdirSync(obj, { recursive: true });
  const cfg = join(obj, '.config');
  if (!existsSync(cfg) || readFileSync(cfg, 'utf8') !== o.configText) writeFileSync(cfg, o.configText);
  const total = expectedObjects(o.outputDir, key);
  const bar = log().progress(`building kernel (${o.label})`, { unit: 'count' });
  let done = 0;
  let warnings = 0;
  await make(o, obj, logFile, ['bzImage', 'modules'], (l) => {
    if (/\bwarning:/.test(l)) warnings++;
    if (progressLine.test(l)) {
      done++;
      bar.update(done, total && total >= done ? total : undefined, l.trim().split(/\s+/).pop());
    }
  });
  bar.done(`${done} steps, ${warnings} compiler warnings`);
  return { objects: done, warnings };
}

/** Rebuild only the module directories, as external modules against the finished build. */
async function modulesOnly(o: BuildOptions, obj: string, logFile: string): Promise<void> {
  for (const d of o.tree.moduleDirs) {
    const src = join(o.tree.src, d);
    if (!existsSync(src)) continue;
    // A copy, so objects land beside it and not in the shared source tree.
    const ext = join(obj, '.vrio-extmod', d);
    rmSync(ext, { recursive: true, force: true });
    mkdirSync(ext, { recursive: true });
    await run('cp', ['-a', src + '/.', ext], { logFile });
    log().step(`rebuilding modules in ${d} only (make M=${d} modules)`);
    await make(o, obj, logFile, [`M=${ext}`, 'modules']);
    for (const ko of findKos(ext)) {
      const target = join(obj, d, relative(ext, ko));
      mkdirSync(join(target, '..'), { recursive: true });
      copyFileSync(ko, target);
    }
  }
}

async function stageOutputs(o: BuildOptions, obj: string, stage: string, logFile: string): Promise<{ release: string; modules: string[] }> {
  const release = (await run('make', ['-s', '-C', o.tree.src, `O=${obj}`, ...o.makeFlags, 'kernelrelease'], { logFile })).stdout.trim().split('\n').pop()!;
  const tmp = tempSibling(stage);
  mkdirSync(tmp, { recursive: true });
  try {
    const bz = join(obj, 'arch', 'x86', 'boot', 'bzImage');
    if (!existsSync(bz)) throw new VrioError(`the build finished but ${bz} is missing`);
    copyFileSync(bz, join(tmp, 'bzImage'));
    copyFileSync(join(obj, 'System.map'), join(tmp, 'System.map'));
    copyFileSync(join(obj, '.config'), join(tmp, 'config'));
    const modRoot = join(tmp, 'modules');
    mkdirSync(modRoot, { recursive: true });
    // DEPMOD=true: depmod runs below, once, on the final staging tree.
    await make(o, obj, logFile, [`INSTALL_MOD_PATH=${modRoot}`, 'INSTALL_MOD_STRIP=1', 'DEPMOD=true', 'modules_install']);
    const libDir = join(modRoot, 'lib', 'modules', release);
    // build/source point into this machine's build dirs: not part of an image.
    for (const l of ['build', 'source']) rmSync(join(libDir, l), { force: true });
    await run('depmod', ['-b', modRoot, '-F', join(tmp, 'System.map'), release], { logFile });
    const modules = findKos(libDir).map((p) => basename(p, '.ko'));
    await replaceDir(tmp, stage);
    return { release, modules: [...new Set(modules)].sort() };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The build of this tree + config + flags as it stands, without doing anything:
 * `cached` when its staged outputs are complete for these module sources.
 */
export function buildCache(o: Pick<BuildOptions, 'outputDir' | 'configText' | 'makeFlags'> & { tree: Pick<PreparedTree, 'key' | 'moduleKey'> }): {
  key: string;
  hash: string;
  prev?: BuildState;
  cached?: BuildResult;
  paths: { dir: string; obj: string; stage: string; statePath: string; logFile: string };
} {
  const key = buildKey(o.tree.key, o.configText, o.makeFlags);
  const dir = join(o.outputDir, 'kernel', 'builds', key.slice(0, 16));
  const paths = {
    dir,
    obj: join(dir, 'obj'),
    stage: join(dir, 'stage'),
    statePath: join(dir, 'state.json'),
    logFile: join(o.outputDir, 'logs', `kernel-${key.slice(0, 12)}.log`),
  };
  const hash = sha256(`${key}\n${o.tree.moduleKey}`);
  const prev = existsSync(paths.statePath) ? (JSON.parse(readFileSync(paths.statePath, 'utf8')) as BuildState) : undefined;
  const { statePath: _s, ...where } = paths;
  void _s;
  const cached =
    prev && prev.moduleKey === o.tree.moduleKey && existsSync(join(paths.stage, 'bzImage')) ? { ...prev, lastAction: 'none' as const, ...where } : undefined;
  return { key, hash, prev, cached, paths };
}

export async function buildKernelTree(o: BuildOptions): Promise<BuildResult> {
  const { key, hash, prev, cached, paths } = buildCache(o);
  const { dir, obj, stage, statePath, logFile } = paths;
  if (cached) return cached;
  let objects = prev?.objects ?? 0;
  let warnings = prev?.warnings ?? 0;
  let action: BuildState['lastAction'] = 'full';
  mkdirSync(obj, { recursive: true });
  // Under the dirty marker (objdir.ts): a killed run's half-written files are
  // removed before anything below looks at obj (Module.symvers included).
  // Staging only reads obj (it writes a temp dir), so it is outside: a kill
  // while staging costs no rebuild.
  await whileMaking(obj, async () => {
    // The module-only path needs a finished full build of this exact tree+config.
    if (prev && existsSync(join(obj, 'Module.symvers'))) {
      await modulesOnly(o, obj, logFile);
      action = 'modules';
    } else {
      log().step(`compiling the kernel for ${o.label} (make -j${o.jobs}; log: ${logFile})`);
      ({ objects, warnings } = await fullBuild(o, key, obj, logFile));
      recordObjects(o.outputDir, key, objects);
      action = 'full';
    }
  });
  const { release, modules } = await stageOutputs(o, obj, stage, logFile);
  const state: BuildState = { key, moduleKey: o.tree.moduleKey, hash, release, modules, objects, warnings, lastAction: action };
  writeFileAtomic(statePath, JSON.stringify(state, null, 2));
  return { ...state, dir, obj, stage, logFile };
}
