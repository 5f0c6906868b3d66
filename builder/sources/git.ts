// Git sources, cached as one bare repository per source under <cache>/git/.
// Only the pinned commits (and their history) are fetched, by commit id, so a
// moved branch or tag upstream cannot change what we build. Mirrors (any local
// repository, bare or not, holding the commits) are tried before upstream.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { log } from '../../lib/log.js';
import { gitProgress } from './git-progress.js';
import { isRemote, type MissingInput } from './missing.js';

export interface GitLocation {
  /** "mirror" or "upstream" — for messages. */
  label: string;
  url: string;
}

export function bareRepoPath(cacheDir: string, name: string): string {
  return join(cacheDir, 'git', `${name}.git`);
}

/** Environment for every git call: no prompts, no user/system config surprises. */
export const gitEnv = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_ASKPASS: 'true',
  LC_ALL: 'C',
};

export async function hasCommit(repo: string, commit: string): Promise<boolean> {
  if (!existsSync(repo)) return false;
  const r = await run('git', ['--git-dir', repo, 'cat-file', '-e', `${commit}^{commit}`], { allowFail: true, env: gitEnv });
  return r.code === 0;
}

async function ensureBare(repo: string): Promise<void> {
  if (existsSync(join(repo, 'HEAD'))) return;
  mkdirSync(repo, { recursive: true });
  await run('git', ['init', '--quiet', '--bare', repo], { env: gitEnv });
}

/**
 * Make sure `commits` are in the cached bare repository, trying each location
 * in order. Returns the missing-input records (empty when all are present).
 * A location that is remote is skipped when offline.
 */
export async function ensureCommits(opts: {
  name: string;
  repo: string;
  commits: string[];
  locations: GitLocation[];
  offline: boolean;
  logFile: string;
  signal?: AbortSignal;
}): Promise<MissingInput[]> {
  const { name, repo, commits, locations, offline, logFile, signal } = opts;
  let wanted: string[] = [];
  for (const c of commits) if (!(await hasCommit(repo, c))) wanted.push(c);
  if (wanted.length === 0) return [];
  await ensureBare(repo);
  const tried: string[] = [];
  for (const loc of locations) {
    if (offline && isRemote(loc.url)) continue;
    if (!isRemote(loc.url) && !existsSync(loc.url.replace(/^file:\/\//, ''))) {
      tried.push(`${loc.label} ${loc.url}: does not exist`);
      continue;
    }
    log().info(`fetching ${name} ${wanted.map((c) => c.slice(0, 12)).join(', ')} from ${loc.label} ${loc.url}`);
    // Fetch by id. allowAnySHA1InWant lets a local mirror serve unadvertised
    // commits (GitHub already allows reachable ones).
    // --progress (not --quiet): the kernel tree takes minutes, and its phases are shown as progress.
    const progress = gitProgress(`fetching ${name}`);
    const r = await run('git', ['--git-dir', repo, '-c', 'uploadpack.allowAnySHA1InWant=true', 'fetch', '--no-tags', '--progress', loc.url, ...wanted], {
      allowFail: true,
      env: gitEnv,
      logFile,
      signal,
      onLine: progress.line,
    });
    progress.end();
    if (r.code !== 0)
      tried.push(
        `${loc.label} ${loc.url}: ${(
          r.stderr
            .trim()
            .split(/[\r\n]+/)
            .pop() ?? ''
        ).slice(0, 200)}`,
      );
    // Keep what we fetched reachable, so a `git gc` never prunes it.
    const still: string[] = [];
    for (const c of wanted) {
      if (await hasCommit(repo, c)) await run('git', ['--git-dir', repo, 'update-ref', `refs/pins/${c}`, c], { env: gitEnv });
      else still.push(c);
    }
    wanted = still;
    if (wanted.length === 0) return [];
  }
  if (!offline && tried.length && locations.every((l) => tried.some((t) => t.includes(l.url)))) {
    log().debug(`git fetch attempts for ${name}:\n${tried.join('\n')}`);
  }
  const firstRemote = locations.find((l) => l.label === 'upstream');
  return wanted.map((c) => ({
    source: name,
    what: `git commit ${c}` + (tried.length ? ` (tried: ${tried.join('; ')})` : ''),
    how: `--mirror ${name}=<a clone of ${firstRemote?.url ?? 'the repository'} that contains it>`,
  }));
}

/** `git format-patch from..to` into `dir`: the upstream series as patch files, in order. */
export async function formatPatches(repo: string, from: string, to: string, dir: string, logFile: string): Promise<string[]> {
  const count = Number((await run('git', ['--git-dir', repo, 'rev-list', '--count', `${from}..${to}`], { env: gitEnv })).stdout.trim());
  const base = await run('git', ['--git-dir', repo, 'merge-base', '--is-ancestor', from, to], { env: gitEnv, allowFail: true });
  if (base.code !== 0) throw new VrioError(`series base ${from} is not an ancestor of ${to}`, { hint: 'check kernel.series.from/to in the manifest' });
  if (count === 0) throw new VrioError(`the series ${from.slice(0, 12)}..${to.slice(0, 12)} is empty`);
  mkdirSync(dir, { recursive: true });
  await run(
    'git',
    ['--git-dir', repo, 'format-patch', '--quiet', '--no-signature', '--no-renames', '--full-index', '--binary', '--topo-order', '-o', dir, `${from}..${to}`],
    { env: gitEnv, logFile },
  );
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort();
  if (files.length !== count) throw new VrioError(`git format-patch wrote ${files.length} patches for ${count} commits (merge commits in the range?)`);
  return files.map((f) => join(dir, f));
}

/** Write the tree of `commit` into `dest` (which must exist and be empty). */
export async function exportTree(repo: string, commit: string, dest: string, logFile: string, signal?: AbortSignal): Promise<void> {
  await run('bash', ['-c', 'set -o pipefail; git --git-dir "$1" archive --format=tar "$2" | tar -x -C "$3"', 'export', repo, commit, dest], {
    env: gitEnv,
    logFile,
    signal,
  });
}
