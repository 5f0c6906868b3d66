// `vrio smoke` failure paths with real QEMU boots of the 3.10 vRIO images:
// an image without an init fails with the kernel's panic in the console tail,
// an image whose pinned host key does not match is refused, and Ctrl-C stops
// the run and its QEMU. After each, no QEMU started by the run is alive.
// (The four good boot paths are run by smoke-workflow.test.ts.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lacks } from '../support/prereq.js';
import { vrioImagesFixture } from '../support/vrio-images.js';
import { jsonLines, pidsWith, vrio } from './smoke-support.js';
import { readImageManifest, type ImageManifest } from '../../builder/image/image-manifest.js';

/** Seconds per boot until SSH: 60 keeps CI under budget with TCG; a loaded workstation may need more. */
const BOOT_TIMEOUT = process.env.VRIO_SMOKE_TIMEOUT ?? '60';
const tmp = mkdtempSync(join(tmpdir(), 'vrio-smoke-it-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const ci = vrioImagesFixture();

/** A copy of an image dir whose files link to the real ones, with manifest.json edited. */
function imageCopy(role: string, name: string, edit: (m: ImageManifest) => void): string {
  const src = join(ci.imgs!.out, 'images', role);
  const dir = join(tmp, name, 'images', role);
  mkdirSync(dir, { recursive: true });
  for (const f of [`${role}.iso`, 'vmlinuz', 'initramfs.img']) symlinkSync(join(src, f), join(dir, f));
  const m = readImageManifest(join(src, 'manifest.json'));
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  cpSync(join(ci.imgs!.out, 'keys'), join(tmp, name, 'keys'), { recursive: true });
  return dir;
}

describe('vrio smoke failures', () => {
  test('an image without an init fails: exit 1, the kernel panic in the console tail, QEMU gone', async (t) => {
    if (lacks(t, ci.missing)) return;
    // A real hybrid ISO (grub-mkrescue) with the image's kernel and an initramfs that has no /init.
    const tree = join(tmp, 'broken-tree');
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    cpSync(join(ci.imgs!.out, 'images', 'guest', 'vmlinuz'), join(tree, 'boot', 'vmlinuz'));
    const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], { input: 'README\n', cwd: (writeFileSync(join(tmp, 'README'), 'no init here\n'), tmp) });
    writeFileSync(join(tree, 'boot', 'initramfs.img'), cpio);
    writeFileSync(
      join(tree, 'boot', 'grub', 'grub.cfg'),
      'serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\nset timeout=0\n' +
        'menuentry broken {\n  linux /boot/vmlinuz console=ttyS0,115200 panic=5\n  initrd /boot/initramfs.img\n}\n',
    );
    const dir = imageCopy('guest', 'broken', (m) => (m.role = 'broken'));
    rmSync(join(dir, 'guest.iso'));
    execFileSync('grub-mkrescue', ['-o', join(dir, 'broken.iso'), tree], { stdio: 'ignore' });
    const logDir = join(tmp, 'broken-logs');
    const r = await vrio(['smoke', dir, '--firmware', 'bios', '--media', 'cdrom', '--timeout', BOOT_TIMEOUT, '--log-dir', logDir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /FAILED/);
    assert.match(r.stderr, /console tail/);
    assert.match(r.stderr, /Kernel panic|No working init found|Unable to mount root|not syncing/, 'the console tail shows why the boot failed');
    assert.match(r.stderr, /0\/1 boots passed/);
    assert.deepEqual(pidsWith(logDir), [], 'no QEMU of this run is left');
  });

  test('a VM whose host key is not the pinned one is refused, and --json says why', async (t) => {
    if (lacks(t, ci.missing)) return;
    const dir = imageCopy('guest', 'wrongpin', (m) => (m.hostKeys = { 'ssh-ed25519': 'SHA256:' + 'A'.repeat(43) }));
    const logDir = join(tmp, 'pin-logs');
    const r = await vrio(['smoke', dir, '--firmware', 'bios', '--media', 'disk', '--timeout', BOOT_TIMEOUT, '--log-dir', logDir, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const report = jsonLines(r.stdout).find((e) => e.type === 'smoke-report') as { ok: boolean; boots: { ok: boolean; error: string }[] };
    assert.equal(report.ok, false);
    assert.equal(report.boots.length, 1);
    assert.match(
      report.boots[0].error,
      /^host key of \[127\.0\.0\.1\]:\d+ is SHA256:\S+, which matches none of the pinned fingerprints \(SHA256:A{43}\): refusing to connect/,
    );
    assert.deepEqual(pidsWith(logDir), []);
  });

  test('an ISO that differs from its manifest record is refused before booting', async (t) => {
    if (lacks(t, ci.missing)) return;
    const dir = imageCopy('guest', 'wrongsha', (m) => (m.outputs['guest.iso'] = { ...m.outputs['guest.iso'], sha256: '0'.repeat(64) }));
    const logDir = join(tmp, 'sha-logs');
    const r = await vrio(['smoke', dir, '--firmware', 'bios', '--media', 'cdrom', '--log-dir', logDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /guest\.iso: sha256 [0-9a-f]{64} differs from .*manifest\.json/);
    assert.deepEqual(pidsWith(logDir), [], 'nothing was booted');
  });

  test('Ctrl-C during a boot: exit 130 and the QEMU it started is killed', async (t) => {
    if (lacks(t, ci.missing)) return;
    const logDir = join(tmp, 'sigint-logs');
    let cliPid = 0;
    const running = vrio(['smoke', join(ci.imgs!.out, 'images', 'guest'), '--firmware', 'bios', '--media', 'cdrom', '--log-dir', logDir], {
      onSpawn: (p) => (cliPid = p),
    });
    let qemu: number[] = [];
    for (let i = 0; i < 600 && qemu.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      qemu = pidsWith(logDir).filter((p) => p !== cliPid); // the CLI's own argv names the log dir too
    }
    assert.ok(qemu.length > 0, 'QEMU started');
    process.kill(cliPid, 'SIGINT');
    const r = await running;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(pidsWith(logDir), [], 'the QEMU is gone');
  });
});
