// What smoke and the lab need to know about a built image, read from the
// image directory the image stage wrote (out/images/<role>/): the ISO, the
// kernel/initramfs pair, manifest.json (role, kernel release, modules, pinned
// SSH host keys) and the client key that logs in as root.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, VrioError } from '../lib/errors.js';

export interface SmokeImage {
  /** Short name for output: the role, else the directory name. */
  name: string;
  role: string;
  /** iohyp or guest (from the manifest, else guessed from the role name). */
  kind: 'iohyp' | 'guest' | 'unknown';
  dir: string;
  iso?: string;
  kernel?: string;
  initramfs?: string;
  manifestFile: string;
  hostKeyPins: string[];
  clientKey: string;
  kernelRelease?: string;
  /** Kernel modules the image ships (the manifest's kernel.modules); empty when not recorded. */
  modules: string[];
  /** The image's kernel line ("3.10", "6.1"...), when the manifest says. */
  kernelLine?: string;
  /** manifest.json's sha256 of the ISO, when recorded. */
  isoSha256?: string;
}

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

function pick(obj: Json, ...paths: string[]): unknown {
  for (const p of paths) {
    let cur: unknown = obj;
    for (const k of p.split('.')) cur = cur && typeof cur === 'object' ? (cur as Json)[k] : undefined;
    if (cur !== undefined && cur !== null) return cur;
  }
  return undefined;
}

function pinsOf(v: unknown): string[] {
  const vals = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v as Json) : typeof v === 'string' ? [v] : [];
  return vals
    .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' ? str((x as Json).fingerprint) ?? str((x as Json).sha256) : undefined))
    .filter((x): x is string => Boolean(x && x.startsWith('SHA256:')));
}

/** Resolve IMAGE (an image directory, its ISO, or its manifest.json) to what smoke needs. */
export function loadImage(arg: string, cwd: string, o: { key?: string } = {}): SmokeImage {
  const p = resolve(cwd, arg);
  if (!existsSync(p)) throw new InputError([{ file: arg, pointer: '', rule: 'exists', message: 'no such image directory or file', hint: 'give an image directory such as out/images/iohyp (built by `vrio build`)' }]);
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new InputError([{ file: manifestFile, pointer: '', rule: 'exists', message: 'image manifest missing: this does not look like a built image directory', hint: 'run `vrio build` (or `vrio image`) first' }]);
  let m: Json;
  try {
    m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Json;
  } catch (e) {
    throw new InputError([{ file: manifestFile, pointer: '', rule: 'json', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  const role = str(pick(m, 'role', 'role.name', 'image.role')) ?? basename(dir);
  const kindRaw = str(pick(m, 'kind', 'role.kind', 'roleKind', 'image.kind'));
  const kind = kindRaw === 'iohyp' || kindRaw === 'guest' ? kindRaw : /iohyp/.test(role) ? 'iohyp' : /guest/.test(role) ? 'guest' : 'unknown';
  const file = (rel: unknown, ...fallbacks: string[]): string | undefined => {
    const cands = [str(rel), ...fallbacks].filter((x): x is string => Boolean(x));
    for (const c of cands) {
      const f = resolve(dir, c);
      if (existsSync(f) && statSync(f).isFile()) return f;
    }
    return undefined;
  };
  const iso = p.endsWith('.iso') ? p : file(pick(m, 'files.iso', 'artifacts.iso', 'iso'), `${role}.iso`);
  const kernel = file(pick(m, 'files.kernel', 'artifacts.kernel', 'kernel.file'), 'vmlinuz', 'bzImage');
  const initramfs = file(pick(m, 'files.initramfs', 'artifacts.initramfs', 'initramfs'), 'initramfs.img');
  const hostKeyPins = pinsOf(pick(m, 'hostKeys', 'ssh.hostKeys'));
  if (!hostKeyPins.length) throw new InputError([{ file: manifestFile, pointer: '/hostKeys', rule: 'required', message: 'no SSH host key fingerprints (SHA256:...) in the image manifest: cannot check whose sshd answers' }]);
  const keyCands = [o.key ? resolve(cwd, o.key) : undefined, file(pick(m, 'clientKey', 'ssh.clientKey', 'files.clientKey')), resolve(dir, '../../keys/id_ed25519')].filter(
    (x): x is string => Boolean(x),
  );
  const clientKey = keyCands.find((k) => existsSync(k));
  if (!clientKey) throw new VrioError(`no client key to log into ${role}: looked for ${keyCands.join(', ')}`, { hint: 'pass --key FILE (the private key whose public half the image authorises)' });
  const modulesRaw = pick(m, 'kernel.modules', 'modules');
  const modules = Array.isArray(modulesRaw) ? modulesRaw.map((x) => (typeof x === 'string' ? x : str((x as Json)?.name))).filter((x): x is string => Boolean(x)) : [];
  return {
    name: role,
    role,
    kind,
    dir,
    iso,
    kernel,
    initramfs,
    manifestFile,
    hostKeyPins,
    clientKey,
    kernelRelease: str(pick(m, 'kernel.release', 'kernelRelease', 'release')),
    kernelLine: str(pick(m, 'kernel.line', 'kernelLine')),
    modules,
    // Output file names contain dots, so no dotted-path lookup here.
    isoSha256: iso ? str(((m.outputs as Json | undefined)?.[basename(iso)] as Json | undefined)?.sha256) : undefined,
  };
}
