// `vrio run IMAGE` (interactive boot): its QEMU command line puts the serial
// console on the terminal with the Ctrl-A monitor, and bad input is refused
// before QEMU starts. Booting itself is not tested here (no QEMU in unit tests).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { qemuArgs } from '../../vm/args.js';
import { vrio } from '../support/cli.js';

describe('vrio run', () => {
  it('replaces the serial log file with the terminal, multiplexed with the monitor', () => {
    const args = qemuArgs({
      name: 'x',
      accel: 'tcg',
      memoryMiB: 512,
      cpus: 1,
      firmware: 'bios',
      boot: { kind: 'cdrom', iso: '/x.iso' },
      serialLog: '/tmp/s.log',
      serial: 'terminal',
      management: { sshPort: 2222, mac: '52:54:00:10:00:01' },
    });
    assert.ok(!args.some((a) => a.includes('/tmp/s.log')));
    const i = args.indexOf('stdio,id=ser0,mux=on,signal=off');
    assert.equal(args[i - 1], '-chardev');
    assert.deepEqual(args.slice(args.indexOf('-mon'), args.indexOf('-mon') + 2), ['-mon', 'chardev=ser0,mode=readline']);
    assert.ok(args.join(' ').includes('-serial chardev:ser0'));
    assert.ok(args.join(' ').includes('hostfwd=tcp:127.0.0.1:2222-:22'));
  });

  it('refuses a missing image and a bad --media before starting QEMU', () => {
    const a = vrio(['run', '/nonexistent/image']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /no such image directory or file/);
    const b = vrio(['run', '/nonexistent/image', '--media', 'floppy']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--media floppy: must be cdrom, disk or kernel/);
  });
});
