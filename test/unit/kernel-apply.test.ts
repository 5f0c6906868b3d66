// Applying a patch series: the dry run sees earlier patches, a failing patch is
// named with file and hunk, and a failure leaves the tree untouched.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { applySeries, PatchError } from '../../builder/kernel/apply.js';
import { makePatch } from '../../builder/kernel/patchfile.js';
import { prepareTree, type Base } from '../../builder/kernel/tree.js';
import { Logger, setLogger } from '../../lib/log.js';

setLogger(new Logger({ verbosity: 'quiet' }));

function tmp(p: string): string {
  return mkdtempSync(join(tmpdir(), `vrio-${p}-`));
}

/** A small tree: 40 numbered lines per file, so hunks have context. */
function makeTree(): string {
  const dir = tmp('tree');
  mkdirSync(join(dir, 'drivers', 'net'), { recursive: true });
  writeFileSync(join(dir, 'drivers', 'net', 'a.c'), Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  writeFileSync(join(dir, 'Makefile'), 'obj-y += drivers/\n');
  return dir;
}

function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      h.update(relative(dir, p) + '\0');
      if (e.isDirectory()) walk(p);
      else h.update(readFileSync(p)).update(String(statSync(p).mode));
    }
  };
  walk(dir);
  return h.digest('hex');
}

const createsNewFile = makePatch(
  '0001-add-vrio.patch',
  `Subject: [PATCH] add drivers/vrio

---
diff --git a/drivers/vrio/Makefile b/drivers/vrio/Makefile
new file mode 100755
--- /dev/null
+++ b/drivers/vrio/Makefile
@@ -0,0 +1,2 @@
+obj-m += eth/
+obj-m += generic/
`,
  'upstream-series',
);

// Changes the file patch 1 created: the dry run must see patch 1's result.
const changesNewFile = makePatch(
  '0002-more-vrio.patch',
  `Subject: [PATCH] more

---
diff --git a/drivers/vrio/Makefile b/drivers/vrio/Makefile
--- a/drivers/vrio/Makefile
+++ b/drivers/vrio/Makefile
@@ -1,2 +1,3 @@
 obj-m += eth/
 obj-m += generic/
+obj-m += blk/
`,
  'upstream-series',
);

const goodHunks = makePatch(
  '0003-net.patch',
  `--- a/drivers/net/a.c
+++ b/drivers/net/a.c
@@ -3,3 +3,3 @@
 line 3
-line 4
+line four
 line 5
@@ -30,3 +30,3 @@
 line 30
-line 31
+line thirty-one
 line 32
`,
  'compat',
);

// Its second hunk does not match the tree.
const badSecondHunk = makePatch(
  '0004-broken.patch',
  `--- a/drivers/net/a.c
+++ b/drivers/net/a.c
@@ -10,3 +10,3 @@
 line 10
-line 11
+line eleven
 line 12
@@ -20,3 +20,3 @@
 line 20
-line 99
+line ninety-nine
 line 22
`,
  'fixes',
);

describe('applySeries', () => {
  it('apply a series where a later patch changes a file an earlier one created', async () => {
    const tree = makeTree();
    await applySeries(tree, [createsNewFile, changesNewFile, goodHunks], tmp('series'));
    assert.equal(readFileSync(join(tree, 'drivers/vrio/Makefile'), 'utf8'), 'obj-m += eth/\nobj-m += generic/\nobj-m += blk/\n');
    assert.match(readFileSync(join(tree, 'drivers/net/a.c'), 'utf8'), /line four\n[\s\S]*line thirty-one\n/);
    assert.equal(statSync(join(tree, 'drivers/vrio/Makefile')).mode & 0o777, 0o755);
  });

  it('name the failing patch, file and hunk, and leave the tree untouched', async () => {
    const tree = makeTree();
    const before = treeHash(tree);
    await assert.rejects(applySeries(tree, [createsNewFile, changesNewFile, goodHunks, badSecondHunk], tmp('series')), (e: unknown) => {
      assert.ok(e instanceof PatchError, String(e));
      assert.equal(e.patch, '0004-broken.patch');
      assert.equal(e.file, 'drivers/net/a.c');
      assert.equal(e.hunk, 2);
      assert.match(e.message, /0004-broken\.patch does not apply: file drivers\/net\/a\.c, hunk #2/);
      return true;
    });
    assert.equal(treeHash(tree), before, 'a failed dry run must not change a single file');
  });

  it('apply inside a directory that is itself in a git checkout (git must not use that repository)', async () => {
    const outer = tmp('checkout');
    execFileSync('git', ['init', '-q', outer]);
    const tree = join(outer, 'out', 'tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'Makefile'), 'obj-y += drivers/\n');
    await applySeries(tree, [createsNewFile], tmp('series'));
    assert.ok(existsSync(join(tree, 'drivers/vrio/Makefile')));
  });
});

describe('prepareTree', () => {
  it('create no prepared tree when the series does not apply', async () => {
    const src = makeTree();
    const out = tmp('out');
    const base: Base = {
      ref: 'dir:test',
      source: { name: 'local', kind: 'dir', spec: { kind: 'dir', path: src }, dir: src, ref: 'dir:test' },
      extract: async (dest) => {
        execFileSync('cp', ['-a', `${src}/.`, dest]);
      },
    };
    const before = treeHash(src);
    await assert.rejects(
      prepareTree({ outputDir: out, base, patches: [goodHunks, badSecondHunk], moduleDirs: ['drivers/vrio'], logFile: join(out, 'log') }),
      PatchError,
    );
    assert.equal(existsSync(join(out, 'kernel', 'trees')) ? readdirSync(join(out, 'kernel', 'trees')).length : 0, 0);
    assert.equal(treeHash(src), before);
  });

  it('reuse the tree, and refresh only module directories when only they change', async () => {
    const src = makeTree();
    const out = tmp('out');
    const base: Base = {
      ref: 'dir:test2',
      source: { name: 'local', kind: 'dir', spec: { kind: 'dir', path: src }, dir: src, ref: 'dir:test2' },
      extract: async (dest) => {
        execFileSync('cp', ['-a', `${src}/.`, dest]);
      },
    };
    const opts = { outputDir: out, base, moduleDirs: ['drivers/vrio'], logFile: join(out, 'log') };
    const t1 = await prepareTree({ ...opts, patches: [createsNewFile, goodHunks] });
    const netBefore = statSync(join(t1.src, 'drivers/net/a.c')).mtimeMs;
    const t2 = await prepareTree({ ...opts, patches: [createsNewFile, goodHunks] });
    assert.equal(t2.src, t1.src);
    assert.equal(t2.modulesRefreshed, false);
    const t3 = await prepareTree({ ...opts, patches: [createsNewFile, changesNewFile, goodHunks] });
    assert.equal(t3.key, t1.key, 'a change inside drivers/vrio keeps the core tree key');
    assert.notEqual(t3.moduleKey, t1.moduleKey);
    assert.equal(t3.modulesRefreshed, true);
    assert.match(readFileSync(join(t3.src, 'drivers/vrio/Makefile'), 'utf8'), /blk/);
    assert.equal(statSync(join(t3.src, 'drivers/net/a.c')).mtimeMs, netBefore, 'files outside the module dirs are not rewritten');
  });
});
