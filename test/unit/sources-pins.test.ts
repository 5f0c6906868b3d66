// Pins: the shipped pins parse and are complete; a bad pin in a manifest is
// rejected with file, pointer and rule before anything runs.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadManifest } from '../../builder/manifest.js';
import { commitsNeeded, kernelSourceNames } from '../../builder/sources/index.js';
import { InputError } from '../../lib/errors.js';

function manifestFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-pins-'));
  const f = join(dir, 'vrio.yaml');
  writeFileSync(f, text);
  return f;
}

describe('pins', () => {
  it('pin the default kernel to full commit ids for base and head', () => {
    const m = loadManifest(undefined, mkdtempSync(join(tmpdir(), 'vrio-pins-')), {}, {});
    const src = m.sources['splitio-kernel'];
    assert.equal(src.kind, 'git');
    assert.match(src.kind === 'git' ? src.commit : '', /^[0-9a-f]{40}$/);
    assert.deepEqual(kernelSourceNames(m), ['splitio-kernel']);
    // The cache must hold the pinned head and both ends of the series.
    assert.deepEqual(
      commitsNeeded(m, 'splitio-kernel').sort(),
      ['b2b678832056d031676db578e8bd15c63e5b7cf4', 'bfc8e2930bd3529d1303aa62a61e907d22ab7396'].sort(),
    );
  });

  it('reject an abbreviated commit with its pointer and rule', () => {
    const f = manifestFile('sources:\n  splitio-kernel:\n    kind: git\n    url: https://example.invalid/k.git\n    commit: b2b67883\n');
    assert.throws(
      () => loadManifest(f, '/', {}, {}),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        const i = e.issues.find((x) => x.pointer === '/sources/splitio-kernel/commit');
        assert.ok(i, JSON.stringify(e.issues));
        assert.equal(i.rule, 'pattern');
        assert.equal(i.line, 5);
        return true;
      },
    );
  });

  it('reject a tarball without a sha256', () => {
    const f = manifestFile('sources:\n  linux:\n    kind: tarball\n    url: file:///x.tar.xz\n');
    assert.throws(
      () => loadManifest(f, '/', {}, {}),
      (e: unknown) => e instanceof InputError && e.issues.some((i) => i.pointer === '/sources/linux' && /sha256/.test(i.message)),
    );
  });

  it('accept a tarball kernel with no series (the CI kernel shape)', () => {
    const f = manifestFile(
      'kernel:\n  line: "6.1"\n  source: linux\n  series: null\n  moduleDirs: [drivers/misc/vrio_test]\nsources:\n  linux:\n    kind: tarball\n    url: file:///x.tar.xz\n    sha256: "' +
        'a'.repeat(64) +
        '"\n',
    );
    const m = loadManifest(f, '/', {}, {});
    assert.equal(m.kernel.series, null);
    assert.deepEqual(kernelSourceNames(m), ['linux']);
    assert.deepEqual(m.kernel.moduleDirs, ['drivers/misc/vrio_test']);
  });
});
