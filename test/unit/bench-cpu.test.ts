// CPU accounting behind the CPU-seconds table: work done by a tool run (a
// reaped child) and by a live session under a long-running server (a live
// descendant) must both be counted.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { procCpu, reapedChildrenCpu, treeCpu } from '../../bench/cpu.js';

const BUSY = 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done';

describe('bench CPU accounting', () => {
  it('counts a finished child run (and what it waited for) in the reaped-children total', () => {
    const before = reapedChildrenCpu();
    execFileSync('sh', ['-c', `sh -c '${BUSY}'`]);
    assert.ok(reapedChildrenCpu() > before, 'the grandchild loop shows up once its parent is reaped');
  });

  it('counts a live descendant of a server process (an open session)', async () => {
    // outer = the "listener", inner = a session still running when measured.
    const outer = spawn('sh', ['-c', `sh -c '${BUSY}; exec sleep 30' & wait`], { stdio: 'ignore' });
    try {
      const start = treeCpu([outer.pid]);
      let now = start;
      for (let i = 0; i < 200 && now <= start; i++) {
        await new Promise((r) => setTimeout(r, 50));
        now = treeCpu([outer.pid]);
      }
      assert.ok(now > start, 'the inner loop is counted while it runs, before anyone reaps it');
      assert.ok((procCpu(outer.pid!)?.self ?? 1) < now, 'more than the listener itself');
    } finally {
      // Kill the session and the listener we started, by pid.
      for (const c of execFileSync('pgrep', ['-P', String(outer.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean))
        process.kill(Number(c), 'SIGKILL');
      outer.kill('SIGKILL');
    }
  });

  it('is undefined for a process that is gone', () => {
    assert.equal(procCpu(2 ** 22 + 12345), undefined);
    assert.equal(treeCpu([undefined, 2 ** 22 + 12345]), 0);
  });
});
