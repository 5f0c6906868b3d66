// Host selection (--limit) with Ansible's pattern language, so a fleet team's
// habits carry over: words separated by ',' or ':'; a word is a host name, a
// group of the inventory, the role groups 'iohyps'/'guests', 'all' or '*', a
// glob ('guest*', 'io?'), or a regular expression after '~' ('~guest[0-9]+').
// As in Ansible, plain words are joined first (in the order given, a group's
// hosts in the group's order, duplicates dropped), then '&word' keeps only
// hosts also in word, then '!word' removes hosts.
import { UsageError } from '../lib/errors.js';
import type { Host, Inventory } from './inventory-types.js';

/** A word of the limit that matched no host, with the closest known name, if any is close. */
export interface UnmatchedWord {
  word: string;
  suggestion?: string;
}

export interface Selection {
  hosts: Host[];
  /** Words that matched nothing (the others still select their hosts). */
  unmatched: UnmatchedWord[];
}

/** The words of --limit values: each value may hold several, split on ',' or ':'. */
export function patternWords(patterns: readonly string[]): string[] {
  return patterns
    .flatMap((p) => p.split(/[,:]/))
    .map((w) => w.trim())
    .filter(Boolean);
}

/** The hosts one word selects, in the order Ansible lists them. */
function hostsOf(word: string, inv: Inventory): Host[] {
  if (word === 'all' || word === '*') return inv.hosts;
  if (word === 'iohyps' || word === 'guests') return inv.hosts.filter((h) => h.role === word.slice(0, -1));
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const group = inv.groups[word];
  if (group) return group.map((n) => byName.get(n)).filter((h): h is Host => h !== undefined);
  if (word.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(word.slice(1));
    } catch (e) {
      throw new UsageError(
        `--limit '${word}': not a valid regular expression (${(e as Error).message})`,
        "after '~' comes a JavaScript regular expression, e.g. '~guest[0-9]+'",
      );
    }
    // Ansible matches the regex at the start of the name (re.match).
    return inv.hosts.filter((h) => re.exec(h.name)?.index === 0);
  }
  if (/[*?]/.test(word)) {
    const re = new RegExp(
      `^${word
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    // A glob also selects the hosts of the groups whose names it matches.
    const members = new Set(Object.entries(inv.groups).flatMap(([g, hs]) => (re.test(g) ? hs : [])));
    return inv.hosts.filter((h) => re.test(h.name) || members.has(h.name));
  }
  const h = byName.get(word);
  return h ? [h] : [];
}

/** Levenshtein distance, bounded: names are short. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length];
}

/** The known host or group name closest to `word`, when it is a likely typo. */
export function closestName(word: string, inv: Inventory): string | undefined {
  const names = [...inv.hosts.map((h) => h.name), ...Object.keys(inv.groups), 'iohyps', 'guests', 'all'];
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = distance(word, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** The hosts a --limit selects (all hosts without one), and the words that matched nothing. */
export function selectHosts(inv: Inventory, patterns: readonly string[] | undefined): Selection {
  const words = patternWords(patterns ?? []);
  if (words.length === 0) return { hosts: inv.hosts, unmatched: [] };
  const plain: Host[] = [];
  const and: Set<string>[] = [];
  const not = new Set<string>();
  const unmatched: UnmatchedWord[] = [];
  for (const w of words) {
    const op = w[0] === '!' || w[0] === '&' ? w[0] : '';
    const bare = w.slice(op.length);
    if (!bare) throw new UsageError(`--limit '${w}': '${w[0]}' needs a host or group after it`, "e.g. --limit 'guests:!guest2' or 'iohyps:&rack1'");
    const hs = hostsOf(bare, inv);
    if (hs.length === 0) unmatched.push({ word: bare, suggestion: closestName(bare, inv) });
    if (op === '!') for (const h of hs) not.add(h.name);
    else if (op === '&') and.push(new Set(hs.map((h) => h.name)));
    else plain.push(...hs);
  }
  // Only exclusions or intersections: they apply to all hosts, as in Ansible.
  const base = words.some((w) => w[0] !== '!' && w[0] !== '&') ? [...new Set(plain)] : inv.hosts;
  const hosts = base.filter((h) => and.every((s) => s.has(h.name)) && !not.has(h.name));
  return { hosts, unmatched };
}

/**
 * The hosts of a --limit for a verb that is about to connect: a limit that
 * selects no host is bad input (exit 2) with a did-you-mean, never "0 hosts, ok".
 */
export function requireHosts(inv: Inventory, patterns: readonly string[] | undefined): Selection {
  const sel = selectHosts(inv, patterns);
  if (sel.hosts.length === 0 && inv.hosts.length > 0) {
    const close = sel.unmatched.find((u) => u.suggestion);
    const known = inv.hosts.length <= 8 ? `; hosts: ${inv.hosts.map((h) => h.name).join(', ')}` : '';
    throw new UsageError(
      `--limit '${(patterns ?? []).join(',')}' selects no host of ${inv.file}${sel.unmatched.length ? ` ('${sel.unmatched.map((u) => u.word).join("', '")}' matches no host or group)` : ''}`,
      close ? `did you mean '${close.suggestion}'?${known}` : `see the hosts with --list-hosts${known}`,
    );
  }
  return sel;
}
