// A seeded generator of invalid documents, derived from a valid base document.
// Each case says where the error must be reported (JSON pointer) so a test can
// check that the message is precise, not merely that something failed.
import { pointerOf, pointerSegments } from '../../lib/document.js';

export interface BadCase {
  name: string;
  /** The document text as written to disk. */
  text: string | Buffer;
  ext: 'yaml' | 'json';
  /** The error must name this pointer (or a pointer below/above it, see `match`). */
  pointer: string;
  /** 'exact': the pointer itself; 'prefix': an issue at or below it; 'any': any located issue. */
  match: 'exact' | 'prefix' | 'any';
}

/** Mulberry32: tiny, seeded, reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function setAt(doc: Json, pointer: string, value: Json | undefined): Json {
  const copy = structuredClone(doc);
  const segs = pointerSegments(pointer);
  let cur = copy as Record<string, Json>;
  for (const s of segs.slice(0, -1)) {
    if (cur[s] === undefined || cur[s] === null || typeof cur[s] !== 'object') cur[s] = {};
    cur = cur[s] as Record<string, Json>;
  }
  const last = segs[segs.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}

/** Every leaf pointer of a document with its value. */
export function leaves(doc: Json, path: (string | number)[] = []): [string, Json][] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => leaves(v, [...path, i]));
  if (doc && typeof doc === 'object') return Object.entries(doc).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [[pointerOf(path), doc]];
}

export function objects(doc: Json, path: (string | number)[] = []): string[] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => objects(v, [...path, i]));
  if (doc && typeof doc === 'object') return [pointerOf(path), ...Object.entries(doc).flatMap(([k, v]) => objects(v, [...path, k]))];
  return [];
}

export const shellNasties = ['; rm -rf /', '$(reboot)', '`id`', 'a\nb', 'x && y', '| nc 1 2', "a'b", 'a"b', '\u0000', '${IFS}', '../../etc/passwd', '*'];

export function wrongTypeFor(v: Json, r: () => number): Json {
  const choices: Json[] =
    typeof v === 'string'
      ? [42, true, ['x'], { a: 1 }, null]
      : typeof v === 'number'
        ? ['12', true, [1], { n: 1 }, null]
        : typeof v === 'boolean'
          ? ['true', 1, [true], null]
          : ['x', 1];
  return choices[Math.floor(r() * choices.length)];
}

export function toYaml(doc: Json): string {
  // JSON is valid YAML 1.2 flow style; block style is nicer for line numbers, so
  // emit block YAML for objects and flow for scalars/arrays of scalars.
  const out: string[] = [];
  const emit = (v: Json, indent: string, key?: string) => {
    const pre = key === undefined ? indent : `${indent}${JSON.stringify(key)}:`;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
      if (key !== undefined) out.push(pre);
      for (const [k, x] of Object.entries(v)) emit(x, key === undefined ? indent : indent + '  ', k);
    } else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
      out.push(pre);
      for (const x of v) out.push(`${indent}  - ${JSON.stringify(x)}`);
    } else out.push(`${pre} ${JSON.stringify(v)}`);
  };
  emit(doc, '');
  return out.join('\n') + '\n';
}

/** Structural hazards every loader must survive: bombs, depth, encoding, duplicates. */
export function structuralCases(base: Json, someKey: string): BadCase[] {
  const cases: BadCase[] = [];
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const p = String.fromCharCode(96 + i);
    const c = String.fromCharCode(97 + i);
    bomb.push(`${c}: &${c} [${Array(10).fill(`*${p}`).join(',')}]`);
  }
  cases.push({ name: 'yaml alias bomb (billion laughs)', text: bomb.join('\n') + '\n', ext: 'yaml', pointer: '', match: 'any' });
  let deep: Json = 'x';
  for (let i = 0; i < 200; i++) deep = { d: deep };
  cases.push({ name: 'nesting 200 deep', text: JSON.stringify({ ...(base as object), extra: deep }), ext: 'json', pointer: '', match: 'any' });
  let deepArr = '1';
  for (let i = 0; i < 5000; i++) deepArr = `[${deepArr}]`;
  cases.push({ name: 'array nesting 5000 deep', text: `{"extra": ${deepArr}}`, ext: 'json', pointer: '', match: 'any' });
  const y = toYaml(base);
  cases.push({
    name: 'invalid UTF-8 in a value',
    text: Buffer.concat([Buffer.from(y), Buffer.from('# \xff\xfe'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]),
    ext: 'yaml',
    pointer: '',
    match: 'any',
  });
  cases.push({
    name: 'lone continuation byte',
    text: Buffer.concat([Buffer.from('{"a": "'), Buffer.from([0x80]), Buffer.from('"}')]),
    ext: 'json',
    pointer: '',
    match: 'any',
  });
  const j = JSON.stringify(base);
  cases.push({ name: 'JSON duplicate top-level key', text: j.replace(/^\{/, `{"${someKey}": {},`), ext: 'json', pointer: '', match: 'any' });
  cases.push({ name: 'JSON trailing comma', text: j.replace(/\}$/, ',}'), ext: 'json', pointer: '', match: 'any' });
  cases.push({ name: 'JSON truncated', text: j.slice(0, Math.floor(j.length / 2)), ext: 'json', pointer: '', match: 'any' });
  cases.push({ name: 'JSON comments', text: `// hi\n${j}`, ext: 'json', pointer: '', match: 'any' });
  cases.push({ name: 'YAML tab indentation', text: `${someKey}:\n\tx: 1\n`, ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML unclosed quote', text: `${someKey}: "abc\n`, ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML duplicate key', text: `${someKey}: {}\n${someKey}: {}\n`, ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML top-level scalar', text: 'just a string\n', ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML top-level list', text: '- 1\n- 2\n', ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'empty document', text: '', ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML custom tag', text: `${someKey}: !!python/object:os.system "id"\n`, ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'YAML merge of unknown alias', text: `${someKey}:\n  <<: *nothing\n`, ext: 'yaml', pointer: '', match: 'any' });
  cases.push({ name: 'huge file', text: `${someKey}: "${'x'.repeat(5 * 1024 * 1024)}"\n`, ext: 'yaml', pointer: '', match: 'any' });
  return cases;
}
