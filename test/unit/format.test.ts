// The tree is formatted by Prettier (config: .prettierrc.json, scope:
// .prettierignore), so indentation and line breaks are never a review topic.
// `npm run format` fixes what this test finds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';

describe('formatting', () => {
  it('every TypeScript source is as Prettier writes it', () => {
    const bin = dataPath('node_modules/.bin/prettier');
    assert.ok(existsSync(bin), 'prettier is a devDependency: npm ci installs it');
    const r = spawnSync(bin, ['--check', '--log-level', 'warn', '.'], { cwd: dataPath(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `files not formatted (run: npm run format):\n${r.stdout}${r.stderr}`);
  });
});
