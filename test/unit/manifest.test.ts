// The build manifest: defaults, overrides with provenance, and precise errors
// (file, JSON pointer, line:column, rule) for bad manifests.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadManifest, mergeInto, parseMirrorArgs, type Json } from '../../builder/manifest.js';
import { InputError } from '../../lib/errors.js';
import { tempDir } from '../support/cli.js';

const tmp = tempDir('vrio-manifest-');
after(tmp.cleanup);
let n = 0;
function write(text: string, ext = 'yaml'): string {
  const f = join(tmp.dir, `m${n++}.${ext}`);
  writeFileSync(f, text);
  return f;
}
function load(text: string, ext = 'yaml') {
  return loadManifest(write(text, ext), tmp.dir, {}, { XDG_CACHE_HOME: join(tmp.dir, 'xdg') });
}
function issuesOf(text: string, ext = 'yaml') {
  try {
    load(text, ext);
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail('manifest was accepted');
}

describe('manifest defaults', () => {
  it('builds the standard iohyp and guest images with no manifest at all', () => {
    const m = loadManifest(undefined, tmp.dir, {}, { XDG_CACHE_HOME: join(tmp.dir, 'xdg') });
    assert.deepEqual(Object.keys(m.roles).sort(), ['guest', 'iohyp']);
    assert.equal(m.kernel.line, '3.10');
    assert.equal(m.sources['splitio-kernel'].kind, 'git');
    assert.ok(m.roles.iohyp.modules.includes('vrio_hblk'));
    assert.ok(m.roles.guest.modules.includes('vrio_gblk'));
    assert.ok(m.roles.iohyp.packages.includes('busybox-static'), 'package list from rootfs/packages/iohyp.txt');
    assert.equal(m.cacheDir, join(tmp.dir, 'xdg', 'vrio'));
    assert.equal(m.origins['/roles/iohyp/packages'], 'default (rootfs/packages/iohyp.txt)');
  });

  it('honours VRIO_CACHE_DIR like Buildroot honours DL_DIR', () => {
    const m = loadManifest(undefined, tmp.dir, {}, { VRIO_CACHE_DIR: '/srv/dl' });
    assert.equal(m.cacheDir, '/srv/dl');
  });

  it('merges a YAML manifest over the defaults and records where values came from', () => {
    const f = write('kernel:\n  fragments: [base]\nroles:\n  guest:\n    cmdline: console=ttyS0 quiet\noutputDir: build-out\n');
    const m = loadManifest(f, tmp.dir, {}, {});
    assert.deepEqual(m.kernel.fragments, ['base']);
    assert.equal(m.kernel.defconfig, 'x86_64_defconfig', 'untouched keys keep their defaults');
    assert.equal(m.roles.guest.cmdline, 'console=ttyS0 quiet');
    assert.equal(m.roles.iohyp.cmdline.includes('panic=10'), true);
    assert.equal(m.outputDir, join(tmp.dir, 'build-out'), 'relative paths resolve against the manifest');
    assert.equal(m.origins['/roles/guest/cmdline'], f);
    assert.equal(m.origins['/kernel/defconfig'], 'default (builder/defaults/vrio.yaml)');
  });

  it('loads the same manifest written as JSON', () => {
    const m = load(JSON.stringify({ image: { compression: 'zstd' }, roles: { guest: { enabled: false } } }), 'json');
    assert.equal(m.image.compression, 'zstd');
    assert.equal(m.roles.guest.enabled, false);
  });

  it('takes command-line overrides last', () => {
    const f = write('cacheDir: /from/manifest\n');
    const m = loadManifest(f, tmp.dir, { cacheDir: '/from/cli', mirrors: { 'splitio-kernel': '/srv/mirror.git' } }, {});
    assert.equal(m.cacheDir, '/from/cli');
    assert.equal(m.origins['/cacheDir'], 'command line');
    assert.equal(m.mirrors['splitio-kernel'], '/srv/mirror.git');
  });

  it('takes a mirror named by the upstream repository (owner/name) as well as by source name', () => {
    const m = loadManifest(undefined, tmp.dir, { mirrors: parseMirrorArgs(['orbitfp7/SplitIO-kernel=/srv/SplitIO-kernel']) }, {});
    assert.equal(m.mirrors['splitio-kernel'], '/srv/SplitIO-kernel');
    assert.throws(
      () => loadManifest(undefined, tmp.dir, { mirrors: parseMirrorArgs(['someone/else=/srv/x']) }, {}),
      (e: unknown) => e instanceof InputError && /no git source is fetched from a repository named someone\/else/.test(e.message),
    );
  });

  it('accepts a new source and points the kernel at it', () => {
    const sha = 'a'.repeat(64);
    const m = load(
      `sources:\n  mine:\n    kind: tarball\n    url: file:///tmp/x.tar.xz\n    sha256: ${sha}\nkernel:\n  source: mine\n  series: null\n  line: "6.1"\n`,
    );
    assert.equal(m.kernel.source, 'mine');
    assert.equal(m.kernel.series, null);
  });
});

// [description, manifest text, expected pointer, expected rule, optional message fragment]
const invalid: [string, string, string, string, string?][] = [
  ['unknown top-level key', 'kernal: {}\n', '/kernal', 'additionalProperties', "did you mean 'kernel'"],
  ['unknown kernel key', 'kernel:\n  fragmets: [a]\n', '/kernel/fragmets', 'additionalProperties', "did you mean 'fragments'"],
  ['unknown role key', 'roles:\n  guest:\n    modules: [a]\n    cmdlin: x\n', '/roles/guest/cmdlin', 'additionalProperties', "did you mean 'cmdline'"],
  ['unknown image key', 'image:\n  format: [iso]\n', '/image/format', 'additionalProperties', "did you mean 'formats'"],
  ['kernel not an object', 'kernel: 3\n', '/kernel', 'type'],
  ['roles not an object', 'roles: [iohyp, guest]\n', '/roles', 'type'],
  ['fragments not a list', 'kernel:\n  fragments: base\n', '/kernel/fragments', 'type'],
  ['fragment not a string', 'kernel:\n  fragments: [1]\n', '/kernel/fragments/0', 'type'],
  ['compat not boolean', 'kernel:\n  compat: "yes"\n', '/kernel/compat', 'type'],
  ['fixes not boolean', 'kernel:\n  fixes: 1\n', '/kernel/fixes', 'type'],
  ['jobs zero', 'kernel:\n  jobs: 0\n', '/kernel/jobs', 'minimum'],
  ['jobs fractional', 'kernel:\n  jobs: 1.5\n', '/kernel/jobs', 'type'],
  ['kernel line malformed', 'kernel:\n  line: "3.10.0"\n', '/kernel/line', 'pattern'],
  ['kernel line a number', 'kernel:\n  line: 3.1\n', '/kernel/line', 'type'],
  ['make flag without =', 'kernel:\n  makeFlags: [V1]\n', '/kernel/makeFlags/0', 'pattern'],
  ['make flag with newline', 'kernel:\n  makeFlags: ["A=1\\nB=2"]\n', '/kernel/makeFlags/0', 'pattern'],
  [
    'series from not a commit',
    'kernel:\n  series:\n    source: splitio-kernel\n    from: bfc8e293\n    to: b2b678832056d031676db578e8bd15c63e5b7cf4\n',
    '/kernel/series/from',
    'pattern',
  ],
  ['series missing to', 'kernel:\n  series:\n    source: splitio-kernel\n    from: bfc8e2930bd3529d1303aa62a61e907d22ab7396\n', '/kernel/series', 'required'],
  [
    'series empty range',
    'kernel:\n  series:\n    source: splitio-kernel\n    from: bfc8e2930bd3529d1303aa62a61e907d22ab7396\n    to: bfc8e2930bd3529d1303aa62a61e907d22ab7396\n',
    '/kernel/series/to',
    'series-range',
  ],
  ['kernel source unknown', 'kernel:\n  source: linux\n', '/kernel/source', 'known-source'],
  [
    'series source unknown',
    'kernel:\n  series:\n    source: nope\n    from: bfc8e2930bd3529d1303aa62a61e907d22ab7396\n    to: b2b678832056d031676db578e8bd15c63e5b7cf4\n',
    '/kernel/series/source',
    'known-source',
  ],
  [
    'series from a tarball',
    `sources:\n  tb:\n    kind: tarball\n    url: file:///x.tar\n    sha256: ${'b'.repeat(64)}\nkernel:\n  series:\n    source: tb\n    from: bfc8e2930bd3529d1303aa62a61e907d22ab7396\n    to: b2b678832056d031676db578e8bd15c63e5b7cf4\n`,
    '/kernel/series/source',
    'git-source',
  ],
  ['source without kind', 'sources:\n  x:\n    url: https://example.invalid/x.git\n', '/sources/x', 'required'],
  ['source bad kind', 'sources:\n  x:\n    kind: svn\n', '/sources/x/kind', 'enum'],
  ['git source short commit', 'sources:\n  x:\n    kind: git\n    url: u\n    commit: abc123\n', '/sources/x/commit', 'pattern'],
  ['git source upper-case commit', `sources:\n  x:\n    kind: git\n    url: u\n    commit: ${'A'.repeat(40)}\n`, '/sources/x/commit', 'pattern'],
  ['git source without url', `sources:\n  x:\n    kind: git\n    commit: ${'a'.repeat(40)}\n`, '/sources/x', 'required'],
  ['tarball without sha256', 'sources:\n  x:\n    kind: tarball\n    url: file:///x.tar\n', '/sources/x', 'required'],
  ['tarball bad sha256', 'sources:\n  x:\n    kind: tarball\n    url: file:///x.tar\n    sha256: xyz\n', '/sources/x/sha256', 'pattern'],
  [
    'tarball with a commit',
    `sources:\n  x:\n    kind: tarball\n    url: f\n    sha256: ${'c'.repeat(64)}\n    commit: ${'a'.repeat(40)}\n`,
    '/sources/x/commit',
    'additionalProperties',
  ],
  ['dir source without path', 'sources:\n  x:\n    kind: dir\n', '/sources/x', 'required'],
  ['bad source name', 'sources:\n  Bad_Name:\n    kind: dir\n    path: /x\n', '/sources/Bad_Name', 'pattern'],
  ['mirror for unknown source', 'mirrors:\n  nothing: /srv/x\n', '/mirrors/nothing', 'known-source'],
  ['mirror empty path', 'mirrors:\n  splitio-kernel: ""\n', '/mirrors/splitio-kernel', 'minLength'],
  ['role bad kind', 'roles:\n  storage:\n    kind: server\n', '/roles/storage/kind', 'enum'],
  ['custom role without kind', 'roles:\n  storage:\n    modules: [a]\n', '/roles/storage/kind', 'required'],
  ['bad role name', 'roles:\n  IOHYP:\n    kind: iohyp\n', '/roles/IOHYP', 'pattern'],
  ['package name invalid', 'roles:\n  guest:\n    packages: ["busybox; rm -rf /"]\n', '/roles/guest/packages/0', 'pattern'],
  ['module name with a slash', 'roles:\n  guest:\n    modules: ["../evil"]\n', '/roles/guest/modules/0', 'pattern'],
  ['cmdline with newline', 'roles:\n  guest:\n    cmdline: "console=ttyS0\\ninit=/bin/sh"\n', '/roles/guest/cmdline', 'pattern'],
  ['enabled not boolean', 'roles:\n  guest:\n    enabled: "no"\n', '/roles/guest/enabled', 'type'],
  ['bad image format', 'image:\n  formats: [iso, qcow2]\n', '/image/formats/1', 'enum'],
  ['duplicate image format', 'image:\n  formats: [iso, iso]\n', '/image/formats', 'uniqueItems'],
  ['bad compression', 'image:\n  compression: gz\n', '/image/compression', 'enum', "did you mean 'gzip'"],
  ['volume id lower-case', 'image:\n  volumeId: vrio\n', '/image/volumeId', 'pattern'],
  ['volume id too long', `image:\n  volumeId: ${'A'.repeat(33)}\n`, '/image/volumeId', 'pattern'],
  ['host keys mode', 'image:\n  hostKeys: random\n', '/image/hostKeys', 'enum'],
  ['negative epoch', 'sourceDateEpoch: -1\n', '/sourceDateEpoch', 'minimum'],
  ['epoch as string', 'sourceDateEpoch: "1700000000"\n', '/sourceDateEpoch', 'type'],
  ['outputDir empty', 'outputDir: ""\n', '/outputDir', 'minLength'],
  ['duplicate role name (YAML)', 'roles:\n  guest:\n    enabled: true\n  guest:\n    enabled: false\n', '', 'duplicate-key'],
  ['YAML syntax error', 'kernel:\n  fragments: [base\n', '', 'yaml-syntax'],
  ['top level is a list', '- a\n- b\n', '', 'type'],
];

describe('invalid manifests', () => {
  for (const [what, text, pointer, rule, fragment] of invalid) {
    it(`rejects: ${what}`, () => {
      const issues = issuesOf(text);
      const hit = issues.find((i) => i.pointer === pointer && i.rule === rule);
      assert.ok(hit, `expected ${rule} at '${pointer}', got ${JSON.stringify(issues.map((i) => [i.pointer, i.rule, i.message]))}`);
      assert.match(hit.file, /m\d+\.yaml$/, 'the error names the manifest file');
      if (pointer !== '' || rule === 'duplicate-key' || rule === 'yaml-syntax') assert.ok(hit.line && hit.line >= 1, 'the error has a line number');
      if (fragment) assert.ok(`${hit.message} ${hit.hint ?? ''}`.includes(fragment), `"${hit.message} / ${hit.hint}" should mention ${fragment}`);
    });
  }

  it('has at least 40 invalid cases', () => assert.ok(invalid.length >= 40));

  it('points at the offending line and column of the unknown key', () => {
    const [i] = issuesOf('image:\n  compression: gzip\n  formatz: [iso]\n');
    assert.equal(i.pointer, '/image/formatz');
    assert.equal(i.line, 3);
    assert.equal(i.column, 3);
  });

  it('reports JSON syntax errors with a line', () => {
    const issues = issuesOf('{\n  "kernel": {\n    "line": "3.10",\n  }\n}\n', 'json');
    assert.equal(issues[0].rule, 'json-syntax');
    assert.ok(issues[0].line && issues[0].line >= 3);
  });

  it('reports duplicate keys in JSON', () => {
    const issues = issuesOf('{"outputDir": "a", "outputDir": "b"}', 'json');
    assert.equal(issues[0].rule, 'duplicate-key');
  });

  it('reports every problem at once, not just the first', () => {
    const issues = issuesOf('kernel:\n  jobs: 0\nimage:\n  compression: gz\nbogus: 1\n');
    assert.equal(issues.length, 3);
  });

  it('rejects a missing manifest file clearly', () => {
    assert.throws(
      () => loadManifest(join(tmp.dir, 'nope.yaml'), tmp.dir, {}, {}),
      (e: unknown) => e instanceof InputError && /does not exist/.test(e.message),
    );
  });

  it('rejects invalid UTF-8 naming the line', () => {
    const f = join(tmp.dir, 'bad-utf8.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from('outputDir: out\nkernel:\n  line: "'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]));
    assert.throws(
      () => loadManifest(f, tmp.dir, {}, {}),
      (e: unknown) => e instanceof InputError && e.issues[0].rule === 'utf-8' && e.issues[0].line === 3,
    );
  });

  it('refuses a YAML alias bomb quickly', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
      );
    const issues = issuesOf(lines.join('\n') + '\n');
    assert.ok(issues.length >= 1);
  });
});

