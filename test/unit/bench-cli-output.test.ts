// Reading what the measured verbs print: `vrio kernel build --json` events
// and result document become the build step timeline; `vrio smoke` timelines
// become boot spans; the one-file change edits exactly the module's source.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bootSpans } from '../../bench/workloads/boot.js';
import { bumpTestModule } from '../../bench/workloads/build.js';
import { parseJsonOutput, shortStep, stepSpans } from '../../bench/vrio-cli.js';
import { dataPath } from '../../lib/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// As printed by a real cold `vrio kernel build --json` of the CI kernel (paths shortened).
const KERNEL_BUILD = `{"type":"progress-done","time":"2026-11-25T18:07:51.015Z","label":"copying linux-debian (linux-source-6.1.tar.xz)","seconds":0.209}
{"type":"step","time":"2026-11-25T18:07:52.061Z","message":"preparing the source tree (1 patches on linux-debian)"}
{"type":"step","time":"2026-11-25T18:08:25.151Z","message":"compiling the kernel for iohyp (make -j2; log: /tmp/x/out/logs/kernel-25c829ce2fec.log)"}
{"type":"progress-done","time":"2026-11-25T18:11:02.500Z","label":"building kernel (iohyp)","seconds":157.3,"detail":"912 steps, 3 compiler warnings"}
{
  "seconds": 192.4,
  "roles": {
    "iohyp": { "bzImage": "/tmp/x/stage/bzImage", "modulesRoot": "/tmp/x/stage/modules", "action": "full", "release": "6.1.0" },
    "guest": { "bzImage": "/tmp/x/stage/bzImage", "modulesRoot": "/tmp/x/stage/modules", "action": "full", "release": "6.1.0" }
  }
}`;

describe('bench: vrio --json output', () => {
  it('separates the event lines from the pretty-printed result document', () => {
    const { events, doc } = parseJsonOutput(KERNEL_BUILD);
    assert.deepEqual(
      events.map((e) => e.type),
      ['progress-done', 'step', 'step', 'progress-done'],
    );
    const d = doc as { seconds: number; roles: Record<string, { action: string }> };
    assert.equal(d.seconds, 192.4);
    assert.deepEqual(Object.keys(d.roles), ['iohyp', 'guest']);
    assert.equal(d.roles.guest.action, 'full');
  });

  it('reads a one-line result document too (e.g. smoke --json)', () => {
    const { events, doc } = parseJsonOutput('{"type":"step","time":"2026-11-25T18:00:00.000Z","message":"x"}\n{"seconds":1.5,"images":{}}\n');
    assert.equal(events.length, 1);
    assert.deepEqual(doc, { seconds: 1.5, images: {} });
  });

  it('turns step events into consecutive spans from the process start', () => {
    const { events } = parseJsonOutput(KERNEL_BUILD);
    const startedAt = Date.parse('2026-11-25T18:07:50.815Z');
    const spans = stepSpans({ events, startedAt, seconds: 192.4 });
    assert.deepEqual(
      spans.map((s) => [s.name, Number(s.start.toFixed(3)), Number(s.end.toFixed(3))]),
      [
        ['preparing the source tree', 1.246, 34.336],
        ['compiling the kernel for iohyp', 34.336, 192.4],
      ],
    );
  });

  it('shortens step messages to their first clause', () => {
    assert.equal(shortStep('rebuilding modules in drivers/misc/vrio_test only (make M=x modules)'), 'rebuilding modules in drivers/misc/vrio_test only');
    assert.equal(shortStep('updating module sources: drivers/vrio'), 'updating module sources');
    // Long ones are cut at a word boundary, never mid-word.
    assert.equal(
      shortStep('assembling the root file system of the guest role from forty-two Debian packages and overlays'),
      'assembling the root file system of the guest role from…',
    );
  });
});

describe('bench: boot timeline', () => {
  it('spans QEMU start -> firmware -> bootloader -> kernel -> init -> SSH ready', () => {
    const spans = bootSpans([
      { name: 'kernel', label: 'kernel', t: 1.6 },
      { name: 'firmware', label: 'firmware', t: 0.1 },
      { name: 'bootloader', label: 'bootloader', t: 0.9 },
      { name: 'init', label: 'init', t: 2.4 },
      { name: 'ssh-ready', label: 'SSH ready', t: 6.8 },
    ]);
    assert.deepEqual(
      spans.map((s) => `${s.name} ${s.start}-${s.end}`),
      ['QEMU start → firmware 0-0.1', 'firmware → bootloader 0.1-0.9', 'bootloader → kernel 0.9-1.6', 'kernel → init 1.6-2.4', 'init → SSH ready 2.4-6.8'],
    );
  });
});

describe('bench: the one-file change', () => {
  it('changes only the revision line of the test module inside the patch', () => {
    const patch = join(tmp, 'module.patch');
    copyFileSync(dataPath('bench/ci-kernel/patches/0001-misc-add-vrio_test-module.patch'), patch);
    const before = readFileSync(patch, 'utf8');
    bumpTestModule(patch, 101);
    const after = readFileSync(patch, 'utf8');
    const changed = after.split('\n').filter((l, i) => l !== before.split('\n')[i]);
    assert.deepEqual(changed, ['+#define VRIO_TEST_REVISION 101']);
    assert.equal(after.split('\n').length, before.split('\n').length, 'hunk line counts stay valid');
  });

  it('refuses a patch without the line rather than measuring a no-op', () => {
    const patch = join(tmp, 'other.patch');
    copyFileSync(dataPath('bench/ci-kernel/vrio-test.config'), patch);
    assert.throws(() => bumpTestModule(patch, 2), /no VRIO_TEST_REVISION line/);
  });
});
