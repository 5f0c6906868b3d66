// Choosing KVM or TCG. An openable /dev/kvm is not enough: under nested
// virtualisation KVM can initialise and then never run a 64-bit guest (seen on
// this project's build machine: SeaBIOS runs, the kernel hangs after the
// real-mode setup). So "auto" boots the image's own kernel once under KVM and
// uses KVM only if it reaches "Linux version" quickly. The verdict is cached
// per host boot (boot_id) and QEMU version, so the probe costs a few seconds once.
import { constants, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/fsx.js';
import { log } from '../lib/log.js';
import type { Accel, BootSpec } from './args.js';
import { qemuVersion, startVm } from './vm.js';

export type AccelChoice = 'auto' | Accel;

export interface AccelDecision {
  accel: Accel;
  /** Why this accelerator: shown in smoke output and recorded in lab state. */
  reason: string;
}

export function kvmOpenable(dev = '/dev/kvm'): { ok: boolean; why: string } {
  if (!existsSync(dev)) return { ok: false, why: `${dev} does not exist` };
  try {
    closeSync(openSync(dev, constants.O_RDWR));
    return { ok: true, why: `${dev} is usable` };
  } catch (e) {
    return { ok: false, why: `${dev} cannot be opened (${(e as NodeJS.ErrnoException).code}); add the user to group kvm` };
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Boot `boot` under KVM and report whether the kernel printed its banner within `timeoutMs`. */
export async function probeKvm(boot: BootSpec, timeoutMs = 10_000): Promise<{ ok: boolean; seconds?: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-kvm-probe-'));
  const probeBoot: BootSpec = boot.kind === 'kernel' ? { kind: 'kernel', kernel: boot.kernel, append: 'console=ttyS0 panic=-1' } : boot;
  const vm = startVm(
    { name: 'kvm-probe', accel: 'kvm', memoryMiB: 256, cpus: 1, firmware: 'bios', boot: probeBoot, serialLog: join(dir, 'serial.log') },
    { stderrLog: join(dir, 'qemu.log') },
  );
  try {
    const hit = await vm.serial.waitFor(/Linux version \d/, { timeoutMs, stopIf: () => vm.exitReason() });
    return { ok: true, seconds: hit.t };
  } catch {
    return { ok: false };
  } finally {
    await vm.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Decide the accelerator. `probeBoot` is a bootable thing to try under KVM
 * (the image's kernel is fastest); `cacheDir` keeps the verdict.
 */
export async function chooseAccel(want: AccelChoice, probeBoot: BootSpec | undefined, cacheDir?: string): Promise<AccelDecision> {
  if (want === 'tcg') return { accel: 'tcg', reason: 'TCG requested' };
  const dev = kvmOpenable();
  if (want === 'kvm') {
    if (!dev.ok) log().warn(`KVM requested but ${dev.why}; QEMU will fail to start`);
    return { accel: 'kvm', reason: 'KVM requested' };
  }
  if (!dev.ok) return { accel: 'tcg', reason: `TCG: ${dev.why}` };
  const key = `${bootId()} ${qemuVersion()}`;
  const cacheFile = cacheDir ? join(cacheDir, 'kvm-probe.json') : undefined;
  if (cacheFile && existsSync(cacheFile)) {
    try {
      const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; ok: boolean };
      if (c.key === key)
        return c.ok
          ? { accel: 'kvm', reason: 'KVM (probe cached for this host boot)' }
          : { accel: 'tcg', reason: 'TCG: /dev/kvm is present but a KVM guest made no progress (probe cached for this host boot)' };
    } catch {
      /* unreadable cache: probe again */
    }
  }
  if (!probeBoot) return { accel: 'kvm', reason: 'KVM (/dev/kvm usable; not probed)' };
  log().info('checking that KVM really runs a guest (once per host boot)…');
  const p = await probeKvm(probeBoot);
  if (cacheFile) writeFileAtomic(cacheFile, JSON.stringify({ key, ok: p.ok, checkedAt: new Date().toISOString() }) + '\n');
  return p.ok
    ? { accel: 'kvm', reason: `KVM (probe: kernel banner after ${p.seconds?.toFixed(1)} s)` }
    : { accel: 'tcg', reason: 'TCG: /dev/kvm is present but a KVM guest made no progress in 10 s (nested virtualisation?)' };
}
