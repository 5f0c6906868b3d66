// `npm run mutate` (scripts/mutate.mjs) reads its module groups from
// scripts/mutate-groups.json: a module renamed or a test file removed would
// otherwise leave a group mutating nothing, or killing nothing, without a
// word. This keeps the list honest: every module to mutate exists and is
// product code, every test file named exists, no group or module is listed
// twice, and the modules the README's score table promises are all covered.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../lib/paths.js';

const root = packageRoot();
const { groups } = JSON.parse(readFileSync(join(root, 'scripts', 'mutate-groups.json'), 'utf8')) as {
  groups: { name: string; mutate: string[]; tests: string[] }[];
};

/** The pure core issue #20 puts under mutation testing. */
const CORE = [
  'provision/ops/vrio.ts',
  'provision/ops/plan.ts',
  'provision/ops/files.ts',
  'provision/ops/projection.ts',
  'provision/ops/text-diff.ts',
  'provision/inventory.ts',
  'provision/semantic.ts',
  'builder/cpio.ts',
  'builder/debs/extract.ts',
  'builder/manifest.ts',
  'lib/document.ts',
];

describe('mutation testing configuration (scripts/mutate-groups.json)', () => {
  it('every module to mutate exists, is product TypeScript and is in exactly one group', () => {
    const all = groups.flatMap((g) => g.mutate);
    for (const m of all) {
      assert.ok(existsSync(join(root, m)), `${m} (in scripts/mutate-groups.json) does not exist`);
      assert.match(m, /^(lib|builder|provision)\/.+\.ts$/, `${m} is not product code`);
    }
    assert.deepEqual(
      all.filter((m, i) => all.indexOf(m) !== i),
      [],
      'modules listed twice',
    );
  });

  it('every test file a group runs exists (test/unit/NAME.test.ts)', () => {
    for (const g of groups) {
      assert.ok(g.tests.length > 0, `group ${g.name} runs no tests`);
      for (const t of g.tests) assert.ok(existsSync(join(root, 'test', 'unit', `${t}.test.ts`)), `group ${g.name}: test/unit/${t}.test.ts does not exist`);
    }
  });

  it('group names are unique and the whole pure core is covered', () => {
    const names = groups.map((g) => g.name);
    assert.equal(new Set(names).size, names.length, `duplicate group names: ${names.join(', ')}`);
    assert.deepEqual(
      CORE.filter((m) => !groups.some((g) => g.mutate.includes(m))),
      [],
      'core modules no group mutates',
    );
  });
});
