// Host patterns as Ansible reads them (ansible/parsing/utils/addresses.py and
// plugins/inventory/__init__.py): an optional port (`host:2222`,
// `[2001:db8::1]:2222`), then [a:b(:step)] ranges expanded left to right.
// Ansible has no limit on how many names a pattern makes; we count before
// expanding and refuse past a budget, so a hostile pattern is a clear error
// instead of a hung import or a silently shortened list.

/** Most hosts one import may produce. */
export const MAX_IMPORTED_HOSTS = 100_000;

/** A host pattern Ansible would not expand, or one that expands to too much. */
export class HostPatternError extends Error {}

const numericRange = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const hexRange = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const alnumRange = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const i6 = `(?:[0-9a-f]{1,4}|${hexRange})`;
const i4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${numericRange})`;
const label = `(?:[\\p{L}\\p{N}_]|${alnumRange})(?:[\\p{L}\\p{N}_-]|${alnumRange})*(?<![_-])`;

const PATTERNS = {
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(`^(?:${i4}\\.){3}${i4}$`, 'i'),
  ipv6: new RegExp(
    '^(?:' +
      [
        `(?:${i6}:){7}${i6}`,
        `(?:${i6}:){1,6}:`,
        `(?:${i6}:)(?::${i6}){1,6}`,
        `(?:${i6}:){2}(?::${i6}){1,5}`,
        `(?:${i6}:){3}(?::${i6}){1,4}`,
        `(?:${i6}:){4}(?::${i6}){1,3}`,
        `(?:${i6}:){5}(?::${i6}){1,2}`,
        `(?:${i6}:){6}(?::${i6})`,
        `:(?::${i6}){1,6}`,
        `${i6}?::`,
        `(?:0:){6}(?:${i6}\\.){3}${i6}`,
        `::(?:ffff:)?(?:${i6}\\.){3}${i6}`,
        `(?:0:){5}ffff:(?:${i6}\\.){3}${i6}`,
      ].join('|') +
      ')$',
    'i',
  ),
  hostname: new RegExp(`^${label}(?:\\.${label})*$`, 'iu'),
};

/** Is this name an IPv4 or IPv6 address (no ranges)? */
export function isIpAddress(s: string): boolean {
  return !s.includes('[') && (PATTERNS.ipv4.test(s) || PATTERNS.ipv6.test(s));
}

/**
 * parse_address(pattern, allow_ranges=True): the host part and the port, or
 * the whole pattern and no port when it is not a recognisable address (Ansible
 * then expands it as it is, which is how `mail[:5]` still works).
 */
export function splitPort(pattern: string): { host: string; port?: number } {
  let address = pattern;
  let port: number | undefined;
  // Both are tried in turn, as Ansible does (`continue`, not `break`).
  for (const re of [PATTERNS.bracketedHostport, PATTERNS.hostport]) {
    const m = re.exec(address);
    if (m) {
      address = m[1];
      port = Number(m[2]);
    }
  }
  if (PATTERNS.ipv4.test(address) || PATTERNS.ipv6.test(address) || PATTERNS.hostname.test(address)) return { host: address, port };
  return { host: pattern };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

interface Range {
  head: string;
  values: string[];
  tail: string;
}

/** The first [..] of a pattern, as expand_hostname_range splits it. */
function firstRange(line: string, budget: number): Range | undefined {
  const open = line.indexOf('[');
  if (open < 0) return undefined;
  const close = line.indexOf(']', open + 1);
  // Ansible replaces the first '[' and the first ']' after it with '|' and splits in three.
  if (close < 0) throw new HostPatternError(`host range in '${line}' has no closing ']'`);
  const head = line.slice(0, open);
  const nrange = line.slice(open + 1, close);
  const tail = line.slice(close + 1);
  if (tail.includes('|') || head.includes('|') || nrange.includes('|'))
    throw new HostPatternError(`'${line}' contains '|', which Ansible's range expansion cannot split`);
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostPatternError(`host range [${nrange}] must be begin:end or begin:end:step`);
  const beg = bounds[0] || '0';
  const end = bounds[1];
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostPatternError(`host range [${nrange}] must specify an end value`);
  if (!/^\s*[+-]?\d+\s*$/.test(stepText)) throw new HostPatternError(`host range [${nrange}]: the step '${stepText}' is not a number`);
  const step = Number(stepText);
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (beg.length === 1 && end.length === 1 && ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostPatternError(`host range [${nrange}] must have begin <= end`);
    if (step === 0) throw new HostPatternError(`host range [${nrange}]: the step must not be zero`);
    const seq = LETTERS.slice(ib, ie + 1);
    // Python's slice with a step: [::-1] walks backwards.
    const values: string[] = [];
    if (step > 0) for (let i = 0; i < seq.length; i += step) values.push(seq[i]);
    else for (let i = seq.length - 1; i >= 0; i += step) values.push(seq[i]);
    return { head, values, tail };
  }
  if (!/^\s*[+-]?\d+\s*$/.test(beg) || !/^\s*[+-]?\d+\s*$/.test(end))
    throw new HostPatternError(`host range [${nrange}]: give two numbers or two single letters`);
  const pad = beg[0] === '0' && beg.length > 1 ? beg.length : 0;
  if (pad && pad !== end.length) throw new HostPatternError(`host range [${nrange}] must specify equal-length begin and end formats`);
  if (step === 0) throw new HostPatternError(`host range [${nrange}]: the step must not be zero`);
  const from = Number(beg);
  const to = Number(end) + 1;
  // Python's range(): an empty range is not an error (Ansible then makes no host).
  const count = step > 0 ? Math.max(0, Math.ceil((to - from) / step)) : Math.max(0, Math.ceil((from - to) / -step));
  if (count > budget) throw new HostPatternError(`host range [${nrange}] alone is ${count} hosts, more than the ${budget} allowed`);
  const values: string[] = [];
  for (let k = 0; k < count; k++) values.push(String(from + k * step).padStart(pad, '0'));
  return { head, values, tail };
}

/**
 * The names one pattern (without a port) expands to, in Ansible's order.
 * Throws HostPatternError for what Ansible rejects and for more than `budget`
 * names; the count is known before any name is made.
 */
export function expandHostPattern(pattern: string, budget = MAX_IMPORTED_HOSTS): string[] {
  if (!pattern.includes('[')) return [pattern];
  // Split into ranges first (each range's tail may hold more ranges).
  const heads: string[] = [];
  const lists: string[][] = [];
  let rest = pattern;
  let total = 1;
  for (;;) {
    const r = firstRange(rest, budget);
    if (!r) break;
    heads.push(r.head);
    lists.push(r.values);
    total *= r.values.length;
    rest = r.tail;
    if (total === 0) return [];
  }
  if (total > budget) throw new HostPatternError(`${pattern} expands to ${total > 1e15 ? 'more than 10^15' : total} hosts, more than the ${budget} allowed`);
  const out: string[] = [];
  const idx = lists.map(() => 0);
  for (;;) {
    let name = '';
    for (let k = 0; k < lists.length; k++) name += heads[k] + lists[k][idx[k]];
    out.push(name + rest);
    let k = lists.length - 1;
    while (k >= 0 && ++idx[k] === lists[k].length) idx[k--] = 0;
    if (k < 0) return out;
  }
}
