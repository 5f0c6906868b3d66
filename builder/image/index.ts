// The image stage: KernelArtifacts + the role's packages, overlays and keys ->
// out/images/<role>/{<role>.iso, vmlinuz, initramfs.img, rootfs.tar,
// manifest.json, sbom.spdx.json}. Keyed by a hash of every input: unchanged
// inputs do no work. Everything is built in a temp directory and renamed into
// place, so an interrupted build never leaves a half image that looks done.
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError, VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { replaceDir, sha256, sha256File, tempSibling, withLock } from '../../lib/fsx.js';
import { formatBytes, log } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import { fingerprintOfLine } from '../../lib/ssh/fingerprint.js';
import type { ImageArtifacts, KernelArtifacts } from '../artifacts.js';
import { lockedPackages, lockRole, unpackedPackages, type LockedPackage, type UnpackedPackage } from '../debs/apt.js';
import type { Manifest, RoleSpec } from '../manifest.js';
import { CODECS, collectEntries, compress, initramfsBytes, writeTar } from './archive.js';
import { buildHelper, HELPER_SOURCE, type BuiltHelper } from './helper.js';
import { writeIso } from './iso.js';
import { deriveHostKey, dropbearPrivateKey, ensureClientKey, ensureHostSeed, fingerprint, publicLine, readHostSeed, type Ed25519Key } from './keys.js';
import { claimDir } from '../owned-dirs.js';
import { checkImageManifest, IMAGE_MANIFEST_FORMAT, readImageManifest, type ImageManifest } from './image-manifest.js';
import { assembleRootfs, type GeneratedFile, type RootfsResult } from './rootfs.js';
import { makeSbom } from './sbom.js';

export type ImageFormat = 'iso' | 'initramfs' | 'tar';

export interface ImageOptions {
  /** Formats to write (default: the manifest's image.formats). */
  formats?: ImageFormat[];
  /** Package lock file (default: vrio.lock.json beside the manifest, else in the output dir). */
  lockFile?: string;
  /** Resolve packages again even when the lock matches. */
  updateLock?: boolean;
  /** Extra authorized public key files (--ssh-key), added to the manifest's. */
  sshKeys?: string[];
  /** Where host-seed and the client key live (default <outputDir>/keys). */
  keysDir?: string;
  /** Rebuild even when the inputs are unchanged. */
  force?: boolean;
  /**
   * Stops the build between steps (Ctrl-C). Much of the image work is in this
   * process (rootfs, cpio), which a SIGINT to the process group does not stop.
   */
  signal?: AbortSignal;
}

export function defaultLockFile(m: Manifest): string {
  return m.file ? join(m.file, '..', 'vrio.lock.json') : join(m.outputDir, 'vrio.lock.json');
}

function toolVersion(): string {
  return (JSON.parse(readFileSync(dataPath('package.json'), 'utf8')) as { version: string }).version;
}

let toolVersionsOnce: Promise<Record<string, string>> | undefined;

/** Versions of the host tools whose output lands in the image (part of the cache key); asked once per process. */
function toolVersions(): Promise<Record<string, string>> {
  return (toolVersionsOnce ??= queryToolVersions());
}

async function queryToolVersions(): Promise<Record<string, string>> {
  const pkgs = ['xorriso', 'grub-efi-amd64-bin', 'grub-common', 'isolinux', 'syslinux-common', 'mtools', 'dosfstools', 'musl-tools', 'gcc', 'kmod', 'zstd'];
  const r = await run('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n', ...pkgs], { allowFail: true });
  const out: Record<string, string> = { node: process.version };
  for (const line of r.stdout.split('\n')) {
    const [n, v] = line.trim().split(' ');
    if (n && v) out[n] = v;
  }
  return out;
}

/** Hash of every file under a directory (path + mode bit + content), sorted. */
function treeHash(dir: string): string {
  const parts: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    for (const name of readdirSorted(abs)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else parts.push(`${r}\0${st.mode & 0o111 ? 'x' : '-'}\0${sha256(readFileSync(join(dir, r)))}`);
    }
  };
  if (existsSync(dir)) walk('');
  return sha256(parts.join('\n'));
}

function readdirSorted(d: string): string[] {
  return existsSync(d) && statSync(d).isDirectory() ? readdirSync(d).sort() : [];
}

