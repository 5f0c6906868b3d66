// Reliability: hundreds of generated invalid manifests. Each must be rejected
// with exit code 2 semantics (InputError), naming the file, the JSON pointer of
// the fault and (for YAML) a line — never a crash, never silently accepted.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadManifest } from '../../builder/manifest.js';
import { InputError } from '../../lib/errors.js';
import { leaves, objects, rng, setAt, shellNasties, structuralCases, toYaml, wrongTypeFor, type BadCase, type Json } from '../support/bad-inputs.js';
import { tempDir, vrio } from '../support/cli.js';
import { printFigures } from '../support/figures.js';

const SEED = 20261125;
const tmp = tempDir('vrio-badman-');
after(tmp.cleanup);

const commit = 'b2b678832056d031676db578e8bd15c63e5b7cf4';
const base: Json = {
  kernel: {
    line: '3.10',
    source: 'splitio-kernel',
    series: { source: 'splitio-kernel', from: 'bfc8e2930bd3529d1303aa62a61e907d22ab7396', to: commit },
    compat: true,
    fixes: true,
    patches: ['my-patches'],
    defconfig: 'x86_64_defconfig',
    fragments: ['base', 'qemu'],
    makeFlags: ['V=0'],
    jobs: 2,
  },
  sources: {
    mine: { kind: 'tarball', url: 'file:///tmp/linux.tar.xz', sha256: 'a'.repeat(64), stripComponents: 1 },
    local: { kind: 'dir', path: '/usr/src/linux' },
  },
  mirrors: { 'splitio-kernel': '/srv/mirror.git' },
  roles: {
    iohyp: {
      kind: 'iohyp',
      enabled: true,
      fragments: ['iohyp'],
      packages: ['busybox-static'],
      overlays: ['common'],
      modules: ['vrio_eth'],
      cmdline: 'console=ttyS0',
      controlHelper: true,
    },
  },
  image: { formats: ['iso'], compression: 'gzip', volumeId: 'VRIO', sshAuthorizedKeys: ['id.pub'], hostKeys: 'build' },
  outputDir: 'out',
  cacheDir: 'cache',
  sourceDateEpoch: 1700000000,
};

