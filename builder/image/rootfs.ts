// Assemble one role's root file system in a staging directory:
//   1. every file of the packages the role asks for (minus docs and the like),
//   2. busybox applet links where no package put a real program,
//   3. overlays (init, network, sshd config) and generated files (keys, ids),
//   4. the kernel modules from the kernel stage, depmod-ed,
//   5. the shared-library closure of every ELF file: DT_NEEDED sonames and
//      the program interpreter, taken from the locked dependency packages
//      (never from the host), so only the libraries really used go in.
import { copyFileSync, chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { log } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import type { KernelArtifacts } from '../artifacts.js';
import type { UnpackedPackage } from '../debs/apt.js';
import { readElf } from '../debs/elf.js';
import { resolveLinkTarget, type ExtractedEntry } from '../debs/extract.js';

/** Package paths left out of every image: rootfs/exclude.txt (data, not code). */
let excludedCache: string[] | undefined;
function excludedPaths(): string[] {
  return (excludedCache ??= readFileSync(dataPath('rootfs/exclude.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim().replace(/^\/+|\/+$/g, ''))
    .filter(Boolean));
}

/** Where the dynamic loader looks (Debian multiarch first). */
const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'];

const SKELETON: [string, number][] = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['lib', 0o755],
  ['etc', 0o755],
  ['etc/dropbear', 0o755],
  ['etc/vrio', 0o755],
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['run', 0o755],
  ['tmp', 0o1777],
  ['mnt', 0o755],
  ['root', 0o700],
  ['var', 0o755],
  ['var/log', 0o755],
  ['var/empty', 0o755],
];

export interface GeneratedFile {
  path: string;
  data: string | Buffer;
  mode: number;
}

export interface RootfsPlan {
  role: string;
  /** The role's whole locked closure, unpacked. */
  packages: UnpackedPackage[];
  /** Names whose files all go in; the others only give libraries. */
  requested: string[];
  kernel: KernelArtifacts;
  overlayDirs: string[];
  generated: GeneratedFile[];
  /** Built helper binaries: image path -> host file. */
  binaries: Record<string, string>;
}

export interface RootfsResult {
  dir: string;
  /** Library files pulled in by the ELF closure: image path -> package. */
  libraries: Record<string, string>;
  /** Packages that contributed at least one file. */
  packagesUsed: string[];
  modules: string[];
}

function excluded(p: string): boolean {
  return excludedPaths().some((x) => p === x || p.startsWith(x + '/'));
}

function ensureDir(stage: string, rel: string): void {
  if (!rel) return;
  mkdirSync(join(stage, rel), { recursive: true, mode: 0o755 });
}

/** Remove whatever is at the path (a later layer wins), except a directory. */
function clear(abs: string): boolean {
  try {
    const st = lstatSync(abs);
    if (st.isDirectory()) return false;
    rmSync(abs, { force: true });
  } catch {
    /* nothing there */
  }
  return true;
}

function place(stage: string, rel: string, from: { kind: 'file'; src: string; mode: number } | { kind: 'symlink'; target: string } | { kind: 'data'; data: string | Buffer; mode: number }): void {
  ensureDir(stage, posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
  const abs = join(stage, rel);
  if (!clear(abs)) throw new VrioError(`rootfs: '${rel}' is a directory and cannot be replaced by a file`);
  if (from.kind === 'symlink') symlinkSync(from.target, abs);
  else if (from.kind === 'file') {
    copyFileSync(from.src, abs);
    chmodSync(abs, from.mode);
  } else {
    writeFileSync(abs, from.data);
    chmodSync(abs, from.mode);
  }
}

function copyPackageEntry(stage: string, pkg: UnpackedPackage, e: ExtractedEntry): void {
  if (e.type === 'dir') ensureDir(stage, e.path);
  else if (e.type === 'symlink') place(stage, e.path, { kind: 'symlink', target: e.target as string });
  else place(stage, e.path, { kind: 'file', src: join(pkg.root, e.path), mode: e.mode });
}

/** Copy a directory tree (overlays, modules) onto the stage; later layers win. */
function copyTree(src: string, stage: string, prefix: string, skip: (rel: string) => boolean = () => false): number {
  let n = 0;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(src, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const abs = join(src, r);
      const st = lstatSync(abs);
      const dest = prefix ? `${prefix}/${r}` : r;
      if (st.isDirectory()) {
        ensureDir(stage, dest);
        walk(r);
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(abs);
        if (resolveLinkTarget(dest, target) === undefined) throw new VrioError(`rootfs: symlink ${abs} -> ${target} points outside the image`);
        place(stage, dest, { kind: 'symlink', target });
        n++;
      } else if (st.isFile()) {
        // Git keeps only the executable bit; normalise to 0755/0644.
        place(stage, dest, { kind: 'file', src: abs, mode: st.mode & 0o111 ? 0o755 : 0o644 });
        n++;
      } else throw new VrioError(`rootfs: ${abs} is not a file, directory or symlink`);
    }
  };
  walk('');
  return n;
}

function walkFiles(stage: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(stage, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(stage, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push(r);
    }
  };
  walk('');
  return out;
}

interface LibSource {
  pkg: UnpackedPackage;
  entry: ExtractedEntry;
}

/** Build the applet links of busybox (its own list of where each applet lives). */
async function busyboxLinks(stage: string): Promise<number> {
  const bb = join(stage, 'bin/busybox');
  if (!existsSync(bb)) return 0;
  // The Debian busybox-static binary is static and runs on any x86_64 host.
  const r = await run(bb, ['--list-full']);
  let n = 0;
  for (const line of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort()) {
    const rel = line.replace(/^\/+/, '');
    if (rel === 'linuxrc' || rel.includes('..')) continue;
    let exists = false;
    try {
      lstatSync(join(stage, rel));
      exists = true;
    } catch {
      /* free */
    }
    if (exists) continue; // a real program from a package wins
    place(stage, rel, { kind: 'symlink', target: '/bin/busybox' });
    n++;
  }
  return n;
}

export async function assembleRootfs(stage: string, plan: RootfsPlan, logFile: string): Promise<RootfsResult> {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const [d, mode] of SKELETON) {
    ensureDir(stage, d);
    chmodSync(join(stage, d), mode);
  }
  const used = new Set<string>();

  // 1. Requested packages, whole (sorted: a deterministic winner on overlap).
  const byName = new Map(plan.packages.map((p) => [p.pkg.name, p]));
  for (const name of [...plan.requested].sort()) {
    const pkg = byName.get(name);
    if (!pkg) throw new VrioError(`rootfs: requested package ${name} is not in the locked closure`);
    for (const e of pkg.entries) if (!excluded(e.path)) copyPackageEntry(stage, pkg, e);
    used.add(name);
  }

  // 2. busybox applets where nothing real exists.
  const applets = await busyboxLinks(stage);
  log().debug(`rootfs ${plan.role}: ${applets} busybox applet links`);
  // The kernel runs /init from an initramfs; busybox picks the applet by name.
  place(stage, 'init', { kind: 'symlink', target: 'bin/busybox' });

  // 3. Overlays, then generated files and helper binaries.
  for (const dir of plan.overlayDirs) copyTree(dir, stage, '');
  for (const g of plan.generated) place(stage, g.path, { kind: 'data', data: g.data, mode: g.mode });
  for (const [dest, src] of Object.entries(plan.binaries)) place(stage, dest, { kind: 'file', src, mode: 0o755 });

  // 4. Kernel modules (without the build/source links back into the build tree).
  const k = plan.kernel;
  const modSrc = join(k.modulesRoot, 'lib/modules', k.release);
  const modules: string[] = [];
  if (existsSync(modSrc)) {
    copyTree(modSrc, stage, `lib/modules/${k.release}`, (rel) => rel === 'build' || rel === 'source');
    await run('depmod', ['-b', stage, k.release], { logFile });
    for (const f of walkFiles(join(stage, 'lib/modules', k.release))) {
      const m = /([^/]+)\.ko(\.(xz|gz|zst))?$/.exec(f);
      if (m) modules.push(m[1].replace(/-/g, '_'));
    }
    modules.sort();
  }

  // 5. Shared-library closure.
  const byPath = new Map<string, LibSource>();
  const bySoname = new Map<string, LibSource>();
  for (const pkg of [...plan.packages].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1))) {
    for (const e of pkg.entries) {
      if (e.type === 'dir') continue;
      if (!byPath.has(e.path)) byPath.set(e.path, { pkg, entry: e });
      const dir = posix.dirname(e.path);
      if (LIB_DIRS.includes(dir) && !bySoname.has(posix.basename(e.path))) bySoname.set(posix.basename(e.path), { pkg, entry: e });
    }
  }
  const libraries: Record<string, string> = {};
  const inStage = (rel: string) => {
    try {
      lstatSync(join(stage, rel));
      return true;
    } catch {
      return false;
    }
  };
  /** Copy a path (following symlink chains inside the packages) into the stage. */
  const pull = (rel: string, depth = 0): string => {
    if (depth > 16) throw new VrioError(`rootfs: symlink loop at ${rel}`);
    const src = byPath.get(rel);
    if (!src) {
      if (inStage(rel) && !lstatSync(join(stage, rel)).isSymbolicLink()) return rel; // e.g. from an overlay
      throw new VrioError(`rootfs: ${rel} is not in any package of the closure`);
    }
    if (!inStage(rel)) {
      copyPackageEntry(stage, src.pkg, src.entry);
      libraries[rel] = src.pkg.pkg.name;
      used.add(src.pkg.pkg.name);
    }
    if (src.entry.type === 'symlink') {
      const target = resolveLinkTarget(rel, src.entry.target as string) as string;
      return pull(target, depth + 1);
    }
    return rel;
  };
  const seen = new Set<string>();
  const queue = walkFiles(stage).filter((f) => !f.startsWith('lib/modules/'));
  const problems: string[] = [];
  while (queue.length) {
    const f = queue.shift() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    const head = readFileSync(join(stage, f));
    const elf = readElf(head);
    if (!elf) continue;
    const wants: string[] = [];
    if (elf.interp) {
      const rel = elf.interp.replace(/^\/+/, '');
      if (!inStage(rel) || lstatSync(join(stage, rel)).isSymbolicLink()) {
        try {
          wants.push(pull(rel));
        } catch (e) {
          problems.push(`${f}: interpreter ${elf.interp}: ${(e as Error).message}`);
        }
      }
    }
    const unmet = elf.needed.filter((so) => !LIB_DIRS.some((d) => inStage(`${d}/${so}`)) && !bySoname.has(so));
    if (unmet.length && !elf.interp && !libraries[f]) {
      // A plugin (a shared object no program links to, e.g. a tc module) whose
      // optional dependency is not in the closure: leave it out, say so.
      rmSync(join(stage, f), { force: true });
      log().warn(`rootfs ${plan.role}: left out ${f}: needs ${unmet.join(', ')} (not in the package closure)`);
      continue;
    }
    for (const so of elf.needed) {
      const have = LIB_DIRS.map((d) => `${d}/${so}`).find((p) => inStage(p));
      if (have) {
        wants.push(pull(have));
        continue;
      }
      const src = bySoname.get(so);
      if (!src) {
        problems.push(`${f} needs ${so}, which no package of the role's closure provides`);
        continue;
      }
      wants.push(pull(src.entry.path));
    }
    for (const w of wants) if (!seen.has(w)) queue.push(w);
  }
  if (problems.length) {
    throw new VrioError(`rootfs for role ${plan.role}: missing shared libraries:\n  ${problems.join('\n  ')}`, {
      hint: 'add the Debian package that ships the library to the role package list',
    });
  }
  return { dir: stage, libraries, packagesUsed: [...used].sort(), modules };
}
