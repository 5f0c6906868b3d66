// Running an L2 hub (hub.ts) as its own detached process: segments outlive the
// CLI process, like the VMs joined to them, and are stopped by the pid their
// owner records (killRecordedPid, with `tag` in the command line).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VrioError } from '../lib/errors.js';
import { HUB_READY } from './hub.js';
import { processCmdline } from './vm.js';

const hubBin = () => fileURLToPath(new URL('./hub.js', import.meta.url));

/**
 * Start the hub of `segment` on 127.0.0.1:`port` for `members` NICs, its
 * output in `logFile`, and wait (bounded) until it listens: QEMU connects at
 * start and gives up if nobody does. Returns its pid.
 */
export async function launchHub(o: { segment: string; port: number; members: number; tag: string; logFile: string }): Promise<number> {
  const out = openSync(o.logFile, 'w');
  let child;
  try {
    child = spawn(process.execPath, [hubBin(), '--port', String(o.port), '--members', String(o.members), '--tag', o.tag], {
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  child.unref();
  if (!child.pid) throw new VrioError(`could not start the L2 hub for segment ${o.segment}`);
  let said = '';
  for (let i = 0; i < 100 && !(said = readFileSync(o.logFile, 'utf8')).includes(HUB_READY); i++) {
    if (!processCmdline(child.pid)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!said.includes(HUB_READY)) throw new VrioError(`the L2 hub for segment ${o.segment} did not start: ${said.trim() || 'no output'} (log: ${o.logFile})`);
  return child.pid;
}
