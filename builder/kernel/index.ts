// The kernel stage: pinned sources -> patched tree -> per-role verified config
// -> compiled kernel + staged modules. Every step is keyed by the hash of its
// inputs, so an unchanged input does no work; roles with identical configs
// share one build.
import { join } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { withLock } from '../../lib/fsx.js';
import type { KernelArtifacts } from '../artifacts.js';
import type { Manifest } from '../manifest.js';
import { ensureSources, kernelSourceNames, type ResolvedSource } from '../sources/index.js';
import { buildKernelTree, jobsFor, mergeMakeFlags, type BuildResult } from './build.js';
import { makeConfig, resolveDefconfig, type RoleConfig } from './config.js';
import { loadFragments, manifestDirOf } from './fragments.js';
import { collectSeries, type Series } from './series.js';
import { hostToolchain } from './toolchain.js';
import { baseOf, prepareTree, type PreparedTree } from './tree.js';
import { claimDir } from '../owned-dirs.js';

export interface KernelOptions {
  offline?: boolean;
  signal?: AbortSignal;
}

export const DEFAULT_MODULE_DIRS = ['drivers/vrio'];

export function moduleDirsOf(m: Manifest): string[] {
  return m.kernel.moduleDirs ?? DEFAULT_MODULE_DIRS;
}

function logPath(m: Manifest, name: string): string {
  return join(m.outputDir, 'logs', name);
}

/** The lock for the kernel stage's part of the output dir (the image stage may hold its own). */
function lockDir(m: Manifest): string {
  return join(m.outputDir, 'kernel');
}

/** Fetch and verify every source the kernel needs (nothing else is touched). */
export async function fetchSources(m: Manifest, opts: KernelOptions = {}): Promise<void> {
  await fetchResolved(m, opts);
}

async function fetchResolved(m: Manifest, opts: KernelOptions): Promise<Record<string, ResolvedSource>> {
  claimDir(m.outputDir, 'output'); // the fetch log goes there
  claimDir(m.cacheDir, 'cache');
  return ensureSources(m, kernelSourceNames(m), { offline: opts.offline, signal: opts.signal, logFile: logPath(m, 'fetch.log') });
}

/** Everything up to the prepared tree; shared by build, config and menuconfig. */
export interface PreparedKernel {
  sources: Record<string, ResolvedSource>;
  series: Series;
  tree: PreparedTree;
  /** Toolchain + user make variables (part of every key). */
  makeFlags: string[];
}

export async function prepareKernel(m: Manifest, opts: KernelOptions = {}): Promise<PreparedKernel> {
  const sources = await fetchResolved(m, opts);
  const tc = await hostToolchain();
  const logFile = logPath(m, 'kernel-prepare.log');
  const series = await collectSeries(m, sources, tc, logFile);
  const tree = await prepareTree({
    outputDir: m.outputDir,
    base: baseOf(m, sources),
    patches: series.patches,
    moduleDirs: moduleDirsOf(m),
    logFile,
    signal: opts.signal,
  });
  return { sources, series, tree, makeFlags: mergeMakeFlags(series.makeFlags, m.kernel.makeFlags) };
}

export function roleFragments(m: Manifest, role: string): string[] {
  const r = m.roles[role];
  if (!r) throw new UsageError(`no role '${role}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
  return [...m.kernel.fragments, ...r.fragments];
}

export async function roleConfig(m: Manifest, p: PreparedKernel, role: string, opts: KernelOptions = {}): Promise<RoleConfig> {
  const dir = manifestDirOf(m.file);
  return makeConfig({
    outputDir: m.outputDir,
    tree: p.tree,
    defconfig: resolveDefconfig(m.kernel.defconfig, dir),
    fragments: loadFragments(roleFragments(m, role), dir),
    makeFlags: p.makeFlags,
    logFile: logPath(m, `kernel-config-${role}.log`),
    signal: opts.signal,
  });
}

function artifacts(m: Manifest, p: PreparedKernel, role: string, b: BuildResult): KernelArtifacts {
  const inputs = Object.values(p.sources).map((s) => ({ name: s.name, kind: s.kind, ref: s.ref, license: s.spec.license }));
  return {
    role,
    release: b.release,
    hash: b.hash,
    bzImage: join(b.stage, 'bzImage'),
    systemMap: join(b.stage, 'System.map'),
    config: join(b.stage, 'config'),
    modulesRoot: join(b.stage, 'modules'),
    modules: b.modules,
    sourceTree: p.tree.src,
    buildDir: b.obj,
    inputs,
    patches: p.series.patches.map((x) => ({ name: x.name, sha256: x.sha256, origin: x.origin })),
  };
}

/** Build result with the details a CLI wants to show (what was done, warnings). */
export interface RoleBuild {
  artifacts: KernelArtifacts;
  build: BuildResult;
  config: RoleConfig;
}

async function buildRoles(m: Manifest, roles: string[], opts: KernelOptions): Promise<Record<string, RoleBuild>> {
  const p = await prepareKernel(m, opts);
  const out: Record<string, RoleBuild> = {};
  for (const role of roles) {
    const config = await roleConfig(m, p, role, opts);
    const sharing = Object.entries(out).find(([, r]) => r.config.text === config.text);
    const build = await buildKernelTree({
      outputDir: m.outputDir,
      tree: p.tree,
      configText: config.text,
      makeFlags: p.makeFlags,
      jobs: jobsFor(m.kernel.jobs),
      sourceDateEpoch: m.sourceDateEpoch,
      label: sharing ? `${role}, same config as ${sharing[0]}` : role,
      signal: opts.signal,
    });
    out[role] = { artifacts: artifacts(m, p, role, build), build, config };
  }
  return out;
}

/** Build the kernel of one role (with details), under the kernel stage lock. */
export async function buildKernelDetailed(m: Manifest, roles: string[], opts: KernelOptions = {}): Promise<Record<string, RoleBuild>> {
  for (const r of roles) roleFragments(m, r); // unknown role: usage error before any work
  claimDir(m.outputDir, 'output'); // before withLock creates <outputDir>/kernel
  return withLock(lockDir(m), () => buildRoles(m, roles, opts), { waitMs: 0, what: `kernel outputs in ${m.outputDir}` });
}

export async function buildKernel(m: Manifest, role: string, opts: KernelOptions = {}): Promise<KernelArtifacts> {
  return (await buildKernelDetailed(m, [role], opts))[role].artifacts;
}

export function enabledRoles(m: Manifest): string[] {
  return Object.values(m.roles)
    .filter((r) => r.enabled)
    .map((r) => r.name);
}
