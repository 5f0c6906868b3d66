import { resolve } from 'node:path';
import { smoke, type SmokeOptions } from '../../smoke/index.js';
import { loadImage } from '../../vm/image.js';
import type { AccelChoice } from '../../vm/accel.js';
import type { Media } from '../../vm/args.js';
import type { Firmware } from '../../vm/firmware.js';
import { ExitCode, UsageError } from '../../lib/errors.js';
import { defaultCacheDir } from '../../lib/paths.js';
import type { Command } from '../command.js';

/** A list option's values (checked by the option table), with 'both' meaning every one. */
function both<T extends string>(v: string[], one: readonly T[]): T[] {
  return v.includes('both') ? [...one] : one.filter((x) => v.includes(x));
}

function positiveInt(flag: string, v: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${flag} ${v}: must be a whole number from 1 to ${max}`);
  return n;
}

export const smokeCommand: Command = {
  name: 'smoke',
  summary: 'boot images under QEMU (BIOS/UEFI, CD/disk), log in over SSH and check them',
  usage: 'IMAGE... [--firmware bios,uefi] [--media cdrom,disk] [--exec CMD]...',
  description:
    'IMAGE is an image directory written by `vrio build` (e.g. out/images/iohyp) or its ISO. Each boot uses KVM when it really works, else TCG, ' +
    "forwards SSH from a free port on 127.0.0.1, logs in with the image's client key checking the host key pinned in manifest.json, checks the " +
    "kernel release, loads and unloads the role's modules (reading their parameters back), checks /dev/iohyp on an IOhyp, runs each --exec command, " +
    'and powers off. Prints a boot timeline; on failure the console tail, and exits 1.',
  examples: [
    'vrio smoke out/images/iohyp out/images/guest',
    'vrio smoke out/images/guest --firmware uefi --media disk',
    "vrio smoke out/images/iohyp --exec 'test -x /usr/sbin/vrio-iohyp' --json",
  ],
  options: {
    firmware: {
      type: 'string',
      list: true,
      choices: ['bios', 'uefi', 'both'],
      default: 'bios,uefi',
      arg: 'LIST',
      description: 'SeaBIOS, OVMF (UEFI), or both',
    },
    media: {
      type: 'string',
      list: true,
      choices: ['cdrom', 'disk', 'both'],
      default: 'cdrom,disk',
      arg: 'LIST',
      description: 'boot the hybrid ISO as a CD, as a raw disk (USB stick), or both',
    },
    exec: { type: 'string', multiple: true, arg: 'CMD', description: 'a command that must exit 0 inside the VM' },
    accel: { type: 'string', choices: ['auto', 'kvm', 'tcg'], arg: 'auto|kvm|tcg', description: 'QEMU accelerator (env VRIO_ACCEL; default auto)' },
    timeout: { type: 'string', default: '60', arg: 'SEC', description: 'seconds from QEMU start until SSH must answer' },
    memory: { type: 'string', default: '1024', arg: 'MIB', description: 'VM memory (vRIO module buffers need about 1 GiB)' },
    key: { type: 'string', arg: 'FILE', complete: 'file', description: 'client private key (default: from the image manifest, or out/keys/id_ed25519)' },
    'log-dir': { type: 'string', default: 'out/smoke', arg: 'DIR', complete: 'dir', description: 'serial, firmware and QEMU logs of each boot' },
  },
  positionals: { name: 'IMAGE', min: 1, complete: 'file' },
  async run(ctx, values, positionals) {
    const accel = ((values.accel as string | undefined) ?? ctx.env.VRIO_ACCEL ?? 'auto') as AccelChoice;
    if (!['auto', 'kvm', 'tcg'].includes(accel)) throw new UsageError(`--accel ${accel}: must be auto, kvm or tcg`);
    const opts: SmokeOptions = {
      firmware: both<Firmware>(values.firmware as string[], ['bios', 'uefi']),
      media: both<Media>(values.media as string[], ['cdrom', 'disk']),
      accel,
      bootTimeoutSec: positiveInt('timeout', values.timeout as string, 3600),
      memoryMiB: positiveInt('memory', values.memory as string, 65536),
      cpus: 1,
      checks: (values.exec as string[] | undefined) ?? [],
      logDir: resolve(ctx.cwd, values['log-dir'] as string, new Date().toISOString().replace(/[:.]/g, '-')),
      cacheDir: defaultCacheDir(ctx.env),
      signal: ctx.signal,
    };
    const images = positionals.map((p) => loadImage(p, ctx.cwd, { key: values.key as string | undefined }));
    const report = await smoke(images, opts);
    if (ctx.global.json) ctx.log.event('smoke-report', { ...report });
    else {
      const n = report.boots.length;
      const bad = report.boots.filter((b) => !b.ok).length;
      ctx.log.info(`${n - bad}/${n} boots passed (${report.accel.accel.toUpperCase()}); logs in ${opts.logDir}`);
    }
    return report.ok ? ExitCode.OK : ExitCode.FAILED;
  },
};
