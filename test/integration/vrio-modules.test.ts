// The vRIO modules in the built images contain no floating-point code
// (fix 0008: the guest block driver's request timer used x87 arithmetic in
// hard-irq context). The scan itself is checked on code gcc compiles here
// with the kernel's float flags, so it cannot pass by finding nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fpuInstructions } from '../support/fpu-scan.js';
import { lacks } from '../support/prereq.js';
import { vrioImagesFixture } from '../support/vrio-images.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-mods-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const objdump = (file: string) => execFileSync('objdump', ['-d', file], { encoding: 'utf8', maxBuffer: 256 << 20 });

/** The vrio_*.ko files of one image's rootfs.tar, extracted into dir. */
function vrioModules(imagesDir: string, role: 'iohyp' | 'guest', dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xf', join(imagesDir, 'images', role, 'rootfs.tar'), '-C', dir, '--wildcards', '*/vrio_*.ko']);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ko'))
    .map((f) => join(dir, f))
    .sort();
}

describe('floating point in vRIO modules', () => {
  const fixed = vrioImagesFixture('default');
  const upstream = vrioImagesFixture('upstream');
  test('the scan finds the x87 code gcc emits for kernel flags (-mno-sse), and none in integer code', () => {
    const src = join(tmp, 'f.c');
    writeFileSync(
      src,
      'unsigned long late(unsigned long t, int lim) { return t * 1.1 < lim; }\nunsigned long late_int(unsigned long t, int lim) { return t + t / 10 < (unsigned long)lim; }\n',
    );
    execFileSync('gcc', ['-O2', '-mno-sse', '-mno-mmx', '-mno-sse2', '-mno-red-zone', '-c', src, '-o', join(tmp, 'f.o')]);
    const uses = fpuInstructions(objdump(join(tmp, 'f.o')));
    assert.ok(uses.length > 0 && uses.every((u) => u.fn === 'late'), JSON.stringify(uses));
    assert.ok(
      uses.some((u) => /^fild/.test(u.insn)),
      'an integer is loaded onto the x87 stack',
    );
  });

  for (const role of ['iohyp', 'guest'] as const) {
    test(`${role} image: no vRIO module contains x87 or SSE instructions`, (t) => {
      if (lacks(t, fixed.missing)) return;
      const mods = vrioModules(fixed.imgs!.out, role, join(tmp, role));
      assert.ok(mods.length >= 4, `the ${role} image carries the vRIO modules (found ${mods.length})`);
      for (const m of mods) {
        const uses = fpuInstructions(objdump(m));
        t.diagnostic(`${m.split('/').pop()}: ${uses.length} FPU instructions`);
        assert.deepEqual(uses, [], `${m.split('/').pop()} uses the FPU in ${[...new Set(uses.map((u) => u.fn))].join(', ')}`);
      }
    });
  }

  test('upstream images (kernel.fixes: false): vrio_gblk has x87 code in its request timer', (t) => {
    if (lacks(t, upstream.missing)) return;
    const gblk = vrioModules(upstream.imgs!.out, 'guest', join(tmp, 'upstream')).find((m) => m.endsWith('/vrio_gblk.ko'));
    assert.ok(gblk, 'the upstream guest image has vrio_gblk.ko');
    const uses = fpuInstructions(objdump(gblk));
    t.diagnostic(`vrio_gblk.ko: ${uses.length} FPU instructions in ${[...new Set(uses.map((u) => u.fn))].join(', ')}`);
    assert.ok(uses.some((u) => u.fn === 'timer_callback'));
  });
});
