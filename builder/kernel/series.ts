// The full patch series for a kernel, in the order it is applied:
//   1. the upstream series (git format-patch from..to of the pinned history),
//   2. the project's toolchain-compat patches for the kernel line, chosen by
//      the host gcc/binutils (plus generated files such as compiler-gcc<N>.h),
//   3. the project's fixes for upstream bugs (kernel.fixes),
//   4. the manifest's own patches (kernel.patches: files or directories).
// With kernel.overlay (the 6.1 line), the overlay patch (files taken from the
// pinned source, overlay.ts) comes right after the upstream series, and our
// port patches for the line (patches/<line>/port/) right after the fixes: the
// fixes are written against the upstream driver sources, the port moves the
// fixed sources to the line's kernel APIs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fsx.js';
import { dataPath } from '../../lib/paths.js';
import { replaceDir, tempSibling } from '../../lib/fsx.js';
import type { Manifest, SeriesSpec } from '../manifest.js';
import { formatPatches } from '../sources/git.js';
import type { ResolvedSource } from '../sources/index.js';
import { makePatch, type PatchFile, type PatchOrigin } from './patchfile.js';
import { overlayPatch } from './overlay.js';
import { compatDir, selectCompat, type Toolchain } from './toolchain.js';

export interface Series {
  patches: PatchFile[];
  /** Make variables required by the compat selection (CC=..., HOSTCC=...). */
  makeFlags: string[];
}

function patchFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(patch|diff)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function readPatches(files: string[], origin: PatchOrigin, prefix: string): PatchFile[] {
  return files.map((f) => makePatch(`${prefix}/${basename(f)}`, readFileSync(f, 'utf8'), origin, f));
}

/** Where the generated upstream series is cached; `.complete` in it marks it done. */
export function seriesCacheDir(m: Pick<Manifest, 'cacheDir'>, s: SeriesSpec): string {
  return join(m.cacheDir, 'series', `${s.source}-${s.from.slice(0, 12)}-${s.to.slice(0, 12)}`);
}

/** The upstream series, generated once per (from, to) into the cache and reused. */
async function upstreamSeries(m: Manifest, sources: Record<string, ResolvedSource>, logFile: string): Promise<PatchFile[]> {
  const s = m.kernel.series;
  if (!s) return [];
  const src = sources[s.source];
  if (!src || src.kind !== 'git') throw new VrioError(`series source '${s.source}' is not a fetched git source`);
  const dir = seriesCacheDir(m, s);
  if (!existsSync(join(dir, '.complete'))) {
    const tmp = tempSibling(dir);
    await formatPatches(src.repo, s.from, s.to, tmp, logFile);
    writeFileAtomic(join(tmp, '.complete'), `${s.from}..${s.to}\n`);
    await replaceDir(tmp, dir);
  }
  return readPatches(patchFilesIn(dir), 'upstream-series', 'series');
}

/** Patch files for one manifest entry: a file, or every *.patch in a directory. */
function userPatchFiles(p: string): string[] {
  if (!existsSync(p)) throw new VrioError(`kernel.patches: ${p} does not exist`);
  return statSync(p).isDirectory() ? patchFilesIn(p) : [p];
}

export async function collectSeries(
  m: Manifest,
  sources: Record<string, ResolvedSource>,
  tc: Toolchain,
  logFile: string,
  patchesRoot = dataPath('kernel-config/patches'),
): Promise<Series> {
  const patches: PatchFile[] = [...(await upstreamSeries(m, sources, logFile))];
  const overlay = m.kernel.overlay;
  if (overlay) {
    const src = sources[overlay.source];
    if (!src) throw new VrioError(`overlay source '${overlay.source}' was not fetched`);
    patches.push(await overlayPatch(overlay, src, m.cacheDir, logFile));
  }
  const makeFlags: string[] = [];
  if (m.kernel.compat) {
    const dir = compatDir(patchesRoot, m.kernel.line);
    if (dir) {
      const sel = selectCompat(dir, tc);
      patches.push(...sel.generated.map((g) => makePatch(`compat/${g.name}`, g.text, 'compat')));
      patches.push(...readPatches(sel.patches, 'compat', 'compat'));
      makeFlags.push(...sel.makeFlags);
    }
  }
  if (m.kernel.fixes) {
    const dir = join(patchesRoot, m.kernel.line, 'fixes');
    if (existsSync(dir)) patches.push(...readPatches(patchFilesIn(dir), 'fixes', 'fixes'));
  }
  if (overlay) {
    const dir = join(patchesRoot, m.kernel.line, 'port');
    if (!existsSync(dir))
      throw new VrioError(`kernel.overlay is set but there is no port series for line ${m.kernel.line} (${dir})`, {
        hint: 'an overlay is only supported for lines whose port patches exist',
      });
    patches.push(...readPatches(patchFilesIn(dir), 'port', 'port'));
  }
  for (const p of m.kernel.patches) patches.push(...readPatches(userPatchFiles(p), 'user', 'user'));
  const seen = new Set<string>();
  for (const p of patches) {
    if (seen.has(p.name)) throw new VrioError(`two patches are both named ${p.name}`, { hint: 'rename one of them' });
    seen.add(p.name);
  }
  return { patches, makeFlags };
}
