// Where the UEFI firmware lives. Debian's `ovmf` package ships OVMF_CODE.fd;
// it is attached as a read-only pflash drive (no VARS store: every boot starts
// from the firmware defaults, which is what a smoke test wants).
import { existsSync } from 'node:fs';
import { MissingToolError } from '../lib/errors.js';

export type Firmware = 'bios' | 'uefi';

const ovmfCandidates = ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/qemu/OVMF.fd'];

export function findOvmfCode(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.VRIO_OVMF_CODE;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new MissingToolError([{ tool: fromEnv, debianPackage: 'ovmf', why: 'VRIO_OVMF_CODE names a file that does not exist' }]);
    return fromEnv;
  }
  const found = ovmfCandidates.find((p) => existsSync(p));
  if (!found) throw new MissingToolError([{ tool: 'OVMF_CODE.fd', debianPackage: 'ovmf', why: 'UEFI firmware for --firmware uefi' }]);
  return found;
}
