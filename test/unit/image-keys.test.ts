// Build-time SSH host keys: derived from the seed (same seed, same key), in a
// file the real dropbear accepts, with the fingerprint OpenSSH would show.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deriveHostKey, dropbearPrivateKey, ensureClientKey, ensureHostSeed, fingerprint, publicLine } from '../../builder/image/keys.js';
import { fingerprintOfLine } from '../../lib/ssh/fingerprint.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-keys-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('SSH keys of the images', () => {
  const seed = Buffer.alloc(32, 7);

  it('derives the same host key from the same seed and role, different ones otherwise', () => {
    const a = deriveHostKey(seed, 'iohyp');
    assert.ok(deriveHostKey(Buffer.from(seed), 'iohyp').publicKey.equals(a.publicKey));
    assert.ok(!deriveHostKey(seed, 'guest').publicKey.equals(a.publicKey));
    assert.ok(!deriveHostKey(Buffer.alloc(32, 8), 'iohyp').publicKey.equals(a.publicKey));
  });

  it('writes a dropbear key file that dropbearkey reads back to the same public key and fingerprint', () => {
    const k = deriveHostKey(seed, 'iohyp');
    const file = join(tmp, 'dropbear_ed25519_host_key');
    writeFileSync(file, dropbearPrivateKey(k), { mode: 0o600 });
    const r = spawnSync('dropbearkey', ['-y', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const pubLine = r.stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 ')) ?? '';
    assert.equal(pubLine.split(' ')[1], publicLine(k, 'x').split(' ')[1]);
    assert.match(r.stdout, new RegExp(`^Fingerprint: ${fingerprint(k).replace(/[+/]/g, '\\$&')}$`, 'm'));
  });

  it('gives the fingerprint ssh-keygen -l shows', () => {
    const k = deriveHostKey(seed, 'guest');
    const pub = join(tmp, 'k.pub');
    writeFileSync(pub, publicLine(k, 'root@vrio-guest') + '\n');
    const r = spawnSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split(' ')[1], fingerprint(k));
    assert.equal(fingerprintOfLine(publicLine(k, 'c')), fingerprint(k));
  });

  it('creates the seed once (0600) and reuses it; rejects a damaged seed file', () => {
    const dir = join(tmp, 'keys');
    const s1 = ensureHostSeed(dir);
    assert.equal(s1.length, 32);
    assert.equal(statSync(join(dir, 'host-seed')).mode & 0o777, 0o600);
    assert.ok(ensureHostSeed(dir).equals(s1));
    writeFileSync(join(dir, 'host-seed'), 'not hex\n');
    assert.throws(() => ensureHostSeed(dir), /host-seed: not a host-key seed \(expected 64 hex digits\)/);
  });

  it('makes the client key pair once and keeps it', async () => {
    const dir = join(tmp, 'client');
    const a = await ensureClientKey(dir);
    const b = await ensureClientKey(dir);
    assert.equal(a.publicLine, b.publicLine);
    assert.match(a.publicLine, /^ssh-ed25519 AAAA\S+ vrio-appliance client$/);
    assert.equal(statSync(a.privateKey).mode & 0o777, 0o600);
    assert.match(readFileSync(a.privateKey, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);
  });
});
