// The build manifest: built-in defaults (builder/defaults/vrio.yaml, the package
// lists in rootfs/packages/, the modules in kernel-config/vrio-modules.yaml, the
// pins in kernel-config/pins.yaml) overridden by
// the user's vrio.yaml, then by CLI values. Every layer is schema-checked before
// merging, and every effective value remembers which layer it came from.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadValidated, parseDocumentFile, pointerOf, validateDocument, type SemanticCheck } from '../lib/document.js';
import { InputError } from '../lib/errors.js';
import { dataPath, defaultCacheDir } from '../lib/paths.js';
import { vrioModules } from '../lib/vrio-modules.js';
import { setLayers } from './manifest-set.js';

export type SourceSpec =
  | { kind: 'git'; url: string; commit: string; description?: string; license?: string }
  | { kind: 'tarball'; url: string; sha256: string; stripComponents?: number; description?: string; license?: string }
  | { kind: 'dir'; path: string; description?: string; license?: string };

export interface SeriesSpec {
  source: string;
  from: string;
  to: string;
}

/** Files laid onto the base tree from a pinned git source (builder/kernel/overlay.ts). */
export interface OverlaySpec {
  source: string;
  paths: string[];
}

export interface KernelSpec {
  line: string;
  source: string;
  series: SeriesSpec | null;
  /** Absent or null: no overlay. */
  overlay?: OverlaySpec | null;
  compat: boolean;
  fixes: boolean;
  patches: string[];
  defconfig: string;
  fragments: string[];
  makeFlags: string[];
  jobs?: number;
  /** Tree directories built as modules only (default: builder/kernel's DEFAULT_MODULE_DIRS). */
  moduleDirs?: string[];
}

export type RoleKind = 'iohyp' | 'guest';

export interface RoleSpec {
  name: string;
  kind: RoleKind;
  enabled: boolean;
  fragments: string[];
  packages: string[];
  overlays: string[];
  modules: string[];
  cmdline: string;
  controlHelper: boolean;
}

export interface ImageSpec {
  formats: ('iso' | 'initramfs' | 'tar')[];
  compression: 'gzip' | 'zstd' | 'none';
  volumeId: string;
  sshAuthorizedKeys: string[];
  hostKeys: 'build' | 'first-boot';
}

/** The effective manifest, with paths resolved to absolute ones. */
export interface Manifest {
  kernel: KernelSpec;
  sources: Record<string, SourceSpec>;
  mirrors: Record<string, string>;
  roles: Record<string, RoleSpec>;
  image: ImageSpec;
  outputDir: string;
  cacheDir: string;
  sourceDateEpoch: number;
  /** The user's manifest file, if one was used. */
  file?: string;
  /** JSON pointer of each leaf value -> where it came from. */
  origins: Record<string, string>;
}

export interface ManifestOverrides {
  /** `--set KEY=VALUE` arguments, applied in order after the user's file. */
  set?: readonly string[];
  cacheDir?: string;
  outputDir?: string;
  mirrors?: Record<string, string>;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

let schemaCache: object | undefined;
export function manifestSchema(): object {
  return (schemaCache ??= JSON.parse(readFileSync(dataPath('builder/manifest.schema.json'), 'utf8')) as object);
}

/**
 * Keys never merged, whatever the schema allows: JSON.parse and YAML make them
 * ordinary keys, and following `base['__proto__']` would write into
 * Object.prototype (prototype pollution); `constructor`/`prototype` lead there too.
 */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A deep copy without the unsafe keys. */
function safeCopy(v: Json): Json {
  if (Array.isArray(v)) return v.map(safeCopy);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !UNSAFE_KEYS.has(k))
        .map(([k, x]) => [k, safeCopy(x)]),
    );
  return v;
}

/** Deep-merge `over` onto `base`: objects merge, everything else replaces. Records origins of leaves. */
export function mergeInto(base: Record<string, Json>, over: Record<string, Json>, origin: string, origins: Record<string, string>, path: string[] = []): void {
  for (const [k, v] of Object.entries(over)) {
    if (k === '$schema' || UNSAFE_KEYS.has(k)) continue;
    const p = [...path, k];
    const cur = Object.hasOwn(base, k) ? base[k] : undefined;
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      mergeInto(cur as Record<string, Json>, v as Record<string, Json>, origin, origins, p);
    } else {
      base[k] = safeCopy(v);
      // forget origins below a replaced subtree, then record the new ones
      const prefix = pointerOf(p);
      for (const o of Object.keys(origins)) if (o === prefix || o.startsWith(prefix + '/')) delete origins[o];
      recordLeaves(v, p, origin, origins);
    }
  }
}

function recordLeaves(v: Json, path: string[], origin: string, origins: Record<string, string>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (!UNSAFE_KEYS.has(k)) recordLeaves(x, [...path, k], origin, origins);
  } else origins[pointerOf(path)] = origin;
}

