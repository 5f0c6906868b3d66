// Batched changes (one remote command for a host's file changes): run by a real
// sh here, each change's status comes back, the first failure stops the rest,
// and a batch never grows past what one command line may hold.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { batchArgv, batches, batchStatuses, MAX_BATCH_CHARS } from '../../provision/batch.js';
import type { Change } from '../../provision/ops.js';
import { shScript } from '../../provision/shell.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-batch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ch = (argv: string[]): Change => ({ host: 'h', kind: 'file-write', summary: argv.join(' '), data: {}, argv, batch: true });

describe('change batches', () => {
  it('runs changes in order, reports each status and stops at the first failure', () => {
    writeFileSync(join(tmp, 'blocker'), 'a file where a directory is needed');
    const cs = [
      ch(shScript('printf %s "$2" > "$1"', [join(tmp, 'one'), "quote ' and $HOME"])),
      ch(['mkdir', join(tmp, 'blocker', 'sub')]),
      ch(['touch', join(tmp, 'three')]),
    ];
    const argv = batchArgv(cs);
    const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.deepEqual([...batchStatuses(out)], [[0, 0], [1, 1]]);
    assert.equal(readFileSync(join(tmp, 'one'), 'utf8'), "quote ' and $HOME", 'arguments keep their bytes');
    assert.ok(!existsSync(join(tmp, 'three')), 'nothing after the failure ran');
  });

  it('splits so that no batch exceeds the command-line budget', () => {
    const big = (n: number) => ch(['printf', 'x'.repeat(n)]);
    const parts = batches([big(40_000), big(40_000), big(40_000), ch(['true'])]);
    assert.deepEqual(parts.map((p) => p.length), [2, 2]);
    for (const p of parts) assert.ok(batchArgv(p)[2].length < MAX_BATCH_CHARS);
    assert.deepEqual(batches([big(200_000)]).map((p) => p.length), [1], 'an oversized change still goes, alone');
  });
});
