// `vrio smoke`: boot each image under QEMU in every requested way (firmware x
// media), wait for SSH with the pinned host key, run the checks, power off,
// and report a boot timeline. Each QEMU is killed by its pid on every path out.
import { join } from 'node:path';
import { VrioError } from '../lib/errors.js';
import { sha256File } from '../lib/fsx.js';
import { log } from '../lib/log.js';
import type { Session } from '../lib/ssh/client.js';
import { waitForSsh } from '../lib/ssh/wait.js';
import { chooseAccel, type AccelChoice, type AccelDecision } from '../vm/accel.js';
import { macFor, type Accel, type BootSpec, type Media } from '../vm/args.js';
import { findOvmfCode, type Firmware } from '../vm/firmware.js';
import { freeTcpPort, LOOPBACK } from '../vm/ports.js';
import { SSH_READY, timeline, type TimelineEvent } from '../vm/timeline.js';
import { startVm } from '../vm/vm.js';
import { runChecks, type CheckResult } from './checks.js';
import type { SmokeImage } from '../vm/image.js';

export interface SmokeOptions {
  firmware: Firmware[];
  media: Media[];
  accel: AccelChoice;
  /** Seconds from QEMU start until SSH must answer. */
  bootTimeoutSec: number;
  memoryMiB: number;
  cpus: number;
  checks: string[];
  /** Serial/firmware/QEMU logs of each boot go under here. */
  logDir: string;
  cacheDir?: string;
  signal?: AbortSignal;
}

export interface BootResult {
  image: string;
  firmware: Firmware;
  media: Media;
  accel: Accel;
  ok: boolean;
  error?: string;
  timeline: TimelineEvent[];
  checks: CheckResult[];
  /** How QEMU ended: the guest powered off, or we had to kill it. */
  end: 'poweroff' | 'killed' | 'crashed';
  seconds: number;
  serialLog: string;
  consoleTail?: string;
}

export interface SmokeReport {
  accel: AccelDecision;
  ok: boolean;
  boots: BootResult[];
}

function bootSpecFor(img: SmokeImage, media: Media): BootSpec {
  if (!img.iso) throw new VrioError(`image ${img.name} has no ISO in ${img.dir}`, { hint: 'build it with image.formats including iso' });
  return media === 'cdrom' ? { kind: 'cdrom', iso: img.iso } : { kind: 'disk', image: img.iso };
}

