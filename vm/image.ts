// What smoke and the lab need to know about a built image, read from the
// image directory the image stage wrote (out/images/<role>/): the ISO, the
// kernel/initramfs pair, manifest.json (role, kernel release, modules, pinned
// SSH host keys) and the client key that logs in as root.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, VrioError } from '../lib/errors.js';
import { readImageManifest, type ImageManifest } from '../builder/image/image-manifest.js';

export interface SmokeImage {
  /** Short name for output: the role. */
  name: string;
  role: string;
  kind: ImageManifest['kind'];
  dir: string;
  iso?: string;
  kernel?: string;
  initramfs?: string;
  manifestFile: string;
  /** The image's manifest.json, schema-checked. */
  manifest: ImageManifest;
  hostKeyPins: string[];
  clientKey: string;
  kernelRelease: string;
  /** Kernel modules the image ships (the manifest's kernel.modules). */
  modules: string[];
  /** manifest.json's sha256 of the ISO, when it has one. */
  isoSha256?: string;
}

/** Resolve IMAGE (an image directory, its ISO, or its manifest.json) to what smoke needs. */
export function loadImage(arg: string, cwd: string, o: { key?: string } = {}): SmokeImage {
  const p = resolve(cwd, arg);
  if (!existsSync(p))
    throw new InputError([
      {
        file: arg,
        pointer: '',
        rule: 'exists',
        message: 'no such image directory or file',
        hint: 'give an image directory such as out/images/iohyp (built by `vrio build`)',
      },
    ]);
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  const manifestFile = join(dir, 'manifest.json');
  const m = readImageManifest(manifestFile);
  const role = m.role;
  // The builder's output names; what is there is what can be booted.
  const file = (name: string): string | undefined => {
    const f = join(dir, name);
    return existsSync(f) && statSync(f).isFile() ? f : undefined;
  };
  const iso = p.endsWith('.iso') ? p : file(`${role}.iso`);
  const hostKeyPins = Object.values(m.hostKeys);
  if (!hostKeyPins.length)
    throw new InputError([
      {
        file: manifestFile,
        pointer: '/hostKeys',
        rule: 'required',
        message: 'no SSH host key fingerprints (SHA256:...) in the image manifest: cannot check whose sshd answers',
        hint: 'images built with image.hostKeys: first-boot cannot be checked; build with hostKeys: build',
      },
    ]);
  const keyCands = [o.key ? resolve(cwd, o.key) : undefined, resolve(dir, '../../keys/id_ed25519')].filter((x): x is string => Boolean(x));
  const clientKey = keyCands.find((k) => existsSync(k));
  if (!clientKey)
    throw new VrioError(`no client key to log into ${role}: looked for ${keyCands.join(', ')}`, {
      hint: 'pass --key FILE (the private key whose public half the image authorises)',
    });
  return {
    name: role,
    role,
    kind: m.kind,
    dir,
    iso,
    kernel: file('vmlinuz'),
    initramfs: file('initramfs.img'),
    manifestFile,
    manifest: m,
    hostKeyPins,
    clientKey,
    kernelRelease: m.kernel.release,
    modules: m.kernel.modules,
    isoSha256: iso ? m.outputs[basename(iso)]?.sha256 : undefined,
  };
}
