// Debian packages for the images: resolve a role's package list to its
// Depends/Pre-Depends closure with apt's metadata, pin the result (version +
// sha256) in a lock file, download exactly the locked files with
// `apt-get download` into the cache, and unpack each one once (safely) into a
// content-addressed directory. A later build with the same lock never asks apt
// for anything the cache already holds.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { sha256File, writeFileAtomic } from '../../lib/fsx.js';
import { claimDir } from '../owned-dirs.js';
import { log } from '../../lib/log.js';
import { extractTarSafe, type ExtractedEntry } from './extract.js';

export interface LockedPackage {
  name: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
  /** Source package (for the SBOM). */
  source: string;
  homepage?: string;
  /** Resolved dependency names (one per Depends group). */
  depends: string[];
}

export interface PackageLock {
  lockVersion: 1;
  packages: Record<string, LockedPackage>;
  /** Per role: the requested list and its resolved closure (sorted). */
  roles: Record<string, { requested: string[]; closure: string[] }>;
}

interface Stanza {
  Package: string;
  Version: string;
  Architecture: string;
  Depends?: string;
  'Pre-Depends'?: string;
  SHA256?: string;
  Size?: string;
  Source?: string;
  Homepage?: string;
}

function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const s: Record<string, string> = {};
    let key = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && key) s[key] += '\n' + line.trim();
      else {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
        if (m) {
          key = m[1];
          s[key] = m[2];
        }
      }
    }
    if (s.Package && s.Version) out.push(s as unknown as Stanza);
  }
  return out;
}

/** "a (>= 1) | b:any, c" -> [["a","b"],["c"]] */
export function parseDepends(field: string | undefined): string[][] {
  if (!field) return [];
  return field
    .split(',')
    .map((g) =>
      g
        .split('|')
        .map((alt) =>
          alt
            .trim()
            .replace(/\s*\(.*?\)/g, '')
            .replace(/\s*\[.*?\]/g, '')
            .replace(/:\w+$/, '')
            .trim(),
        )
        .filter(Boolean),
    )
    .filter((g) => g.length);
}

async function aptShow(names: string[]): Promise<Map<string, Stanza>> {
  const found = new Map<string, Stanza>();
  if (!names.length) return found;
  // Unknown names make apt-cache exit non-zero but it still prints the others.
  const r = await run('apt-cache', ['show', '--no-all-versions', ...names], { allowFail: true });
  for (const s of parseStanzas(r.stdout)) if (!found.has(s.Package)) found.set(s.Package, s);
  return found;
}

/** Resolve requested packages to their Depends/Pre-Depends closure (apt's candidate versions). */
export async function resolveClosure(requested: string[]): Promise<Map<string, LockedPackage>> {
  const result = new Map<string, LockedPackage>();
  const top = await aptShow(requested);
  const missing = requested.filter((n) => !top.has(n));
  if (missing.length) {
    throw new VrioError(`no such Debian package: ${missing.join(', ')}`, {
      hint: 'check the role package list (rootfs/packages/<role>.txt or roles.<role>.packages); run apt-get update if the lists are stale',
    });
  }
  let frontier = [...top.values()];
  while (frontier.length) {
    const groups: string[][] = [];
    for (const s of frontier) {
      if (result.has(s.Package)) continue;
      const deps = [...parseDepends(s['Pre-Depends']), ...parseDepends(s.Depends)];
      groups.push(...deps);
      result.set(s.Package, {
        name: s.Package,
        version: s.Version,
        arch: s.Architecture,
        sha256: s.SHA256 ?? '',
        size: Number(s.Size ?? 0),
        source: (s.Source ?? s.Package).split(' ')[0],
        homepage: s.Homepage,
        depends: [],
      });
      (result.get(s.Package) as LockedPackage & { _groups?: string[][] })._groups = deps;
    }
    const candidates = [...new Set(groups.flat())].filter((n) => !result.has(n));
    const shown = await aptShow(candidates);
    const next = new Map<string, Stanza>();
    for (const g of groups) {
      if (g.some((n) => result.has(n) || next.has(n))) continue;
      const pick = g.find((n) => shown.has(n));
      // A purely virtual dependency with no real package named in the group:
      // left out (the image only takes files the ELF closure asks for anyway).
      if (pick) next.set(pick, shown.get(pick) as Stanza);
    }
    frontier = [...next.values()];
  }
  for (const p of result.values()) {
    const groups = (p as LockedPackage & { _groups?: string[][] })._groups ?? [];
    p.depends = [...new Set(groups.map((g) => g.find((n) => result.has(n))).filter((n): n is string => !!n))].sort();
    delete (p as LockedPackage & { _groups?: string[][] })._groups;
  }
  return result;
}