function overlayDir(m: Manifest, name: string): string {
  // A bare name is one of ours (rootfs/overlays/<name>); anything with a slash is a user path.
  if (!name.includes('/')) return dataPath('rootfs/overlays', name);
  return m.file ? join(m.file, '..', name) : name;
}

function authorizedKeyLines(files: string[]): string[] {
  const lines: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new InputError([
        { file: f, pointer: '/image/sshAuthorizedKeys', rule: 'readable', message: `cannot read SSH public key file (${(e as NodeJS.ErrnoException).code})` },
      ]);
    }
    text.split('\n').forEach((l, i) => {
      const line = l.trim();
      if (!line || line.startsWith('#')) return;
      if (!/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/.test(line)) {
        throw new InputError([
          {
            file: f,
            pointer: '',
            line: i + 1,
            column: 1,
            rule: 'ssh-public-key',
            message: 'not an OpenSSH public key line',
            hint: 'give the .pub file, e.g. ~/.ssh/id_ed25519.pub',
          },
        ]);
      }
      lines.push(line);
    });
  }
  return lines;
}

function outputInfo(file: string): Promise<{ sha256: string; size: number }> {
  return sha256File(file).then((h) => ({ sha256: h, size: statSync(file).size }));
}

/** A finished image dir whose manifest matches `inputHash` and whose outputs are intact (by size). */
function cachedImage(dir: string, inputHash: string): ImageManifest | undefined {
  try {
    // An unreadable manifest, or one of another format version, means: build again.
    const man = readImageManifest(join(dir, 'manifest.json'));
    if (man.inputHash !== inputHash) return undefined;
    for (const [name, o] of Object.entries(man.outputs)) if (statSync(join(dir, name)).size !== o.size) return undefined;
    return man;
  } catch {
    return undefined;
  }
}

function artifactsOf(role: string, dir: string, man: ImageManifest, clientKey?: string): ImageArtifacts {
  const has = (n: string) => (man.outputs[n] ? join(dir, n) : undefined);
  return {
    role,
    dir,
    iso: has(`${role}.iso`),
    kernel: join(dir, 'vmlinuz'),
    initramfs: has('initramfs.img'),
    tar: has('rootfs.tar'),
    manifest: join(dir, 'manifest.json'),
    sbom: join(dir, 'sbom.spdx.json'),
    hostKeys: man.hostKeys,
    clientKey,
  };
}

/**
 * Check the image inputs that can be wrong (key files, overlays, roles) before
 * any long step runs: a bad --ssh-key should not cost a kernel build first.
 */
export function checkImageInputs(m: Manifest, roles: string[], opts: ImageOptions = {}): void {
  for (const r of roles) {
    if (!m.roles[r]) throw new VrioError(`no role '${r}' in the manifest`, { hint: `roles: ${Object.keys(m.roles).join(', ')}` });
    for (const o of m.roles[r].overlays) {
      const d = overlayDir(m, o);
      if (!existsSync(d)) {
        throw new InputError([
          {
            file: m.file ?? 'builder/defaults/vrio.yaml',
            pointer: `/roles/${r}/overlays`,
            rule: 'overlay-exists',
            message: `overlay directory ${d} does not exist`,
          },
        ]);
      }
    }
  }
  authorizedKeyLines([...m.image.sshAuthorizedKeys, ...(opts.sshKeys ?? [])]);
}

/** The image's content-addressed key: a hash of every input that reaches its bytes. */
async function imageKey(
  m: Manifest,
  role: RoleSpec,
  kernel: Pick<KernelArtifacts, 'hash' | 'release' | 'bzImage'>,
  formats: ImageFormat[],
  authorized: string[],
  hostKey: Ed25519Key | undefined,
  locked: LockedPackage[],
) {
  const tools = await toolVersions();
  const overlayDirs = role.overlays.map((o) => overlayDir(m, o));
  for (const d of overlayDirs) if (!existsSync(d)) throw new VrioError(`role ${role.name}: overlay directory ${d} does not exist`);
  const inputs = {
    vrio: toolVersion(),
    role: { ...role, enabled: undefined },
    image: { compression: m.image.compression, codecs: CODECS, volumeId: m.image.volumeId, hostKeys: m.image.hostKeys, formats },
    sourceDateEpoch: m.sourceDateEpoch,
    kernel: { hash: kernel.hash, release: kernel.release, bzImage: await sha256File(kernel.bzImage) },
    packages: locked.map((p) => `${p.name} ${p.version} ${p.sha256}`),
    overlays: overlayDirs.map(treeHash),
    helper: role.controlHelper ? sha256(readFileSync(dataPath(HELPER_SOURCE))) : null,
    licenses: sha256(readFileSync(dataPath('rootfs/licenses.yaml'))),
    exclude: sha256(readFileSync(dataPath('rootfs/exclude.txt'))),
    authorized: authorized.map((l) => fingerprintOfLine(l)),
    hostKey: hostKey ? publicLine(hostKey, '') : 'first-boot',
    tools,
  };
  return { inputHash: sha256(JSON.stringify(inputs)), tools, overlayDirs, bzImageSha256: inputs.kernel.bzImage };
}

