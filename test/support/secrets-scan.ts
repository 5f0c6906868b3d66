// Searching captured output for secrets (the secrets suites): what counts as a
// secret's trace, and where one was found.

/**
 * The needles of a private key file: every base64 line of its body, and (for
 * text outputs) its PEM armour. Binaries that parse keys (ssh, dropbear) contain
 * the armour string themselves, so searches of images pass armour: false.
 */
export function keyNeedles(privateKeyPem: string, o: { armour?: boolean } = {}): string[] {
  const lines = privateKeyPem.split('\n').map((l) => l.trim());
  return [...new Set([...lines.filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l)), ...(o.armour === false ? [] : ['PRIVATE KEY-----'])])];
}

export interface Leak {
  where: string;
  needle: string;
}

/** Every (place, secret) pair where one of the secret's needles occurs in the captured text. */
export function findLeaks(captured: Map<string, string>, secrets: Map<string, string[]>): Leak[] {
  const out: Leak[] = [];
  for (const [where, text] of captured)
    for (const [what, needles] of secrets) {
      const hit = needles.find((n) => n.length > 0 && text.includes(n));
      // Only a prefix of the needle is shown: the report must not leak it either.
      if (hit) out.push({ where, needle: `${what} (${hit.slice(0, 8).replace(/[^\x20-\x7e]/g, '?')}...)` });
    }
  return out;
}
