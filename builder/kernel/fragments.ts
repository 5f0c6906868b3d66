// Kconfig fragments: parsing, merging (later fragments win), and verifying the
// final .config against every symbol a fragment sets. A symbol that did not
// stick is reported with the wanted and the actual value and the dependency
// that is not met (read from the tree's Kconfig files).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError, VrioError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';

/** A symbol's value as written in a .config: "y", "m", "n" (not set), a number or a quoted string. */
export type ConfigValue = string;

export interface FragmentEntry {
  symbol: string;
  value: ConfigValue;
  file: string;
  line: number;
}

export interface Fragment {
  name: string;
  file: string;
  entries: FragmentEntry[];
}

const setRe = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const unsetRe = /^# CONFIG_([A-Za-z0-9_]+) is not set\s*$/;

/** Parse .config / fragment text into symbol -> value ("n" for "is not set"). */
export function parseConfig(text: string): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    const s = setRe.exec(l);
    if (s) out.set(s[1], s[2]);
    const u = unsetRe.exec(l);
    if (u) out.set(u[1], 'n');
  }
  return out;
}

export function parseFragment(name: string, file: string, text: string): Fragment {
  const entries: FragmentEntry[] = [];
  const issues: ConstructorParameters<typeof InputError>[0] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l) return;
    const s = setRe.exec(l);
    const u = unsetRe.exec(l);
    if (s) {
      const v = s[2];
      if (!/^(y|m|n|-?\d+|0x[0-9a-fA-F]+|"([^"\\]|\\.)*")$/.test(v)) {
        issues.push({
          file,
          pointer: '',
          line: i + 1,
          column: 1,
          rule: 'kconfig-value',
          message: `CONFIG_${s[1]}: '${v}' is not y, m, n, a number or a "quoted string"`,
        });
        return;
      }
      entries.push({ symbol: s[1], value: v, file, line: i + 1 });
    } else if (u) entries.push({ symbol: u[1], value: 'n', file, line: i + 1 });
    else if (!l.startsWith('#')) {
      issues.push({
        file,
        pointer: '',
        line: i + 1,
        column: 1,
        rule: 'kconfig-line',
        message: `not a Kconfig line: '${l.slice(0, 60)}'`,
        hint: 'use CONFIG_FOO=y, CONFIG_FOO=m, CONFIG_FOO="text" or # CONFIG_FOO is not set',
      });
    }
  });
  if (issues.length) throw new InputError(issues);
  return { name, file, entries };
}

function isBuiltInName(ref: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(ref);
}

/**
 * Where a fragment named in the manifest lives: a bare name is
 * kernel-config/fragments/<name>.config; anything with a slash or an extension
 * is a path relative to the manifest.
 */
export function fragmentPath(ref: string, manifestDir: string, fragmentsDir = dataPath('kernel-config/fragments')): string {
  if (isBuiltInName(ref)) return join(fragmentsDir, `${ref}.config`);
  return isAbsolute(ref) ? ref : resolve(manifestDir, ref);
}

export function loadFragments(refs: readonly string[], manifestDir: string, fragmentsDir?: string): Fragment[] {
  return refs.map((ref) => {
    const file = fragmentPath(ref, manifestDir, fragmentsDir);
    if (!existsSync(file)) {
      const dir = fragmentsDir ?? dataPath('kernel-config/fragments');
      const known = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.config'))
            .map((f) => f.replace(/\.config$/, ''))
        : [];
      // A name with a dot or slash was read as a file beside the manifest, so
      // listing built-in names alone would mislead (e.g. 'vrio-6.1' looks like
      // a built-in name but is a path): say which reading was taken.
      const builtIn = isBuiltInName(ref);
      throw new InputError([
        {
          file: file,
          pointer: '',
          rule: 'fragment-exists',
          message: builtIn
            ? `config fragment '${ref}' not found`
            : `config fragment file '${ref}' not found (a name with a dot or slash is a path relative to the manifest)`,
          hint: builtIn
            ? `built-in fragments: ${known.join(', ')}`
            : `write the file ${file}, or name a built-in fragment (letters, digits, '_' and '-' only): ${known.join(', ')}`,
        },
      ]);
    }
    return parseFragment(ref, file, readFileSync(file, 'utf8'));
  });
}

/** Merge fragments in order; a later fragment's value for a symbol wins. */
export function mergeFragments(fragments: readonly Fragment[]): Map<string, FragmentEntry> {
  const out = new Map<string, FragmentEntry>();
  for (const f of fragments) for (const e of f.entries) out.set(e.symbol, e);
  return out;
}

/** Apply merged values onto a .config text: replaces existing lines, appends new ones. */
export function applyToConfig(configText: string, wanted: Map<string, FragmentEntry>): string {
  const lines = configText.split('\n');
  const done = new Set<string>();
  const render = (e: FragmentEntry) => (e.value === 'n' ? `# CONFIG_${e.symbol} is not set` : `CONFIG_${e.symbol}=${e.value}`);
  const out = lines.map((l) => {
    const m = setRe.exec(l.trim()) ?? unsetRe.exec(l.trim());
    if (m && wanted.has(m[1])) {
      done.add(m[1]);
      return render(wanted.get(m[1])!);
    }
    return l;
  });
  while (out.length && out[out.length - 1] === '') out.pop();
  for (const [sym, e] of wanted) if (!done.has(sym)) out.push(render(e));
  return out.join('\n') + '\n';
}

export interface Mismatch {
  entry: FragmentEntry;
  actual: ConfigValue;
  reason: string;
}

