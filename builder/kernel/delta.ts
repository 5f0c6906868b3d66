// The difference between two .config files, as a fragment: what
// `vrio kernel menuconfig` writes back so an interactive change becomes data.
import { parseConfig, parseFragment, type ConfigValue } from './fragments.js';

export interface DeltaEntry {
  symbol: string;
  before: ConfigValue;
  after: ConfigValue;
}

/** Symbols whose value differs ("n" stands for unset); sorted by name. */
export function configDelta(beforeText: string, afterText: string): DeltaEntry[] {
  const before = parseConfig(beforeText);
  const after = parseConfig(afterText);
  const names = new Set([...before.keys(), ...after.keys()]);
  const out: DeltaEntry[] = [];
  for (const s of names) {
    const b = before.get(s) ?? 'n';
    const a = after.get(s) ?? 'n';
    if (a !== b) out.push({ symbol: s, before: b, after: a });
  }
  return out.sort((x, y) => (x.symbol < y.symbol ? -1 : 1));
}

/**
 * Render a delta as fragment text. The symbols of an existing fragment are
 * kept (its comments are not); symbols it already had take the new value.
 */
export function renderFragment(delta: readonly DeltaEntry[], comment: string, prior = ''): string {
  const values = new Map<string, ConfigValue>();
  if (prior.trim()) for (const e of parseFragment('prior', 'prior', prior).entries) values.set(e.symbol, e.value);
  for (const d of delta) values.set(d.symbol, d.after);
  const lines = [`# ${comment}`];
  for (const [s, v] of [...values].sort((a, b) => (a[0] < b[0] ? -1 : 1))) lines.push(v === 'n' ? `# CONFIG_${s} is not set` : `CONFIG_${s}=${v}`);
  return lines.join('\n') + '\n';
}