/**
 * Would `buildImage` reuse the image in <out>/images/<role>? Read-only: a
 * missing client key, host seed or package lock means the build makes one, so
 * the image is stale without computing its key.
 */
export async function imageStatus(
  m: Manifest,
  roleName: string,
  kernel: Pick<KernelArtifacts, 'hash' | 'release' | 'bzImage'>,
  opts: ImageOptions = {},
): Promise<{ fresh: boolean; why: string }> {
  const role = m.roles[roleName];
  const formats = [...new Set(opts.formats ?? m.image.formats)].sort() as ImageFormat[];
  const keysDir = opts.keysDir ?? join(m.outputDir, 'keys');
  if (opts.force) return { fresh: false, why: '--force' };
  let authorized = authorizedKeyLines([...m.image.sshAuthorizedKeys, ...(opts.sshKeys ?? [])]);
  if (!authorized.length) {
    const pub = join(keysDir, 'id_ed25519.pub');
    if (!existsSync(pub) || !existsSync(join(keysDir, 'id_ed25519'))) return { fresh: false, why: `no client key yet (${pub} is made)` };
    authorized = [readFileSync(pub, 'utf8').trim()];
  }
  let hostKey: Ed25519Key | undefined;
  if (m.image.hostKeys === 'build') {
    const seed = readHostSeed(keysDir);
    if (!seed) return { fresh: false, why: `no host-key seed yet (${join(keysDir, 'host-seed')} is made)` };
    hostKey = deriveHostKey(seed, roleName);
  }
  const lockFile = opts.lockFile ?? defaultLockFile(m);
  const locked = opts.updateLock ? undefined : lockedPackages(lockFile, roleName, role.packages);
  if (!locked) return { fresh: false, why: opts.updateLock ? '--update-lock' : `the package list is not locked in ${lockFile} (resolved again)` };
  const { inputHash } = await imageKey(m, role, kernel, formats, authorized, hostKey, locked);
  const dir = join(m.outputDir, 'images', roleName);
  if (cachedImage(dir, inputHash)) return { fresh: true, why: `${dir} matches input ${inputHash.slice(0, 12)}` };
  let was: string | undefined;
  try {
    was = readImageManifest(join(dir, 'manifest.json')).inputHash;
  } catch {
    /* no image yet */
  }
  return {
    fresh: false,
    why:
      was === undefined
        ? `no image in ${dir}`
        : was === inputHash
          ? `outputs in ${dir} are incomplete`
          : `inputs changed (input ${was.slice(0, 12)} -> ${inputHash.slice(0, 12)})`,
  };
}

/** Build (or reuse) the image of one role from its kernel. */
export async function buildImage(m: Manifest, roleName: string, kernel: KernelArtifacts, opts: ImageOptions = {}): Promise<ImageArtifacts> {
  const role: RoleSpec | undefined = m.roles[roleName];
  if (!role) throw new VrioError(`no role '${roleName}' in the manifest`, { hint: `roles: ${Object.keys(m.roles).join(', ')}` });
  const formats = [...new Set(opts.formats ?? m.image.formats)].sort() as ImageFormat[];
  if (!formats.length) throw new VrioError('no image formats selected');
  const imagesDir = join(m.outputDir, 'images');
  claimDir(m.outputDir, 'output'); // before withLock creates <outputDir>/images
  return withLock(imagesDir, () => buildLocked(m, role, kernel, formats, opts), {
    waitMs: 10 * 60_000,
    what: `image output ${imagesDir}`,
    signal: opts.signal,
  });
}