export async function smokeBoot(img: SmokeImage, firmware: Firmware, media: Media, accel: Accel, o: SmokeOptions): Promise<BootResult> {
  const dir = join(o.logDir, `${img.name}-${firmware}-${media}`);
  const started = Date.now();
  const result: BootResult = {
    image: img.name,
    firmware,
    media,
    accel,
    ok: false,
    timeline: [],
    checks: [],
    end: 'killed',
    seconds: 0,
    serialLog: join(dir, 'serial.log'),
  };
  // One retry covers the rare case of another process taking the SSH port between our probe and QEMU's bind.
  for (let attempt = 1; attempt <= 2; attempt++) {
    const sshPort = await freeTcpPort();
    const vm = startVm(
      {
        name: `smoke-${img.name}-${firmware}-${media}`,
        accel,
        memoryMiB: o.memoryMiB,
        cpus: o.cpus,
        firmware,
        ovmfCode: firmware === 'uefi' ? findOvmfCode() : undefined,
        boot: bootSpecFor(img, media),
        serialLog: join(dir, 'serial.log'),
        firmwareLog: join(dir, 'firmware.log'),
        management: { sshPort, mac: macFor(1, 0) },
      },
      { stderrLog: join(dir, 'qemu.log') },
    );
    let ssh: Session | undefined;
    try {
      ssh = await waitForSsh(
        { name: `${img.name}-${firmware}-${media}`, address: LOOPBACK, port: sshPort, user: 'root', identityFile: img.clientKey, pins: img.hostKeyPins },
        { timeoutMs: o.bootTimeoutSec * 1000, signal: o.signal, stopIf: () => vm.exitReason(), sshdUp: () => Boolean(vm.serial.find(SSH_READY)) },
      );
      const loginAt = (Date.now() - vm.t0) / 1000;
      result.checks = await runChecks(ssh, img, o.checks);
      // Power off from inside; detach so the SSH command returns before the VM goes away.
      await ssh
        .exec('sync; (sleep 0.3; poweroff -f || echo o > /proc/sysrq-trigger) >/dev/null 2>&1 </dev/null &', { timeoutMs: 10_000 })
        .catch(() => undefined);
      ssh.close();
      ssh = undefined;
      // A kernel without ACPI power-off (e.g. the small CI kernel under OVMF) halts
      // instead: once it says so on the console the shutdown is complete and QEMU is ended by pid.
      const halted = await vm.serial
        .waitFor(/reboot: (System halted|Power down)/, { timeoutMs: 20_000, stopIf: () => vm.exitReason() })
        .then(() => true)
        .catch(() => false);
      const { killed } = await vm.waitOrKill(halted ? 2_000 : 1_000);
      const clean = halted || !killed;
      result.end = clean ? 'poweroff' : 'killed';
      result.timeline = [
        ...timeline(vm.serial.lines, vm.firmware?.lines),
        { name: 'ssh-login', label: 'SSH login', t: loginAt, line: '' },
        { name: 'off', label: clean ? 'powered off' : 'killed', t: (Date.now() - vm.t0) / 1000, line: '' },
      ];
      const failed = result.checks.filter((c) => !c.ok);
      result.ok = failed.length === 0 && clean;
      if (failed.length) result.error = failed.map((c) => `${c.name}: ${c.detail}`).join('\n');
      else if (!clean) result.error = 'the guest did not power off or halt within 20 s';
      if (!result.ok) result.consoleTail = vm.serial.tail(30);
      break;
    } catch (e) {
      const reason = vm.exitReason();
      if (attempt === 1 && reason && /host forwarding|Address already in use/i.test(reason)) {
        log().debug(`SSH port ${sshPort} was taken; retrying with another`);
        continue;
      }
      result.ok = false;
      result.error = (e as Error).message;
      result.end = vm.running ? 'killed' : 'crashed';
      await vm.kill();
      result.timeline = timeline(vm.serial.lines, vm.firmware?.lines);
      result.consoleTail = vm.serial.tail(30);
      if (o.signal?.aborted) throw e;
      break;
    } finally {
      ssh?.close();
      await vm.kill();
    }
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export async function smoke(images: SmokeImage[], o: SmokeOptions): Promise<SmokeReport> {
  if (o.firmware.includes('uefi')) findOvmfCode(); // fail early, before any boot, if OVMF is missing
  const first = images[0];
  const probe: BootSpec | undefined = first?.kernel
    ? { kind: 'kernel', kernel: first.kernel, append: '' }
    : first?.iso
      ? { kind: 'cdrom', iso: first.iso }
      : undefined;
  // Boot what was built: an ISO that differs from its manifest's record is refused.
  for (const img of images) {
    if (!img.iso || !img.isoSha256) continue;
    const got = await sha256File(img.iso);
    if (got !== img.isoSha256)
      throw new VrioError(`${img.iso}: sha256 ${got} differs from ${img.manifestFile} (${img.isoSha256})`, {
        hint: 'the ISO was modified or belongs to another build: rebuild the image',
      });
  }
  const accel = await chooseAccel(o.accel, probe, o.cacheDir);
  log().info(`accelerator: ${accel.reason}`);
  const boots: BootResult[] = [];
  for (const img of images) {
    for (const fw of o.firmware) {
      for (const media of o.media) {
        if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new VrioError('interrupted');
        log().step(`${img.name}: ${fw} ${media}`);
        const r = await smokeBoot(img, fw, media, accel.accel, o);
        boots.push(r);
        log().event('smoke-boot', { ...r });
        reportBoot(r);
      }
    }
  }
  return { accel, ok: boots.every((b) => b.ok), boots };
}

function reportBoot(r: BootResult): void {
  const l = log();
  if (l.json) return;
  const tl = r.timeline.map((e) => `${e.label} ${e.t.toFixed(1)}s`).join(' → ');
  if (r.ok) {
    l.info(`  ${l.paint('green', 'ok')} ${tl}`);
    for (const c of r.checks) l.info(`     ${c.name}: ${c.detail}`);
  } else {
    l.info(`  ${l.paint('red', 'FAILED')} ${tl || '(no boot markers seen)'}`);
    l.info(`  ${r.error ?? ''}`.replace(/\n/g, '\n  '));
    if (r.consoleTail)
      l.info(
        `  console tail (${r.serialLog}):\n${r.consoleTail
          .split('\n')
          .map((x) => `    | ${x}`)
          .join('\n')}`,
      );
  }
}