/** The entries whose wanted value is not what the final config has. */
export function verifyConfig(finalText: string, wanted: Map<string, FragmentEntry>): Omit<Mismatch, 'reason'>[] {
  const final = parseConfig(finalText);
  const out: Omit<Mismatch, 'reason'>[] = [];
  for (const e of wanted.values()) {
    const actual = final.get(e.symbol) ?? 'n';
    if (actual !== e.value) out.push({ entry: e, actual });
  }
  return out;
}

// ---- why a symbol did not stick -------------------------------------------

export interface KconfigSymbol {
  file: string;
  dependsOn: string[];
  hasPrompt: boolean;
  selectedBy: string[];
}

function kconfigFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'Documentation') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('Kconfig')) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** A light Kconfig reader: per symbol, its `depends on` lines, whether it has a prompt, who selects it. */
export function readKconfig(tree: string, symbols: ReadonlySet<string>): Map<string, KconfigSymbol> {
  const out = new Map<string, KconfigSymbol>();
  const get = (s: string, file: string) => {
    let k = out.get(s);
    if (!k) out.set(s, (k = { file, dependsOn: [], hasPrompt: false, selectedBy: [] }));
    return k;
  };
  for (const file of kconfigFiles(tree)) {
    const text = readFileSync(file, 'utf8');
    let cur: string | undefined;
    // Enclosing `if EXPR ... endif` blocks of this file: their EXPR is a dependency too.
    const ifs: string[] = [];
    for (const raw of text.split('\n')) {
      const rel = file.slice(tree.length + 1);
      const cfg = /^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/.exec(raw);
      if (cfg) {
        cur = cfg[1];
        if (symbols.has(cur)) get(cur, rel).dependsOn.push(...ifs);
        continue;
      }
      const ifm = /^\s*if\s+(.+?)\s*$/.exec(raw);
      if (ifm) ifs.push(ifm[1]);
      if (/^\s*endif\b/.test(raw)) ifs.pop();
      if (/^\s*(choice|endchoice|menu|endmenu|if|endif|source|comment|mainmenu)\b/.test(raw)) cur = undefined;
      if (!cur) continue;
      const watched = symbols.has(cur);
      const dep = /^\s*depends on\s+(.+?)\s*$/.exec(raw);
      if (dep && watched) get(cur, rel).dependsOn.push(dep[1]);
      if (watched && /^\s*(bool|tristate|string|int|hex|prompt)\s+"/.test(raw)) get(cur, rel).hasPrompt = true;
      if (watched) get(cur, rel);
      const sel = /^\s*select\s+([A-Za-z0-9_]+)/.exec(raw);
      if (sel && symbols.has(sel[1])) get(sel[1], rel).selectedBy.push(cur);
    }
  }
  return out;
}

/** Explain a mismatch: which dependency symbols are off in the final config. */
export function explain(mm: Omit<Mismatch, 'reason'>, final: Map<string, ConfigValue>, k: KconfigSymbol | undefined): string {
  if (!k) return 'no such symbol in this kernel tree (misspelt, or it does not exist in this version)';
  const unmet: string[] = [];
  for (const d of k.dependsOn) {
    const syms = d.match(/[A-Z][A-Z0-9_]+/g) ?? [];
    const off = syms.filter((s) => (final.get(s) ?? 'n') === 'n' && !d.includes(`!${s}`));
    const low = syms.filter((s) => final.get(s) === 'm');
    if (off.length) unmet.push(`depends on ${d} (${off.map((s) => `${s}=n`).join(', ')})`);
    else if (mm.entry.value === 'y' && mm.actual === 'm' && low.length) unmet.push(`depends on ${d} (${low.map((s) => `${s}=m`).join(', ')}, so at most m)`);
  }
  if (unmet.length) return `unmet dependency: ${unmet.join('; ')}`;
  if (!k.hasPrompt && mm.entry.value !== 'n') {
    return `has no prompt: it can only be turned on by a symbol that selects it${k.selectedBy.length ? ` (${[...new Set(k.selectedBy)].slice(0, 6).join(', ')})` : ''}`;
  }
  if (k.dependsOn.length) return `depends on ${k.dependsOn.join(' && ')}; a select or a choice may override it (see ${k.file})`;
  if (mm.entry.value === 'n' && k.selectedBy.length) return `selected by ${[...new Set(k.selectedBy)].slice(0, 6).join(', ')}`;
  return `see ${k.file} (enclosing 'if'/'menu' dependencies or a choice)`;
}

export class ConfigVerifyError extends VrioError {
  constructor(readonly mismatches: Mismatch[]) {
    super(
      `the kernel config does not have ${mismatches.length === 1 ? 'a value' : `${mismatches.length} values`} a fragment asks for:\n` +
        mismatches
          .map((m) => `  CONFIG_${m.entry.symbol}: wanted ${m.entry.value}, got ${m.actual} (${m.entry.file}:${m.entry.line})\n    ${m.reason}`)
          .join('\n'),
      { hint: 'enable the missing dependency in a fragment, or drop the symbol from the fragment' },
    );
    this.name = 'ConfigVerifyError';
  }
}

export function explainAll(tree: string, finalText: string, mism: Omit<Mismatch, 'reason'>[]): Mismatch[] {
  const final = parseConfig(finalText);
  const syms = new Set(mism.map((m) => m.entry.symbol));
  const k = readKconfig(tree, syms);
  return mism.map((m) => ({ ...m, reason: explain(m, final, k.get(m.entry.symbol)) }));
}

export function manifestDirOf(file: string | undefined, cwd = process.cwd()): string {
  return file ? dirname(file) : cwd;
}