/** The SSH keys that go into one role's image. */
interface ImageKeys {
  /** The client key made for the build when the manifest authorizes none. */
  clientKey: string | undefined;
  authorized: string[];
  hostKey: Ed25519Key | undefined;
  /** Type -> fingerprint, as the manifest and /etc/vrio/host-keys list them. */
  hostKeys: Record<string, string>;
}

/** One image being built: its inputs and where it writes. */
interface ImageBuild {
  m: Manifest;
  role: RoleSpec;
  kernel: KernelArtifacts;
  formats: ImageFormat[];
  opts: ImageOptions;
  keys: ImageKeys;
  locked: LockedPackage[];
  key: Awaited<ReturnType<typeof imageKey>>;
  logFile: string;
  /** Scratch (staged rootfs, cpio, ISO tree), removed after a good build. */
  work: string;
  /** The image dir being written, renamed over the final dir when complete. */
  tmpOut: string;
}

type OutputInfo = Record<string, { sha256: string; size: number }>;

async function buildLocked(m: Manifest, role: RoleSpec, kernel: KernelArtifacts, formats: ImageFormat[], opts: ImageOptions): Promise<ImageArtifacts> {
  const r = role.name;
  const finalDir = join(m.outputDir, 'images', r);
  const keys = await imageKeys(m, r, opts);
  const locked = await lockRole(opts.lockFile ?? defaultLockFile(m), r, role.packages, opts.updateLock);
  const key = await imageKey(m, role, kernel, formats, keys.authorized, keys.hostKey, locked);
  if (!opts.force) {
    const hit = cachedImage(finalDir, key.inputHash);
    if (hit) {
      // Outputs of a build from before their mode was set are fixed on the way.
      if (keys.hostKey) protectHostKeyOutputs(finalDir, r);
      log().info(`image ${r}: up to date (${finalDir})`);
      return artifactsOf(r, finalDir, hit, keys.clientKey);
    }
  }

  log().step(`image ${r}: kernel ${kernel.release}, ${role.packages.length} packages, formats ${formats.join(',')}`);
  const { work, tmpOut } = makeWorkDirs(m, r, finalDir);
  const b: ImageBuild = { m, role, kernel, formats, opts, keys, locked, key, logFile: join(m.outputDir, 'logs', `image-${r}.log`), work, tmpOut };
  try {
    // Independent: the package set (cached unpack) and the helper's compile.
    const [unpacked, helper] = await Promise.all([
      unpackedPackages(locked, m.cacheDir),
      role.controlHelper
        ? buildHelper(join(work, 'helper'), b.logFile, { dir: join(m.cacheDir, 'helper'), toolchain: JSON.stringify(key.tools) })
        : Promise.resolve(undefined),
    ]);
    opts.signal?.throwIfAborted();
    const content = imageContent(b);
    const { rootfs, entries } = await stageRootfs(b, unpacked, helper, generatedFiles(b, content));
    const outInfo: OutputInfo = {};
    await writeKernelAndArchives(b, entries, outInfo);
    writeSbom(b, unpacked, rootfs, helper, outInfo);
    opts.signal?.throwIfAborted();
    if (formats.includes('iso')) await writeImageIso(b, content, outInfo);
    const manifest = await imageManifest(b, rootfs, helper, outInfo);
    await publishImage(b, manifest, finalDir);
    return artifactsOf(r, finalDir, manifest, keys.clientKey);
  } catch (e) {
    rmSync(tmpOut, { recursive: true, force: true });
    throw e;
  }
}

/** The authorized keys (the manifest's, else a client key made once) and the host key derived from the seed. */
async function imageKeys(m: Manifest, r: string, opts: ImageOptions): Promise<ImageKeys> {
  const keysDir = opts.keysDir ?? join(m.outputDir, 'keys');
  const keyFiles = [...m.image.sshAuthorizedKeys, ...(opts.sshKeys ?? [])];
  let clientKey: string | undefined;
  let authorized = authorizedKeyLines(keyFiles);
  if (!authorized.length) {
    const ck = await ensureClientKey(keysDir);
    clientKey = ck.privateKey;
    authorized = [ck.publicLine];
  }
  const hostKey = m.image.hostKeys === 'build' ? deriveHostKey(ensureHostSeed(keysDir), r) : undefined;
  const hostKeys: Record<string, string> = hostKey ? { 'ssh-ed25519': fingerprint(hostKey) } : {};
  return { clientKey, authorized, hostKey, hostKeys };
}

