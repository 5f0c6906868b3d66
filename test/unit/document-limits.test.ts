// Hostile input files through the real CLI (`vrio inventory check`): each is
// refused as bad input (exit 2, file, position, rule) at once. Every run has a
// timeout enforced with SIGKILL (the CLI defers SIGTERM, so a hang would
// outlive a plain timeout) and a small heap (what used to take 1 GB dies
// quickly rather than eating the machine's memory).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'vrio-doc-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function check(file: string) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), 'inventory', 'check', file], {
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '--max-old-space-size=256' },
  });
  return { code: r.status, signal: r.signal, stderr: r.stderr, ms: Date.now() - t0 };
}
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const valid = (files: string) => `version: 1\niohyps:\n  io1:\n    l2: { interface: eth0 }\n    files:\n${files}`;

describe('document limits: hostile inventories are bad input, refused at once', () => {
  it('a 2 MB [[[...]]] document: exit 2 [max-depth] with its line', () => {
    const f = file('deep.yaml', '['.repeat(1_000_000) + ']'.repeat(1_000_000));
    const r = check(f);
    assert.equal(r.signal, null, `killed after ${r.ms} ms`);
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.ok(r.stderr.includes(`${f}:1:67: (root): nesting deeper than 64 levels [max-depth]`), r.stderr.slice(0, 2000));
  });

  it('deep block nesting (- - - ...): exit 2 [max-depth]', () => {
    const f = file('block.yaml', 'version: 1\nvars:\n  a:\n    ' + '- '.repeat(300_000) + 'x\n');
    const r = check(f);
    assert.equal(r.signal, null, `killed after ${r.ms} ms`);
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.match(r.stderr, /block\.yaml:4:\d+: \(root\): nesting deeper than 64 levels \[max-depth\]/);
  });

  it('a 900,000-element list: exit 2 [max-items], not a stack overflow', () => {
    const f = file('wide.json', JSON.stringify({ version: 1, iohyps: { io1: { l2: { interface: 'eth0' }, files: Array(900_000).fill(0) } } }));
    const r = check(f);
    assert.equal(r.signal, null, `killed after ${r.ms} ms`);
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.match(r.stderr, /wide\.json:1:\d+: \(root\): a list or map of more than 10000 entries \[max-items\]/);
    assert.doesNotMatch(r.stderr, /call stack/);
  });

  it('a list just over the limit is named by its JSON pointer', () => {
    const f = file('over.json', JSON.stringify({ version: 1, iohyps: { io1: { l2: { interface: 'eth0' }, files: Array(10_001).fill(0) } } }));
    const r = check(f);
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.match(r.stderr, /over\.json:1:\d+: \/iohyps\/io1\/files: a list of 10001 entries; at most 10000 \[max-items\]/);
  });

  it('an inventory that is a FIFO or a device: exit 2 [regular-file], never read', () => {
    const fifo = join(dir, 'inv.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [f, what] of [
      [fifo, 'a FIFO'],
      ['/dev/zero', 'a character device'],
    ]) {
      const r = check(f);
      assert.equal(r.signal, null, `${f}: killed after ${r.ms} ms`);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`${f}: (root): ${what}, not a regular file [regular-file]`), r.stderr);
    }
  });

  it('a managed file whose source is a FIFO or /dev/zero: exit 2 naming the inventory file and JSON pointer', () => {
    const fifo = join(dir, 'src.fifo');
    execFileSync('mkfifo', [fifo]);
    const f = file('src.yaml', valid(`      - { path: /etc/a, source: ${fifo} }\n      - { path: /etc/b, source: /dev/zero }\n`));
    const r = check(f);
    assert.equal(r.signal, null, `killed after ${r.ms} ms`);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${f}:6:33: /iohyps/io1/files/0/source: ${fifo} is a FIFO, not a regular file [file-source]`), r.stderr);
    assert.ok(r.stderr.includes(`${f}:7:33: /iohyps/io1/files/1/source: /dev/zero is a character device, not a regular file [file-source]`), r.stderr);
  });
});
