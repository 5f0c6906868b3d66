// Loading user documents (manifests, inventories): YAML or JSON, validated with
// a JSON Schema (draft 2020-12) and optional semantic checks. Every problem is
// reported with file, JSON pointer, line:column and the rule that failed, and
// all problems are collected before anything runs.
import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Composer, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, YAMLParseError, type CST, type Document, type Node as YamlNode } from 'yaml';
import { InputError, type InputIssue } from './errors.js';
import { readRegularFile, ReadRefused } from './regular-file.js';

// ajv and ajv-formats are CommonJS with a `default` export; under NodeNext the
// import may be the module object or the class itself depending on the loader.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

export type Locator = (pointer: string, atKey?: boolean) => { line: number; column: number } | undefined;

export interface ParsedDocument<T = unknown> {
  file: string;
  data: T;
  locate: Locator;
}

/** Limits that keep hostile documents (alias bombs, deep nesting) cheap to reject. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_BYTES = MAX_DOCUMENT_BYTES;
const MAX_DEPTH = 64;
const MAX_ITEMS = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** The key a scalar map key becomes in the data (the library's toJS: null is ''). */
const dataKey = (v: unknown): string => (v === null ? '' : String(v));

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function pointerOf(segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * The first collection that holds more than `maxItems` entries, or whose
 * entries sit deeper than MAX_DEPTH levels (the root is level 0). Iterative,
 * and it counts before it looks inside: a 900,000-element array used to be
 * spread into Math.max's arguments (a stack overflow), and schema validation
 * of one with every error collected took minutes.
 */
function shapeProblem(root: unknown, maxItems: number): { path: string[]; rule: string; message: string } | undefined {
  // Only maps and lists are queued: a path copy for every scalar would cost more than the walk.
  const todo: { v: object; path: string[] }[] = isObject(root) ? [{ v: root, path: [] }] : [];
  while (todo.length) {
    const { v, path } = todo.pop()!;
    const entries = Object.entries(v);
    const n = entries.length;
    if (n > maxItems) return { path, rule: 'max-items', message: `${Array.isArray(v) ? 'a list' : 'a map'} of ${n} entries; at most ${maxItems}` };
    if (n && path.length + 1 > MAX_DEPTH) return { path, rule: 'max-depth', message: `nesting deeper than ${MAX_DEPTH} levels` };
    for (const [k, x] of entries) if (isObject(x)) todo.push({ v: x, path: [...path, k] });
  }
  return undefined;
}

/**
 * The YAML syntax tree of `text`, refused as soon as the parser's stack (one
 * entry per open collection, give or take the document's own) passes the depth
 * limit, or the collection being built gets far more entries than allowed. The
 * library builds values from this tree recursively and slowly: a 2 MB '[[[...'
 * took 30 s and 1.1 GB to end in a stack overflow, a 900,000-element list 13 s
 * and 1 GB. Checked while the tree is built, such a document costs
 * milliseconds; the exact limits are checked on the data (shapeProblem).
 */
function syntaxTree(text: string, lc: LineCounter, maxItems: number, refuse: (offset: number, rule: 'max-depth' | 'max-items') => never): CST.Token[] {
  const parser = new Parser(lc.addNewLine);
  lc.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text, false)) {
    for (const t of parser.next(lexeme)) tokens.push(t);
    if (parser.stack.length > MAX_DEPTH + 2) refuse(parser.offset, 'max-depth');
    const top = parser.stack[parser.stack.length - 1] as { items?: unknown[] } | undefined;
    // Twice the limit: a tree item is not always one entry (shapeProblem counts exactly).
    if (top?.items && top.items.length > 2 * maxItems + 2) refuse(parser.offset, 'max-items');
  }
  for (const t of parser.end()) tokens.push(t);
  return tokens;
}

/**
 * Map keys that repeat, as the library's DUPLICATE_KEY errors. The library's
 * own check (uniqueKeys) compares each key with every earlier one: 10,000
 * hosts under guests: were 50 million comparisons. A set per map is linear.
 */