/** A fresh work dir and temp output dir, both 0700 until the outputs have their modes. */
function makeWorkDirs(m: Manifest, r: string, finalDir: string): { work: string; tmpOut: string } {
  const work = join(m.outputDir, 'build', 'image', r);
  rmSync(work, { recursive: true, force: true });
  // The work dir (staged rootfs, cpio, ISO tree) and the output dir being written hold
  // the host private key: only we may enter them until the outputs have their modes.
  mkdirSync(dirname(work), { recursive: true });
  mkdirSync(work, { mode: 0o700 });
  mkdirSync(join(m.outputDir, 'images'), { recursive: true });
  // tempSibling also removes what a killed earlier build left (.<role>.tmp-<pid>-*).
  const tmpOut = tempSibling(finalDir);
  rmSync(tmpOut, { recursive: true, force: true });
  mkdirSync(tmpOut, { mode: 0o700 });
  return { work, tmpOut };
}

/** /etc/vrio/image.json in the image (and vrio/image.json on the ISO): what the image is. */
function imageContent(b: ImageBuild): Record<string, unknown> {
  const { m, role, kernel } = b;
  return {
    role: role.name,
    kind: role.kind,
    inputHash: b.key.inputHash,
    kernel: { release: kernel.release, hash: kernel.hash },
    packages: Object.fromEntries(b.locked.map((p) => [p.name, p.version])),
    hostKeys: b.keys.hostKeys,
    modules: role.modules,
    sourceDateEpoch: m.sourceDateEpoch,
  };
}

/** The files the build writes into the rootfs: name, role, keys, image.json. */
function generatedFiles(b: ImageBuild, content: Record<string, unknown>): GeneratedFile[] {
  const r = b.role.name;
  const { hostKey, hostKeys, authorized } = b.keys;
  const generated: GeneratedFile[] = [
    { path: 'etc/hostname', data: `vrio-${r}\n`, mode: 0o644 },
    { path: 'etc/vrio/role', data: `${r}\nkind=${b.role.kind}\n`, mode: 0o644 },
    {
      path: 'etc/vrio/host-keys',
      data: Object.entries(hostKeys)
        .map(([t, f]) => `${t} ${f}\n`)
        .join(''),
      mode: 0o644,
    },
    { path: 'root/.ssh/authorized_keys', data: authorized.join('\n') + '\n', mode: 0o600 },
  ];
  if (hostKey) {
    generated.push({ path: 'etc/dropbear/dropbear_ed25519_host_key', data: dropbearPrivateKey(hostKey), mode: 0o600 });
    generated.push({ path: 'etc/dropbear/dropbear_ed25519_host_key.pub', data: publicLine(hostKey, `root@vrio-${r}`) + '\n', mode: 0o644 });
  }
  generated.push({ path: 'etc/vrio/image.json', data: JSON.stringify(content, null, 2) + '\n', mode: 0o644 });
  return generated;
}

/** The rootfs staged in the work dir, and its entries for the archives. */
async function stageRootfs(
  b: ImageBuild,
  unpacked: UnpackedPackage[],
  helper: BuiltHelper | undefined,
  generated: GeneratedFile[],
): Promise<{ rootfs: RootfsResult; entries: ReturnType<typeof collectEntries> }> {
  const { role, kernel } = b;
  const r = role.name;
  const bar = log().progress(`rootfs ${r}`);
  const stage = join(b.work, 'rootfs');
  const rootfs = await assembleRootfs(
    stage,
    {
      role: r,
      packages: unpacked,
      requested: role.packages,
      kernel,
      overlayDirs: b.key.overlayDirs,
      generated,
      binaries: helper ? { 'usr/sbin/vrio-iohyp': helper.path } : {},
    },
    b.logFile,
  );
  fixSshModes(stage);
  const missingMods = role.modules.filter((x) => kernel.modules.length && !rootfs.modules.includes(x.replace(/-/g, '_')));
  if (missingMods.length && kernel.modules.length) log().warn(`image ${r}: modules not in the kernel's staged set: ${missingMods.join(', ')}`);
  b.opts.signal?.throwIfAborted();
  const entries = collectEntries(stage);
  bar.done(`${entries.length} entries, ${rootfs.packagesUsed.length} packages used`);
  return { rootfs, entries };
}

