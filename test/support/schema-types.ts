// Compares a JSON Schema with the TypeScript type that claims to describe the
// same documents, using the TypeScript compiler on the source: every key, its
// optionality, and its value type (strings, numbers, booleans, literals/enums,
// arrays, maps, unions) must agree. Validation-only keywords (pattern, minimum,
// not...) have no TypeScript counterpart and are ignored. Returns the
// differences as "pointer: what differs" lines; none means no drift.
import ts from 'typescript';

type Shape =
  | { k: 'any' }
  | { k: 'string' }
  | { k: 'number' }
  | { k: 'boolean' }
  | { k: 'null' }
  | { k: 'lit'; v: string | number | boolean }
  | { k: 'array'; items: Shape }
  | { k: 'object'; props: Map<string, { shape: Shape; optional: boolean }>; index?: Shape }
  | { k: 'union'; of: Shape[] };

type Schema = Record<string, unknown> | boolean;

export interface CompareOptions {
  /** Compare optional-vs-required too (false for a type with every default filled in). */
  optionality: boolean;
  /** Pointers (with * for any key, [] for array items) of keys only the type has (derived values). */
  typeOnly?: string[];
  /** Pointers of keys only the schema has (e.g. /$schema, dropped on load). */
  schemaOnly?: string[];
}

// ---- the schema side -------------------------------------------------------

function resolveRef(root: Record<string, unknown>, ref: string): Record<string, unknown> {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root) as Record<string, unknown>;
}

/** A schema with its $ref inlined (the referring schema's own keywords win). */
function deref(root: Record<string, unknown>, s: Schema): Schema {
  if (typeof s === 'boolean' || typeof s.$ref !== 'string') return s;
  const { $ref, ...rest } = s;
  return { ...(deref(root, resolveRef(root, $ref as string)) as object), ...rest };
}

function schemaShape(root: Record<string, unknown>, s0: Schema): Shape {
  const s = deref(root, s0);
  if (s === true || s === false) return { k: 'any' };
  if ('const' in s) return { k: 'lit', v: s.const as string };
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => ({ k: 'lit', v }) as Shape));
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alts) return union(alts.map((a) => schemaShape(root, a)));
  const allOf = s.allOf as Record<string, unknown>[] | undefined;
  if (allOf?.every((b) => b.if && b.then)) {
    // allOf of if/then on one discriminating key: one object shape per branch.
    const { allOf: _, ...base } = s;
    return union(
      allOf.map((b) => {
        const then = deref(root, b.then as Schema) as Record<string, unknown>;
        const narrowed = Object.fromEntries(Object.entries((b.if as { properties: Record<string, unknown> }).properties).map(([k, v]) => [k, v]));
        const props = {
          ...(base.properties as object),
          ...Object.fromEntries(Object.entries((then.properties as object) ?? {}).filter(([, v]) => v !== true)),
          ...narrowed,
        };
        const required = [...new Set([...((base.required as string[]) ?? []), ...((then.required as string[]) ?? [])])];
        return schemaShape(root, { ...base, ...then, type: 'object', properties: props, required });
      }),
    );
  }
  if (allOf) throw new Error('allOf without if/then is not supported');
  const type = s.type;
  if (Array.isArray(type)) return union(type.map((t) => schemaShape(root, { ...s, type: t })));
  switch (type) {
    case 'string':
      return { k: 'string' };
    case 'integer':
    case 'number':
      return { k: 'number' };
    case 'boolean':
      return { k: 'boolean' };
    case 'null':
      return { k: 'null' };
    case 'array':
      return { k: 'array', items: s.items === undefined ? { k: 'any' } : schemaShape(root, s.items as Schema) };
  }
  if (type === 'object' || s.properties || s.additionalProperties !== undefined) {
    const required = new Set((s.required as string[]) ?? []);
    const props = new Map(
      Object.entries((s.properties as Record<string, Schema>) ?? {}).map(([k, v]) => [k, { shape: schemaShape(root, v), optional: !required.has(k) }]),
    );
    const ap = s.additionalProperties;
    const index =
      ap === false ? undefined : ap === undefined || ap === true ? (props.size ? undefined : { k: 'any' as const }) : schemaShape(root, ap as Schema);
    return { k: 'object', props, index };
  }
  return { k: 'any' };
}

function union(of: Shape[]): Shape {
  const flat = of.flatMap((x) => (x.k === 'union' ? x.of : [x]));
  // true | false is boolean, as TypeScript sees it.
  const t = flat.findIndex((x) => x.k === 'lit' && x.v === true);
  const f = flat.findIndex((x) => x.k === 'lit' && x.v === false);
  const merged = t >= 0 && f >= 0 ? [...flat.filter((_, i) => i !== t && i !== f), { k: 'boolean' } as Shape] : flat;
  return merged.length === 1 ? merged[0] : { k: 'union', of: merged };
}

// ---- the TypeScript side ---------------------------------------------------