function duplicateKeys(doc: Document.Parsed): YAMLParseError[] {
  const errors: YAMLParseError[] = [];
  const todo: unknown[] = [doc.contents];
  while (todo.length) {
    const node = todo.pop();
    if (isMap(node)) {
      // By the key the data gets: 1 and "1" are one key there, and the second would silently replace the first.
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k = pair.key;
        if (isScalar(k)) {
          const key = dataKey(k.value);
          if (seen.has(key)) errors.push(new YAMLParseError([k.range![0], k.range![1]], 'DUPLICATE_KEY', 'Map keys must be unique'));
          seen.add(key);
        }
        todo.push(k, pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) todo.push(item);
  }
  return errors;
}

/** parseDocument of the yaml library, from a syntax tree already built. */
function composeDocument(tokens: CST.Token[], length: number): Document.Parsed {
  // Strict (the library's default); duplicate keys are found by duplicateKeys.
  const composer = new Composer({ uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens, true, length)) {
    if (!doc) doc = d;
    else {
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  for (const e of duplicateKeys(doc!)) doc!.errors.push(e);
  return doc!;
}

export interface ParseOptions {
  /** Most entries one list or map may hold (default 10,000: an inventory's most hosts). */
  maxItems?: number;
}

export function parseDocumentText(file: string, bytes: Buffer | string, opts: ParseOptions = {}): ParsedDocument {
  const issue = (message: string, rule: string, line?: number, column?: number): InputError =>
    new InputError([{ file, pointer: '', line, column, rule, message }]);
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  if (buf.length > MAX_BYTES) throw issue(`file is larger than ${MAX_BYTES} bytes`, 'max-size');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    // The first bad byte, to name its line: where the bytes and those of their lossy decoding (U+FFFD for each bad sequence) part.
    const lossy = Buffer.from(buf.toString('utf8'));
    const ok = buf.findIndex((b, i) => b !== lossy[i]);
    const before = buf.subarray(0, ok).toString('utf8');
    const line = before.split('\n').length;
    throw issue('file is not valid UTF-8', 'utf-8', line, before.length - before.lastIndexOf('\n'));
  }
  // A lone CR is a line break (YAML 1.2; whitespace in JSON) that the YAML parser would take into the value: the same offsets, as LF.
  text = text.replace(/\r(?!\n)/g, '\n');
  const maxItems = opts.maxItems ?? MAX_ITEMS;
  const lc = new LineCounter();
  const tokens = syntaxTree(text, lc, maxItems, (offset, rule) => {
    const p = lc.linePos(offset);
    throw issue(rule === 'max-depth' ? `nesting deeper than ${MAX_DEPTH} levels` : `a list or map of more than ${maxItems} entries`, rule, p.line, p.col);
  });
  const isJson = /\.json$/i.test(file);
  if (isJson) {
    try {
      JSON.parse(text);
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message));
      const pos = m ? Number(m[1]) : 0;
      const pre = text.slice(0, pos);
      throw issue(`JSON syntax error: ${(e as Error).message}`, 'json-syntax', pre.split('\n').length, pos - pre.lastIndexOf('\n'));
    }
  }
  const doc = composeDocument(tokens, text.length);
  if (doc.errors.length) {
    const issues: InputIssue[] = doc.errors.map((err) => {
      const p = lc.linePos(err.pos[0]);
      const dup = err.code === 'DUPLICATE_KEY';
      return {
        file,
        pointer: '',
        line: p.line,
        column: p.col,
        rule: dup ? 'duplicate-key' : isJson ? 'json-syntax' : 'yaml-syntax',
        // One line: a Composer's errors are not made "pretty" (that is parseDocument's doing).
        message: err.message,
      };
    });
    throw new InputError(issues);
  }
  let data: unknown;
  try {
    // The library's default limit of 100 alias expansions refuses alias bombs.
    data = doc.toJS();
  } catch (e) {
    throw issue(`document rejected: ${(e as Error).message}`, 'yaml-aliases');
  }

  const locate: Locator = (pointer, atKey = false) => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    let deepest: unknown = doc.contents;
    for (const seg of pointerSegments(pointer)) {
      if (node) deepest = node;
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && dataKey(it.key.value) === seg);
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node)) node = node.items[Number(seg)];
      // (Below a scalar or a missing item: nothing more is found; deepest stays.)
    }
    const target = (atKey && keyNode ? keyNode : (node ?? keyNode)) as YamlNode | undefined;
    const range = target?.range ?? (deepest as YamlNode | undefined)?.range;
    // Nothing to point at (empty document): the start of the file.
    if (!range) return { line: 1, column: 1 };
    const p = lc.linePos(range[0]);
    return { line: p.line, column: p.col };
  };
  const bad = shapeProblem(data, maxItems);
  if (bad) {
    const pointer = pointerOf(bad.path);
    throw new InputError([{ file, pointer, ...locate(pointer), rule: bad.rule, message: bad.message }]);
  }
  return { file, data, locate };
}

