// The lasting guard of the module structure (issue #16): no import cycles in
// the product code, no import up the layers
//   cli -> lab, smoke, bench -> vm, provision, builder -> lib
// no product module importing anything under test/ (a package install has
// no tests), and no product module that only tests use (it belongs under
// test/support/). The layer table is data (test/support/import-graph.ts): a new
// top-level folder fails here until it is placed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageRoot } from '../../lib/paths.js';
import {
  cycles,
  LAYERS,
  layerViolations,
  NOT_PRODUCT,
  modulesBesideFolders,
  productGraph,
  reachable,
  tsFolders,
  type ImportGraph,
} from '../support/import-graph.js';

const root = packageRoot();
const product = tsFolders(root).filter((d) => !NOT_PRODUCT.includes(d));
const graph = productGraph(root, product);

/** What the package runs: the `vrio` binary and `npm run bench` (node dist/bench/run.js). */
const ENTRY_POINTS = ['cli/bin.ts', 'bench/run.ts'];
/** Unreachable modules not fixed yet (none: keep it so). */
const KNOWN_UNREACHABLE: string[] = [];

const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('import graph checks (on made-up graphs)', () => {
  it('finds a two-module cycle, a longer one, and a self-import; not a diamond', () => {
    const found = cycles(
      g({
        'lib/a.ts': ['lib/b.ts'],
        'lib/b.ts': ['lib/a.ts'],
        'cli/x.ts': ['cli/y.ts'],
        'cli/y.ts': ['cli/z.ts'],
        'cli/z.ts': ['cli/x.ts', 'lib/a.ts'],
        'bench/s.ts': ['bench/s.ts'],
        'builder/d1.ts': ['builder/d2.ts', 'builder/d3.ts'],
        'builder/d2.ts': ['builder/d4.ts'],
        'builder/d3.ts': ['builder/d4.ts'],
        'builder/d4.ts': [],
      }),
    );
    assert.deepEqual(found.map((c) => c.join(' ')).sort(), ['bench/s.ts', 'cli/x.ts cli/y.ts cli/z.ts', 'lib/a.ts lib/b.ts']);
  });

  it('reaches modules through static and dynamic imports, not the unimported', () => {
    const r = reachable(
      g({ 'cli/bin.ts': ['cli/main.ts'], 'cli/main.ts': ['cli/v.ts', 'lib/a.ts'], 'cli/v.ts': [], 'lib/a.ts': [], 'lib/only-tests.ts': ['lib/a.ts'] }),
      ['cli/bin.ts'],
    );
    assert.deepEqual([...r].sort(), ['cli/bin.ts', 'cli/main.ts', 'cli/v.ts', 'lib/a.ts']);
  });

  it('finds a module beside a folder of modules of its name, not one beside a data folder', () => {
    assert.deepEqual(modulesBesideFolders(g({ 'p/ops.ts': [], 'p/ops/files.ts': [], 'p/ops/x/y.ts': [], 'p/ops/x.ts': [], 'b/ansible.ts': [] })), [
      'p/ops.ts',
      'p/ops/x.ts',
    ]);
  });

  it('flags an upward import, an import of test/ and an unplaced folder; allows down and sideways', () => {
    const v = layerViolations(
      g({
        'bench/w.ts': ['cli/commands/index.ts', 'lib/exec.ts', 'builder/kernel/build.ts', 'lab/x.ts'],
        'bench/fleet.ts': ['test/support/sshd.ts'],
        'provision/a.ts': ['builder/b.ts', 'vm/c.ts'],
        'tools/t.ts': ['lib/exec.ts'],
      }),
    );
    assert.equal(v.length, 3, v.join('\n'));
    assert.match(v[0]!, /bench\/w\.ts imports cli\/commands\/index\.ts: bench\/ \(layer 2\) may not import the higher cli\//);
    assert.match(v[1]!, /bench\/fleet\.ts imports test\/support\/sshd\.ts: product code never imports test\//);
    assert.match(v[2]!, /tools\/ has no place in the layer table/);
  });
});

describe('the product code', () => {
  it('has its folders in the layer table', () => {
    assert.ok(product.includes('cli') && product.includes('lib'), `product folders: ${product.join(', ')}`);
    const unplaced = product.filter((d) => LAYERS[d] === undefined);
    assert.deepEqual(unplaced, [], `top-level folders of .ts files missing from LAYERS in test/support/import-graph.ts: ${unplaced.join(', ')}`);
  });

  it('reads the imports of every module (static, type-only, re-export and dynamic)', () => {
    assert.ok(graph.size > 100, `only ${graph.size} modules found`);
    // cli/commands/index.ts loads its verbs with dynamic import(): they must be edges.
    assert.ok(graph.get('cli/commands/index.ts')?.includes('cli/commands/build.ts'));
  });

  it('has no import cycle', () => {
    const found = cycles(graph);
    assert.deepEqual(found, [], `import cycles:\n${found.map((c) => '  ' + c.join(' <-> ')).join('\n')}`);
  });

  it('imports only down the layers (cli -> lab, smoke, bench -> vm, provision, builder -> lib) and never test/', () => {
    const v = layerViolations(graph);
    assert.deepEqual(v, [], v.join('\n'));
  });

  it('has no module only tests use: each is reachable from an entry point (cli/bin.ts, bench/run.ts)', () => {
    const r = reachable(graph, ENTRY_POINTS);
    for (const e of [...ENTRY_POINTS, ...KNOWN_UNREACHABLE])
      assert.ok(graph.has(e), `${e} no longer exists: update ENTRY_POINTS / KNOWN_UNREACHABLE in this test`);
    const unused = [...graph.keys()].filter((f) => !r.has(f) && !KNOWN_UNREACHABLE.includes(f)).sort();
    assert.deepEqual(unused, [], `product modules no entry point imports (dead, or test-only: move them under test/support/):\n${unused.join('\n')}`);
  });

  it('has no module beside a folder of modules of the same name (say which one holds what)', () => {
    assert.deepEqual(modulesBesideFolders(graph), []);
  });
});
