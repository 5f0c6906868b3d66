// SSH public-key fingerprints as OpenSSH shows them (ssh-keygen -l): the one
// place the formula lives, used by the image builder (the pins it writes into
// manifest.json), host-key checking and the tests.
import { createHash } from 'node:crypto';

/** "SHA256:" + unpadded base64 of the SHA-256 of the key blob, e.g. "SHA256:nXls3z1a...". */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
export function fingerprintOfLine(line: string): string {
  return fingerprint(Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64'));
}

/** The key type inside an SSH public-key blob (e.g. "ssh-ed25519"): string length + name. */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}
