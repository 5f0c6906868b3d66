// The patch series: upstream commits first (git format-patch of the pinned
// range), then compat patches chosen by the host toolchain, then fixes, then
// the manifest's own patches. Also: the split into core and module sections.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Manifest } from '../../builder/manifest.js';
import { hunkAt, makePatch, partitionSeries, splitPatch } from '../../builder/kernel/patchfile.js';
import { collectSeries } from '../../builder/kernel/series.js';
import { compareVersions, compatDir, satisfies, selectCompat } from '../../builder/kernel/toolchain.js';
import { ensureSources } from '../../builder/sources/index.js';
import { Logger, setLogger } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';

setLogger(new Logger({ verbosity: 'quiet' }));

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `vrio-${p}-`));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
  }).trim();
}

describe('toolchain selection', () => {
  it('compare versions and conditions', () => {
    assert.equal(compareVersions('12.2.0', '12.2'), 0);
    assert.equal(compareVersions('2.40', '2.31'), 1);
    assert.equal(compareVersions('2.9', '2.31'), -1);
    assert.ok(satisfies('2.40', '>=2.31'));
    assert.ok(!satisfies('2.30', '>=2.31'));
    assert.ok(satisfies('4.9.2', '<5'));
  });

  it('pick the 3.10 compat set for gcc 12 / binutils 2.40 (the Debian 12 toolchain)', () => {
    const dir = compatDir(dataPath('kernel-config/patches'), '3.10');
    assert.ok(dir);
    const sel = selectCompat(dir, { gcc: '12.2.0', binutils: '2.40' });
    assert.deepEqual(sel.makeFlags, ['CC=gcc -fno-pie -fgnu89-inline', 'HOSTCC=gcc -fcommon']);
    assert.deepEqual(
      sel.patches.map((p) => p.split('/').pop()),
      [
        '0001-x86-module-accept-R_X86_64_PLT32.patch',
        '0002-x86-relocs-accept-R_X86_64_PLT32.patch',
        '0003-x86-boot-compressed-no-sse.patch',
        '0004-x86-head64-pad-early-idt-stubs.patch',
      ],
    );
    assert.deepEqual(
      sel.generated.map((g) => g.name),
      ['gen-compiler-gcc12-header.patch'],
    );
    assert.match(sel.generated[0].text, /\+\+\+ b\/include\/linux\/compiler-gcc12\.h/);
    // Every compat patch names the file it changes in the reference's list.
    const touched = sel.patches.flatMap((p) => splitPatch(readFileSync(p, 'utf8')).map((s) => s.newPath));
    assert.deepEqual(touched, ['arch/x86/kernel/module.c', 'arch/x86/tools/relocs.c', 'arch/x86/boot/compressed/Makefile', 'arch/x86/kernel/head_64.S']);
  });

  it('pick nothing but plain CC/HOSTCC for the toolchain 3.10 was written for', () => {
    const sel = selectCompat(compatDir(dataPath('kernel-config/patches'), '3.10')!, { gcc: '4.9.2', binutils: '2.25' });
    assert.deepEqual(sel.makeFlags, ['CC=gcc', 'HOSTCC=gcc']);
    assert.deepEqual(sel.patches, []);
    assert.deepEqual(sel.generated, []);
  });

  it('need no compat for a line without a compat dir (6.1)', () => {
    assert.equal(compatDir(dataPath('kernel-config/patches'), '6.1'), undefined);
  });
});

