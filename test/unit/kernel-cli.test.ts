// The kernel verbs as a user meets them: exit codes and messages for bad
// usage and for an offline fetch with an empty cache (the default manifest).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';

function vrio(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [dataPath('dist', 'cli', 'bin.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('kernel verbs', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'vrio-kcli-'));

  it('fetch --offline with an empty cache lists the missing commits and how to provide them', () => {
    const r = vrio(['fetch', '--offline', '--cache-dir', join(cwd, 'cache'), '-o', join(cwd, 'out')], cwd);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /offline, and these inputs are not in the cache/);
    assert.match(r.err, /git commit bfc8e2930bd3529d1303aa62a61e907d22ab7396/);
    assert.match(r.err, /git commit b2b678832056d031676db578e8bd15c63e5b7cf4/);
    assert.match(r.err, /--mirror splitio-kernel=/);
  });

  it('a mirror that does not exist is reported, not silently skipped', () => {
    const r = vrio(['fetch', '--offline', '--cache-dir', join(cwd, 'cache'), '--mirror', `splitio-kernel=${join(cwd, 'no-such-clone')}`], cwd);
    assert.equal(r.code, 1);
    assert.match(r.err, /mirror .*no-such-clone: does not exist/);
  });

  it('kernel config needs --role, and names the roles for an unknown one', () => {
    const a = vrio(['kernel', 'config'], cwd);
    assert.equal(a.code, 2);
    assert.match(a.err, /--role is required/);
    const b = vrio(['kernel', 'build', '--role', 'iohpy', '--offline'], cwd);
    assert.equal(b.code, 2);
    assert.match(b.err, /no role 'iohpy'/);
    assert.match(b.err, /roles: iohyp, guest/);
  });

  it('clean refuses an output dir that holds the working directory', () => {
    const r = vrio(['clean', '-o', '.'], cwd);
    assert.equal(r.code, 2);
    assert.match(r.err, /refusing to clean/);
  });
});