/**
 * vmlinuz, initramfs.img and rootfs.tar into the temp output dir. Output hashes
 * are taken from the bytes as they are written (or known already, like the
 * kernel's), not by reading the files back.
 */
async function writeKernelAndArchives(b: ImageBuild, entries: ReturnType<typeof collectEntries>, outInfo: OutputInfo): Promise<void> {
  const { m, kernel, formats, tmpOut } = b;
  const r = b.role.name;
  copyFileSync(kernel.bzImage, join(tmpOut, 'vmlinuz'));
  outInfo['vmlinuz'] = { sha256: b.key.bzImageSha256, size: statSync(kernel.bzImage).size };
  // The ISO carries the initramfs; it is also written beside it for -kernel boots.
  // Compression (thread pool or zstd) and the tar run side by side.
  const needInitramfs = formats.includes('initramfs') || formats.includes('iso');
  const initramfsDone = needInitramfs
    ? (async () => {
        const cpio = initramfsBytes(entries, m.sourceDateEpoch);
        const data = await compress(cpio, m.image.compression, join(b.work, 'initramfs.cpio'));
        writeFileSync(join(tmpOut, 'initramfs.img'), data);
        outInfo['initramfs.img'] = { sha256: sha256(data), size: data.length };
        log().info(`initramfs ${r}: ${formatBytes(cpio.length)} -> ${formatBytes(data.length)} (${m.image.compression})`);
      })()
    : Promise.resolve();
  const tarDone = formats.includes('tar')
    ? writeTar(entries, m.sourceDateEpoch, join(tmpOut, 'rootfs.tar')).then((info) => void (outInfo['rootfs.tar'] = info))
    : Promise.resolve();
  // Both settle before either error is thrown: nothing keeps writing into tmpOut after cleanup.
  const settled = await Promise.allSettled([initramfsDone, tarDone]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}

/** sbom.spdx.json: the packages the rootfs really uses, the kernel and the helper. */
function writeSbom(b: ImageBuild, unpacked: UnpackedPackage[], rootfs: RootfsResult, helper: BuiltHelper | undefined, outInfo: OutputInfo): void {
  const sbom = makeSbom({
    role: b.role.name,
    inputHash: b.key.inputHash,
    sourceDateEpoch: b.m.sourceDateEpoch,
    toolVersion: toolVersion(),
    kernel: b.kernel,
    packages: unpacked.filter((u) => rootfs.packagesUsed.includes(u.pkg.name)),
    helper: helper ? { name: 'vrio-iohyp', sha256: helper.sha256 } : undefined,
  });
  const sbomText = JSON.stringify(sbom, null, 2) + '\n';
  writeFileSync(join(b.tmpOut, 'sbom.spdx.json'), sbomText);
  outInfo['sbom.spdx.json'] = { sha256: sha256(sbomText), size: Buffer.byteLength(sbomText) };
}

/** <role>.iso: kernel + initramfs, with image.json and the SBOM beside them. */
async function writeImageIso(b: ImageBuild, content: Record<string, unknown>, outInfo: OutputInfo): Promise<void> {
  const { m, role, kernel, work, tmpOut } = b;
  const r = role.name;
  const isoBar = log().progress(`iso ${r}`);
  const contentFile = join(work, 'image.json');
  writeFileSync(contentFile, JSON.stringify(content, null, 2) + '\n');
  await writeIso(
    {
      volumeId: m.image.volumeId,
      title: `vRIO ${r} (${kernel.release})`,
      cmdline: role.cmdline,
      kernel: kernel.bzImage,
      initramfs: join(tmpOut, 'initramfs.img'),
      extra: { 'vrio/image.json': contentFile, 'vrio/sbom.spdx.json': join(tmpOut, 'sbom.spdx.json') },
      sourceDateEpoch: m.sourceDateEpoch,
      work: join(work, 'iso'),
      logFile: b.logFile,
    },
    join(tmpOut, `${r}.iso`),
  );
  outInfo[`${r}.iso`] = await outputInfo(join(tmpOut, `${r}.iso`));
  isoBar.done(formatBytes(statSync(join(tmpOut, `${r}.iso`)).size));
}

/** manifest.json: every input and output of the image, with the host keys to pin. */
async function imageManifest(b: ImageBuild, rootfs: RootfsResult, helper: BuiltHelper | undefined, outInfo: OutputInfo): Promise<ImageManifest> {
  const { m, role, kernel, formats, locked } = b;
  const { hostKey, hostKeys, authorized } = b.keys;
  const r = role.name;
  return {
    format: IMAGE_MANIFEST_FORMAT,
    role: r,
    kind: role.kind,
    inputHash: b.key.inputHash,
    sourceDateEpoch: m.sourceDateEpoch,
    builtBy: `vrio-appliance ${toolVersion()}`,
    kernel: {
      release: kernel.release,
      hash: kernel.hash,
      configSha256: kernel.config && existsSync(kernel.config) ? await sha256File(kernel.config) : null,
      bzImageSha256: b.key.bzImageSha256,
      inputs: kernel.inputs,
      patches: kernel.patches,
      modules: rootfs.modules,
    },
    image: {
      formats,
      compression: m.image.compression,
      volumeId: m.image.volumeId,
      cmdline: role.cmdline,
      overlays: role.overlays,
      hostKeyMode: m.image.hostKeys,
    },
    packages: locked.map((p) => ({ name: p.name, version: p.version, arch: p.arch, sha256: p.sha256, used: rootfs.packagesUsed.includes(p.name) })),
    libraries: rootfs.libraries,
    helper: helper ? { path: '/usr/sbin/vrio-iohyp', compiler: helper.compiler, sha256: helper.sha256 } : null,
    tools: b.key.tools,
    hostKeys,
    // Whole public keys, for a known_hosts line ("[host]:port " + key).
    hostPublicKeys: hostKey ? { 'ssh-ed25519': publicLine(hostKey, `root@vrio-${r}`) } : {},
    authorizedKeys: authorized.map((l) => fingerprintOfLine(l)),
    // Sorted by name, as before the hashes were taken on the fly.
    outputs: Object.fromEntries(Object.entries(outInfo).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

/** manifest.json last, modes set, then the temp dir renamed over the final one: no half image ever looks done. */
async function publishImage(b: ImageBuild, manifest: ImageManifest, finalDir: string): Promise<void> {
  const { tmpOut } = b;
  checkImageManifest(manifest, join(finalDir, 'manifest.json'));
  writeFileSync(join(tmpOut, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (b.keys.hostKey) protectHostKeyOutputs(tmpOut, b.role.name);
  chmodSync(tmpOut, 0o755);
  b.opts.signal?.throwIfAborted();
  await replaceDir(tmpOut, finalDir);
  rmSync(b.work, { recursive: true, force: true });
  log().info(
    `image ${b.role.name}: ${Object.entries(manifest.outputs)
      .map(([n, o]) => `${n} ${formatBytes(o.size)}`)
      .join(', ')}`,
  );
}

/**
 * The outputs that carry the image's SSH host private key (ISO, initramfs, tar:
 * /etc/dropbear/dropbear_ed25519_host_key) are readable by their owner only:
 * anyone who reads one can impersonate every machine booted from the image.
 * Images whose host keys are made at first boot hold no private key and keep 0644.
 */
function protectHostKeyOutputs(dir: string, role: string): void {
  for (const n of [`${role}.iso`, 'initramfs.img', 'rootfs.tar']) if (existsSync(join(dir, n))) chmodSync(join(dir, n), 0o600);
}

/** Modes that matter to the SSH server's checks (it refuses group/world-writable homes). */
function fixSshModes(stage: string): void {
  for (const [p, mode] of [
    ['root', 0o700],
    ['root/.ssh', 0o700],
  ] as const) {
    // lstat: a package's `root/.ssh -> /somewhere` must not make us chmod the host's directory.
    let real = false;
    try {
      real = lstatSync(join(stage, 'root')).isDirectory() && lstatSync(join(stage, p)).isDirectory();
    } catch {
      /* absent */
    }
    if (real) chmodSync(join(stage, p), mode);
  }
}

/** Build images for several roles from their kernels. */
export async function buildImages(
  m: Manifest,
  kernels: Record<string, KernelArtifacts>,
  roles: string[],
  opts: ImageOptions = {},
): Promise<Record<string, ImageArtifacts>> {
  const out: Record<string, ImageArtifacts> = {};
  for (const r of roles) {
    const k = kernels[r];
    if (!k) throw new VrioError(`no kernel was built for role ${r}`);
    opts.signal?.throwIfAborted();
    out[r] = await buildImage(m, r, k, opts);
  }
  return out;
}