/** A document file's bytes: a regular file within the size limit (a FIFO or device is refused, not read forever). */
export function readDocumentFile(file: string): Buffer {
  try {
    return readRegularFile(file, MAX_BYTES);
  } catch (e) {
    // Always a ReadRefused: readRegularFile turns every failure into one.
    const f = (e as ReadRefused).failure;
    const [rule, message] =
      f.kind === 'not-regular'
        ? ['regular-file', `${f.what}, not a regular file`]
        : f.kind === 'too-large'
          ? ['max-size', `file is larger than ${MAX_BYTES} bytes (${f.size})`]
          : ['readable', f.code === 'ENOENT' ? 'file does not exist' : `cannot read file (${f.code})`];
    throw new InputError([{ file, pointer: '', rule, message }]);
  }
}

export function parseDocumentFile(file: string): ParsedDocument {
  return parseDocumentText(file, readDocumentFile(file));
}

// ---- schema validation ----------------------------------------------------

const cache = new Map<object, ValidateFunction>();

/** The validator of a schema, compiled once. */
const compile = (schema: object): ValidateFunction => cache.get(schema) ?? compiled(schema);

function compiled(schema: object): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  addFormats(ajv);
  // Our own annotation: a human hint shown when a value fails its rule.
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
  const v = ajv.compile(schema);
  cache.set(schema, v);
  return v;
}

function editDistance(a: string, b: string): number {
  // Row by row, each cell from the ones before it: a row starts as [i], the first row is 0..b.length.
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

/** "did you mean" for a misspelt name among candidates. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  // (No candidates: bestD is Infinity, best undefined.)
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function issueFromAjv(file: string, e: ErrorObject, locate: Locator): InputIssue {
  let pointer = e.instancePath;
  // ajv writes a message for every error of its own keywords (option `messages`, on by default).
  let message = e.message!;
  let hint: string | undefined;
  let atKey = false;
  // Set for every error: the option `verbose`.
  const ps = e.parentSchema as Record<string, unknown>;
  if (e.propertyName !== undefined) {
    // An error about a key's name (propertyNames): point at the key itself.
    pointer = `${pointer}${pointerOf([e.propertyName])}`;
    atKey = true;
    message = `key '${e.propertyName}' ${message}`;
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${pointer}${pointerOf([key])}`;
      atKey = true;
      const known = Object.keys((ps.properties as object) ?? {});
      message = `unknown key '${key}'`;
      const dym = didYouMean(key, known);
      hint = dym ? `did you mean '${dym}'?` : known.length ? `allowed keys: ${known.join(', ')}` : undefined;
      break;
    }
    case 'required':
      message = `missing required key '${(e.params as { missingProperty: string }).missingProperty}'`;
      break;
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      message = `must be one of: ${allowed.join(', ')}`;
      const dym = didYouMean(String(e.data), allowed);
      if (dym) hint = `did you mean '${dym}'?`;
      break;
    }
    case 'pattern':
    case 'format':
      if (!atKey) message = `${shownValue(e.data)} ${message}`;
      break;
  }
  // The schema's own hint (a string: the keyword is declared so) when there is no closer one.
  hint ??= ps['x-hint'] as string | undefined;
  const pos = locate(pointer, atKey);
  return { file, pointer, line: pos?.line, column: pos?.column, rule: e.keyword, message, hint };
}

/**
 * A value as quoted in an error message. Never key material (a private key
 * pasted where a path belongs would otherwise be printed, and land in CI logs),
 * and never pages of text.
 */
export function shownValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  // Armoured key material anywhere in the value; or one long run of base64 (a key pasted without its armour, alone or as a list's only item).
  if (/PRIVATE KEY/.test(s) || /^[A-Za-z0-9+/=\s]{64,}$/.test(String(v))) return '(a value that looks like private key material, not shown)';
  return s.length > 120 ? `${s.slice(0, 100)}... (${s.length} characters)` : s;
}

