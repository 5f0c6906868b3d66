// Host-key checking like OpenSSH's StrictHostKeyChecking=yes (default) or
// =accept-new: pinned SHA256 fingerprints and/or known_hosts files. An unknown
// or changed key is refused before any command runs, with the fingerprint and
// how to pin it.
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fingerprint, keyType } from './fingerprint.js';

export interface HostKeyPolicy {
  knownHostsFiles: string[];
  /** 'SHA256:...' pins; when any are given, the key must match one of them. */
  pins: string[];
}

export interface KnownHostsEntry {
  file: string;
  line: number;
  marker?: string;
  patterns: string;
  type: string;
  blob: Buffer;
}

export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const out: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const w = l.split(/\s+/);
    let marker: string | undefined;
    if (w[0].startsWith('@')) marker = w.shift();
    if (w.length < 3) return;
    try {
      out.push({ file, line: i + 1, marker, patterns: w[0], type: w[1], blob: Buffer.from(w[2], 'base64') });
    } catch {
      /* not a key line */
    }
  });
  return out;
}

/** The name known_hosts uses for host:port ("host" for 22, "[host]:port" otherwise). */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
  return re.test(s);
}

export function entryMatchesHost(e: KnownHostsEntry, host: string, port: number): boolean {
  const token = hostToken(host, port);
  if (e.patterns.startsWith('|1|')) {
    const [, , salt, hash] = e.patterns.split('|');
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
    return h === hash;
  }
  let hit = false;
  for (const p of e.patterns.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), token)) return false;
    } else if (globMatch(p, token)) hit = true;
  }
  return hit;
}

export type HostKeyVerdict =
  | { ok: true; fingerprint: string; how: 'pinned' | 'known_hosts' | 'accepted-new' }
  | { ok: false; fingerprint: string; reason: 'unknown' | 'changed' | 'revoked' | 'pin-mismatch' | 'cert-authority'; message: string; hint: string };

export interface VerifyInput {
  policy: HostKeyPolicy;
  host: string;
  port: number;
  blob: Buffer;
  acceptNew: boolean;
  /** Where --accept-new records new keys (default: the first known_hosts file, else ~/.ssh/known_hosts). */
  recordTo?: string;
}

export function loadKnownHosts(files: string[]): KnownHostsEntry[] {
  return files.flatMap((f) => (existsSync(f) ? parseKnownHosts(readFileSync(f, 'utf8'), f) : []));
}

/** Key types known_hosts has for this host, so the handshake asks for those first (like OpenSSH). */
export function preferredKeyTypes(policy: HostKeyPolicy, host: string, port: number): string[] {
  const types = loadKnownHosts(policy.knownHostsFiles)
    .filter((e) => !e.marker && entryMatchesHost(e, host, port))
    .map((e) => e.type);
  // An RSA key is negotiated under its SHA-2 signature names (OpenSSH >= 8.8 refuses ssh-rsa/SHA-1).
  return [...new Set(types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])))];
}

