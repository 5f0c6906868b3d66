// The one SSH fingerprint function (lib/ssh/fingerprint.ts) against ssh-keygen,
// for each host key type an image or a provisioned host may have.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fingerprint, fingerprintOfLine, keyType } from '../../lib/ssh/fingerprint.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-fp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('SSH host key fingerprints', () => {
  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    test(`${type}: what ssh-keygen -l prints for the same key, from the blob or the public key line`, () => {
      const key = join(tmp, type);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'a comment', '-f', key]);
      const line = readFileSync(`${key}.pub`, 'utf8');
      const blob = Buffer.from(line.trim().split(' ')[1], 'base64');
      const want = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(fingerprint(blob), want);
      assert.equal(fingerprintOfLine(line), want);
      assert.equal(keyType(blob), line.split(' ')[0]);
    });
  }

  test('keyType of a blob too short to name one is "unknown"', () => {
    assert.equal(keyType(Buffer.alloc(2)), 'unknown');
  });
});