/** Whether pointer `p` is `root` or below it. */
const within = (p: string, root: string) => p === root || p.startsWith(root + '/');

// The keywords whose error sums up errors of their subschemas. Not `not`: its error is the problem itself
// (nothing is reported below it), and it used to vanish from the report whenever the document had any other error.
const wrappers = new Set(['anyOf', 'oneOf', 'if', 'propertyNames']);

/**
 * Drop a wrapper error when a more precise error at or below its value
 * explains it; not when the precise errors are about other values (a oneOf
 * that more than one branch passes has none of its own).
 */
function prune(errors: readonly ErrorObject[]): ErrorObject[] {
  const precise = errors.filter((e) => !wrappers.has(e.keyword));
  return errors.filter((e) => !wrappers.has(e.keyword) || !precise.some((p) => within(p.instancePath, e.instancePath)));
}

/** The issues without repeats: the first of those with the same pointer, rule and message. */
function unique(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.pointer}|${i.rule}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type SemanticCheck<T> = (data: T, file: string) => Omit<InputIssue, 'line' | 'column'>[];

/** Validate parsed data; throws InputError with every issue found. */
export function validateDocument<T>(doc: ParsedDocument, schema: object, semantic?: SemanticCheck<T>): T {
  const validate = compile(schema);
  const valid = validate(doc.data);
  // The precise errors: a wrapper (anyOf, if) says no more than the errors below it, and refuses no more either.
  const errors = prune(validate.errors ?? []);
  const issues = unique(errors.map((e) => issueFromAjv(doc.file, e, doc.locate)));
  // On a valid document a check that throws is a bug, and is not caught.
  const semanticIssues = !semantic ? [] : valid ? semantic(doc.data as T, doc.file) : semanticBesideSchema(doc, semantic, errors);
  for (const s of semanticIssues) {
    const pos = doc.locate(s.pointer);
    issues.push({ ...s, line: pos?.line, column: pos?.column });
  }
  if (issues.length) throw new InputError(issues);
  return doc.data as T;
}

/** The map or list in `data` that holds the value at `pointer`, and its key there; none if the pointer names nothing. */
function slot(data: unknown, pointer: string): [holder: Record<string, unknown>, key: string] | undefined {
  const segs = pointerSegments(pointer);
  const holder = segs.slice(0, -1).reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), data);
  return isObject(holder) && segs.length ? [holder, segs[segs.length - 1]] : undefined;
}

/** A copy of `data` without the values at `pointers` (array slots become holes, so later indexes keep their pointers). */
function without(data: unknown, pointers: readonly string[]): unknown {
  const copy = structuredClone(data);
  for (const p of pointers) {
    const at = slot(copy, p);
    if (at) delete at[0][at[1]];
  }
  return copy;
}

/**
 * Semantic checks of a document that failed its schema, so that one run reports
 * every problem. They run on the well-formed parts: the values the schema refused
 * are left out (as if not written), so nothing is concluded from them (no "prefix
 * differs from /undefined"). Semantic checks assume the schema's shapes; if one
 * still trips over a malformed part, they run again without the entries holding
 * schema errors (the first two pointer segments, e.g. /guests/g1). Dropped: issues
 * at or below a refused value, and issues naming a left-out entry ('g1'), which
 * would call it missing, and issues about the whole document once entries are left
 * out ('no hosts' when the only hosts were). Leaving out a malformed top-level section (e.g. `guests:
 * [...]`) would make every reference into it dangling: then the schema errors are
 * reported alone.
 */
