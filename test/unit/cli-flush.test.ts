// `vrio ... --json | slow-consumer` must get every byte: the CLI exits only
// after stdout has flushed (a 50-host plan once lost its last events).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../../lib/paths.js';
import { eventOf, tempDir } from '../support/cli.js';

const tmp = tempDir('vrio-flush-');
after(tmp.cleanup);

describe('CLI output through a slow pipe', () => {
  it('delivers a >64 KiB --json document whole to a reader that starts late', () => {
    const lines = [
      'version: 1',
      'connection: { user: root, identityFile: /tmp/k }',
      'iohyps:',
      '  iohyp1:',
      '    address: 10.1.0.1',
      '    l2: { interface: eth0, address: 10.55.0.1/16 }',
      'guests:',
    ];
    for (let i = 2; i < 1200; i++) {
      const mac = `52:54:00:55:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      lines.push(
        `  g${i}:`,
        '    iohyp: iohyp1',
        `    address: 10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        `    l2: { interface: eth0, mac: "${mac}", ip: 10.55.${Math.floor(i / 250)}.${(i % 250) + 2}/16 }`,
      );
    }
    const inv = join(tmp.dir, 'big.yaml');
    writeFileSync(inv, lines.join('\n') + '\n');
    const bin = join(packageRoot(), 'dist/cli/bin.js');
    // The reader sleeps first, so the CLI finishes while most output is still queued.
    const out = execFileSync('sh', ['-c', `"$0" "$1" inventory check --json "$2" | (sleep 1; cat)`, process.execPath, bin, inv], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(out.length > 64 * 1024, `only ${out.length} bytes`);
    const doc = eventOf(out, 'inventory');
    assert.ok(JSON.stringify(doc).includes('"g1199"'), 'the last host is in the output');
  });
});
