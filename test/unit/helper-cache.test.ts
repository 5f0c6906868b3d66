// The compiled control helper is cached across image builds (keyed by source,
// compiler and toolchain versions): a cached copy must be the very binary a
// fresh compile gives, and a different toolchain must not reuse it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildHelper } from '../../builder/image/helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-helper-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('helper cache', () => {
  it('reuses a compiled helper byte for byte, and compiles again for another toolchain', async () => {
    const cache = { dir: join(tmp, 'cache'), toolchain: 'gcc 12.2.0-14' };
    const fresh = await buildHelper(join(tmp, 'a'), join(tmp, 'a.log'), cache);
    assert.ok(existsSync(join(tmp, 'a.log')), 'the first build compiles (and logs the compiler run)');
    assert.equal(readdirSync(cache.dir).length, 1, 'one cached binary');

    const again = await buildHelper(join(tmp, 'b'), join(tmp, 'b.log'), cache);
    assert.ok(!existsSync(join(tmp, 'b.log')), 'the second build runs no compiler');
    assert.equal(again.sha256, fresh.sha256);
    assert.deepEqual(readFileSync(again.path), readFileSync(fresh.path));
    assert.ok(statSync(again.path).mode & 0o100, 'the copy is executable');

    const other = await buildHelper(join(tmp, 'c'), join(tmp, 'c.log'), { ...cache, toolchain: 'gcc 13.1.0-1' });
    assert.ok(existsSync(join(tmp, 'c.log')), 'a new toolchain compiles');
    assert.equal(other.sha256, fresh.sha256, 'same compiler here, so the same bytes');
    assert.equal(readdirSync(cache.dir).length, 2);
  });
});
