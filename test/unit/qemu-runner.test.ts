// The QEMU runner's pure parts and process handling: the command line a user
// would see, console following and the boot timeline, loopback ports, and
// killing exactly the recorded process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { macFor, qemuArgs, type VmSpec } from '../../vm/args.js';
import { cleanLine, ConsoleFollower } from '../../vm/console.js';
import { freeTcpPort } from '../../vm/ports.js';
import { freeUdpPorts } from '../support/udp-ports.js';
import { formatTimeline, timeline } from '../../vm/timeline.js';
import { ConsoleSession } from '../../vm/console-session.js';
import { killRecordedPid, processCmdline, startVm } from '../../vm/vm.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-qemu-unit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function spec(over: Partial<VmSpec> = {}): VmSpec {
  return {
    name: 't',
    accel: 'tcg',
    memoryMiB: 1024,
    cpus: 1,
    firmware: 'bios',
    boot: { kind: 'cdrom', iso: '/x/guest.iso' },
    serialLog: '/s/serial.log',
    ...over,
  };
}

function valueAfter(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

describe('qemu command line', () => {
  test('cdrom boot under BIOS: ISO as read-only CD, boot from it, serial to the file, no reboot loops', () => {
    const a = qemuArgs(spec());
    assert.ok(valueAfter(a, '-drive').some((d) => d.startsWith('file=/x/guest.iso,media=cdrom,readonly=on')));
    assert.deepEqual(valueAfter(a, '-boot'), ['order=d']);
    assert.ok(valueAfter(a, '-chardev').includes('file,id=ser0,path=/s/serial.log'));
    assert.ok(a.includes('-no-reboot'));
    assert.ok(!a.some((x) => x.includes('pflash')), 'BIOS boot must not attach OVMF');
  });

  test('disk boot under UEFI: ISO as a raw read-only disk, OVMF as read-only pflash', () => {
    const a = qemuArgs(spec({ firmware: 'uefi', ovmfCode: '/usr/share/OVMF/OVMF_CODE.fd', boot: { kind: 'disk', image: '/x/guest.iso' } }));
    const drives = valueAfter(a, '-drive');
    assert.ok(drives.includes('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd'));
    assert.ok(drives.includes('file=/x/guest.iso,format=raw,readonly=on,if=virtio'));
    assert.deepEqual(valueAfter(a, '-boot'), ['order=c']);
  });

  test('TCG VMs can have a second vCPU (maxcpus=2, so TCG keeps the guest memory barriers virtio needs); KVM as asked', () => {
    assert.deepEqual(valueAfter(qemuArgs(spec({ accel: 'tcg', cpus: 1 })), '-smp'), ['1,maxcpus=2']);
    assert.deepEqual(valueAfter(qemuArgs(spec({ accel: 'tcg', cpus: 4 })), '-smp'), ['4,maxcpus=4']);
    assert.deepEqual(valueAfter(qemuArgs(spec({ accel: 'kvm', cpus: 1 })), '-smp'), ['1']);
  });

  test('UEFI without a firmware file is refused', () => {
    assert.throws(() => qemuArgs(spec({ firmware: 'uefi' })), /ovmfCode/);
  });

  test('management NIC forwards SSH from 127.0.0.1 only and is isolated from every other network', () => {
    const a = qemuArgs(spec({ management: { sshPort: 40022, mac: macFor(3, 0) } }));
    const nd = valueAfter(a, '-netdev');
    assert.deepEqual(nd, ['user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22']);
    assert.ok(valueAfter(a, '-device').includes('virtio-net-pci,netdev=mgmt,mac=52:54:00:10:00:03'));
  });

  test('L2 NICs use UDP or TCP (hub) sockets on loopback only, in the order given (eth1, eth2, eth3 after the management NIC)', () => {
    const a = qemuArgs(
      spec({
        management: { sshPort: 1, mac: macFor(1, 0) },
        l2: [
          { id: 'l2a', mac: macFor(1, 1), model: 'virtio-net-pci', localPort: 5001, remotePort: 6001 },
          { id: 'l2b', mac: macFor(1, 2), model: 'e1000', localPort: 5002, remotePort: 6002 },
          { id: 'l2c', mac: macFor(1, 3), model: 'virtio-net-pci', transport: 'tcp', hubPort: 7001 },
        ],
      }),
    );
    const nd = valueAfter(a, '-netdev');
    assert.equal(nd.length, 4);
    assert.equal(nd[1], 'socket,id=l2a,udp=127.0.0.1:6001,localaddr=127.0.0.1:5001');
    assert.equal(nd[2], 'socket,id=l2b,udp=127.0.0.1:6002,localaddr=127.0.0.1:5002');
    assert.equal(nd[3], 'socket,id=l2c,connect=127.0.0.1:7001');
    for (const n of nd.slice(1)) for (const ip of n.match(/\d+\.\d+\.\d+\.\d+/g) ?? []) assert.ok(ip.startsWith('127.'), `${n} leaves loopback`);
    const dev = valueAfter(a, '-device');
    assert.deepEqual(
      dev.map((d) => d.split(',')[0]),
      ['virtio-net-pci', 'virtio-net-pci', 'e1000', 'virtio-net-pci'],
    );
  });

  test('a two-VM TCP link: one side listens on loopback, the other connects to it as to a hub', () => {
    const a = qemuArgs(spec({ l2: [{ id: 'n0', mac: macFor(1, 1), model: 'virtio-net-pci', transport: 'tcp-listen', listenPort: 7002 }] }));
    assert.deepEqual(valueAfter(a, '-netdev'), ['socket,id=n0,listen=127.0.0.1:7002']);
  });

  test('extra disks: plain, or with the host page cache bypassed (cache=none, aio=threads)', () => {
    const a = qemuArgs(spec({ boot: { kind: 'kernel', kernel: '/k', append: '' }, disks: ['/d/a.img', { file: '/d/b.img', cache: 'none' }] }));
    assert.deepEqual(valueAfter(a, '-drive'), ['file=/d/a.img,format=raw,if=virtio', 'file=/d/b.img,if=virtio,format=raw,cache=none,aio=threads']);
  });

  test('machine type: pc unless q35 is asked for', () => {
    assert.deepEqual(valueAfter(qemuArgs(spec()), '-machine'), ['pc']);
    assert.deepEqual(valueAfter(qemuArgs(spec({ machine: 'q35' })), '-machine'), ['q35']);
  });

  test('serial session: the console is QEMU stdio (its keyboard and screen) and still logged to the serial log; one serial port only', () => {
    const a = qemuArgs(spec({ serial: 'session' }));
    assert.deepEqual(valueAfter(a, '-chardev'), ['stdio,id=ser0,logfile=/s/serial.log']);
    assert.deepEqual(valueAfter(a, '-serial'), ['chardev:ser0']);
    assert.ok(!a.includes('-mon'), 'no monitor on the session console');
  });

  test('a console session cannot be detached, and a terminal console is not started in the background', () => {
    assert.throws(() => startVm(spec({ serial: 'session' }), { stderrLog: join(tmp, 'q.log'), detached: true }), /console session needs an attached VM/);
    assert.throws(() => startVm(spec({ serial: 'terminal' }), { stderrLog: join(tmp, 'q.log') }), /runOnTerminal/);
  });

  test('direct kernel boot passes kernel, initramfs and the command line', () => {
    const a = qemuArgs(
      spec({ boot: { kind: 'kernel', kernel: '/k/vmlinuz', initrd: '/k/initramfs.img', append: 'console=ttyS0 vrio.l2=eth1 vrio.ip=10.55.0.2/24' } }),
    );
    assert.deepEqual(valueAfter(a, '-kernel'), ['/k/vmlinuz']);
    assert.deepEqual(valueAfter(a, '-initrd'), ['/k/initramfs.img']);
    assert.deepEqual(valueAfter(a, '-append'), ['console=ttyS0 vrio.l2=eth1 vrio.ip=10.55.0.2/24']);
  });

  test('MAC addresses are distinct per VM and NIC, locally administered', () => {
    const macs = new Set<string>();
    for (let v = 0; v < 40; v++) for (let n = 0; n < 4; n++) macs.add(macFor(v, n));
    assert.equal(macs.size, 160);
    for (const m of macs) assert.match(m, /^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe('console session (a real shell on the other end of the pipes, as on a VM console)', () => {
  test('runs commands one after another with their exit status and output; kernel lines are cut from the output, kept in the text', async () => {
    const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => sh.once('exit', () => r()));
    let gone: string | undefined;
    void exited.then(() => (gone = 'sh ended'));
    const c = new ConsoleSession('t', sh.stdin, sh.stdout, () => gone, exited);
    try {
      const a = await c.run('echo hello; echo "[   12.345678] vrio: a kernel line"; echo world', 10_000);
      assert.deepEqual(a, { rc: 0, out: 'hello\nworld\n' });
      assert.match(c.text, /\[   12\.345678\] vrio: a kernel line/);
      assert.equal((await c.run('false', 10_000)).rc, 1);
      await assert.rejects(c.run('exit 7', 10_000), /^VrioError: t: VM stopped \(sh ended\); console tail:/);
    } finally {
      sh.kill('SIGKILL');
    }
  });

  test('a wait that is never met ends at its timeout with the console tail', async () => {
    const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => sh.once('exit', () => r()));
    const c = new ConsoleSession('t', sh.stdin, sh.stdout, () => undefined, exited);
    try {
      c.send('echo booted\n');
      await c.waitFor(/booted/, 10_000);
      await assert.rejects(c.waitFor(/never/, 300), /t: no \/never\/ within 300 ms; console tail:\nbooted/);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

describe('serial console and timeline', () => {
  test('GRUB/OVMF escape sequences are stripped from console lines', () => {
    assert.equal(cleanLine('\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading Boot0001\r'), 'BdsDxe: loading Boot0001');
    assert.equal(cleanLine('\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!'), 'Welcome to GRUB!');
  });

  test('a follower sees lines appended by another writer, including a final partial line', async () => {
    const f = join(tmp, 'serial.log');
    writeFileSync(f, '');
    const c = new ConsoleFollower(f, Date.now()).start(10);
    appendFileSync(f, 'SeaBIOS (version 1.16)\r\nLinux version 6.1.0 (x@y)\n');
    const hit = await c.waitFor(/Linux version/, { timeoutMs: 5000 });
    assert.equal(hit.text, 'Linux version 6.1.0 (x@y)');
    appendFileSync(f, 'vrio: ssh ready');
    c.stop();
    assert.deepEqual(
      c.lines.map((l) => l.text),
      ['SeaBIOS (version 1.16)', 'Linux version 6.1.0 (x@y)', 'vrio: ssh ready'],
    );
    assert.match(c.tail(2), /Linux version[\s\S]*ssh ready/);
  });

  test('waiting stops early with the reason when the VM is gone, and on timeout', async () => {
    const f = join(tmp, 'serial2.log');
    writeFileSync(f, 'nothing\n');
    const c = new ConsoleFollower(f, Date.now());
    await assert.rejects(
      c.waitFor(/ssh ready/, { timeoutMs: 60_000, stopIf: () => 'QEMU ended (exit code 1)', what: 'SSH ready' }),
      /SSH ready never appeared: QEMU ended/,
    );
    await assert.rejects(c.waitFor(/ssh ready/, { timeoutMs: 200 }), /timed out/);
  });

  test('timeline picks the first marker of each stage in boot order, firmware from the debug port', () => {
    const serial = [
      { t: 0.4, text: "  Booting `vrio guest'" },
      { t: 1.6, text: '[    0.000000] Linux version 6.1.0-vrio-test (vrio@build) #1' },
      { t: 2.9, text: 'vrio: eth1 10.55.0.2/24' },
      { t: 3.5, text: 'vrio: ssh ready' },
      { t: 9.0, text: 'Linux version 6.1.0 again' },
    ];
    const fw = [{ t: 0.1, text: 'SeaBIOS (version 1.16.2-debian-1.16.2-1)' }];
    const tl = timeline(serial, fw);
    assert.deepEqual(
      tl.map((e) => [e.name, e.t]),
      [
        ['firmware', 0.1],
        ['bootloader', 0.4],
        ['kernel', 1.6],
        ['init', 2.9],
        ['ssh-ready', 3.5],
      ],
    );
    assert.equal(formatTimeline(tl), 'firmware 0.1s → bootloader 0.4s → kernel 1.6s → init 2.9s → SSH ready 3.5s');
  });

  test('a boot that never reached the kernel has no kernel/init/ssh markers', () => {
    const tl = timeline([{ t: 7, text: 'BdsDxe: failed to load Boot0001' }], []);
    assert.deepEqual(
      tl.map((e) => e.name),
      ['firmware'],
    );
  });
});

describe('loopback ports and processes', () => {
  test('free ports are bindable on 127.0.0.1 and distinct', async () => {
    const p = await freeTcpPort();
    await new Promise<void>((resolve, reject) => {
      const s = createServer()
        .once('error', reject)
        .listen(p, '127.0.0.1', () => s.close(() => resolve()));
    });
    const u = await freeUdpPorts(8);
    assert.equal(new Set(u).size, 8);
  });

  test('a recorded pid is killed only when it still runs the command we started', async () => {
    const marker = join(tmp, 'state-marker');
    // `sleep; :` keeps sh itself running (no exec), with the marker in its command line.
    const child = spawn('sh', ['-c', 'sleep 30; :', marker], { stdio: 'ignore' });
    const other = spawn('sh', ['-c', 'sleep 31; :'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !processCmdline(child.pid!)?.includes(marker); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(processCmdline(child.pid!)?.includes(marker));
      assert.equal(await killRecordedPid(other.pid!, marker), false, 'a process without the marker must not be touched');
      assert.ok(processCmdline(other.pid!), 'the unrelated process is still alive');
      const gone = new Promise((r) => child.once('exit', r));
      assert.equal(await killRecordedPid(child.pid!, marker), true);
      await gone;
      assert.equal(await killRecordedPid(child.pid!, marker), false, 'killing twice reports nothing to kill');
    } finally {
      child.kill('SIGKILL');
      other.kill('SIGKILL');
    }
  });
});