/** Field-specific values that the rules forbid. */
const badValues: [RegExp, Json[]][] = [
  [/\/(commit|from|to)$/, ['abc', 'B2B678832056D031676DB578E8BD15C63E5B7CF4', commit + '0', `${commit.slice(0, 39)}g`, '', ...shellNasties.slice(0, 4)]],
  [/\/sha256$/, ['0'.repeat(63), 'z'.repeat(64), '', 'a'.repeat(64) + '\n']],
  [/\/line$/, ['3', '3.10.0', 'v3.10', '', '3.10; id']],
  [/\/jobs$/, [0, -1, 1025, 2.5]],
  [/\/stripComponents$/, [-1, 9, 0.5]],
  [/\/sourceDateEpoch$/, [-1, 2 ** 33, 1.5]],
  [/\/makeFlags\/\d+$/, ['noequals', '1X=2', 'A=b\nC=d', '=x', '$(id)']],
  [/\/packages\/\d+$/, ['Busybox', 'a', 'busybox; reboot', 'bash$(id)', '../x', 'pkg name']],
  [/\/modules\/\d+$/, ['a/b', 'x y', 'm;id', '', '../../evil']],
  [/\/cmdline$/, ['console=ttyS0\ninit=/bin/sh', 'x\ry', 'a'.repeat(2049), 'quiet; reboot', 'init=$prefix/x', 'a="b c"', 'a\\b', 'x{y}']],
  [/\/volumeId$/, ['vrio', 'VRIO LIVE', 'A'.repeat(33), '', 'VRIO;ID']],
  [/\/compression$/, ['gz', 'xz', 'GZIP', '']],
  [/\/hostKeys$/, ['random', '', 'BUILD']],
  [/\/kind$/, ['svn', 'IOHYP', '', 'server']],
  [/\/formats\/\d+$/, ['qcow2', 'ISO', '']],
  [/\/(source)$/, ['Bad Name', '', 'x'.repeat(64), 'a;b']],
  [/\/(outputDir|cacheDir|path|defconfig)$/, ['', 'a\nb', 'x'.repeat(4097)]],
  [/\/(fragments|overlays|patches|sshAuthorizedKeys)\/\d+$/, ['', 'a\nb', 'x'.repeat(4097)]],
  [/\/mirrors\//, ['']],
];

function cases(): BadCase[] {
  const r = rng(SEED);
  const out: BadCase[] = [];
  const add = (name: string, doc: Json, pointer: string, match: BadCase['match'] = 'exact') => {
    const json = r() < 0.3;
    out.push({ name, text: json ? JSON.stringify(doc, null, 1) : toYaml(doc), ext: json ? 'json' : 'yaml', pointer, match });
  };
  for (const [ptr, v] of leaves(base)) {
    for (let k = 0; k < 3; k++) {
      const w = wrongTypeFor(v, r);
      // An array leaf given a scalar/object still fails at the array's own pointer.
      add(
        `wrong type at ${ptr}: ${JSON.stringify(w)}`,
        setAt(base, ptr, w),
        ptr,
        /\/\d+$/.test(ptr) && w !== null && typeof w === 'object' ? 'prefix' : 'prefix',
      );
    }
    for (const [re, vals] of badValues)
      if (re.test(ptr)) for (const bad of vals) add(`bad value at ${ptr}: ${JSON.stringify(bad).slice(0, 40)}`, setAt(base, ptr, bad), ptr, 'prefix');
  }
  for (const obj of objects(base)) {
    if (/^\/(sources|mirrors|roles)$/.test(obj)) continue; // open maps: any well-formed name is a new entry
    for (const key of ['bogus', 'Kernel', 'x-extra', 'kernel ', '$ref', `k${Math.floor(r() * 1e6)}`])
      add(`unknown key '${key}' in ${obj || '(root)'}`, setAt(base, `${obj}/${key}`, 1), `${obj}/${key}`);
  }
  // Dangling references between sections.
  add('kernel.source names no source', setAt(base, '/kernel/source', 'nosuch'), '/kernel/source');
  add('series names no source', setAt(base, '/kernel/series/source', 'nosuch'), '/kernel/series/source');
  add('series from a tarball source', setAt(base, '/kernel/series/source', 'mine'), '/kernel/series/source');
  add('mirror of an unknown source', setAt(base, '/mirrors/ghost', '/srv/x'), '/mirrors/ghost');
  add('empty series range', setAt(base, '/kernel/series/to', 'bfc8e2930bd3529d1303aa62a61e907d22ab7396'), '/kernel/series/to');
  for (const name of ['Upper', '1abc', 'a b', 'a;b', 'x'.repeat(64), '']) {
    add(
      `bad source name '${name}'`,
      setAt(base, `/sources/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, { kind: 'dir', path: '/x' }),
      `/sources/${name}`,
      'prefix',
    );
    add(`bad role name '${name}'`, setAt(base, `/roles/${name}`, { kind: 'guest' }), `/roles/${name}`, 'prefix');
  }
  for (const k of ['git', 'tarball', 'dir']) add(`${k} source missing fields`, setAt(base, '/sources/x', { kind: k }), '/sources/x');
  for (const s of structuralCases(base, 'kernel')) out.push(s);
  return out;
}

const all = cases();

describe(`generated invalid manifests (seed ${SEED})`, () => {
  const stats = { tried: 0, rejected: 0, precise: 0 };
  after(() => {
    printFigures('bad manifests', { 'cases tried': stats.tried, 'rejected as bad input': stats.rejected, 'with exact pointer and position': stats.precise });
  });

  it('generates at least 300 distinct cases', () => {
    assert.ok(all.length >= 300, `only ${all.length}`);
  });

  for (const [i, c] of all.entries()) {
    it(`#${i} ${c.name.slice(0, 90)}`, () => {
      stats.tried++;
      const f = join(tmp.dir, `case${i}.${c.ext}`);
      writeFileSync(f, c.text);
      let err: unknown;
      try {
        loadManifest(f, tmp.dir, {}, {});
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof InputError, `not rejected as bad input: ${String(err)}`);
      stats.rejected++;
      const issues = err.issues;
      assert.ok(
        issues.every((x) => x.file === f),
        'every issue names the file',
      );
      let hit = issues[0];
      if (c.match !== 'any') {
        const h = issues.find((x) =>
          c.match === 'exact'
            ? x.pointer === c.pointer
            : x.pointer === c.pointer || x.pointer.startsWith(c.pointer + '/') || (c.pointer.startsWith(x.pointer + '/') && x.pointer !== ''),
        );
        assert.ok(h, `expected an issue at ${c.pointer}, got ${JSON.stringify(issues.map((x) => [x.pointer, x.rule]))}`);
        hit = h;
      }
      assert.ok(hit.rule && hit.message, 'the issue names the rule and says what is wrong');
      if (c.match !== 'any' || c.ext === 'yaml') {
        if (hit.line === undefined && !['max-size', 'max-depth', 'yaml-aliases'].includes(hit.rule)) assert.fail(`no line for ${hit.pointer} (${hit.rule})`);
      }
      stats.precise++;
    });
  }

  it('rejects bad manifests through the CLI with exit code 2 and a file:line message', () => {
    const r = rng(SEED + 1);
    for (let k = 0; k < 12; k++) {
      const c = all[Math.floor(r() * all.length)];
      const f = join(tmp.dir, `cli${k}.${c.ext}`);
      writeFileSync(f, c.text);
      const res = vrio(['--manifest', f, 'config', 'show']);
      assert.equal(res.code, 2, `${c.name}: ${res.stderr}`);
      assert.ok(res.stderr.includes(f), `${c.name}: message names the file`);
      assert.doesNotMatch(res.stderr, /internal error|at .*\.js:\d+/, 'no stack trace');
    }
  });
});
