// SSH keys for the images.
//
// Host keys are made at build time so a provisioner can pin them from
// manifest.json, yet two builds of the same inputs must give byte-identical
// images. So a host key is not random: it is derived (HMAC-SHA256) from a
// secret 32-byte seed file that is itself an input of the build
// (<output>/keys/host-seed, created once and reused), and from the role name.
// Whoever holds the seed can recreate the keys: keep it like a private key.
//
// The client key that logs into the images (when the manifest names no
// authorized keys) is an ordinary random ed25519 key made once with
// ssh-keygen and kept in <output>/keys/id_ed25519.
import { createHmac, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';
import { writeFileAtomic } from '../../lib/fsx.js';
import { fingerprint as blobFingerprint } from '../../lib/ssh/fingerprint.js';

export interface Ed25519Key {
  seed: Buffer;
  publicKey: Buffer;
}

/** PKCS#8 DER header of an ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function ed25519FromSeed(seed: Buffer): Ed25519Key {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes');
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { seed: Buffer.from(seed), publicKey: Buffer.from(spki.subarray(spki.length - 32)) };
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** The SSH wire-format public key blob ("ssh-ed25519" + key). */
export function publicBlob(k: Ed25519Key): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(k.publicKey)]);
}

export function publicLine(k: Ed25519Key, comment: string): string {
  return `ssh-ed25519 ${publicBlob(k).toString('base64')} ${comment}`;
}

/** OpenSSH-style fingerprint of the key, e.g. "SHA256:nXls3z1a...". */
export function fingerprint(k: Ed25519Key): string {
  return blobFingerprint(publicBlob(k));
}

/**
 * Dropbear's private key file format for ed25519:
 * string "ssh-ed25519", string (32-byte seed || 32-byte public key).
 */
export function dropbearPrivateKey(k: Ed25519Key): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.concat([k.seed, k.publicKey]))]);
}

/** Read or create the host-key seed (32 random bytes, hex, mode 0600). */
export function ensureHostSeed(keysDir: string): Buffer {
  const file = join(keysDir, 'host-seed');
  if (!existsSync(file)) {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(file, randomBytes(32).toString('hex') + '\n', 0o600);
  }
  return readHostSeed(keysDir)!;
}

/** The host-key seed if one was made (never makes one). */
export function readHostSeed(keysDir: string): Buffer | undefined {
  const file = join(keysDir, 'host-seed');
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new VrioError(`${file}: not a host-key seed (expected 64 hex digits)`, { hint: 'delete it to make a new one (the images then get new host keys)' });
  }
  return Buffer.from(text, 'hex');
}

/** The host key of one image, derived from the seed and the role name. */
export function deriveHostKey(seed: Buffer, role: string): Ed25519Key {
  const s = createHmac('sha256', seed).update(`vrio-appliance host key v1\0ssh-ed25519\0${role}`).digest();
  return ed25519FromSeed(s);
}

export interface ClientKey {
  privateKey: string;
  publicLine: string;
}

/** Read or create the build's own client key pair (for logging into images). */
export async function ensureClientKey(keysDir: string): Promise<ClientKey> {
  const priv = join(keysDir, 'id_ed25519');
  if (!existsSync(priv) || !existsSync(`${priv}.pub`)) {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    const tmp = join(keysDir, `.id_ed25519.tmp-${process.pid}`);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vrio-appliance client', '-f', tmp]);
    chmodSync(tmp, 0o600);
    // Public first: a private key without its .pub is regenerated next time.
    writeFileAtomic(`${priv}.pub`, readFileSync(`${tmp}.pub`));
    writeFileAtomic(priv, readFileSync(tmp), 0o600);
    for (const f of [tmp, `${tmp}.pub`]) await run('rm', ['-f', f]);
  }
  return { privateKey: priv, publicLine: readFileSync(`${priv}.pub`, 'utf8').trim() };
}
