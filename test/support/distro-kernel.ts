// KernelArtifacts from Debian's own packaged kernel (linux-image-*-amd64),
// without building anything. The image stage takes any KernelArtifacts; this
// one lets the rootfs/initramfs/ISO path be built and booted for real when no
// kernel build is at hand (development, and tests that are about images, not
// kernels). Only a chosen set of modules (plus their dependencies) is staged:
// the full distro set is hundreds of megabytes.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import type { KernelArtifacts } from '../../builder/artifacts.js';
import { parseDepends, resolveClosure, unpackedPackages, type LockedPackage } from '../../builder/debs/apt.js';

/** Modules that make a distro kernel useful for the appliances under QEMU or on hardware. */
export const DISTRO_KERNEL_MODULES = [
  'virtio_net',
  'virtio_blk',
  'virtio_pci',
  'virtio_console',
  'virtio_rng',
  'e1000',
  'e1000e',
  'macvtap',
  'macvlan',
  'tun',
  'bridge',
  'brd',
  '8021q',
];

async function candidate(name: string): Promise<LockedPackage> {
  const r = await resolveClosureTop(name);
  return r;
}

async function resolveClosureTop(name: string): Promise<LockedPackage> {
  const out = await run('apt-cache', ['show', '--no-all-versions', name], { allowFail: true });
  const m = /^Depends:\s*(.*)$/m.exec(out.stdout);
  // linux-image-amd64 is a metapackage: its first dependency is the real image.
  const real =
    parseDepends(m?.[1])
      .map((g) => g[0])
      .find((n) => /^linux-image-\d/.test(n)) ?? name;
  const one = await resolveClosure([real]);
  const p = one.get(real);
  if (!p) throw new VrioError(`cannot resolve ${real}`);
  return p;
}

function walkModules(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(dir, r)).isDirectory()) walkModules(dir, r, out);
    else if (/\.ko(\.\w+)?$/.test(name)) out.set(name.replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_'), r);
  }
  return out;
}

/**
 * Modules named plus everything they depend on. Debian ships no modules.dep
 * (its postinst makes it), so the dependencies come from each module's
 * modinfo "depends" field, round by round.
 */
async function moduleClosure(modDir: string, wanted: string[]): Promise<string[]> {
  const byName = walkModules(modDir);
  const out = new Set<string>();
  let round = wanted.map((w) => w.replace(/-/g, '_')).filter((w) => byName.has(w)); // absent = built in
  while (round.length) {
    const paths = round.map((n) => byName.get(n) as string).filter((p) => !out.has(p));
    paths.forEach((p) => out.add(p));
    if (!paths.length) break;
    const r = await run('modinfo', ['-F', 'depends', ...paths.map((p) => join(modDir, p))]);
    round = r.stdout
      .split(/[\n,]/)
      .map((x) => x.trim().replace(/-/g, '_'))
      .filter((x) => x && byName.has(x) && !out.has(byName.get(x) as string));
  }
  return [...out].sort();
}

export async function distroKernel(
  cacheDir: string,
  role: string,
  wanted: string[] = DISTRO_KERNEL_MODULES,
  pkgName = 'linux-image-amd64',
): Promise<KernelArtifacts> {
  const p = await candidate(pkgName);
  const [u] = await unpackedPackages([p], cacheDir);
  const modBase = join(u.root, 'lib/modules');
  const release = readdirSync(modBase)[0];
  if (!release) throw new VrioError(`${p.name}: no lib/modules/<release> inside`);
  const modDir = join(modBase, release);
  const key = `${p.sha256.slice(0, 16)}-${wanted.join(',').length}`;
  const modRoot = join(cacheDir, 'distro-kernel', key);
  const stagedDir = join(modRoot, 'lib/modules', release);
  const mods = await moduleClosure(modDir, wanted);
  if (!existsSync(join(stagedDir, 'modules.dep'))) {
    const tmp = `${modRoot}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const dest = join(tmp, 'lib/modules', release);
    mkdirSync(dest, { recursive: true });
    for (const m of mods) {
      mkdirSync(dirname(join(dest, m)), { recursive: true });
      copyFileSync(join(modDir, m), join(dest, m));
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      if (existsSync(join(modDir, f))) copyFileSync(join(modDir, f), join(dest, f));
    }
    await run('depmod', ['-b', tmp, release]);
    rmSync(modRoot, { recursive: true, force: true });
    mkdirSync(dirname(modRoot), { recursive: true });
    renameSync(tmp, modRoot);
    writeFileSync(join(modRoot, '.complete'), '');
  }
  return {
    role,
    release,
    hash: p.sha256,
    bzImage: join(u.root, 'boot', `vmlinuz-${release}`),
    systemMap: join(u.root, 'boot', `System.map-${release}`),
    config: join(u.root, 'boot', `config-${release}`),
    modulesRoot: modRoot,
    modules: mods
      .map((m) =>
        m
          .replace(/^.*\//, '')
          .replace(/\.ko(\.\w+)?$/, '')
          .replace(/-/g, '_'),
      )
      .sort(),
    sourceTree: '',
    buildDir: '',
    inputs: [{ name: p.name, kind: 'deb', ref: `${p.version} sha256:${p.sha256}`, license: 'GPL-2.0-only' }],
    patches: [],
  };
}
