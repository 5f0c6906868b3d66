// The lab's state directory: everything `vrio lab down` needs to stop exactly
// what `lab up` started (pids plus a marker that must still be in each
// process's command line), and what `status`/`ssh` show.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VrioError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/fsx.js';

export interface LabNic {
  segment: string;
  iface: string;
  mac: string;
  ip?: string;
  model: string;
}

export interface LabVm {
  name: string;
  role: 'iohyp' | 'guest' | 'peer';
  image: string;
  pid: number;
  sshPort: number;
  serialLog: string;
  qemuLog: string;
  memoryMiB: number;
  nics: LabNic[];
  /** Host key as presented (already checked against the image's pins), for known_hosts. */
  hostKey?: { type: string; base64: string };
  pins: string[];
}

export interface LabHub {
  segment: string;
  pid: number;
  /** TCP port on 127.0.0.1 the segment's NICs connect to. */
  port: number;
  /** How many NICs the segment has (the hub refuses more). */
  members: number;
  log: string;
}

export interface LabState {
  format: 'vrio-lab-state/1';
  dir: string;
  createdAt: string;
  kernel: 'vrio' | 'ci';
  accel: string;
  imagesDir: string;
  clientKey: string;
  inventory: string;
  vms: LabVm[];
  hubs: LabHub[];
  /** Phase reached: booting, provisioned, verified, failed. */
  phase: string;
  timings: Record<string, number>;
}

export const stateFile = (dir: string) => join(dir, 'lab.json');

export function readState(dir: string): LabState | undefined {
  const f = stateFile(dir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LabState;
  } catch (e) {
    throw new VrioError(`lab state ${f} is unreadable: ${(e as Error).message}`, {
      hint: `remove ${dir} after making sure no lab VMs run (ps ax | grep ${dir})`,
    });
  }
}

export function writeState(s: LabState): void {
  writeFileAtomic(stateFile(s.dir), JSON.stringify(s, null, 2) + '\n');
}
