// The pure parts of the lab's fix-series checks (lab/fix-checks.ts): which
// kernel log lines count as a driver bug, the IOhyp memory figures the leak
// check compares, the quoting of helper arguments, and the CLI's refusal of combinations
// that cannot run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memInfo, troubleLines } from '../../lab/fix-checks.js';
import { vrio } from '../support/cli.js';

describe('lab fix checks', () => {
  test('kernel log: warnings, BUGs, oopses and TCP receive bugs are trouble; ordinary lines are not', () => {
    const log = [
      '[    0.000000] Linux version 3.10.0 (gcc version 12.2.0)',
      '[    5.120000] vrio_eth: loaded',
      '[   40.100000] ------------[ cut here ]------------',
      '[   40.100001] WARNING: at net/ipv4/tcp.c:1667 tcp_recvmsg+0x5f1/0xa20()',
      '[   40.100002] recvmsg bug 2: copied 54B0954E seq 54B0954E rcvnxt 54B0E04E',
      '[   41.000000] kernel BUG at net/core/skbuff.c:1470!',
      '[   41.000001] general protection fault: 0000 [#1] SMP',
      '[   41.000002] Call Trace:',
      '[   50.000000] e1000: eth1 NIC Link is Up 1000 Mbps Full Duplex',
    ].join('\n');
    assert.deepEqual(
      troubleLines(log).map((l) => l.slice(15).split(/[ :]/).slice(0, 2).join(' ')),
      ['WARNING ', 'recvmsg bug', 'kernel BUG', 'general protection', 'Call Trace'],
    );
    assert.deepEqual(troubleLines('[ 1.0] vrio_gen: ok\n[ 2.0] EXT2-fs (vrda): warning: mounting unchecked fs'), []);
  });

  test('meminfo: Slab and MemFree in kB; a missing field is NaN, not 0', () => {
    const m = memInfo('MemTotal:        1012345 kB\nMemFree:          877123 kB\nSlab:               4412 kB\n');
    assert.deepEqual(m, { slabKb: 4412, freeKb: 877123 });
    assert.ok(Number.isNaN(memInfo('MemTotal: 1 kB\n').slabKb));
  });

  test('CLI: --checks fixes needs the vRIO images; unknown --checks and --cycles 0 are usage errors', () => {
    const a = vrio(['lab', 'up', '--kernel', 'ci', '--checks', 'fixes', '--state-dir', '/nonexistent/lab']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--checks fixes needs --kernel vrio/);
    const b = vrio(['lab', 'up', '--checks', 'all', '--state-dir', '/nonexistent/lab']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--checks all: must be basic or fixes/);
    const c = vrio(['lab', 'up', '--checks', 'fixes', '--cycles', '0', '--state-dir', '/nonexistent/lab']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--cycles 0: must be a whole number from 1 to 1000/);
  });
});