function semanticBesideSchema<T>(doc: ParsedDocument, semantic: SemanticCheck<T>, errors: readonly ErrorObject[]): Omit<InputIssue, 'line' | 'column'>[] {
  const refused: string[] = [];
  for (const e of errors) {
    // A missing key is refused where it would be (nothing to leave out), an unknown or badly named key at its name.
    if (e.keyword === 'required') refused.push(`${e.instancePath}${pointerOf([(e.params as { missingProperty: string }).missingProperty])}`);
    else if (e.keyword === 'additionalProperties')
      refused.push(`${e.instancePath}${pointerOf([(e.params as { additionalProperty: string }).additionalProperty])}`);
    else if (e.propertyName !== undefined) refused.push(`${e.instancePath}${pointerOf([e.propertyName])}`);
    else {
      // (A refused document itself leaves nothing to check: every issue is at or below it.)
      const segs = pointerSegments(e.instancePath);
      if (segs.length === 1 && isObject((doc.data as Record<string, unknown>)[segs[0]])) return [];
      refused.push(e.instancePath);
    }
  }
  const named = (ptrs: string[]) =>
    ptrs
      .map((p) => pointerSegments(p))
      .filter((s) => s.length === 2)
      .map((s) => s[1]);
  const run = (leftOut: string[]) => {
    try {
      const issues = semantic(without(doc.data, [...refused, ...leftOut]) as T, doc.file);
      const names = named([...refused, ...leftOut]);
      // With whole entries left out, a verdict on the whole document ('the inventory has no hosts') may be about the gap.
      return issues.filter(
        (i) =>
          ![...refused, ...leftOut].some((r) => within(i.pointer, r)) &&
          !names.some((n) => i.message.includes(`'${n}'`)) &&
          !(leftOut.length && i.pointer === ''),
      );
    } catch {
      // A check that trips over a malformed part: undefined, then run again without the entries.
    }
  };
  const entries = [
    ...new Set(
      // (A refused top-level value is left out already: its pointer adds nothing.)
      refused.map((p) => pointerOf(pointerSegments(p).slice(0, 2))),
    ),
  ];
  return run([]) ?? run(entries) ?? [];
}

/** A value as it became after ${NAME} substitution, and the pointer of the value it came from. */
export interface Substituted {
  pointer: string;
  value: string;
}

/**
 * Hold substituted values to the schema a written-out value must pass: each is
 * put back at its pointer in a copy of the document, which is validated again.
 * A pointer can take several values (a shared setting with per-host variables),
 * so the copies are batches in which each pointer appears once.
 */
export function revalidateSubstituted(doc: ParsedDocument, schema: object, subs: readonly Substituted[]): InputIssue[] {
  const validate = compile(schema);
  const batches: Map<string, string>[] = [];
  for (const { pointer, value } of subs) {
    const b = batches.find((x) => !x.has(pointer) || x.get(pointer) === value) ?? (batches.push(new Map()), batches[batches.length - 1]);
    b.set(pointer, value);
  }
  const issues: InputIssue[] = [];
  for (const batch of batches) {
    const copy = structuredClone(doc.data);
    for (const [pointer, value] of batch) {
      const at = slot(copy, pointer);
      if (at) at[0][at[1]] = value;
    }
    validate(copy);
    for (const e of prune(validate.errors ?? [])) {
      const i = issueFromAjv(doc.file, e, doc.locate);
      issues.push({ ...i, message: `after \${NAME} substitution: ${i.message}` });
    }
  }
  return unique(issues);
}

export function loadValidated<T>(file: string, schema: object, semantic?: SemanticCheck<T>): ParsedDocument<T> {
  const doc = parseDocumentFile(file);
  const data = validateDocument<T>(doc, schema, semantic);
  return { ...doc, data };
}