export function emptyLock(): PackageLock {
  return { lockVersion: 1, packages: {}, roles: {} };
}

export function readLock(file: string): PackageLock {
  if (!existsSync(file)) return emptyLock();
  let data: PackageLock;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as PackageLock;
  } catch (e) {
    throw new VrioError(`${file}: not valid JSON: ${(e as Error).message}`, { hint: 'delete the lock file to resolve packages again' });
  }
  if (data.lockVersion !== 1 || typeof data.packages !== 'object' || typeof data.roles !== 'object') {
    throw new VrioError(`${file}: not a vrio package lock (lockVersion 1)`, { hint: 'delete the lock file to resolve packages again' });
  }
  return data;
}

function sortedLock(lock: PackageLock): PackageLock {
  const pk = Object.fromEntries(
    Object.keys(lock.packages)
      .sort()
      .map((k) => [k, lock.packages[k]]),
  );
  const roles = Object.fromEntries(
    Object.keys(lock.roles)
      .sort()
      .map((k) => [k, lock.roles[k]]),
  );
  return { lockVersion: 1, packages: pk, roles };
}

/**
 * The locked closure for one role: taken from the lock when its requested list
 * is unchanged (and `update` is false), else resolved now and written back.
 */
/** The role's locked packages when the lock covers exactly `requested` (no resolving, nothing written). */
export function lockedPackages(lockFile: string, role: string, requested: string[]): LockedPackage[] | undefined {
  const lock = readLock(lockFile);
  const want = [...new Set(requested)].sort();
  const have = lock.roles[role];
  if (have && JSON.stringify(have.requested) === JSON.stringify(want) && have.closure.every((n) => lock.packages[n])) {
    return have.closure.map((n) => lock.packages[n]);
  }
  return undefined;
}

export async function lockRole(lockFile: string, role: string, requested: string[], update = false): Promise<LockedPackage[]> {
  const current = update ? undefined : lockedPackages(lockFile, role, requested);
  if (current) return current;
  const lock = readLock(lockFile);
  const want = [...new Set(requested)].sort();
  log().info(`resolving packages for role ${role}: ${want.join(' ')}`);
  const closure = await resolveClosure(want);
  for (const p of closure.values()) lock.packages[p.name] = p;
  lock.roles[role] = { requested: want, closure: [...closure.keys()].sort() };
  // Packages no role uses any more drop out of the lock.
  const used = new Set(Object.values(lock.roles).flatMap((r) => r.closure));
  for (const n of Object.keys(lock.packages)) if (!used.has(n)) delete lock.packages[n];
  writeFileAtomic(lockFile, JSON.stringify(sortedLock(lock), null, 2) + '\n');
  return lock.roles[role].closure.map((n) => lock.packages[n]);
}

export function debFileName(p: LockedPackage): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/**
 * Make sure every locked .deb is in the cache with its locked sha256 (one
 * `apt-get download` call for all missing ones); returns name -> path.
 */
