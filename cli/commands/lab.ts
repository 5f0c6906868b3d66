import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { AccelChoice } from '../../vm/accel.js';
import { labDown, labMetrics, labStatus, labUp, statusTable } from '../../lab/index.js';
import { perfTable } from '../../lab/blk-perf.js';
import { runAsEvents } from '../../lab/remote-output.js';
import { ExitCode, UsageError, VrioError } from '../../lib/errors.js';
import { defaultCacheDir } from '../../lib/paths.js';
import type { Command, OptionSpec } from '../command.js';

const stateOpt: Record<string, OptionSpec> = {
  'state-dir': { type: 'string', default: 'out/lab', arg: 'DIR', complete: 'dir', description: "the lab's state: pids, ports, logs, inventory" },
};

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} ${v}: must be a whole number from ${min} to ${max}`);
  return n;
}

export const labUpCommand: Command = {
  name: 'lab up',
  summary: 'boot an IOhyp and N guests on a private L2 segment, provision them, verify the vRIO path',
  usage: '[--images DIR] [--kernel vrio|ci] [--guests N] [--checks basic|fixes] [--state-dir DIR]',
  description:
    'Boots the images under QEMU (direct kernel boot) with a management NIC each (SSH on a free 127.0.0.1 port) and private L2 segments (a hub process ' +
    'on 127.0.0.1 per segment, QEMU stream sockets with back-pressure), writes an inventory with the host keys pinned from the image manifests, runs `vrio provision apply` on it, then checks: ' +
    'with the 3.10 vRIO images (--kernel vrio, default) a remote block device per guest (O_DIRECT data, encrypted backing, ext2 remount, counters) ' +
    'and a remote NIC per guest (ping and TCP to a peer VM, counters); with the CI test images (--kernel ci) the test module and pings over L2. ' +
    '--checks fixes adds the bug checks of the vRIO fix series and a block throughput table by request size, vRIO vs a virtio-blk disk in the same guest ' +
    '(also in <state-dir>/blk-perf.json). ' +
    'The VMs keep running: see `vrio lab status`, `vrio lab ssh NAME`, `vrio lab down`.',
  examples: [
    'vrio lab up',
    'vrio lab up --guests 2',
    'vrio lab up --guests 2 --checks fixes',
    'vrio lab up --kernel ci --images out-ci',
    'VRIO_LAB_IMAGES=/srv/vrio/out vrio lab up --json',
  ],
  options: {
    ...stateOpt,
    images: {
      type: 'string',
      arg: 'DIR',
      complete: 'dir',
      description: 'output dir of `vrio build` holding images/iohyp and images/guest (env VRIO_LAB_IMAGES; default out)',
    },
    kernel: {
      type: 'string',
      default: 'vrio',
      choices: ['vrio', 'ci'],
      arg: 'vrio|ci',
      description: 'vrio: the 3.10 vRIO images, full checks; ci: the small test images (module + L2 checks)',
    },
    guests: { type: 'string', default: '1', arg: 'N', description: 'number of guest VMs (1-8)' },
    accel: { type: 'string', choices: ['auto', 'kvm', 'tcg'], arg: 'auto|kvm|tcg', description: 'QEMU accelerator (env VRIO_ACCEL; default auto)' },
    memory: { type: 'string', default: '1024', arg: 'MIB', description: 'memory per VM (vRIO needs about 1 GiB)' },
    timeout: { type: 'string', default: '120', arg: 'SEC', description: 'seconds for all VMs to answer SSH' },
    checks: {
      type: 'string',
      default: 'basic',
      choices: ['basic', 'fixes'],
      arg: 'basic|fixes',
      description:
        'fixes: also the bug checks of our vRIO fix series (short frames, 16 MiB TCP both ways for all guests at once, CREATE errors, create/remove loops, kernel logs; peer NIC virtio-net)',
    },
    cycles: { type: 'string', default: '50', arg: 'N', description: 'with --checks fixes: create/use/remove cycles per device type' },
    'no-verify': { type: 'boolean', description: 'provision only, skip the checks' },
  },
  async run(ctx, values) {
    const kernel = values.kernel as string;
    if (kernel !== 'vrio' && kernel !== 'ci') throw new UsageError(`--kernel ${kernel}: must be vrio or ci`);
    const accel = ((values.accel as string | undefined) ?? ctx.env.VRIO_ACCEL ?? 'auto') as AccelChoice;
    if (!['auto', 'kvm', 'tcg'].includes(accel)) throw new UsageError(`--accel ${accel}: must be auto, kvm or tcg`);
    const checks = values.checks as string;
    if (checks !== 'basic' && checks !== 'fixes') throw new UsageError(`--checks ${checks}: must be basic or fixes`);
    if (checks === 'fixes' && kernel !== 'vrio') throw new UsageError('--checks fixes needs --kernel vrio: the CI images have no vRIO drivers to check');
    const r = await labUp(
      {
        stateDir: values['state-dir'] as string,
        imagesDir: (values.images as string | undefined) ?? ctx.env.VRIO_LAB_IMAGES ?? 'out',
        kernel,
        guests: int('guests', values.guests as string, 1, 8),
        accel,
        memoryMiB: int('memory', values.memory as string, 256, 65536),
        bootTimeoutSec: int('timeout', values.timeout as string, 5, 3600),
        cacheDir: defaultCacheDir(ctx.env),
        verify: !values['no-verify'],
        checks,
        cycles: int('cycles', values.cycles as string, 1, 1000),
        signal: ctx.signal,
      },
      ctx.cwd,
    );
    const t = r.state.timings;
    if (ctx.global.json)
      ctx.log.event('lab-up', {
        ok: r.ok,
        phase: r.state.phase,
        accel: r.state.accel,
        timings: t,
        checks: r.checks,
        blkPerf: r.blkPerf,
        vms: labStatus(r.state.dir, ctx.cwd).vms,
        inventory: r.state.inventory,
      });
    else {
      ctx.log.print(statusTable(labStatus(r.state.dir, ctx.cwd)));
      if (r.blkPerf) ctx.log.print(`\nblock throughput (guest1, O_DIRECT, timed in the guest):\n${perfTable(r.blkPerf)}\n`);
      const passed = r.checks.filter((c) => c.ok).length;
      ctx.log.info(
        `lab ${r.ok ? 'up' : 'up with FAILED checks'}: boot ${t.bootSeconds?.toFixed(1)} s, provision ${t.provisionSeconds?.toFixed(1)} s, checks ${t.verifySeconds?.toFixed(1) ?? '-'} s ` +
          `(${passed}/${r.checks.length} passed), total ${t.totalSeconds?.toFixed(1)} s; inventory ${r.state.inventory}`,
      );
    }
    return r.ok ? ExitCode.OK : ExitCode.FAILED;
  },
};

export const labDownCommand: Command = {
  name: 'lab down',
  summary: "tear down the lab's vRIO devices and modules, stop exactly its processes, remove its state",
  usage: '[--state-dir DIR] [--no-teardown] [--keep-logs]',
  examples: ['vrio lab down', 'vrio lab down --keep-logs'],
  options: {
    ...stateOpt,
    'no-teardown': { type: 'boolean', description: 'do not run `vrio provision teardown` first' },
    'keep-logs': { type: 'boolean', description: 'keep serial and provision logs (the state file is removed)' },
  },
  async run(ctx, values) {
    const r = await labDown(values['state-dir'] as string, ctx.cwd, { teardown: !values['no-teardown'], keepLogs: Boolean(values['keep-logs']) });
    if (ctx.global.json) ctx.log.event('lab-down', { ...r });
    else ctx.log.info(`stopped ${r.stopped} process(es)${r.teardown ? `; teardown: ${r.teardown.detail}` : ''}${r.removed ? '; state removed' : ''}`);
    return r.teardown && !r.teardown.ok ? ExitCode.FAILED : ExitCode.OK;
  },
};

export const labStatusCommand: Command = {
  name: 'lab status',
  summary: 'show the lab VMs, their ports and state, and vRIO devices/metrics on the IOhyp',
  usage: '[--state-dir DIR] [--json]',
  examples: ['vrio lab status', 'vrio lab status --json'],
  options: { ...stateOpt },
  async run(ctx, values) {
    const st = labStatus(values['state-dir'] as string, ctx.cwd);
    if (!st.state) {
      ctx.log.error(`no lab in ${resolve(ctx.cwd, values['state-dir'] as string)}`, { exitCode: ExitCode.FAILED, hint: 'vrio lab up' });
      return ExitCode.FAILED;
    }
    const metrics = st.vms.every((v) => v.running) ? await labMetrics(st.state).catch((e: Error) => `(metrics unavailable: ${e.message})`) : '';
    if (ctx.global.json)
      ctx.log.event('lab-status', { phase: st.state.phase, accel: st.state.accel, vms: st.vms, hubs: st.hubs, timings: st.state.timings, metrics });
    else {
      ctx.log.print(statusTable(st));
      ctx.log.print(
        `phase: ${st.state.phase}; accel: ${st.state.accel}; segments: ${st.hubs.map((h) => `${h.segment} (hub 127.0.0.1:${h.port} ${h.running ? 'running' : 'stopped'})`).join(', ')}`,
      );
      if (metrics) ctx.log.print(`IOhyp vRIO sysfs and modules:\n${metrics}`);
    }
    const down = st.vms.filter((v) => !v.running);
    // Every failing stream says why in an error event (the table says it to a person).
    if (down.length && ctx.global.json) ctx.log.error(`lab VMs not running: ${down.map((v) => v.name).join(', ')}`, { exitCode: ExitCode.FAILED });
    return down.length ? ExitCode.FAILED : ExitCode.OK;
  },
};

export const labSshCommand: Command = {
  name: 'lab ssh',
  summary: 'open an SSH session (or run a command) on a lab VM, host key pinned',
  usage: '[--state-dir DIR] NAME [COMMAND [ARG...]]',
  description:
    "Everything after NAME is the remote command, options included (no -- needed); our own options go before NAME. With --json a command is required: each line it prints is a 'remote-output' event (stream stdout|stderr), and the result line carries its exit code.",
  examples: ['vrio lab ssh guest1', 'vrio lab ssh guest1 ls -la /sys/class/vrio', 'vrio lab ssh iohyp1 cat /sys/class/vrio/blk/*/*'],
  options: { ...stateOpt },
  positionals: { name: 'NAME [COMMAND...]', min: 1 },
  passthrough: true,
  async run(ctx, values, positionals) {
    const [name, ...cmd] = positionals;
    // An interactive session's terminal cannot be JSON lines: refuse before touching the lab.
    if (ctx.global.json && !cmd.length)
      throw new UsageError(
        'lab ssh --json needs a command: an interactive session cannot be a JSON event stream',
        `vrio --json lab ssh ${name} COMMAND [ARG...]`,
      );
    const st = labStatus(values['state-dir'] as string, ctx.cwd);
    if (!st.state) throw new VrioError(`no lab in ${resolve(ctx.cwd, values['state-dir'] as string)}`, { hint: 'vrio lab up' });
    const vm = st.state.vms.find((v) => v.name === name);
    if (!vm) throw new UsageError(`no lab VM named '${name}'`, `one of: ${st.state.vms.map((v) => v.name).join(', ')}`);
    const args = [
      '-i',
      st.state.clientKey,
      '-p',
      String(vm.sshPort),
      '-o',
      `UserKnownHostsFile=${join(st.state.dir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'LogLevel=ERROR',
      'root@127.0.0.1',
      ...cmd,
    ];
    if (ctx.global.json) {
      try {
        return await runAsEvents('ssh', args, ctx.log);
      } catch (e) {
        throw new VrioError(`cannot run ssh: ${(e as Error).message}`, { hint: 'apt-get install openssh-client' });
      }
    }
    const r = spawnSync('ssh', args, { stdio: 'inherit' });
    if (r.error) throw new VrioError(`cannot run ssh: ${r.error.message}`, { hint: 'apt-get install openssh-client' });
    return r.status ?? ExitCode.FAILED;
  },
};
