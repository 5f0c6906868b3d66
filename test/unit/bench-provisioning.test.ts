// The provisioning measurement loop: an interrupt mid-run takes the whole tool
// process tree with it. Each tool runs under taskset and GNU time, and GNU
// time dies on SIGTERM: the tool itself (an ansible-playbook and its forks)
// was left running as an orphan after the first full run was stopped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ToolDriver } from '../../bench/workloads/drivers.js';
import { benchProvisioning } from '../../bench/workloads/provisioning.js';
import { sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-prov-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench provisioning loop', () => {
  const missing = !sshdSupport().ok ? sshdSupport().reason! : !existsSync('/usr/bin/time') ? 'GNU time not installed (apt-get install time)' : false;
  it('an interrupt mid-run leaves no process of the tool behind', { skip: prerequisite(missing), timeout: 120_000 }, async () => {
    const marker = `vrio-bench-orphan-${process.pid}`;
    // A tool that forks a worker and waits, as ansible-playbook does; the marker names both processes.
    const script = 'import os, sys, time\nif os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\ntime.sleep(60)';
    const tool: ToolDriver = {
      tool: 'vrio',
      prepare: async () => {},
      resetConnections: async () => {},
      command: () => ({ argv: ['python3', '-c', script, marker], check: () => ({}) }),
      close: async () => {},
      settings: () => ({}),
    };
    const ac = new AbortController();
    const running = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(marker)).length;
    const watch = setInterval(() => {
      if (running() >= 2) ac.abort(new Error('interrupted'));
    }, 200);
    try {
      await assert.rejects(
        benchProvisioning({ hostCounts: [1], runs: 1, drivers: [tool], workloads: ['facts'], workDir: tmp, log: () => {}, signal: ac.signal }),
        /interrupted/,
      );
    } finally {
      clearInterval(watch);
    }
    assert.ok(ac.signal.aborted, 'the tool ran and was interrupted');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(running(), 0, 'no process of the interrupted tool is left');
  });
});