export async function fetchDebs(pkgs: LockedPackage[], cacheDir: string): Promise<Map<string, string>> {
  claimDir(cacheDir, 'cache');
  const dir = join(cacheDir, 'debs');
  mkdirSync(dir, { recursive: true });
  const paths = new Map<string, string>();
  const missing: LockedPackage[] = [];
  for (const p of pkgs) {
    const final = join(dir, debFileName(p));
    paths.set(p.name, final);
    if (!(existsSync(final) && (await sha256File(final)) === p.sha256)) missing.push(p);
  }
  if (!missing.length) return paths;
  const tmp = join(dir, `.dl-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  // World-readable so apt's unprivileged _apt user may write into it.
  mkdirSync(tmp, { recursive: true, mode: 0o777 });
  try {
    const bar = log().progress(`downloading ${missing.length} packages`);
    try {
      await run('apt-get', ['download', '-q', ...missing.map((p) => `${p.name}=${p.version}`)], { cwd: tmp, logFile: join(dir, 'apt-get.log') });
    } catch (e) {
      throw new VrioError(`cannot download packages: ${(e as Error).message}`, {
        hint: `a locked version may be gone from the mirror: refresh with --update-lock, or put the .deb files into ${dir}`,
      });
    }
    bar.done();
    for (const p of missing) {
      const got = join(tmp, debFileName(p));
      if (!existsSync(got)) throw new VrioError(`apt-get download ${p.name}=${p.version} did not produce ${debFileName(p)}`);
      const sum = await sha256File(got);
      if (sum !== p.sha256) {
        throw new VrioError(`${p.name} ${p.version}: sha256 ${sum} does not match the lock (${p.sha256})`, {
          hint: 'the mirror serves a different file than the one locked; refresh the lock with --update-lock if that is expected',
        });
      }
      renameSync(got, join(dir, debFileName(p)));
    }
    return paths;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Stream `dpkg-deb --fsys-tarfile` of a .deb into a safe extractor. */
export async function unpackDeb(deb: string, dest: string, label: string): Promise<ExtractedEntry[]> {
  const child = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  let entries: ExtractedEntry[];
  try {
    entries = await extractTarSafe(child.stdout, dest, label);
  } catch (e) {
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw e;
  }
  const code = await exited;
  if (code !== 0) {
    rmSync(dest, { recursive: true, force: true });
    throw new VrioError(`${label}: dpkg-deb --fsys-tarfile ${deb} failed (exit ${code}): ${stderr.trim()}`);
  }
  return entries;
}

export interface UnpackedPackage {
  pkg: LockedPackage;
  deb: string;
  /** Root of the unpacked files. */
  root: string;
  entries: ExtractedEntry[];
}

/** Download (if needed) and unpack (once, cached by sha256) locked packages. */
export async function unpackedPackages(pkgs: LockedPackage[], cacheDir: string): Promise<UnpackedPackage[]> {
  const debs = await fetchDebs(pkgs, cacheDir);
  const out: UnpackedPackage[] = [];
  for (const p of pkgs) out.push(await unpackOne(p, debs.get(p.name) as string, cacheDir));
  return out;
}

async function unpackOne(p: LockedPackage, deb: string, cacheDir: string): Promise<UnpackedPackage> {
  const base = join(cacheDir, 'debs', 'unpacked');
  const root = join(base, p.sha256);
  // v2: entries carry setuid/setgid/sticky bits (v1 indexes dropped them), so a v1 cache is unpacked again.
  const index = `${root}.v2.json`;
  if (existsSync(root) && existsSync(index)) {
    return { pkg: p, deb, root, entries: JSON.parse(readFileSync(index, 'utf8')) as ExtractedEntry[] };
  }
  mkdirSync(base, { recursive: true });
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const entries = await unpackDeb(deb, tmp, `package ${p.name} ${p.version}`);
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  // Atomic: a kill mid-write must not leave a truncated index that every later build fails to parse.
  writeFileAtomic(index, JSON.stringify(entries));
  return { pkg: p, deb, root, entries };
}