function typeShape(checker: ts.TypeChecker, t: ts.Type, depth = 0): Shape {
  if (depth > 30) throw new Error('type nesting too deep');
  const f = t.flags;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { k: 'any' };
  if (t.isUnion()) return union(t.types.filter((x) => !(x.flags & ts.TypeFlags.Undefined)).map((x) => typeShape(checker, x, depth + 1)));
  if (f & ts.TypeFlags.StringLiteral) return { k: 'lit', v: (t as ts.StringLiteralType).value };
  if (f & ts.TypeFlags.NumberLiteral) return { k: 'lit', v: (t as ts.NumberLiteralType).value };
  if (f & ts.TypeFlags.BooleanLiteral) return { k: 'lit', v: (t as unknown as { intrinsicName: string }).intrinsicName === 'true' };
  if (f & ts.TypeFlags.String) return { k: 'string' };
  if (f & ts.TypeFlags.Number) return { k: 'number' };
  if (f & ts.TypeFlags.Boolean) return { k: 'boolean' };
  if (f & ts.TypeFlags.Null) return { k: 'null' };
  if (checker.isArrayType(t)) return { k: 'array', items: typeShape(checker, checker.getTypeArguments(t as ts.TypeReference)[0], depth + 1) };
  if (f & ts.TypeFlags.Object || t.isIntersection()) {
    const props = new Map<string, { shape: Shape; optional: boolean }>();
    for (const p of checker.getPropertiesOfType(t)) {
      props.set(p.name, { shape: typeShape(checker, checker.getTypeOfSymbol(p), depth + 1), optional: Boolean(p.flags & ts.SymbolFlags.Optional) });
    }
    const idx = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    return { k: 'object', props, index: idx ? typeShape(checker, idx.type, depth + 1) : undefined };
  }
  throw new Error(`unsupported type: ${checker.typeToString(t)}`);
}

/** The shape of an exported type of a source file (compiled with its imports). */
export function exportedTypeShapes(file: string, names: string[]): Record<string, Shape> {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  if (!sf) throw new Error(`cannot read ${file}`);
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!);
  const out: Record<string, Shape> = {};
  for (const n of names) {
    const sym = exports.find((e) => e.name === n);
    if (!sym) throw new Error(`${file} exports no ${n}`);
    out[n] = typeShape(checker, checker.getDeclaredTypeOfSymbol(sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym));
  }
  return out;
}

// ---- comparing ---------------------------------------------------------------

function describe(s: Shape): string {
  switch (s.k) {
    case 'lit':
      return JSON.stringify(s.v);
    case 'array':
      return `${describe(s.items)}[]`;
    case 'object':
      return `{${[...s.props.keys()].join(', ')}${s.index ? `${s.props.size ? ', ' : ''}[key]: ${describe(s.index)}` : ''}}`;
    case 'union':
      return s.of.map(describe).join(' | ');
    default:
      return s.k;
  }
}

function matches(pattern: string, pointer: string): boolean {
  const p = pattern.split('/');
  const q = pointer.split('/');
  return p.length === q.length && p.every((x, i) => x === '*' || x === q[i]);
}

function compare(s: Shape, t: Shape, at: string, o: CompareOptions, out: string[]): void {
  if (s.k === 'any' && t.k === 'any') return;
  if (s.k === 'union' || t.k === 'union') {
    const ss = s.k === 'union' ? s.of : [s];
    const tt = t.k === 'union' ? t.of : [t];
    const fits = (a: Shape, b: Shape) => {
      const e: string[] = [];
      compare(a, b, at, o, e);
      return e;
    };
    for (const a of ss) {
      const tries = tt.map((b) => fits(a, b));
      if (tries.some((e) => !e.length)) continue;
      const objects = tt.map((b, i) => [b, tries[i]] as const).filter(([b]) => a.k === 'object' && b.k === 'object');
      if (!objects.length) out.push(`${at || '(root)'}: the schema allows ${describe(a)}, the type has no such member`);
      // Of object members, the closest (fewest differences) explains the mismatch best.
      else out.push(...objects.map(([, e]) => e).reduce((x, y) => (y.length < x.length ? y : x)));
    }
    for (const b of tt) if (!ss.some((a) => !fits(a, b).length)) out.push(`${at || '(root)'}: the type allows ${describe(b)}, the schema does not`);
    return;
  }
  if (s.k !== t.k || (s.k === 'lit' && t.k === 'lit' && s.v !== t.v)) {
    out.push(`${at || '(root)'}: the schema says ${describe(s)}, the type ${describe(t)}`);
    return;
  }
  if (s.k === 'array' && t.k === 'array') return compare(s.items, t.items, `${at}/[]`, o, out);
  if (s.k === 'object' && t.k === 'object') {
    for (const [key, sp] of s.props) {
      const p = `${at}/${key}`;
      const tp = t.props.get(key);
      if (!tp) {
        if (!o.schemaOnly?.some((x) => matches(x, p))) out.push(`${p}: in the schema, not in the type`);
        continue;
      }
      if (o.optionality && sp.optional !== tp.optional)
        out.push(`${p}: ${sp.optional ? 'optional' : 'required'} in the schema, ${tp.optional ? 'optional' : 'required'} in the type`);
      compare(sp.shape, tp.shape, p, o, out);
    }
    for (const key of t.props.keys()) {
      const p = `${at}/${key}`;
      if (!s.props.has(key) && !o.typeOnly?.some((x) => matches(x, p))) out.push(`${p}: in the type, not in the schema`);
    }
    if (s.index && t.index) compare(s.index, t.index, `${at}/*`, o, out);
    else if (s.index || t.index)
      out.push(`${at || '(root)'}: ${s.index ? 'the schema allows any key, the type does not' : 'the type allows any key, the schema does not'}`);
  }
}

/** Differences between a schema (its root, or the $defs entry `def`) and a type shape. */
export function schemaTypeDrift(schema: Record<string, unknown>, type: Shape, o: CompareOptions, def?: string): string[] {
  const out: string[] = [];
  compare(schemaShape(schema, def ? { $ref: `#/$defs/${def}` } : schema), type, '', o, out);
  return out;
}
