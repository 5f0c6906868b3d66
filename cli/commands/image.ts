// `vrio image`: the image stage for one or all roles (kernels come from the
// kernel stage, which is a cached no-op when they are built already).
import { buildKernelDetailed } from '../../builder/kernel/index.js';
import { buildImages, checkImageInputs, type ImageFormat, type ImageOptions } from '../../builder/image/index.js';
import { readImageManifest } from '../../builder/image/image-manifest.js';
import type { ImageArtifacts } from '../../builder/artifacts.js';
import type { Manifest } from '../../builder/manifest.js';
import { UsageError } from '../../lib/errors.js';
import { formatBytes, formatDuration, table } from '../../lib/log.js';
import type { CommandContext, OptionSpec, ParsedValues } from '../command.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

const FORMATS: ImageFormat[] = ['iso', 'initramfs', 'tar'];

export const imageOptions: Record<string, OptionSpec> = {
  role: { type: 'string', short: 'r', list: true, arg: 'ROLE', description: 'only these roles (default: every enabled role)' },
  format: {
    type: 'string',
    list: true,
    choices: FORMATS,
    arg: 'LIST',
    description: 'image formats: iso, initramfs, tar (default: image.formats of the manifest)',
  },
  'ssh-key': {
    type: 'string',
    multiple: true,
    arg: 'FILE',
    complete: 'file',
    description: 'public key file to authorize for root (added to image.sshAuthorizedKeys)',
  },
  'lock-file': {
    type: 'string',
    arg: 'FILE',
    complete: 'file',
    description: 'package lock (default: vrio.lock.json beside the manifest, else in the output dir)',
  },
  'update-lock': { type: 'boolean', description: 'resolve the package lists again and rewrite the lock' },
  force: { type: 'boolean', description: 'rebuild even when no input changed' },
  offline: { type: 'boolean', description: 'never use the network for kernel sources' },
};

export function imageOptionsFrom(values: ParsedValues): ImageOptions {
  return {
    // Checked against FORMATS by the option table (cli/options.ts).
    formats: values.format as ImageFormat[] | undefined,
    sshKeys: values['ssh-key'] as string[] | undefined,
    lockFile: values['lock-file'] as string | undefined,
    updateLock: Boolean(values['update-lock']),
    force: Boolean(values.force),
  };
}

export function rolesFrom(m: Manifest, values: ParsedValues): string[] {
  const asked = values.role as string[] | undefined;
  for (const r of asked ?? []) if (!m.roles[r]) throw new UsageError(`no role '${r}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
  return (
    asked ??
    Object.values(m.roles)
      .filter((r) => r.enabled)
      .map((r) => r.name)
  );
}

/** Print what was built: a table, or JSON. */
export function report(ctx: CommandContext, images: Record<string, ImageArtifacts>, seconds: number): void {
  if (ctx.global.json) {
    ctx.log.event('images', { seconds, images });
    return;
  }
  const rows: string[][] = [];
  for (const [role, a] of Object.entries(images)) {
    const man = readImageManifest(a.manifest);
    for (const [name, o] of Object.entries(man.outputs)) rows.push([role, name, formatBytes(o.size), o.sha256.slice(0, 16)]);
  }
  ctx.log.print(table(['ROLE', 'OUTPUT', 'SIZE', 'SHA256'], rows));
  for (const a of Object.values(images)) {
    ctx.log.print(`${a.role}: ${a.dir}  host key ${Object.values(a.hostKeys)[0] ?? '(made at first boot)'}`);
  }
  const ck = Object.values(images).find((a) => a.clientKey)?.clientKey;
  if (ck) ctx.log.print(`log in with: ssh -i ${ck} root@<address>`);
  ctx.log.info(`done in ${formatDuration(seconds)}`);
}

export const imageCommand: Command = {
  name: 'image',
  summary: 'build the appliance images (ISO, kernel + initramfs, rootfs tar) of each role',
  usage: '[--role R]... [--format iso,initramfs,tar] [--ssh-key FILE]...',
  description:
    'Per role: Debian packages (locked in vrio.lock.json, fetched with apt into the cache, unpacked safely), overlays, the kernel modules and, for the I/O hypervisor, the /dev/iohyp helper, packed as a deterministic initramfs and a hybrid BIOS+UEFI ISO. Outputs go to <out>/images/<role>/ with manifest.json and an SPDX SBOM. Unchanged inputs: no work. The kernel stage runs first (a no-op when built).',
  examples: ['vrio image', 'vrio image --role guest --format initramfs', 'vrio image --ssh-key ~/.ssh/id_ed25519.pub'],
  options: {
    ...imageOptions,
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    const roles = rolesFrom(m, values);
    const opts = imageOptionsFrom(values);
    checkImageInputs(m, roles, opts);
    const started = Date.now();
    // Only the kernels of the roles asked for (a cached no-op when built).
    const built = await buildKernelDetailed(m, roles, { offline: Boolean(values.offline), signal: ctx.signal });
    const kernels = Object.fromEntries(Object.entries(built).map(([r, b]) => [r, b.artifacts]));
    const images = await buildImages(m, kernels, roles, { ...opts, signal: ctx.signal });
    report(ctx, images, (Date.now() - started) / 1000);
    return 0;
  },
};
