// Verbs load lazily (cli/commands/index.ts keeps only name + summary). What a
// user sees must not drift from the verb modules: `vrio --help` lists every
// verb with the summary its module declares, and every entry loads the verb of
// the same name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commands } from '../../cli/commands/index.js';
import { vrio } from '../support/cli.js';

describe('lazy verb table', () => {
  it('each entry loads the verb it names, with the same summary', async () => {
    const names = new Set<string>();
    for (const e of commands) {
      assert.ok(!names.has(e.name), `duplicate verb ${e.name}`);
      names.add(e.name);
      const c = await e.load();
      assert.equal(c.name, e.name, `entry '${e.name}' loads verb '${c.name}'`);
      assert.equal(e.summary, c.summary, `summary of '${e.name}' in cli/commands/index.ts matches its module`);
    }
  });

  it('vrio --help lists every verb with its summary without loading them', () => {
    const r = vrio(['--help']);
    assert.equal(r.code, 0, r.stderr);
    // Summaries are word-wrapped to 80 columns: compare with whitespace collapsed.
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const e of commands) assert.ok(flat.includes(` ${e.name} ${e.summary}`), e.name);
  });

  it('a verb still parses its own options and rejects unknown ones', () => {
    const r = vrio(['kernel', 'build', '--rol', 'guest']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /did you mean '--role'/);
  });
});