function readPackageList(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The built-in default layer, itself validated (a broken data file is our bug, reported clearly). */
function defaultLayer(origins: Record<string, string>): Record<string, Json> {
  const base: Record<string, Json> = {};
  const defaults = loadValidated<Record<string, Json>>(dataPath('builder/defaults/vrio.yaml'), manifestSchema());
  mergeInto(base, defaults.data, 'default (builder/defaults/vrio.yaml)', origins);
  const pins = parseDocumentFile(dataPath('kernel-config/pins.yaml'));
  const pinsAsManifest = { ...pins, data: { sources: pins.data } };
  validateDocument(pinsAsManifest, manifestSchema());
  mergeInto(base, { sources: pins.data as Json }, 'default (kernel-config/pins.yaml)', origins);
  // The standard roles' modules: vRIO's module knowledge lives in one file (smoke and the provisioner read it too).
  const roles = base.roles as Record<string, Record<string, Json>>;
  for (const [role, mods] of Object.entries(vrioModules().roles)) {
    if (!roles[role]) continue;
    roles[role].modules = mods.image;
    recordLeaves(mods.image, ['roles', role, 'modules'], 'default (kernel-config/vrio-modules.yaml)', origins);
  }
  const pkgDir = dataPath('rootfs/packages');
  for (const f of existsSync(pkgDir) ? readdirSync(pkgDir).sort() : []) {
    const role = f.replace(/\.txt$/, '');
    if (f.endsWith('.txt') && roles[role]) {
      roles[role].packages = readPackageList(join(pkgDir, f));
      recordLeaves(roles[role].packages, ['roles', role, 'packages'], `default (rootfs/packages/${f})`, origins);
    }
  }
  return base;
}

/** Checks the schema cannot express: references between sections. */
const semanticChecks: SemanticCheck<Record<string, Json>> = (data, file) => {
  void file;
  const issues: ReturnType<SemanticCheck<unknown>> = [];
  const k = data.kernel as Record<string, Json> | undefined;
  const series = k?.series as Record<string, Json> | null | undefined;
  if (series && series.from === series.to) {
    issues.push({ file, pointer: '/kernel/series/to', rule: 'series-range', message: 'series.to equals series.from: the series would be empty' });
  }
  return issues;
};

function resolveFrom(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/**
 * Load the effective manifest. `file` is the user's manifest; when undefined,
 * ./vrio.yaml in `cwd` is used if present.
 */
export function loadManifest(file: string | undefined, cwd: string, overrides: ManifestOverrides = {}, env = process.env): Manifest {
  const origins: Record<string, string> = {};
  const merged = defaultLayer(origins);
  let userFile: string | undefined;
  let locate: ((pointer: string) => { line: number; column: number } | undefined) | undefined;
  if (file) userFile = resolve(cwd, file);
  else if (existsSync(join(cwd, 'vrio.yaml'))) userFile = join(cwd, 'vrio.yaml');
  const baseDir = userFile ? dirname(userFile) : cwd;
  if (userFile) {
    const user = loadValidated<Record<string, Json>>(userFile, manifestSchema(), semanticChecks);
    mergeInto(merged, user.data, userFile, origins);
    locate = user.locate;
  }
  for (const s of setLayers(overrides.set ?? [], manifestSchema(), semanticChecks)) mergeInto(merged, s.layer, `command line (--set ${s.arg})`, origins);
  const cli: Record<string, Json> = {};
  if (overrides.cacheDir) cli.cacheDir = overrides.cacheDir;
  if (overrides.outputDir) cli.outputDir = overrides.outputDir;
  if (overrides.mirrors && Object.keys(overrides.mirrors).length)
    cli.mirrors = mirrorsBySourceName(overrides.mirrors, (merged.sources ?? {}) as Record<string, SourceSpec>);
  mergeInto(merged, cli, 'command line', origins);
  if (!merged.cacheDir) {
    merged.cacheDir = defaultCacheDir(env);
    origins['/cacheDir'] = env.VRIO_CACHE_DIR ? 'environment (VRIO_CACHE_DIR)' : 'default (XDG cache dir)';
  }

  // Cross-references, checked on the merged result so a user layer can rely on defaults.
  const issues: ConstructorParameters<typeof InputError>[0] = [];
  const at = userFile ?? 'builder/defaults/vrio.yaml';
  const sources = (merged.sources ?? {}) as Record<string, SourceSpec>;
  const kernel = merged.kernel as unknown as KernelSpec;
  const known = `known sources: ${Object.keys(sources).join(', ')}`;
  /** A source the kernel names at `pointer` must exist; a series or an overlay (`gitFor` says why) must be a git source. */
  const sourceRef = (pointer: string, name: string, gitFor?: string) => {
    const source = sources[name];
    if (!source) issues.push({ file: at, pointer, rule: 'known-source', message: `no source named '${name}'`, hint: known });
    else if (gitFor && source.kind !== 'git') issues.push({ file: at, pointer, rule: 'git-source', message: `${gitFor}; '${name}' is ${source.kind}` });
  };
  sourceRef('/kernel/source', kernel.source);
  if (kernel.series) sourceRef('/kernel/series/source', kernel.series.source, 'a patch series needs a git source');
  if (kernel.overlay) sourceRef('/kernel/overlay/source', kernel.overlay.source, 'an overlay is taken from a pinned git commit');
  for (const name of Object.keys((merged.mirrors ?? {}) as object)) {
    if (!sources[name])
      issues.push({
        file: at,
        pointer: pointerOf(['mirrors', name]),
        rule: 'known-source',
        message: `mirror for unknown source '${name}'`,
        hint: known,
      });
  }
  // locate() falls back to the deepest part of the pointer the file has (or the file's start) by itself.
  if (issues.length) throw new InputError(issues.map((i) => ({ ...i, ...locate?.(i.pointer) })));

  const roles: Record<string, RoleSpec> = {};
  for (const [name, r] of Object.entries((merged.roles ?? {}) as Record<string, Partial<RoleSpec>>)) {
    const kind = (r.kind ?? (name === 'iohyp' || name === 'guest' ? name : undefined)) as RoleKind | undefined;
    if (!kind) {
      const pos = locate?.(pointerOf(['roles', name]));
      throw new InputError([
        { file: at, pointer: pointerOf(['roles', name, 'kind']), ...pos, rule: 'required', message: `role '${name}' needs a kind (iohyp or guest)` },
      ]);
    }
    roles[name] = {
      name,
      kind,
      enabled: r.enabled ?? true,
      fragments: r.fragments ?? [],
      packages: r.packages ?? readPackageList(dataPath('rootfs/packages', `${kind}.txt`)),
      overlays: r.overlays ?? ['common', kind],
      modules: r.modules ?? [],
      cmdline: r.cmdline ?? 'console=ttyS0,115200',
      controlHelper: r.controlHelper ?? kind === 'iohyp',
    };
  }
  const mirrors = Object.fromEntries(
    Object.entries((merged.mirrors ?? {}) as Record<string, string>).map(([k, v]) => [k, /^[a-z]+:\/\//.test(v) ? v : resolveFrom(baseDir, v)]),
  );
  const resolvedSources = Object.fromEntries(
    Object.entries(sources).map(([k, s]) => [k, s.kind === 'dir' ? { ...s, path: resolveFrom(baseDir, s.path) } : s]),
  ) as Record<string, SourceSpec>;
  const image = merged.image as unknown as ImageSpec;
  return {
    kernel: { ...kernel, patches: kernel.patches.map((p) => resolveFrom(baseDir, p)) },
    sources: resolvedSources,
    mirrors,
    roles,
    image: { ...image, sshAuthorizedKeys: image.sshAuthorizedKeys.map((p) => resolveFrom(baseDir, p)) },
    outputDir: resolveFrom(baseDir, merged.outputDir as string),
    cacheDir: resolveFrom(baseDir, merged.cacheDir as string),
    sourceDateEpoch: merged.sourceDateEpoch as number,
    file: userFile,
    origins,
  };
}

/**
 * `--mirror` keys may name a source ("splitio-kernel") or the repository it is
 * fetched from ("orbitfp7/SplitIO-kernel"), which is what users know; the
 * latter is mapped to the git source whose URL ends in that owner/name.
 */
function mirrorsBySourceName(mirrors: Record<string, string>, sources: Record<string, SourceSpec>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, path] of Object.entries(mirrors)) {
    if (!key.includes('/')) {
      out[key] = path;
      continue;
    }
    const tail = key.toLowerCase().replace(/\.git$/, '');
    const names = Object.entries(sources)
      .filter(
        ([, s]) =>
          s.kind === 'git' &&
          s.url
            .toLowerCase()
            // Trailing slashes first: 'team/x.git/' names repository team/x.
            .replace(/\/+$/, '')
            .replace(/\.git$/, '')
            .match(/[/:]([^/:]+\/[^/:]+)$/)?.[1] === tail,
      )
      .map(([n]) => n);
    if (!names.length) {
      throw new InputError([
        {
          file: 'command line',
          pointer: '/mirror',
          rule: 'known-source',
          message: `--mirror ${key}=...: no git source is fetched from a repository named ${key}`,
          hint: `name a source instead: ${Object.keys(sources).join(', ')}`,
        },
      ]);
    }
    for (const n of names) out[n] = path;
  }
  return out;
}

/** Parse repeated `--mirror NAME=PATH` values (NAME: a source, or the repository's owner/name). */
export function parseMirrorArgs(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const m = /^([a-z][a-z0-9_-]*|[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(v);
    if (!m) {
      throw new InputError([
        {
          file: 'command line',
          pointer: '/mirror',
          rule: 'mirror-syntax',
          message: `--mirror '${v}' is not NAME=PATH_OR_URL`,
          hint: 'e.g. --mirror splitio-kernel=/srv/mirrors/SplitIO-kernel.git or --mirror orbitfp7/SplitIO-kernel=/srv/mirrors/SplitIO-kernel.git',
        },
      ]);
    }
    out[m[1]] = m[2];
  }
  return out;
}