describe('merging layers', () => {
  // Keys that reach Object.prototype through a plain object: JSON.parse (and YAML)
  // make them ordinary own keys, which a naive deep merge then follows.
  const hostile = [
    '{"__proto__": {"vrioPolluted": "yes"}}',
    '{"kernel": {"__proto__": {"vrioPolluted": "yes"}}}',
    '{"constructor": {"prototype": {"vrioPolluted": "yes"}}}',
    '{"roles": {"guest": {"constructor": {"prototype": {"vrioPolluted": "yes"}}}}}',
    '{"prototype": {"vrioPolluted": "yes"}, "image": {"prototype": 1}}',
    '{"image": {"fresh": {"__proto__": {"vrioPolluted": "yes"}, "list": [{"constructor": 1}]}}}',
  ];
  for (const text of hostile) {
    it(`skips __proto__, constructor and prototype, leaving Object.prototype untouched: ${text}`, () => {
      const base: Record<string, Json> = { kernel: { line: '3.10' }, roles: { guest: { kind: 'guest' } }, image: {} };
      const origins: Record<string, string> = {};
      try {
        mergeInto(base, JSON.parse(text) as Record<string, Json>, 'test', origins);
        assert.equal(({} as Record<string, unknown>).vrioPolluted, undefined, 'Object.prototype is untouched');
        assert.ok(!Object.prototype.hasOwnProperty.call(Object.prototype, 'vrioPolluted'));
        const walk = (o: unknown): void => {
          if (!o || typeof o !== 'object') return;
          assert.equal(Object.getPrototypeOf(o), Array.isArray(o) ? Array.prototype : Object.prototype);
          for (const k of ['__proto__', 'constructor', 'prototype']) assert.ok(!Object.prototype.hasOwnProperty.call(o, k), `no own '${k}' key`);
          Object.values(o).forEach(walk);
        };
        walk(base);
        assert.deepEqual(
          Object.keys(origins).filter((p) => /__proto__|constructor|prototype/.test(p)),
          [],
        );
        assert.equal((base.kernel as Record<string, Json>).line, '3.10', 'the rest still merges');
      } finally {
        delete (Object.prototype as Record<string, unknown>).vrioPolluted;
      }
    });
  }
});
