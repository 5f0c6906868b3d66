// Assemble one role's root file system in a staging directory:
//   1. every file of the packages the role asks for (minus docs and the like),
//   2. busybox applet links where no package put a real program,
//   3. overlays (init, network, sshd config) and generated files (keys, ids),
//   4. the kernel modules from the kernel stage, depmod-ed,
//   5. the shared-library closure of every ELF file: DT_NEEDED sonames and
//      the program interpreter, taken from the locked dependency packages
//      (never from the host), so only the libraries really used go in.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { log } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import type { KernelArtifacts } from '../artifacts.js';
import type { UnpackedPackage } from '../debs/apt.js';
import { readElf } from '../debs/elf.js';
import { resolveLinkTarget, type ExtractedEntry } from '../debs/extract.js';
import { fsLookup, resolvePath, Stage, type Node } from './stage-fs.js';

/** Package paths left out of every image: rootfs/exclude.txt (data, not code). */
let excludedCache: string[] | undefined;
function excludedPaths(): string[] {
  return (excludedCache ??= readFileSync(dataPath('rootfs/exclude.txt'), 'utf8')
    .split('\n')
    .map((l) =>
      l
        .replace(/#.*/, '')
        .trim()
        .replace(/^\/+|\/+$/g, ''),
    )
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

function copyPackageEntry(stage: Stage, pkg: UnpackedPackage, e: ExtractedEntry): void {
  const who = `package ${pkg.pkg.name}`;
  if (e.type === 'dir') {
    // A directory takes the mode of the package that creates it (a sticky spool, a
    // setgid mail dir), as with dpkg; one that exists already keeps its mode.
    const existed = stage.lstat(e.path) !== undefined;
    stage.mkdirs(e.path, who);
    if (!existed) chmodSync(join(stage.dir, e.path), e.mode);
  } else if (e.type === 'symlink') stage.place(e.path, { kind: 'symlink', target: e.target as string }, who);
  else stage.place(e.path, { kind: 'file', src: join(pkg.root, e.path), mode: e.mode }, who);
}

/** Copy a directory tree (overlays, modules) onto the stage; later layers win. */
function copyTree(src: string, stage: Stage, prefix: string, skip: (rel: string) => boolean = () => false): number {
  let n = 0;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(src, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const abs = join(src, r);
      const st = lstatSync(abs);
      const dest = prefix ? `${prefix}/${r}` : r;
      if (st.isDirectory()) {
        stage.mkdirs(dest, src);
        walk(r);
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(abs);
        if (resolveLinkTarget(dest, target) === undefined) throw new VrioError(`rootfs: symlink ${abs} -> ${target} points outside the image`);
        stage.place(dest, { kind: 'symlink', target }, src);
        n++;
      } else if (st.isFile()) {
        // Git keeps only the executable bit; normalise to 0755/0644.
        stage.place(dest, { kind: 'file', src: abs, mode: st.mode & 0o111 ? 0o755 : 0o644 }, src);
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
async function busyboxLinks(stage: Stage): Promise<number> {
  if (!stage.lstat('bin/busybox')?.isFile()) return 0;
  const bb = join(stage.dir, 'bin/busybox');
  // The Debian busybox-static binary is static and runs on any x86_64 host.
  const r = await run(bb, ['--list-full']);
  let n = 0;
  for (const line of r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort()) {
    const rel = line.replace(/^\/+/, '');
    if (rel === 'linuxrc' || rel.includes('..')) continue;
    if (stage.lstat(rel)) continue; // a real program from a package wins
    stage.place(rel, { kind: 'symlink', target: '/bin/busybox' }, 'busybox applet links');
    n++;
  }
  return n;
}

export async function assembleRootfs(stageDir: string, plan: RootfsPlan, logFile: string): Promise<RootfsResult> {
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  const stage = new Stage(stageDir);
  for (const [d, mode] of SKELETON) {
    stage.mkdirs(d, 'the skeleton');
    chmodSync(join(stageDir, d), mode);
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
  stage.place('init', { kind: 'symlink', target: 'bin/busybox' }, 'the /init link');

  // 3. Overlays, then generated files and helper binaries.
  for (const dir of plan.overlayDirs) copyTree(dir, stage, '');
  for (const g of plan.generated) stage.place(g.path, { kind: 'data', data: g.data, mode: g.mode }, `generated ${g.path}`);
  for (const [dest, src] of Object.entries(plan.binaries)) stage.place(dest, { kind: 'file', src, mode: 0o755 }, `helper ${src}`);

  // 4. Kernel modules (without the build/source links back into the build tree).
  const k = plan.kernel;
  const modSrc = join(k.modulesRoot, 'lib/modules', k.release);
  const modules: string[] = [];
  if (existsSync(modSrc)) {
    copyTree(modSrc, stage, `lib/modules/${k.release}`, (rel) => rel === 'build' || rel === 'source');
    await run('depmod', ['-b', stageDir, k.release], { logFile });
    for (const f of walkFiles(join(stageDir, 'lib/modules', k.release))) {
      const m = /([^/]+)\.ko(\.(xz|gz|zst))?$/.exec(f);
      if (m) modules.push(m[1].replace(/-/g, '_'));
    }
    modules.sort();
  }

  // 5. Shared-library closure.
  const byPath = new Map<string, LibSource>();
  const bySoname = new Map<string, LibSource>();
  const pkgDirs = new Set<string>();
  for (const pkg of [...plan.packages].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1))) {
    for (const e of pkg.entries) {
      for (let d = posix.dirname(e.path); d !== '.' && !pkgDirs.has(d); d = posix.dirname(d)) pkgDirs.add(d);
      if (e.type === 'dir') {
        pkgDirs.add(e.path);
        continue;
      }
      if (!byPath.has(e.path)) byPath.set(e.path, { pkg, entry: e });
      const dir = posix.dirname(e.path);
      if (LIB_DIRS.includes(dir) && !bySoname.has(posix.basename(e.path))) bySoname.set(posix.basename(e.path), { pkg, entry: e });
    }
  }
  const libraries: Record<string, string> = {};
  const inStage = (rel: string) => stage.lstat(rel) !== undefined;
  // The image as it will be once the closure is in: the stage, else the packages.
  const inStageFs = fsLookup(stageDir);
  const lookup = (rel: string): Node => {
    if (inStage(rel)) return inStageFs(rel);
    const src = byPath.get(rel);
    if (src) return src.entry.type === 'symlink' ? { kind: 'link', target: src.entry.target as string } : { kind: 'file' };
    return pkgDirs.has(rel) ? { kind: 'dir' } : undefined;
  };
  /** Copy a path (following symlink chains inside the packages) into the stage. */
  const pull = (rel: string, depth = 0): string => {
    if (depth > 16) throw new VrioError(`rootfs: symlink loop at ${rel}`);
    const src = byPath.get(rel);
    if (!src) {
      if (inStage(rel) && !stage.lstat(rel)?.isSymbolicLink()) return rel; // e.g. from an overlay
      throw new VrioError(`rootfs: ${rel} is not in any package of the closure`);
    }
    if (!inStage(rel)) {
      copyPackageEntry(stage, src.pkg, src.entry);
      libraries[rel] = src.pkg.pkg.name;
      used.add(src.pkg.pkg.name);
    }
    if (src.entry.type === 'symlink') {
      // One hop, resolved the way the booted image will: inside the image
      // (never on the host, and not lexically: `a/up/..` where `up` is a link
      // is not `a`), intermediate directory links followed, the last not.
      const to = src.entry.target as string;
      const target = resolvePath(to.startsWith('/') ? to : `${posix.dirname(rel)}/${to}`, lookup, false);
      if (target === undefined || target === '') throw new VrioError(`rootfs: symlink ${rel} -> ${to} leads to no file in the image`);
      return pull(target, depth + 1);
    }
    return rel;
  };
  const seen = new Set<string>();
  const queue = walkFiles(stageDir).filter((f) => !f.startsWith('lib/modules/'));
  const problems: string[] = [];
  while (queue.length) {
    const f = queue.shift() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    const head = readFileSync(join(stageDir, f));
    const elf = readElf(head);
    if (!elf) continue;
    const wants: string[] = [];
    if (elf.interp) {
      const rel = elf.interp.replace(/^\/+/, '');
      if (!inStage(rel) || stage.lstat(rel)?.isSymbolicLink()) {
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
      rmSync(join(stageDir, f), { force: true });
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
  return { dir: stageDir, libraries, packagesUsed: [...used].sort(), modules };
}
