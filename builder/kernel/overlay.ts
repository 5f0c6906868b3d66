// The source overlay (kernel.overlay): files taken at build time from a pinned
// git source and laid onto a base tree of another origin. The 6.1 line uses it
// to put the vRIO drivers (drivers/vrio, include/linux/vrio) of the pinned
// SplitIO-kernel commit onto Debian's linux-source-6.1; our port patches then
// apply on top. The upstream files never enter this repository.
//
// The overlay is expressed as a patch that creates exactly those files (a git
// diff from the empty tree to the pinned commit, limited to the listed paths),
// so it goes through the same dry-run/apply, tree keys and module-directory
// partitioning as every other patch. Applying it fails when the base tree
// already has one of the files: an overlay never overwrites the base.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { writeFileAtomic } from '../../lib/fsx.js';
import type { OverlaySpec } from '../manifest.js';
import { gitEnv } from '../sources/git.js';
import type { ResolvedSource } from '../sources/index.js';
import { isUnder, makePatch, splitPatch, type PatchFile } from './patchfile.js';

/** git's well-known empty tree (SHA-1 repositories). */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** A listed path must be a plain relative path inside the tree. */
export function checkOverlayPath(p: string): string | undefined {
  if (p === '' || p.startsWith('/')) return 'must be a relative path';
  if (p.split('/').some((x) => x === '' || x === '.' || x === '..')) return 'must not contain empty, "." or ".." components';
  if (/[*?[\]:\\]/.test(p)) return 'must be a plain path (no glob or pathspec magic)';
  return undefined;
}

/**
 * Check an overlay patch: every section creates a file (no change to or
 * deletion of a base file) under one of `paths`, and every path contributes
 * at least one file (a path missing at the pinned commit is a mistake, not an
 * empty overlay). Returns the created files.
 */
export function checkOverlayPatch(text: string, paths: readonly string[], what: string): string[] {
  const files: string[] = [];
  for (const s of splitPatch(text)) {
    const p = s.newPath;
    if (s.oldPath !== undefined || p === undefined)
      throw new VrioError(`${what}: the overlay changes an existing file (${s.oldPath ?? s.newPath}); an overlay only adds files`);
    if (!isUnder(p, paths)) throw new VrioError(`${what}: ${p} is outside the overlay paths (${paths.join(', ')})`);
    files.push(p);
  }
  for (const p of paths) {
    if (!files.some((f) => isUnder(f, [p]))) throw new VrioError(`${what}: ${p} has no files at the pinned commit`, { hint: 'check kernel.overlay.paths' });
  }
  return files;
}

/** Where the generated overlay patch is cached; keyed by source, commit and paths. */
function cacheFile(cacheDir: string, spec: OverlaySpec, commit: string): string {
  const key = `${spec.source}-${commit.slice(0, 12)}-${spec.paths.map((p) => p.replace(/[^A-Za-z0-9._-]+/g, '_')).join('+')}`;
  return join(cacheDir, 'overlay', `${key}.patch`);
}

/**
 * The overlay as a patch, generated once from the fetched source (by commit
 * id, so a moved ref cannot change it) and cached. The commit is the source's
 * pin; the repository must resolve it to exactly that commit.
 */
export async function overlayPatch(spec: OverlaySpec, src: ResolvedSource, cacheDir: string, logFile: string): Promise<PatchFile> {
  const what = `kernel.overlay (source ${spec.source})`;
  if (src.kind !== 'git') throw new VrioError(`${what}: an overlay needs a git source; '${src.name}' is ${src.kind}`);
  const commit = src.spec.commit;
  for (const p of spec.paths) {
    const bad = checkOverlayPath(p);
    if (bad) throw new VrioError(`${what}: path '${p}' ${bad}`);
  }
  const got = await run('git', ['--git-dir', src.repo, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`], { env: gitEnv, allowFail: true });
  if (got.code !== 0 || got.stdout.trim() !== commit) {
    throw new VrioError(`${what}: the pinned commit ${commit} is not in ${src.repo}`, { hint: `vrio fetch, or --mirror ${src.name}=<a clone that holds it>` });
  }
  const file = cacheFile(cacheDir, spec, commit);
  let text: string;
  if (existsSync(file)) text = readFileSync(file, 'utf8');
  else {
    const r = await run('git', ['--git-dir', src.repo, 'diff', '--binary', '--full-index', '--no-renames', EMPTY_TREE, commit, '--', ...spec.paths], {
      env: gitEnv,
      logFile,
    });
    text = `Overlay: ${spec.paths.join(', ')} from ${src.name} ${commit}\n\n${r.stdout}`;
    checkOverlayPatch(text, spec.paths, what);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileAtomic(file, text);
  }
  // Checked again on every use: the cache file is data on disk like any other.
  checkOverlayPatch(text, spec.paths, what);
  return makePatch(`overlay/${src.name}-${commit.slice(0, 12)}.patch`, text, 'overlay');
}