describe('series order', () => {
  it('upstream commits, then compat, then fixes, then the manifest patches', async () => {
    // An upstream repository: base + two commits.
    const up = tmp('up');
    git(up, 'init', '-q', '-b', 'main');
    writeFileSync(join(up, 'Makefile'), 'CC = gcc-4.9\n');
    git(up, 'add', '.');
    git(up, 'commit', '-q', '-m', 'initial project version');
    const base = git(up, 'rev-parse', 'HEAD');
    mkdirSync(join(up, 'drivers', 'vrio'), { recursive: true });
    writeFileSync(join(up, 'drivers', 'vrio', 'Makefile'), 'obj-m += eth/\n');
    git(up, 'add', '.');
    git(up, 'commit', '-q', '-m', 'vRIO Ethernet transport module');
    writeFileSync(join(up, 'README'), 'vRIO\n');
    git(up, 'add', '.');
    git(up, 'commit', '-q', '-m', 'add README file');
    const head = git(up, 'rev-parse', 'HEAD');

    // Our patch data for an imaginary line "9.9".
    const root = tmp('patches');
    mkdirSync(join(root, '9.9', 'compat'), { recursive: true });
    mkdirSync(join(root, '9.9', 'fixes'), { recursive: true });
    writeFileSync(
      join(root, '9.9', 'compat', 'compat.yaml'),
      'cc:\n  - { flag: -fno-pie, when: { gcc: ">=6" } }\npatches:\n  - { file: b.patch }\n  - { file: a.patch }\n  - { file: old.patch, when: { binutils: "<2.0" } }\n',
    );
    for (const f of ['a.patch', 'b.patch', 'old.patch']) writeFileSync(join(root, '9.9', 'compat', f), `--- a/${f}\n+++ b/${f}\n`);
    writeFileSync(join(root, '9.9', 'fixes', '0002-second.patch'), 'x');
    writeFileSync(join(root, '9.9', 'fixes', '0001-first.patch'), 'x');
    const user = tmp('user');
    writeFileSync(join(user, 'z.patch'), 'x');
    writeFileSync(join(user, 'notes.txt'), 'not a patch');
    const single = join(tmp('one'), 'single.diff');
    writeFileSync(single, 'x');

    const cache = tmp('cache');
    const m = {
      kernel: {
        line: '9.9',
        source: 'k',
        series: { source: 'k', from: base, to: head },
        compat: true,
        fixes: true,
        patches: [user, single],
        defconfig: 'defconfig',
        fragments: [],
        makeFlags: [],
      },
      sources: { k: { kind: 'git', url: up, commit: head } },
      mirrors: {},
      roles: {},
      cacheDir: cache,
      outputDir: tmp('out'),
    } as unknown as Manifest;
    const sources = await ensureSources(m, ['k'], { logFile: join(cache, 'log') });
    const s = await collectSeries(m, sources, { gcc: '12.2.0', binutils: '2.40' }, join(cache, 'log'), root);
    assert.deepEqual(
      s.patches.map((p) => `${p.origin}:${p.name}`),
      [
        'upstream-series:series/0001-vRIO-Ethernet-transport-module.patch',
        'upstream-series:series/0002-add-README-file.patch',
        'compat:compat/b.patch',
        'compat:compat/a.patch',
        'fixes:fixes/0001-first.patch',
        'fixes:fixes/0002-second.patch',
        'user:user/z.patch',
        'user:user/single.diff',
      ],
    );
    assert.deepEqual(s.makeFlags, ['CC=gcc -fno-pie', 'HOSTCC=gcc']);
    // The upstream patch really is the commit: it creates drivers/vrio/Makefile.
    assert.deepEqual(
      splitPatch(s.patches[0].text).map((x) => [x.oldPath, x.newPath]),
      [[undefined, 'drivers/vrio/Makefile']],
    );
  });
});

describe('patch sections', () => {
  const p = makePatch(
    'p',
    `Subject: [PATCH] mixed

 drivers/vrio/eth/eth.c | 2 +-
---
diff --git a/drivers/vrio/eth/eth.c b/drivers/vrio/eth/eth.c
index 1..2 100644
--- a/drivers/vrio/eth/eth.c
+++ b/drivers/vrio/eth/eth.c
@@ -1,3 +1,3 @@
 a
-b
+c
 d
@@ -10,2 +10,2 @@
-x
+y
 z
diff --git a/drivers/vrio/Kconfig b/drivers/vrio/Kconfig
new file mode 100644
--- /dev/null
+++ b/drivers/vrio/Kconfig
@@ -0,0 +1 @@
+config VRIO
diff --git a/net/core/skbuff.c b/net/core/skbuff.c
--- a/net/core/skbuff.c
+++ b/net/core/skbuff.c
@@ -5 +5 @@
--- old
+++ new
-- 
2.39.2
`,
    'upstream-series',
  );

  it('split a patch per file, counting hunk lines (a "--- " inside a hunk is content)', () => {
    const s = splitPatch(p.text);
    assert.deepEqual(
      s.map((x) => [x.oldPath, x.newPath, x.hunks.length]),
      [
        ['drivers/vrio/eth/eth.c', 'drivers/vrio/eth/eth.c', 2],
        [undefined, 'drivers/vrio/Kconfig', 1],
        ['net/core/skbuff.c', 'net/core/skbuff.c', 1],
      ],
    );
    assert.ok(!s[2].text.includes('2.39.2'), 'the format-patch trailer is not part of the last section');
    assert.equal(hunkAt(p, 'drivers/vrio/eth/eth.c', 10)?.index, 2);
  });

  it('keep module-dir sections apart from the core; Kconfig files count as core', () => {
    const part = partitionSeries([p], ['drivers/vrio']);
    assert.equal(part.modules.length, 1);
    assert.match(part.modules[0].text, /eth\.c/);
    assert.doesNotMatch(part.modules[0].text, /Kconfig|skbuff/);
    assert.equal(part.core.length, 2);
  });
});
