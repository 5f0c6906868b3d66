// `vrio build --dry-run` lists every stage as fresh or stale with the reason,
// computed with the stages' own keys, and builds or writes nothing. A small
// `dir` kernel source keeps it cheap: the tree stage really runs (a copy);
// the compile does not (no kernel builds in unit tests), so a finished build
// is represented by its state file where buildCache() looks for it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildCache } from '../../builder/kernel/build.js';
import { configCache, resolveDefconfig } from '../../builder/kernel/config.js';
import { loadFragments } from '../../builder/kernel/fragments.js';
import { prepareKernel, roleFragments } from '../../builder/kernel/index.js';
import { loadManifest } from '../../builder/manifest.js';
import { eventOf, tempDir, vrio } from '../support/cli.js';

const t = tempDir('vrio-dry-run-');
after(t.cleanup);
const dir = t.dir;
mkdirSync(join(dir, 'linux/drivers/vrio'), { recursive: true });
writeFileSync(join(dir, 'linux/Makefile'), '# not a real kernel\n');
writeFileSync(join(dir, 'linux/drivers/vrio/vrio.c'), '/* 1 */\n');
writeFileSync(
  join(dir, 'vrio.yaml'),
  'sources:\n  tiny: {kind: dir, path: linux}\nkernel: {source: tiny, series: null, compat: false, fixes: false}\noutputDir: out\ncacheDir: cache\n',
);

type Step = { stage: string; what: string; fresh: boolean; why: string };
function dryRun(): Step[] {
  const r = vrio(['build', '--dry-run', '--json', '--role', 'guest'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return eventOf(r.stdout, 'dry-run').steps as Step[];
}
const step = (steps: Step[], stage: string) => steps.find((s) => s.stage === stage)!;

describe('vrio build --dry-run', () => {
  it('on a fresh output dir: every stage after the sources is stale, and nothing is written', () => {
    const s = dryRun();
    assert.deepEqual(
      s.map((x) => `${x.stage}:${x.fresh}`),
      ['source:true', 'tree:false', 'config:false', 'kernel:false', 'image:false'],
    );
    assert.match(step(s, 'tree').why, /no prepared tree/);
    assert.match(step(s, 'kernel').why, /after its config is made/);
    assert.ok(!existsSync(join(dir, 'out')), 'no output dir');
    assert.ok(!existsSync(join(dir, 'cache')), 'no cache dir');
  });

  it('after the tree is prepared (for real) the tree is fresh; a changed source file makes it stale', async () => {
    const m = loadManifest(undefined, dir);
    await prepareKernel(m);
    assert.equal(step(dryRun(), 'tree').fresh, true);
    writeFileSync(join(dir, 'linux/Makefile'), '# changed\n');
    assert.equal(step(dryRun(), 'tree').fresh, false);
    writeFileSync(join(dir, 'linux/Makefile'), '# not a real kernel\n');
  });

  it('a config and a finished build where the stages look for them: kernel fresh, the image stale with its reason', async () => {
    const m = loadManifest(undefined, dir);
    const p = await prepareKernel(m);
    const cfg = configCache({
      outputDir: m.outputDir,
      tree: p.tree,
      defconfig: resolveDefconfig(m.kernel.defconfig, dir),
      fragments: loadFragments(roleFragments(m, 'guest'), dir),
      makeFlags: p.makeFlags,
    });
    mkdirSync(cfg.dir, { recursive: true });
    writeFileSync(cfg.path, 'CONFIG_X=y\n');
    let s = dryRun();
    assert.equal(step(s, 'config').fresh, true);
    assert.match(step(s, 'kernel').why, /never built with this tree and config/);
    const b = buildCache({ outputDir: m.outputDir, tree: p.tree, configText: 'CONFIG_X=y\n', makeFlags: p.makeFlags });
    mkdirSync(b.paths.stage, { recursive: true });
    writeFileSync(join(b.paths.stage, 'bzImage'), 'kernel');
    writeFileSync(
      b.paths.statePath,
      JSON.stringify({
        key: b.key,
        moduleKey: p.tree.moduleKey,
        hash: b.hash,
        release: '0.0.0-test',
        modules: [],
        objects: 1,
        warnings: 0,
        lastAction: 'full',
      }),
    );
    s = dryRun();
    assert.equal(step(s, 'kernel').fresh, true, step(s, 'kernel').why);
    assert.equal(step(s, 'image').fresh, false);
    assert.match(step(s, 'image').why, /no client key yet/);
    assert.ok(!readdirSync(join(dir, 'out')).includes('keys'), 'the dry run made no key');
  });
});
