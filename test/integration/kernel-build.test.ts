// The kernel builder end to end on a real kernel: Debian's linux-source-6.1
// (installed by .ci/run; no internet), our test patch series adding
// drivers/misc/vrio_test, and the small config. Real tar, git apply, make and
// gcc; both CI roles share one config, so the kernel is compiled once. It works
// in the shared CI-kernel output dir of the test cache (the one npm test's
// prepare step builds and the image, smoke and lab tests use): the same inputs
// are never compiled twice in one run. Its modules-only rebuild changes the
// test module and puts the original back afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildKernelDetailed, type RoleBuild } from '../../builder/kernel/index.js';
import { loadFragments, mergeFragments, parseConfig } from '../../builder/kernel/fragments.js';
import { loadManifest, type Manifest } from '../../builder/manifest.js';
import { eventOf } from '../support/cli.js';
import { ChecksumError } from '../../builder/sources/tarball.js';
import { Logger, setLogger } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import { CI_TARBALL, ciKernelUnavailable, writeCiManifest } from '../../bench/ci-kernel/manifest.js';
import { cacheRoot } from '../support/vrio-images.js';
import { prerequisite } from '../support/prereq.js';

setLogger(new Logger({ verbosity: process.env.VRIO_TEST_VERBOSE ? 'normal' : 'quiet' }));

const skip = prerequisite(ciKernelUnavailable());
const roles = ['iohyp', 'guest'];

function modinfo(ko: string, field: string): string {
  return execFileSync('modinfo', ['-F', field, ko], { encoding: 'utf8' }).trim();
}

function koPath(b: RoleBuild, name: string): string {
  return join(b.artifacts.modulesRoot, 'lib', 'modules', b.artifacts.release, 'kernel', 'drivers', 'misc', 'vrio_test', `${name}.ko`);
}

