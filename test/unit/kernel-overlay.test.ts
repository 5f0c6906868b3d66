// kernel.overlay: files taken at build time from the pinned commit of a git
// source and laid onto a base tree of another origin (the vRIO drivers onto
// Debian's 6.1). Real git repositories and real trees; the overlay goes
// through the same series apply as every patch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { applySeries, PatchError } from '../../builder/kernel/apply.js';
import { checkOverlayPatch, checkOverlayPath, overlayPatch } from '../../builder/kernel/overlay.js';
import { makePatch } from '../../builder/kernel/patchfile.js';
import { collectSeries } from '../../builder/kernel/series.js';
import { loadManifest, type Manifest } from '../../builder/manifest.js';
import { ensureSources, kernelSourceNames, type ResolvedSource } from '../../builder/sources/index.js';
import { InputError } from '../../lib/errors.js';
import { Logger, setLogger } from '../../lib/log.js';

setLogger(new Logger({ verbosity: 'quiet' }));

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `vrio-${p}-`));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
  }).trim();
}

function put(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

/** Every file under `dir`, relative, sorted. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * An upstream tree like SplitIO-kernel's: the vRIO paths, files beside them
 * whose names share a prefix (drivers/vrio-old, include/linux/vrio.h), and
 * core files the overlay must never carry. The pin is the second commit; a
 * third one, not pinned, changes a vRIO file.
 */
function upstream(): { dir: string; pinned: string; later: string; first: string } {
  const dir = tmp('overlay-up');
  git(dir, 'init', '-q', '-b', 'main');
  put(dir, { Makefile: 'VERSION = 3\n', 'drivers/net/tun.c': 'tun 3.10\n' });
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'base');
  const first = git(dir, 'rev-parse', 'HEAD');
  put(dir, {
    'drivers/vrio/Makefile': 'obj-m += eth/\n',
    'drivers/vrio/eth/eth.c': 'int eth;\n',
    'drivers/vrio-old/x.c': 'old\n',
    'include/linux/vrio/vrio.h': '#define VRIO 1\n',
    'include/linux/vrio.h': 'not overlaid\n',
    'drivers/net/tun.c': 'tun 3.10 with vRIO hooks\n',
  });
  execFileSync('chmod', ['755', join(dir, 'drivers/vrio/Makefile')]);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'vRIO');
  const pinned = git(dir, 'rev-parse', 'HEAD');
  put(dir, { 'drivers/vrio/eth/eth.c': 'int eth_changed_later;\n' });
  git(dir, 'commit', '-q', '-am', 'later');
  return { dir, pinned, later: git(dir, 'rev-parse', 'HEAD'), first };
}

function manifestFor(up: string, commit: string, paths: string[]): Manifest {
  return {
    kernel: {
      line: '9.9',
      source: 'base',
      series: null,
      overlay: { source: 'up', paths },
      compat: false,
      fixes: false,
      patches: [],
      defconfig: 'defconfig',
      fragments: [],
      makeFlags: [],
    },
    sources: { up: { kind: 'git', url: up, commit }, base: { kind: 'dir', path: up } },
    mirrors: {},
    roles: {},
    cacheDir: tmp('overlay-cache'),
    outputDir: tmp('overlay-out'),
  } as unknown as Manifest;
}

async function resolved(m: Manifest): Promise<ResolvedSource> {
  return (await ensureSources(m, ['up'], { logFile: join(m.cacheDir, 'log') })).up;
}

const PATHS = ['drivers/vrio', 'include/linux/vrio'];