export function verifyHostKey(v: VerifyInput): HostKeyVerdict {
  const fp = fingerprint(v.blob);
  const token = hostToken(v.host, v.port);
  const type = keyType(v.blob);
  const pinHint = `pin it in the inventory (hostKey: ${fp}) after checking it on the console (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa')}_key.pub), or run once with --accept-new`;
  if (v.policy.pins.length) {
    if (v.policy.pins.includes(fp)) return { ok: true, fingerprint: fp, how: 'pinned' };
    return {
      ok: false,
      fingerprint: fp,
      reason: 'pin-mismatch',
      message: `host key of ${token} is ${fp}, which matches none of the pinned fingerprints (${v.policy.pins.join(', ')}): refusing to connect (possible man-in-the-middle, or the host was rebuilt)`,
      hint: `if the host was reinstalled, update hostKey in the inventory to ${fp} after checking it on the console`,
    };
  }
  const entries = loadKnownHosts(v.policy.knownHostsFiles).filter((e) => entryMatchesHost(e, v.host, v.port));
  const revoked = entries.find((e) => e.marker === '@revoked' && e.blob.equals(v.blob));
  if (revoked)
    return {
      ok: false,
      fingerprint: fp,
      reason: 'revoked',
      message: `host key ${fp} of ${token} is marked @revoked in ${revoked.file}:${revoked.line}`,
      hint: 'the host needs a new host key',
    };
  const plain = entries.filter((e) => !e.marker);
  if (plain.some((e) => e.blob.equals(v.blob))) return { ok: true, fingerprint: fp, how: 'known_hosts' };
  const sameType = plain.find((e) => e.type === type);
  if (sameType)
    return {
      ok: false,
      fingerprint: fp,
      reason: 'changed',
      message: `HOST KEY CHANGED for ${token}: it is now ${fp} but ${sameType.file}:${sameType.line} has ${fingerprint(sameType.blob)}; refusing to connect (possible man-in-the-middle, or the host was rebuilt)`,
      hint: `if the host was reinstalled: ssh-keygen -R '${token}' -f ${sameType.file}, then pin the new key (hostKey: ${fp}) or use --accept-new`,
    };
  // known_hosts has this host, but only keys of other types. The handshake asked for
  // those types first (preferredKeyTypes), so a server offering another type does not
  // hold the key we know: what a man-in-the-middle without it looks like. This is not a
  // first contact, so --accept-new (which is about first contact) does not apply.
  // (OpenSSH warns "keys of different type are already known" and refuses when strict.)
  const otherType = plain[0];
  if (otherType)
    return {
      ok: false,
      fingerprint: fp,
      reason: 'changed',
      message: `HOST KEY CHANGED for ${token}: it offers ${type} ${fp} but ${otherType.file}:${otherType.line} knows it by a ${otherType.type} key (${fingerprint(otherType.blob)}), which it no longer offers; refusing to connect (possible man-in-the-middle, or the host was rebuilt)`,
      hint: `if the host was reinstalled: ssh-keygen -R '${token}' -f ${otherType.file}, then pin the new key (hostKey: ${fp}) or use --accept-new`,
    };
  // Only a CA vouches for this host: OpenSSH would check the host's certificate,
  // but ssh2 negotiates no certificate algorithm, so it only ever sees the plain
  // key. Refused, also with --accept-new: recording that key would bypass the CA.
  // Like OpenSSH, a CA line also counts when it names the host without the port.
  const ca = loadKnownHosts(v.policy.knownHostsFiles).find(
    (e) => e.marker === '@cert-authority' && (entryMatchesHost(e, v.host, v.port) || entryMatchesHost(e, v.host, 22)),
  );
  if (ca)
    return {
      ok: false,
      fingerprint: fp,
      reason: 'cert-authority',
      message: `${token} is known only through the @cert-authority line ${ca.file}:${ca.line} (a CA that signs host certificates), and the ssh2 transport cannot check host certificates; refusing its plain key ${type} ${fp}`,
      hint: 'set connection.transport: openssh for this host (OpenSSH checks the certificate against that CA), or pin the key after checking it on the console',
    };
  if (v.acceptNew) {
    const file = v.recordTo ?? v.policy.knownHostsFiles[0] ?? join(homedir(), '.ssh', 'known_hosts');
    if (file) {
      // Like ssh: a ~/.ssh (or other directory) we create is private to the user.
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      appendFileSync(file, `${token} ${type} ${v.blob.toString('base64')}\n`, { mode: 0o600 });
    }
    return { ok: true, fingerprint: fp, how: 'accepted-new' };
  }
  return {
    ok: false,
    fingerprint: fp,
    reason: 'unknown',
    message: `host key of ${token} is not known (${type} ${fp}); refusing to connect`,
    hint: pinHint,
  };
}
