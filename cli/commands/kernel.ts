// `vrio kernel build|config|menuconfig`: the kernel stage on its own.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { configDelta, renderFragment } from '../../builder/kernel/delta.js';
import { parseConfig } from '../../builder/kernel/fragments.js';
import { buildKernelDetailed, enabledRoles, prepareKernel, roleConfig } from '../../builder/kernel/index.js';
import { UsageError, VrioError } from '../../lib/errors.js';
import { tempSibling, writeFileAtomic } from '../../lib/fsx.js';
import { formatBytes, formatDuration, table } from '../../lib/log.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

const offlineOption = { offline: { type: 'boolean' as const, description: 'never use the network; list what is missing instead' } };

export const kernelBuildCommand: Command = {
  name: 'kernel build',
  summary: 'fetch, patch, configure and compile the kernel and modules of each role',
  usage: '[--role R]... [--offline]',
  description:
    'Every step is cached by the hash of its inputs: an unchanged input does no work, and a change only under drivers/vrio rebuilds just the modules. Roles with the same final config share one build. Outputs: <out>/kernel/builds/<hash>/stage/{bzImage,System.map,config,modules/}.',
  examples: ['vrio kernel build', 'vrio kernel build --role guest', 'vrio kernel build --mirror splitio-kernel=~/src/SplitIO-kernel --offline'],
  options: {
    role: { type: 'string', short: 'r', list: true, arg: 'ROLE', description: 'only these roles (default: every enabled role)' },
    ...offlineOption,
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    const roles = (values.role as string[] | undefined) ?? enabledRoles(m);
    for (const r of roles) if (!m.roles[r]) throw new UsageError(`no role '${r}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
    const started = Date.now();
    const res = await buildKernelDetailed(m, roles, { offline: Boolean(values.offline), signal: ctx.signal });
    const secs = (Date.now() - started) / 1000;
    if (ctx.global.json) {
      ctx.log.event('kernel', {
        seconds: secs,
        roles: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, { ...v.artifacts, action: v.build.lastAction, warnings: v.build.warnings }])),
      });
      return 0;
    }
    ctx.log.print(
      table(
        ['ROLE', 'RELEASE', 'DONE', 'BZIMAGE', 'MODULES', 'WARNINGS', 'HASH'],
        Object.entries(res).map(([role, r]) => [
          role,
          r.artifacts.release,
          r.build.lastAction === 'none' ? 'cached' : r.build.lastAction === 'modules' ? 'modules only' : 'full build',
          formatBytes(readFileSync(r.artifacts.bzImage).length),
          String(r.artifacts.modules.length),
          String(r.build.warnings),
          r.artifacts.hash.slice(0, 12),
        ]),
      ),
    );
    for (const [role, r] of Object.entries(res)) ctx.log.print(`${role}: ${r.build.stage}`);
    ctx.log.info(`kernel stage finished in ${formatDuration(secs)}`);
    return 0;
  },
};

export const kernelConfigCommand: Command = {
  name: 'kernel config',
  summary: "print a role's effective kernel config delta (what the fragments set, and the result)",
  usage: '--role R [--full] [--series]',
  description:
    'Shows every symbol the fragments set, its final value and which fragment set it. --full prints the whole final .config; --series lists the patch series in order.',
  examples: ['vrio kernel config --role iohyp', 'vrio kernel config --role guest --full > guest.config', 'vrio kernel config --role guest --series'],
  options: {
    role: { type: 'string', short: 'r', arg: 'ROLE', description: 'the role (required)' },
    full: { type: 'boolean', description: 'print the whole final .config' },
    series: { type: 'boolean', description: 'print the patch series, in order' },
    ...offlineOption,
    ...manifestOptions,
  },
  async run(ctx, values) {
    const role = values.role as string | undefined;
    if (!role) throw new UsageError('--role is required', 'e.g. vrio kernel config --role guest');
    const m = manifestFromArgs(ctx, values);
    if (!m.roles[role]) throw new UsageError(`no role '${role}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
    const p = await prepareKernel(m, { offline: Boolean(values.offline), signal: ctx.signal });
    if (values.series) {
      ctx.log.print(
        table(
          ['#', 'PATCH', 'ORIGIN', 'SHA256'],
          p.series.patches.map((x, i) => [String(i + 1), x.name, x.origin, x.sha256.slice(0, 16)]),
        ),
      );
      return 0;
    }
    const cfg = await roleConfig(m, p, role, { signal: ctx.signal });
    if (values.full) {
      ctx.log.print(cfg.text);
      return 0;
    }
    const final = parseConfig(cfg.text);
    if (ctx.global.json) {
      ctx.log.event('kernel-config', {
        role,
        config: cfg.path,
        symbols: cfg.wanted.map((e) => ({ symbol: e.symbol, wanted: e.value, final: final.get(e.symbol) ?? 'n', from: `${e.file}:${e.line}` })),
      });
      return 0;
    }
    ctx.log.print(
      table(
        ['SYMBOL', 'VALUE', 'FROM'],
        cfg.wanted.map((e) => [`CONFIG_${e.symbol}`, final.get(e.symbol) ?? 'n', `${e.file}:${e.line}`]),
      ),
    );
    ctx.log.print(`\n${cfg.wanted.length} symbols set by fragments, all verified; base: ${m.kernel.defconfig}; final config: ${cfg.path}`);
    return 0;
  },
};

export const kernelMenuconfigCommand: Command = {
  name: 'kernel menuconfig',
  summary: "edit a role's kernel config with menuconfig and save the change as a fragment",
  usage: '--role R [--fragment FILE]',
  description:
    "Runs `make menuconfig` on the role's final config; every symbol you change is written to a fragment file (default ./<role>-menuconfig.config). Add that file to roles.<role>.fragments in vrio.yaml to use it.",
  examples: ['vrio kernel menuconfig --role guest', 'vrio kernel menuconfig --role iohyp --fragment kernel/iohyp-extra.config'],
  options: {
    role: { type: 'string', short: 'r', arg: 'ROLE', description: 'the role (required)' },
    fragment: { type: 'string', arg: 'FILE', complete: 'file', description: 'fragment to write (default ./<role>-menuconfig.config)' },
    ...offlineOption,
    ...manifestOptions,
  },
  async run(ctx, values) {
    const role = values.role as string | undefined;
    if (!role) throw new UsageError('--role is required', 'e.g. vrio kernel menuconfig --role guest');
    if (!process.stdin.isTTY) throw new UsageError('menuconfig needs an interactive terminal');
    const m = manifestFromArgs(ctx, values);
    if (!m.roles[role]) throw new UsageError(`no role '${role}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
    const p = await prepareKernel(m, { offline: Boolean(values.offline), signal: ctx.signal });
    const cfg = await roleConfig(m, p, role, { signal: ctx.signal });
    const obj = tempSibling(resolve(m.outputDir, 'kernel', 'menuconfig'));
    mkdirSync(obj, { recursive: true });
    try {
      copyFileSync(cfg.path, `${obj}/.config`);
      const r = spawnSync('make', ['-C', p.tree.src, `O=${obj}`, ...p.makeFlags, 'menuconfig'], { stdio: 'inherit' });
      if (r.status !== 0) throw new VrioError(`make menuconfig exited with ${r.status ?? r.signal}`, { hint: 'menuconfig needs libncurses-dev (vrio doctor)' });
      const after = readFileSync(`${obj}/.config`, 'utf8');
      const delta = configDelta(cfg.text, after);
      if (delta.length === 0) {
        ctx.log.info('no changes');
        return 0;
      }
      const out = resolve(ctx.cwd, (values.fragment as string | undefined) ?? `${role}-menuconfig.config`);
      const prior = existsSync(out) ? readFileSync(out, 'utf8') : '';
      writeFileAtomic(out, renderFragment(delta, `changes made with vrio kernel menuconfig --role ${role}`, prior));
      ctx.log.info(`${delta.length} changed symbols written to ${out}`);
      ctx.log.info(`use it: add it to roles.${role}.fragments in your vrio.yaml`);
      return 0;
    } finally {
      rmSync(obj, { recursive: true, force: true });
    }
  },
};