describe('kernel.overlay', () => {
  it('takes exactly the listed paths at the pinned commit, nothing beside them', async () => {
    const up = upstream();
    const m = manifestFor(up.dir, up.pinned, PATHS);
    const p = await overlayPatch(m.kernel.overlay!, await resolved(m), m.cacheDir, join(m.cacheDir, 'log'));
    assert.equal(p.origin, 'overlay');
    // Only the vRIO paths: not drivers/vrio-old, include/linux/vrio.h or the patched tun.c.
    assert.deepEqual(checkOverlayPatch(p.text, PATHS, 't').sort(), ['drivers/vrio/Makefile', 'drivers/vrio/eth/eth.c', 'include/linux/vrio/vrio.h']);
    assert.match(p.text, new RegExp(`from up ${up.pinned}`));

    // Laid onto a base tree of another origin: exactly those files appear, with the
    // pinned content and mode, and every base file is untouched.
    const tree = tmp('overlay-tree');
    put(tree, { Makefile: 'VERSION = 6\n', 'drivers/net/tun.c': 'tun 6.1\n', 'include/linux/vrio.h': 'base file\n' });
    const before = listing(tree);
    await applySeries(tree, [p], join(tmp('overlay-series'), 's'));
    const added = listing(tree).filter((f) => !before.includes(f));
    assert.deepEqual(added, ['drivers/vrio/Makefile', 'drivers/vrio/eth/eth.c', 'include/linux/vrio/vrio.h']);
    assert.equal(readFileSync(join(tree, 'drivers/vrio/eth/eth.c'), 'utf8'), 'int eth;\n', 'the pinned content, not the later commit');
    assert.equal(statSync(join(tree, 'drivers/vrio/Makefile')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(tree, 'drivers/net/tun.c'), 'utf8'), 'tun 6.1\n');
    assert.equal(readFileSync(join(tree, 'include/linux/vrio.h'), 'utf8'), 'base file\n');
  });

  it('uses the pin, not whatever the source repository has checked out or fetched later', async () => {
    const up = upstream();
    // The repository's HEAD is `later`; the pin is older.
    const m = manifestFor(up.dir, up.pinned, ['drivers/vrio']);
    const src = await resolved(m);
    assert.equal(src.kind, 'git');
    // The cached repository also holds the later commit, and its HEAD points there.
    const repo = src.kind === 'git' ? src.repo : '';
    git(repo, 'fetch', '-q', up.dir, 'main:refs/heads/main');
    git(repo, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    assert.equal(git(repo, 'rev-parse', 'HEAD'), up.later);
    const p = await overlayPatch(m.kernel.overlay!, src, m.cacheDir, join(m.cacheDir, 'log'));
    assert.match(p.text, /\+int eth;/);
    assert.doesNotMatch(p.text, /eth_changed_later/);
  });

  it('refuses a source that does not hold the pinned commit, naming it', async () => {
    const up = upstream();
    const m = manifestFor(up.dir, up.pinned, PATHS);
    const src = await resolved(m);
    const missing = 'f'.repeat(40);
    const wrong = { ...src, spec: { ...src.spec, commit: missing } } as ResolvedSource;
    await assert.rejects(overlayPatch(m.kernel.overlay!, wrong, m.cacheDir, join(m.cacheDir, 'log')), new RegExp(`pinned commit ${missing} is not in`));
    // A pin that names a blob or tree, not a commit, is refused the same way.
    const blob = git(up.dir, 'rev-parse', `${up.pinned}:drivers/vrio/Makefile`);
    const notCommit = { ...src, spec: { ...src.spec, commit: blob } } as ResolvedSource;
    await assert.rejects(overlayPatch(m.kernel.overlay!, notCommit, m.cacheDir, join(m.cacheDir, 'log')), /is not in/);
  });

  it('refuses a listed path that has no files at the pinned commit', async () => {
    const up = upstream();
    // At the first commit the vRIO paths do not exist yet.
    const m = manifestFor(up.dir, up.first, PATHS);
    await assert.rejects(
      overlayPatch(m.kernel.overlay!, await resolved(m), m.cacheDir, join(m.cacheDir, 'log')),
      /drivers\/vrio has no files at the pinned commit/,
    );
  });

  it('never overwrites a file the base tree has: the apply fails and the tree is untouched', async () => {
    const up = upstream();
    const m = manifestFor(up.dir, up.pinned, PATHS);
    const p = await overlayPatch(m.kernel.overlay!, await resolved(m), m.cacheDir, join(m.cacheDir, 'log'));
    const tree = tmp('overlay-clash');
    put(tree, { 'drivers/vrio/eth/eth.c': 'the base has its own\n' });
    const before = listing(tree);
    await assert.rejects(applySeries(tree, [p], join(tmp('overlay-series'), 's')), (e: unknown) => e instanceof PatchError && /already exists/.test(e.message));
    assert.deepEqual(listing(tree), before);
    assert.equal(readFileSync(join(tree, 'drivers/vrio/eth/eth.c'), 'utf8'), 'the base has its own\n');
  });

  it('rejects paths that could reach outside the listed directories', () => {
    for (const bad of ['', '/etc', '../x', 'drivers/../net', 'drivers//vrio', './drivers', 'drivers/*', ':(glob)drivers', 'a\\b']) {
      assert.ok(checkOverlayPath(bad), `'${bad}' must be refused`);
    }
    for (const good of ['drivers/vrio', 'include/linux/vrio', 'Makefile', 'a.b/c-d_e+f']) assert.equal(checkOverlayPath(good), undefined, good);
  });

  it('rejects an overlay patch that changes or deletes a file, or adds one outside the paths', () => {
    const change = makePatch(
      'x',
      'diff --git a/drivers/vrio/a.c b/drivers/vrio/a.c\n--- a/drivers/vrio/a.c\n+++ b/drivers/vrio/a.c\n@@ -1 +1 @@\n-a\n+b\n',
      'overlay',
    );
    assert.throws(() => checkOverlayPatch(change.text, ['drivers/vrio'], 't'), /changes an existing file/);
    const outside = 'diff --git a/net/core/skbuff.c b/net/core/skbuff.c\nnew file mode 100644\n--- /dev/null\n+++ b/net/core/skbuff.c\n@@ -0,0 +1 @@\n+x\n';
    assert.throws(() => checkOverlayPatch(outside, ['drivers/vrio', 'net/core/skbuff'], 't'), /outside the overlay paths/);
  });

  it('a changed cached overlay is checked again before use', async () => {
    const up = upstream();
    const m = manifestFor(up.dir, up.pinned, ['drivers/vrio']);
    const src = await resolved(m);
    await overlayPatch(m.kernel.overlay!, src, m.cacheDir, join(m.cacheDir, 'log'));
    const cached = readdirSync(join(m.cacheDir, 'overlay')).map((f) => join(m.cacheDir, 'overlay', f));
    assert.equal(cached.length, 1);
    writeFileSync(cached[0], readFileSync(cached[0], 'utf8') + 'diff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1 +1 @@\n-a\n+b\n');
    await assert.rejects(overlayPatch(m.kernel.overlay!, src, m.cacheDir, join(m.cacheDir, 'log')), /changes an existing file \(Makefile\)/);
  });

  it('series: upstream, overlay, fixes, then the port patches of the line; the overlay source is fetched', async () => {
    const up = upstream();
    const m = manifestFor(up.dir, up.pinned, PATHS);
    (m.kernel as { fixes: boolean }).fixes = true;
    assert.deepEqual(kernelSourceNames(m), ['base', 'up']);
    const root = tmp('overlay-patches');
    put(root, { '9.9/fixes/0001-fix.patch': 'x', '9.9/port/0002-b.patch': 'x', '9.9/port/0001-a.patch': 'x', '9.9/port/README.md': 'not a patch' });
    const sources = await ensureSources(m, kernelSourceNames(m), { logFile: join(m.cacheDir, 'log') });
    const s = await collectSeries(m, sources, { gcc: '12.2.0', binutils: '2.40' }, join(m.cacheDir, 'log'), root);
    assert.deepEqual(
      s.patches.map((p) => `${p.origin}:${p.name}`),
      [`overlay:overlay/up-${up.pinned.slice(0, 12)}.patch`, 'fixes:fixes/0001-fix.patch', 'port:port/0001-a.patch', 'port:port/0002-b.patch'],
    );
    // An overlay without a port series for its line is a mistake, not a silent raw overlay.
    const noPort = tmp('overlay-noport');
    mkdirSync(join(noPort, '9.9'));
    await assert.rejects(collectSeries(m, sources, { gcc: '12.2.0', binutils: '2.40' }, join(m.cacheDir, 'log'), noPort), /no port series for line 9\.9/);
  });

  it('manifest: the overlay needs a known git source and plain relative paths', () => {
    const dir = tmp('overlay-manifest');
    const write = (body: string) => {
      const f = join(dir, `m${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, body);
      return f;
    };
    const ok = loadManifest(write('kernel:\n  overlay:\n    source: splitio-kernel\n    paths: [drivers/vrio]\n'), dir);
    assert.deepEqual(ok.kernel.overlay, { source: 'splitio-kernel', paths: ['drivers/vrio'] });
    const fails = (body: string, re: RegExp) =>
      assert.throws(
        () => loadManifest(write(body), dir),
        (e: unknown) => e instanceof InputError && re.test(e.message),
      );
    fails('kernel:\n  overlay:\n    source: nosuch\n    paths: [drivers/vrio]\n', /\/kernel\/overlay\/source.*no source named 'nosuch'/s);
    fails(
      'sources:\n  t:\n    kind: tarball\n    url: file:///x.tar\n    sha256: "' +
        '0'.repeat(64) +
        '"\nkernel:\n  overlay:\n    source: t\n    paths: [drivers/vrio]\n',
      /git-source/,
    );
    fails('kernel:\n  overlay:\n    source: splitio-kernel\n    paths: [../etc]\n', /\/kernel\/overlay\/paths\/0/);
    fails('kernel:\n  overlay:\n    source: splitio-kernel\n    paths: [/etc]\n', /\/kernel\/overlay\/paths\/0/);
    fails('kernel:\n  overlay:\n    source: splitio-kernel\n    paths: []\n', /\/kernel\/overlay\/paths/);
  });

  it('the shipped 6.1 manifest overlays exactly the vRIO driver paths from the pinned SplitIO-kernel commit', () => {
    const m = loadManifest('kernel-config/manifests/vrio-6.1.yaml', join(import.meta.dirname, '..', '..', '..'));
    assert.equal(m.kernel.line, '6.1');
    assert.deepEqual(m.kernel.overlay, { source: 'splitio-kernel', paths: ['drivers/vrio', 'include/linux/vrio'] });
    const pin = m.sources['splitio-kernel'];
    assert.equal(pin.kind === 'git' && pin.commit, 'b2b678832056d031676db578e8bd15c63e5b7cf4');
    assert.equal(m.kernel.series, null);
    assert.ok(existsSync(join(import.meta.dirname, '..', '..', '..', 'kernel-config', 'patches', '6.1', 'port')));
  });
});
