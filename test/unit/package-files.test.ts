// What a package install gets: `npm pack` (what `npm publish` and installing
// from a tarball ship) holds the compiled CLI and the data files it reads, and
// no test suite, fixture or compiled test (dist/test/). The shipped code needs
// nothing from test/ (test/unit/layers.test.ts), so leaving it out breaks
// nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { packageRoot } from '../../lib/paths.js';
import { LAYERS } from '../support/import-graph.js';

const root = packageRoot();

function packList(): string[] {
  // --ignore-scripts: no `prepare` (tsc) run; the dist/ under test is the one npm test compiled.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `npm pack --dry-run failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('npm pack', () => {
  const files = packList();

  it('ships no tests: nothing under test/ or dist/test/', () => {
    const tests = files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/'));
    assert.deepEqual(tests.slice(0, 10), [], `${tests.length} test files in the package, e.g. the above (see .npmignore)`);
  });

  it('ships the compiled CLI, every product layer and the data files read at run time', () => {
    for (const f of [
      'package.json',
      'dist/cli/bin.js',
      'dist/cli/main.js',
      'kernel-config/pins.yaml',
      'builder/defaults/vrio.yaml',
      'builder/manifest.schema.json',
      'provision/inventory.schema.json',
      'cli/events.schema.json',
      'provision/defaults.yaml',
      'rootfs/licenses.yaml',
      'bench/ci-kernel/ci.yaml',
      'bench/workloads/write-spec.yaml',
    ]) {
      assert.ok(files.includes(f), `${f} is missing from the package`);
    }
    for (const layer of Object.keys(LAYERS)) {
      const src = files.some((f) => f.startsWith(`${layer}/`));
      if (src)
        assert.ok(
          files.some((f) => f.startsWith(`dist/${layer}/`)),
          `dist/${layer}/ is missing from the package`,
        );
    }
  });
});
