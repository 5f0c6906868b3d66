// Pinned sources: make every input the kernel needs present in the cache and
// verified (commit ids / sha256), mirrors first, upstream second, never the
// network when offline. Missing inputs are collected over all sources and
// reported together.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { sha256 } from '../../lib/fsx.js';
import type { Manifest, SourceSpec } from '../manifest.js';
import { bareRepoPath, ensureCommits, type GitLocation } from './git.js';
import { MissingInputsError, type MissingInput } from './missing.js';
import { ensureTarball } from './tarball.js';

export { MissingInputsError, type MissingInput } from './missing.js';

/** A source made available locally. */
export type ResolvedSource =
  | { name: string; kind: 'git'; spec: SourceSpec & { kind: 'git' }; repo: string; ref: string }
  | { name: string; kind: 'tarball'; spec: SourceSpec & { kind: 'tarball' }; file: string; ref: string }
  | { name: string; kind: 'dir'; spec: SourceSpec & { kind: 'dir' }; dir: string; ref: string };

export interface FetchOptions {
  offline?: boolean;
  signal?: AbortSignal;
  logFile: string;
}

/** Order in which a git source's locations are tried: mirror, then upstream. */
export function gitLocations(m: Pick<Manifest, 'mirrors'>, name: string, spec: { url: string }): GitLocation[] {
  const locs: GitLocation[] = [];
  const mirror = m.mirrors[name];
  if (mirror) locs.push({ label: 'mirror', url: mirror });
  locs.push({ label: 'upstream', url: spec.url });
  return locs;
}

/**
 * A cheap fingerprint of a local directory (paths, sizes, mtimes): a `dir`
 * source has no pin, so a change to any file must still change the hash.
 */
export function dirFingerprint(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        parts.push(`${relative(dir, p)}\0${st.size}\0${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return 'dir:' + sha256(parts.join('\n'));
}

/** The commits a git source must hold: its pin plus any series range taken from it. */
export function commitsNeeded(m: Manifest, name: string): string[] {
  const spec = m.sources[name];
  const out = new Set<string>();
  if (spec?.kind === 'git') out.add(spec.commit);
  const s = m.kernel.series;
  if (s && s.source === name) {
    out.add(s.from);
    out.add(s.to);
  }
  return [...out];
}

/** The names of the sources the kernel stage uses. */
export function kernelSourceNames(m: Manifest): string[] {
  const names = [m.kernel.source];
  if (m.kernel.series && !names.includes(m.kernel.series.source)) names.push(m.kernel.series.source);
  // The overlay's files come from its source's pin (already among commitsNeeded).
  if (m.kernel.overlay && !names.includes(m.kernel.overlay.source)) names.push(m.kernel.overlay.source);
  return names;
}

async function ensureOne(m: Manifest, name: string, opts: FetchOptions): Promise<{ resolved?: ResolvedSource; missing: MissingInput[] }> {
  const spec = m.sources[name];
  if (!spec) throw new VrioError(`no source named '${name}'`);
  switch (spec.kind) {
    case 'git': {
      const repo = bareRepoPath(m.cacheDir, name);
      const missing = await ensureCommits({
        name,
        repo,
        commits: commitsNeeded(m, name),
        locations: gitLocations(m, name, spec),
        offline: opts.offline ?? false,
        logFile: opts.logFile,
        signal: opts.signal,
      });
      return missing.length ? { missing } : { resolved: { name, kind: 'git', spec, repo, ref: spec.commit }, missing: [] };
    }
    case 'tarball': {
      const r = await ensureTarball({
        name,
        url: spec.url,
        sha256: spec.sha256,
        cacheDir: m.cacheDir,
        mirror: m.mirrors[name],
        offline: opts.offline ?? false,
        signal: opts.signal,
      });
      return r.path ? { resolved: { name, kind: 'tarball', spec, file: r.path, ref: spec.sha256 }, missing: [] } : { missing: [r.missing!] };
    }
    case 'dir': {
      const dir = m.mirrors[name] ?? spec.path;
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        return { missing: [{ source: name, what: `directory ${dir}`, how: `create it, or point sources.${name}.path at the tree` }] };
      }
      return { resolved: { name, kind: 'dir', spec, dir, ref: dirFingerprint(dir) }, missing: [] };
    }
  }
}

/** Ensure the named sources; throws MissingInputsError listing everything missing. */
export async function ensureSources(m: Manifest, names: string[], opts: FetchOptions): Promise<Record<string, ResolvedSource>> {
  const out: Record<string, ResolvedSource> = {};
  const missing: MissingInput[] = [];
  for (const name of names) {
    const r = await ensureOne(m, name, opts);
    if (r.resolved) out[name] = r.resolved;
    missing.push(...r.missing);
  }
  if (missing.length) throw new MissingInputsError(missing, opts.offline ?? false);
  return out;
}
