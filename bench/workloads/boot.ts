// Boot figures: `vrio smoke` on the built images, BIOS and UEFI, TCG (and KVM
// where /dev/kvm works): seconds from QEMU start to the kernel, to init, and
// to SSH ready, from the smoke report's boot timeline.
import type { BootResult } from '../model.js';
import { hasVerb } from './drivers.js';

export interface BootBenchOptions {
  quick: boolean;
  runs: number;
  workDir: string;
  log: (msg: string) => void;
  signal?: AbortSignal;
}

export async function benchBoot(_o: BootBenchOptions): Promise<BootResult> {
  if (!hasVerb('smoke') || !hasVerb('build')) {
    return { status: 'skipped', reason: "needs the 'vrio build' and 'vrio smoke' verbs (an image to boot)", figures: [], timelines: [] };
  }
  return { status: 'skipped', reason: 'boot measurement not wired yet', figures: [], timelines: [] };
}