describe('kernel build (Debian linux-source-6.1, CI config)', { skip }, () => {
  let dir: string;
  let file: string;
  let m: Manifest;
  let first: Record<string, RoleBuild>;

  let scratch: string;
  let patch: string;
  let patchText: string;
  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'vrio-kernel-it-'));
    dir = join(cacheRoot, 'ci-kernel');
    file = await writeCiManifest(dir, { outputDir: join(dir, 'out'), cacheDir: join(cacheRoot, 'cache') });
    m = loadManifest(file, dir, {}, {});
    patch = join(dir, 'patches', '0001-misc-add-vrio_test-module.patch');
    patchText = readFileSync(patch, 'utf8');
  });
  after(() => {
    // The shared build goes back to the fixture's module on its next build (modules only).
    if (patch && patchText) writeFileSync(patch, patchText);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('reject a corrupted tarball before anything is extracted', async () => {
    const bad = join(scratch, 'corrupt', 'linux-source-6.1.tar.xz');
    execFileSync('mkdir', ['-p', join(scratch, 'corrupt')]);
    copyFileSync(CI_TARBALL, bad);
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.from('vrio'), 0, 4, Math.floor(statSync(bad).size / 2));
    closeSync(fd);
    const cm: Manifest = {
      ...m,
      outputDir: join(scratch, 'corrupt-out'),
      cacheDir: join(scratch, 'corrupt-cache'),
      sources: { ...m.sources, 'linux-debian': { ...m.sources['linux-debian'], url: pathToFileURL(bad).href } as Manifest['sources'][string] },
    };
    await assert.rejects(buildKernelDetailed(cm, roles), (e: unknown) => {
      assert.ok(e instanceof ChecksumError, String(e));
      assert.match(e.message, /sha256 mismatch for linux-source-6\.1\.tar\.xz/);
      return true;
    });
    assert.ok(
      !existsSync(join(cm.outputDir, 'kernel', 'trees')) || readdirSync(join(cm.outputDir, 'kernel', 'trees')).length === 0,
      'nothing may be extracted from a bad tarball',
    );
    const dl = readdirSync(join(cm.cacheDir, 'dl', 'linux-debian'));
    assert.ok(!dl.includes('linux-source-6.1.tar.xz') && dl.some((n) => n.includes('.bad-')), dl.join(', '));
  });

  it('build both roles once, stage the test module with the right vermagic, verify every fragment symbol', async () => {
    first = await buildKernelDetailed(m, roles);
    const [io, gu] = [first.iohyp, first.guest];
    // 'none' when npm test's prepare step (or an earlier run) compiled it already.
    assert.ok(['full', 'none', 'modules'].includes(io.build.lastAction), io.build.lastAction);
    assert.equal(io.build.objects > 1000, true, 'a complete kernel build stands behind it');
    assert.equal(gu.build.lastAction, 'none', 'the guest has the same config: no second compile');
    assert.equal(io.artifacts.hash, gu.artifacts.hash);
    assert.equal(io.artifacts.bzImage, gu.artifacts.bzImage);

    const a = io.artifacts;
    assert.match(a.release, /^6\.1\.\d+/);
    const bz = readFileSync(a.bzImage);
    assert.equal(bz.subarray(0x202, 0x206).toString('latin1'), 'HdrS', 'bzImage carries the x86 boot protocol header');
    assert.ok(existsSync(a.systemMap) && existsSync(a.config));

    assert.ok(a.modules.includes('vrio_test'), a.modules.join(','));
    const ko = koPath(io, 'vrio_test');
    assert.equal(modinfo(ko, 'vermagic').split(' ')[0], a.release);
    assert.match(modinfo(ko, 'parm'), /^greeting:/);
    const dep = readFileSync(join(a.modulesRoot, 'lib', 'modules', a.release, 'modules.dep'), 'utf8');
    assert.match(dep, /^kernel\/drivers\/misc\/vrio_test\/vrio_test\.ko:/m);
    assert.ok(!existsSync(join(a.modulesRoot, 'lib', 'modules', a.release, 'build')), "no symlink into this machine's build tree");

    // Every symbol the fragments set has that value in the staged config.
    const wanted = mergeFragments(loadFragments(m.kernel.fragments, dir));
    const final = parseConfig(readFileSync(a.config, 'utf8'));
    for (const e of wanted.values()) assert.equal(final.get(e.symbol) ?? 'n', e.value, `CONFIG_${e.symbol} (${e.file}:${e.line})`);
    assert.equal(final.get('VRIO_TEST'), 'm');

    assert.deepEqual(
      a.patches.map((p) => [p.name, p.origin]),
      [['user/0001-misc-add-vrio_test-module.patch', 'user']],
    );
    assert.equal(a.inputs[0].ref, m.sources['linux-debian'].kind === 'tarball' ? m.sources['linux-debian'].sha256 : '');
    assert.ok(existsSync(join(a.sourceTree, 'drivers', 'misc', 'vrio_test', 'vrio_test.c')));
  });

  it('do no work on a second build (checked through the CLI)', () => {
    const bzBefore = statSync(first.iohyp.artifacts.bzImage).mtimeMs;
    const out = execFileSync(process.execPath, [dataPath('dist', 'cli', 'bin.js'), '--json', '-m', file, 'kernel', 'build'], { encoding: 'utf8', cwd: dir });
    // --json: typed events; the build's result is the 'kernel' event.
    const res = eventOf(out, 'kernel') as { roles: Record<string, { action: string; hash: string }> };
    assert.deepEqual(
      roles.map((r) => res.roles[r].action),
      ['none', 'none'],
    );
    assert.equal(res.roles.iohyp.hash, first.iohyp.artifacts.hash);
    assert.equal(statSync(first.iohyp.artifacts.bzImage).mtimeMs, bzBefore);
  });

  it('rebuild only the modules when only the test module source changes', async () => {
    const bz = readFileSync(first.iohyp.artifacts.bzImage);
    const bzTime = statSync(first.iohyp.artifacts.bzImage).mtimeMs;
    const text = readFileSync(patch, 'utf8');
    assert.ok(text.includes('"hello"'));
    writeFileSync(patch, text.replace('static char *greeting = "hello";', 'static char *greeting = "hullo";'));
    const again = await buildKernelDetailed(m, roles);
    assert.equal(again.iohyp.build.lastAction, 'modules');
    assert.equal(again.guest.build.lastAction, 'none');
    assert.equal(again.iohyp.artifacts.sourceTree, first.iohyp.artifacts.sourceTree, 'same prepared tree, updated in place');
    assert.notEqual(again.iohyp.artifacts.hash, first.iohyp.artifacts.hash);
    const ko = readFileSync(koPath(again.iohyp, 'vrio_test'));
    assert.ok(ko.includes('hullo') && !ko.includes('hello'), 'the staged module is the rebuilt one');
    assert.equal(modinfo(koPath(again.iohyp, 'vrio_test'), 'vermagic').split(' ')[0], again.iohyp.artifacts.release);
    assert.ok(readFileSync(again.iohyp.artifacts.bzImage).equals(bz), 'bzImage unchanged');
    // The kernel was not relinked: only the staging dir was renewed, by copy.
    assert.equal(statSync(join(again.iohyp.build.obj, 'arch', 'x86', 'boot', 'bzImage')).mtimeMs <= bzTime, true);
  });
});
