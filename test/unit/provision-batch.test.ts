// Batched changes (one remote command for a host's file changes): run by a real
// sh here, each change's status comes back, the first failure stops the rest,
// content arrives byte for byte, and a batch stays under its size budget.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BATCH_ARGV, batches, batchScript, batchStatuses, MAX_BATCH_BYTES } from '../../provision/batch.js';
import type { Change } from '../../provision/ops/change.js';
import { Payload } from '../../provision/payload.js';
import { shScript } from '../../lib/shell.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-batch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ch = (argv: string[], stdin?: Buffer): Change => ({
  host: 'h',
  kind: 'file-write',
  summary: argv.join(' '),
  data: {},
  argv,
  batch: true,
  ...(stdin ? { stdin: new Payload(stdin) } : {}),
});
const run = (cs: Change[]) => execFileSync(BATCH_ARGV[0], BATCH_ARGV.slice(1), { input: batchScript(cs), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });

describe('change batches', () => {
  it('runs changes in order, reports each status and stops at the first failure', () => {
    writeFileSync(join(tmp, 'blocker'), 'a file where a directory is needed');
    const cs = [
      ch(shScript('printf %s "$2" > "$1"', [join(tmp, 'one'), "quote ' and $HOME"])),
      ch(shScript('cat > "$1"', [join(tmp, 'two')]), Buffer.from([0, 0x27, 0xff, 0x0a, 0x24])),
      ch(['cat']),
      ch(['mkdir', join(tmp, 'blocker', 'sub')]),
      ch(['touch', join(tmp, 'three')]),
    ];
    const out = run(cs);
    assert.deepEqual(
      [...batchStatuses(out)],
      [
        [0, 0],
        [1, 0],
        [2, 0],
        [3, 1],
      ],
    );
    assert.equal(readFileSync(join(tmp, 'one'), 'utf8'), "quote ' and $HOME", 'arguments keep their bytes');
    assert.deepEqual(readFileSync(join(tmp, 'two')), Buffer.from([0, 0x27, 0xff, 0x0a, 0x24]), 'stdin content arrives byte for byte');
    assert.ok(!existsSync(join(tmp, 'three')), 'nothing after the failure ran');
  });

  it("splits by the script's real size, so that no batch exceeds the budget", () => {
    const big = (n: number) => ch(['sh', '-c', 'cat >/dev/null'], Buffer.alloc(n, "'"));
    const parts = batches([big(40_000), big(40_000), big(40_000), ch(['true'])]);
    assert.deepEqual(
      parts.map((p) => p.length),
      [2, 2],
    );
    for (const p of parts) assert.ok(batchScript(p).length < MAX_BATCH_BYTES);
    assert.deepEqual(
      batches([big(200_000)]).map((p) => p.length),
      [1],
      'an oversized change still goes, alone',
    );
  });
});
