// `vrio run IMAGE`: boot one image interactively, its serial console on this
// terminal and SSH forwarded from 127.0.0.1 (like `mkosi qemu`). Ctrl-A X quits
// QEMU, Ctrl-A C switches to its monitor. Built from the same pieces as smoke
// (loadImage, chooseAccel, qemuArgs); only the serial console differs.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chooseAccel, type AccelChoice } from '../../vm/accel.js';
import { macFor, type BootSpec } from '../../vm/args.js';
import { findOvmfCode, type Firmware } from '../../vm/firmware.js';
import { freeTcpPort, LOOPBACK } from '../../vm/ports.js';
import { runOnTerminal } from '../../vm/vm.js';
import { loadImage } from '../../vm/image.js';
import { ExitCode, UsageError } from '../../lib/errors.js';
import { defaultCacheDir } from '../../lib/paths.js';
import type { Command } from '../command.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'boot an image with its serial console on this terminal and SSH forwarded (Ctrl-A X quits)',
  usage: 'IMAGE [--firmware bios|uefi] [--media cdrom|disk|kernel] [--ssh-port N]',
  description:
    'IMAGE is an image directory written by `vrio build` (e.g. out/images/guest) or its ISO. The serial console is this terminal: ' +
    'log in there, or over SSH with the printed command (the image client key; compare the host key with the fingerprint shown). ' +
    'Ctrl-A X quits QEMU, Ctrl-A C toggles its monitor. KVM when it really works, else TCG.',
  examples: ['vrio run out/images/guest', 'vrio run out/images/iohyp --firmware uefi --media disk', 'vrio run out/images/guest --media kernel --ssh-port 2222'],
  options: {
    firmware: { type: 'string', default: 'bios', choices: ['bios', 'uefi'], arg: 'bios|uefi', description: 'SeaBIOS or OVMF (UEFI)' },
    media: {
      type: 'string',
      default: 'cdrom',
      choices: ['cdrom', 'disk', 'kernel'],
      arg: 'cdrom|disk|kernel',
      description: 'the hybrid ISO as a CD or a raw disk, or direct kernel + initramfs boot',
    },
    accel: { type: 'string', choices: ['auto', 'kvm', 'tcg'], arg: 'auto|kvm|tcg', description: 'QEMU accelerator (env VRIO_ACCEL; default auto)' },
    memory: { type: 'string', default: '1024', arg: 'MIB', description: 'VM memory' },
    'ssh-port': { type: 'string', arg: 'N', description: 'forward SSH from this 127.0.0.1 port (default: a free one)' },
    key: { type: 'string', arg: 'FILE', complete: 'file', description: 'client private key (default: from the image manifest, or out/keys/id_ed25519)' },
  },
  positionals: { name: 'IMAGE', min: 1, max: 1, complete: 'file' },
  async run(ctx, values, [arg]) {
    const img = loadImage(arg, ctx.cwd, { key: values.key as string | undefined });
    const firmware = values.firmware as Firmware;
    const media = values.media as 'cdrom' | 'disk' | 'kernel';
    let boot: BootSpec;
    if (media === 'kernel') {
      if (!img.kernel || !img.initramfs)
        throw new UsageError(`${img.dir} has no vmlinuz + initramfs.img`, 'use --media cdrom or disk, or build the initramfs format');
      boot = { kind: 'kernel', kernel: img.kernel, initrd: img.initramfs, append: 'console=ttyS0,115200' };
    } else {
      if (!img.iso) throw new UsageError(`${img.dir} has no ISO`, 'use --media kernel, or build the iso format');
      boot = media === 'cdrom' ? { kind: 'cdrom', iso: img.iso } : { kind: 'disk', image: img.iso };
    }
    const memory = Number(values.memory);
    if (!Number.isInteger(memory) || memory < 128 || memory > 65536)
      throw new UsageError(`--memory ${values.memory}: must be a whole number from 128 to 65536`);
    let sshPort: number;
    if (values['ssh-port'] !== undefined) {
      sshPort = Number(values['ssh-port']);
      if (!Number.isInteger(sshPort) || sshPort < 1024 || sshPort > 65535)
        throw new UsageError(`--ssh-port ${values['ssh-port']}: must be a port from 1024 to 65535`);
    } else sshPort = await freeTcpPort();
    const want = ((values.accel as string | undefined) ?? ctx.env.VRIO_ACCEL ?? 'auto') as AccelChoice;
    const probe: BootSpec | undefined = img.kernel ? { kind: 'kernel', kernel: img.kernel, append: '' } : undefined;
    const accel = await chooseAccel(want, probe, defaultCacheDir(ctx.env));
    const dir = resolve(ctx.cwd, 'out', 'run', img.name);
    mkdirSync(dir, { recursive: true });
    const spec = {
      name: `run-${img.name}`,
      accel: accel.accel,
      memoryMiB: memory,
      cpus: 1,
      firmware,
      ovmfCode: firmware === 'uefi' ? findOvmfCode(ctx.env) : undefined,
      boot,
      serialLog: join(dir, 'serial.log'),
      serial: 'terminal' as const,
      management: { sshPort, mac: macFor(1, 0) },
    };
    ctx.log.info(`booting ${img.name} (${firmware}, ${media}, ${accel.accel.toUpperCase()}: ${accel.reason}); Ctrl-A X quits`);
    ctx.log.info(`ssh: ssh -i ${img.clientKey} -p ${sshPort} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no root@${LOOPBACK}`);
    ctx.log.info(`its host key must be ${img.hostKeyPins.join(' or ')}`);
    return runOnTerminal(spec) === 0 ? ExitCode.OK : ExitCode.FAILED;
  },
};
