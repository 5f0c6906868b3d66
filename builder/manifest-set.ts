// `--set KEY=VALUE`: one manifest value from the command line, as a layer of
// its own that is checked against the manifest schema exactly like a file, so
// a bad key or value is reported with `--set ...`, the JSON pointer and the rule.
import { parse } from 'yaml';
import { pointerOf, pointerSegments, validateDocument, type SemanticCheck } from '../lib/document.js';
import { InputError } from '../lib/errors.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function fail(arg: string, pointer: string, rule: string, message: string, hint?: string): never {
  throw new InputError([{ file: `--set ${arg}`, pointer, rule, message, hint }]);
}

/**
 * KEY is a dotted path (`image.compression`) or a JSON pointer (`/roles/guest/cmdline`,
 * for keys that hold a dot). VALUE is read as YAML: `4`, `false`, `null`, `[iso, tar]`, text.
 */
export function parseSet(arg: string): { pointer: string; layer: Record<string, Json> } {
  const eq = arg.indexOf('=');
  if (eq <= 0) fail(arg, '', 'key=value', 'expected KEY=VALUE', 'e.g. --set kernel.jobs=4 or --set /roles/guest/cmdline="console=ttyS0"');
  const key = arg.slice(0, eq).trim();
  const segments = key.startsWith('/') ? pointerSegments(key) : key.split('.');
  if (segments.some((s) => s === '')) fail(arg, '', 'key=value', `'${key}' has an empty path segment`);
  const pointer = pointerOf(segments);
  let value: Json;
  try {
    value = parse(arg.slice(eq + 1), { strict: true }) as Json;
  } catch (e) {
    fail(arg, pointer, 'yaml-syntax', `value is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  // An empty value is an empty string, not null (null is written as `null`).
  if (arg.slice(eq + 1).trim() === '') value = '';
  let layer: Json = value;
  for (const s of [...segments].reverse()) layer = { [s]: layer };
  return { pointer, layer: layer as Record<string, Json> };
}

/** Parse and validate each --set; each is a layer applied in order. */
export function setLayers(
  args: readonly string[],
  schema: object,
  semantic?: SemanticCheck<Record<string, Json>>,
): { arg: string; pointer: string; layer: Record<string, Json> }[] {
  const issues: InputError['issues'] = [];
  const out: { arg: string; pointer: string; layer: Record<string, Json> }[] = [];
  for (const arg of args) {
    try {
      const { pointer, layer } = parseSet(arg);
      validateDocument({ file: `--set ${arg}`, data: layer, locate: () => undefined }, schema, semantic);
      out.push({ arg, pointer, layer });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      issues.push(...e.issues);
    }
  }
  if (issues.length) throw new InputError(issues);
  return out;
}
