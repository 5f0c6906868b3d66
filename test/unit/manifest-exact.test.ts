// The build manifest as a user meets it: every cross-reference problem with
// the exact message, hint and position; the roles, mirrors and paths the
// builder gets, exactly; and `--mirror` as typed on the command line.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadManifest, mergeInto, parseMirrorArgs, type Json, type ManifestOverrides } from '../../builder/manifest.js';
import { InputError } from '../../lib/errors.js';
import { tempDir } from '../support/cli.js';

const tmp = tempDir('vrio-manifest-exact-');
after(tmp.cleanup);
let n = 0;
function write(text: string): string {
  const f = join(tmp.dir, `m${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}
/** [pointer, rule, message, hint, line, column] of each issue, or 'accepted'. */
function problems(text: string, overrides: ManifestOverrides = {}) {
  try {
    loadManifest(write(text), tmp.dir, overrides, {});
    return 'accepted';
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.issues.map((i) => [i.pointer, i.rule, i.message, i.hint, i.line, i.column]);
  }
}
const FROM = 'bfc8e2930bd3529d1303aa62a61e907d22ab7396';
const TO = 'b2b678832056d031676db578e8bd15c63e5b7cf4';
const TARBALL = `sources:\n  tb:\n    kind: tarball\n    url: file:///x.tar\n    sha256: ${'b'.repeat(64)}\n`;

describe('manifest cross-references: the messages a user reads', () => {
  it('an unknown kernel, series or overlay source; a series or overlay not from git; a mirror for nothing', () => {
    assert.deepEqual(problems('kernel:\n  source: linux\n'), [
      ['/kernel/source', 'known-source', "no source named 'linux'", 'known sources: splitio-kernel', 2, 11],
    ]);
    assert.deepEqual(problems(`kernel:\n  series:\n    source: nope\n    from: ${FROM}\n    to: ${TO}\n`), [
      ['/kernel/series/source', 'known-source', "no source named 'nope'", 'known sources: splitio-kernel', 3, 13],
    ]);
    assert.deepEqual(problems(`${TARBALL}kernel:\n  series:\n    source: tb\n    from: ${FROM}\n    to: ${TO}\n`), [
      ['/kernel/series/source', 'git-source', "a patch series needs a git source; 'tb' is tarball", undefined, 8, 13],
    ]);
    assert.deepEqual(problems('kernel:\n  overlay:\n    source: nope\n    paths: [drivers/vrio]\n'), [
      ['/kernel/overlay/source', 'known-source', "no source named 'nope'", 'known sources: splitio-kernel', 3, 13],
    ]);
    assert.deepEqual(problems(`${TARBALL}kernel:\n  overlay:\n    source: tb\n    paths: [drivers/vrio]\n`), [
      ['/kernel/overlay/source', 'git-source', "an overlay is taken from a pinned git commit; 'tb' is tarball", undefined, 8, 13],
    ]);
    assert.deepEqual(problems('kernel:\n  overlay:\n    source: splitio-kernel\n    paths: [drivers/vrio]\n'), 'accepted');
    // With more than one source the hint lists them all, comma-separated.
    assert.deepEqual(problems(`${TARBALL}kernel:\n  source: linux\n`), [
      ['/kernel/source', 'known-source', "no source named 'linux'", 'known sources: splitio-kernel, tb', 7, 11],
    ]);
    assert.deepEqual(problems('mirrors:\n  nothing: /srv/x\n'), [
      ['/mirrors/nothing', 'known-source', "mirror for unknown source 'nothing'", 'known sources: splitio-kernel', 2, 12],
    ]);
    assert.deepEqual(problems(`kernel:\n  series:\n    source: splitio-kernel\n    from: ${FROM}\n    to: ${FROM}\n`), [
      ['/kernel/series/to', 'series-range', 'series.to equals series.from: the series would be empty', undefined, 5, 9],
    ]);
    assert.deepEqual(problems('roles:\n  storage:\n    modules: [a]\n'), [
      ['/roles/storage/kind', 'required', "role 'storage' needs a kind (iohyp or guest)", undefined, 3, 5],
    ]);
  });

  it('a problem only the merged result shows, in a manifest that does not name it: located at the closest parent, else unlocated', () => {
    // The kernel source comes from the defaults; the user's sources replace nothing, so it still exists: accepted.
    assert.equal(problems(`${TARBALL}`), 'accepted');
    const noFile = () => loadManifest(undefined, tmp.dir, { mirrors: { nothing: '/srv/x' } }, {});
    assert.throws(noFile, (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.deepEqual(
        e.issues.map((i) => [i.file, i.pointer, i.rule, i.line]),
        [['builder/defaults/vrio.yaml', '/mirrors/nothing', 'known-source', undefined]],
      );
      return true;
    });
  });
});

describe('what the builder gets', () => {
  it('custom roles: their kind decides packages, overlays and the control helper; paths resolve against the manifest', () => {
    const f = write(
      'roles:\n  storage:\n    kind: guest\n  box:\n    kind: iohyp\n    enabled: false\n' +
        'mirrors:\n  splitio-kernel: ../mirrors/k.git\n' +
        'sources:\n  local:\n    kind: dir\n    path: src/linux\n' +
        'kernel:\n  patches: [p/1.patch, /abs/2.patch]\n' +
        'image:\n  sshAuthorizedKeys: [keys/a.pub]\n',
    );
    const m = loadManifest(f, tmp.dir, {}, { XDG_CACHE_HOME: '/xdg' });
    const packages = ['busybox-static', 'dash', 'dropbear-bin', 'kmod', 'iproute2', 'ethtool'];
    assert.deepEqual(m.roles.storage, {
      name: 'storage',
      kind: 'guest',
      enabled: true,
      fragments: [],
      packages: m.roles.storage!.packages,
      overlays: ['common', 'guest'],
      modules: [],
      cmdline: 'console=ttyS0,115200',
      controlHelper: false,
    });
    assert.deepEqual(m.roles.box, {
      ...m.roles.storage,
      name: 'box',
      kind: 'iohyp',
      enabled: false,
      overlays: ['common', 'iohyp'],
      controlHelper: true,
      packages: m.roles.box!.packages,
    });
    for (const p of packages) assert.ok(m.roles.storage!.packages.includes(p) && m.roles.box!.packages.includes(p), p);
    assert.deepEqual(m.mirrors, { 'splitio-kernel': join(tmp.dir, '..', 'mirrors', 'k.git') });
    assert.deepEqual(m.sources.local, { kind: 'dir', path: join(tmp.dir, 'src', 'linux') });
    assert.deepEqual(m.kernel.patches, [join(tmp.dir, 'p', '1.patch'), '/abs/2.patch']);
    assert.deepEqual(m.image.sshAuthorizedKeys, [join(tmp.dir, 'keys', 'a.pub')]);
    assert.equal(m.outputDir, join(tmp.dir, 'out'));
    assert.equal(m.cacheDir, '/xdg/vrio');
    assert.equal(m.origins['/cacheDir'], 'default (XDG cache dir)');
    assert.equal(m.file, f);
  });

  it('the standard roles infer their kind from their name', () => {
    const m = loadManifest(write('roles:\n  iohyp:\n    cmdline: console=ttyS1\n'), tmp.dir, {}, {});
    assert.equal(m.roles.iohyp!.kind, 'iohyp');
    assert.equal(m.roles.iohyp!.cmdline, 'console=ttyS1');
    assert.equal(m.roles.iohyp!.controlHelper, true);
    assert.equal(m.roles.guest!.controlHelper, false);
  });

  it('a mirror URL is kept as given; a path resolves against the manifest; a cache dir from the environment says so', () => {
    const m = loadManifest(write('mirrors:\n  splitio-kernel: https://mirror.example/k.git\n'), tmp.dir, {}, { VRIO_CACHE_DIR: '/srv/cache' });
    assert.deepEqual(m.mirrors, { 'splitio-kernel': 'https://mirror.example/k.git' });
    assert.equal(m.cacheDir, '/srv/cache');
    assert.equal(m.origins['/cacheDir'], 'environment (VRIO_CACHE_DIR)');
  });

  it('./vrio.yaml in the working directory is the manifest when none is named', () => {
    const dir = join(tmp.dir, `cwd${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'vrio.yaml'), 'outputDir: here\n');
    const m = loadManifest(undefined, dir, {}, {});
    assert.equal(m.file, join(dir, 'vrio.yaml'));
    assert.equal(m.outputDir, join(dir, 'here'));
  });
});

describe('--mirror on the command line', () => {
  it('NAME=PATH_OR_URL, NAME a source or owner/name; anything else refused with an example', () => {
    assert.deepEqual(parseMirrorArgs(['a=b=c', 'Owner/Repo.git=https://x/y', 'splitio-kernel=/m']), {
      a: 'b=c',
      'Owner/Repo.git': 'https://x/y',
      'splitio-kernel': '/m',
    });
    assert.deepEqual(parseMirrorArgs(undefined), {});
    for (const bad of ['nope', '=x', 'Upper=x', 'a/b/c=x', 'a=']) {
      assert.throws(
        () => parseMirrorArgs([bad]),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.deepEqual(e.issues, [
            {
              file: 'command line',
              pointer: '/mirror',
              rule: 'mirror-syntax',
              message: `--mirror '${bad}' is not NAME=PATH_OR_URL`,
              hint: 'e.g. --mirror splitio-kernel=/srv/mirrors/SplitIO-kernel.git or --mirror orbitfp7/SplitIO-kernel=/srv/mirrors/SplitIO-kernel.git',
            },
          ]);
          return true;
        },
        bad,
      );
    }
  });

  it('owner/name matches a git source by its URL, ignoring case, .git and a trailing slash', () => {
    for (const key of ['orbitfp7/SplitIO-kernel', 'ORBITFP7/splitio-kernel.git']) {
      const m = loadManifest(undefined, tmp.dir, { mirrors: { [key]: '/srv/k' } }, {});
      assert.deepEqual(m.mirrors, { 'splitio-kernel': '/srv/k' }, key);
    }
    const m = loadManifest(
      // A git source whose URL names no owner/name is no match (and no crash).
      write(
        'sources:\n  other:\n    kind: git\n    url: git@example.org:team/Other.git/\n    commit: ' +
          'a'.repeat(40) +
          '\n  odd:\n    kind: git\n    url: odd\n    commit: ' +
          'b'.repeat(40) +
          '\n',
      ),
      tmp.dir,
      { mirrors: { 'team/other': '/srv/o' } },
      {},
    );
    assert.deepEqual(m.mirrors, { other: '/srv/o' });
    assert.throws(
      () => loadManifest(undefined, tmp.dir, { mirrors: { 'team/other': '/srv/o' } }, {}),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.deepEqual(
          e.issues.map((i) => [i.file, i.pointer, i.rule, i.message, i.hint]),
          [
            [
              'command line',
              '/mirror',
              'known-source',
              '--mirror team/other=...: no git source is fetched from a repository named team/other',
              'name a source instead: splitio-kernel',
            ],
          ],
        );
        return true;
      },
    );
  });
});

describe('origins and overrides', () => {
  it('every layer names itself in the origins; --set, --output-dir and --cache-dir come last', () => {
    const m = loadManifest(write('outputDir: from-file\n'), tmp.dir, { set: ['kernel.jobs=3'], outputDir: '/cli/out', cacheDir: '/cli/cache' }, {});
    assert.equal(m.kernel.jobs, 3);
    assert.equal(m.outputDir, '/cli/out');
    assert.equal(m.cacheDir, '/cli/cache');
    assert.deepEqual(
      ['/kernel/jobs', '/outputDir', '/cacheDir', '/sources/splitio-kernel/commit', '/roles/iohyp/modules', '/kernel/line'].map((p) => m.origins[p]),
      [
        'command line (--set kernel.jobs=3)',
        'command line',
        'command line',
        'default (kernel-config/pins.yaml)',
        'default (kernel-config/vrio-modules.yaml)',
        'default (builder/defaults/vrio.yaml)',
      ],
    );
    const plain = loadManifest(undefined, tmp.dir, {}, { XDG_CACHE_HOME: '/xdg' });
    assert.equal(plain.outputDir, join(tmp.dir, 'out'));
    assert.equal(plain.origins['/outputDir'], 'default (builder/defaults/vrio.yaml)');
  });

  it('a role without a kind from --set alone: refused, without a position', () => {
    assert.throws(
      () => loadManifest(undefined, tmp.dir, { set: ['roles.storage.enabled=true'] }, {}),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.deepEqual(JSON.parse(JSON.stringify(e.issues)), [
          { file: 'builder/defaults/vrio.yaml', pointer: '/roles/storage/kind', rule: 'required', message: "role 'storage' needs a kind (iohyp or guest)" },
        ]);
        return true;
      },
    );
  });
});

describe('merging layers', () => {
  it('a replaced subtree forgets the origins below it; a merged one keeps its siblings', () => {
    const base: Record<string, Json> = {};
    const origins: Record<string, string> = {};
    mergeInto(base, { a: { x: 1, y: { z: 2 } }, l: [1, 2] }, 'one', origins);
    mergeInto(base, { a: { x: 3 }, l: [3] }, 'two', origins);
    assert.deepEqual(base, { a: { x: 3, y: { z: 2 } }, l: [3] });
    assert.deepEqual(origins, { '/a/x': 'two', '/a/y/z': 'one', '/l': 'two' });
    mergeInto(base, { a: 'flat', $schema: 'ignored' }, 'three', origins);
    assert.deepEqual(base, { a: 'flat', l: [3] });
    assert.deepEqual(origins, { '/a': 'three', '/l': 'two' });
    mergeInto(base, { a: { deep: { er: true } } }, 'four', origins);
    assert.deepEqual(origins, { '/a/deep/er': 'four', '/l': 'two' });
    assert.deepEqual(base.a, { deep: { er: true } });
    // A key that only starts like a replaced one keeps its origin.
    mergeInto(base, { ab: 1 }, 'five', origins);
    mergeInto(base, { a: 2 }, 'six', origins);
    assert.deepEqual(origins, { '/a': 'six', '/l': 'two', '/ab': 'five' });
  });
});
