// `vrio build`: everything — kernel stage, then the images of every enabled role.
import { buildKernelDetailed } from '../../builder/kernel/index.js';
import { buildImages, checkImageInputs } from '../../builder/image/index.js';
import { table } from '../../lib/log.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';
import { imageOptions, imageOptionsFrom, report, rolesFrom } from './image.js';

export const buildCommand: Command = {
  name: 'build',
  summary: 'build kernels and images for every enabled role (= kernel build + image)',
  usage: '[--role R,...] [--format iso,initramfs,tar] [--ssh-key FILE]... [--offline] [--dry-run]',
  description:
    "Fetches the pinned sources, patches and configures the kernel, builds it and its modules, then assembles each role's images into <out>/images/<role>/: <role>.iso (hybrid BIOS+UEFI, dd-able to a USB stick), vmlinuz + initramfs.img (for QEMU -kernel), rootfs.tar, manifest.json and sbom.spdx.json. Same inputs, byte-identical outputs.",
  examples: ['vrio build', 'vrio build --dry-run', 'vrio build --mirror splitio-kernel=~/src/SplitIO-kernel.git', 'vrio -m ci.yaml build --format initramfs'],
  options: {
    ...imageOptions,
    'dry-run': { type: 'boolean', description: 'list each stage (sources, series, tree, config, kernel, image) as fresh or stale and why; build nothing' },
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    const roles = rolesFrom(m, values);
    const opts = imageOptionsFrom(values);
    checkImageInputs(m, roles, opts);
    if (values['dry-run']) {
      const { planBuild } = await import('../../builder/plan.js');
      const steps = await planBuild(m, roles, opts);
      if (ctx.global.json) ctx.log.event('dry-run', { stale: steps.filter((s) => !s.fresh).length, steps });
      else
        ctx.log.print(
          table(
            ['STAGE', 'FOR', 'STATUS', 'WHY'],
            steps.map((s) => [s.stage, s.what, s.fresh ? 'fresh' : 'STALE', s.why]),
          ),
        );
      return 0;
    }
    const started = Date.now();
    const built = await buildKernelDetailed(m, roles, { offline: Boolean(values.offline), signal: ctx.signal });
    const kernels = Object.fromEntries(Object.entries(built).map(([r, b]) => [r, b.artifacts]));
    const images = await buildImages(m, kernels, roles, { ...opts, signal: ctx.signal });
    report(ctx, images, (Date.now() - started) / 1000);
    return 0;
  },
};
