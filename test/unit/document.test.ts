// lib/document.ts in-process: what a user reads when a manifest or inventory is
// wrong. Every refusal names the file, the JSON pointer, line:column and the
// rule, exactly; the limits hold at their boundaries; a misspelt key or value
// gets a "did you mean"; a value that looks like a private key is never
// echoed; semantic checks run beside the schema's errors without concluding
// anything from a refused value.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { InputIssue } from '../../lib/errors.js';
import {
  didYouMean,
  MAX_DOCUMENT_BYTES,
  parseDocumentFile,
  parseDocumentText,
  pointerOf,
  pointerSegments,
  revalidateSubstituted,
  shownValue,
  validateDocument,
  type ParseOptions,
  type SemanticCheck,
} from '../../lib/document.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-document-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The issues a document gives (parse, then validate when a schema is given), or [] when it is accepted. */
function issues(file: string, text: string | Buffer, opts: ParseOptions = {}, schema?: object, semantic?: SemanticCheck<any>): InputIssue[] {
  try {
    const doc = parseDocumentText(file, text, opts);
    if (schema) validateDocument(doc, schema, semantic);
    return [];
  } catch (e) {
    // As JSON: a key with an undefined value (no line, no hint) is no key.
    if (e instanceof Error && 'issues' in e) return JSON.parse(JSON.stringify((e as { issues: InputIssue[] }).issues));
    throw e;
  }
}
const issue = (
  file: string,
  pointer: string,
  line: number | undefined,
  column: number | undefined,
  rule: string,
  message: string,
  hint?: string,
): InputIssue => ({
  file,
  pointer,
  ...(line === undefined ? {} : { line, column }),
  rule,
  message,
  ...(hint === undefined ? {} : { hint }),
});

describe('JSON pointers', () => {
  it("escape '~' and '/' in a segment and read back the same segments", () => {
    assert.equal(pointerOf(['a/b', 'c~d', 0, '~1']), '/a~1b/c~0d/0/~01');
    assert.deepEqual(pointerSegments('/a~1b/c~0d/0/~01'), ['a/b', 'c~d', '0', '~1']);
    assert.equal(pointerOf([]), '');
    assert.deepEqual(pointerSegments(''), []);
    assert.deepEqual(pointerSegments('/'), ['']);
  });
});

describe('parsing: refusals name the file, line, column and rule', () => {
  const nest = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);

  it('a file over 4 MiB is refused before it is parsed; one of exactly 4 MiB is read', () => {
    const big = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20);
    assert.deepEqual(issues('big.yaml', big), [issue('big.yaml', '', undefined, undefined, 'max-size', 'file is larger than 4194304 bytes')]);
    const max = Buffer.alloc(MAX_DOCUMENT_BYTES, 0x20);
    max.write('a: 1', 0);
    assert.deepEqual(parseDocumentText('max.yaml', max).data, { a: 1 });
  });

  it('invalid UTF-8 is refused at the line and column of the first bad byte', () => {
    assert.deepEqual(issues('u.yaml', Buffer.from('a: 1\nb: caf\xff\n', 'latin1')), [issue('u.yaml', '', 2, 7, 'utf-8', 'file is not valid UTF-8')]);
    // A multi-byte sequence cut off at the end of the file.
    assert.deepEqual(issues('u.yaml', Buffer.from([0x61, 0x3a, 0x20, 0xe2, 0x82])), [issue('u.yaml', '', 1, 4, 'utf-8', 'file is not valid UTF-8')]);
    // A bad byte far into a long file: found (and fast), not reported at the start.
    const long = Buffer.concat([Buffer.from('a: ' + 'x'.repeat(5000) + '\nb: '), Buffer.from([0xff]), Buffer.from('\n')]);
    assert.deepEqual(issues('u.yaml', long), [issue('u.yaml', '', 2, 4, 'utf-8', 'file is not valid UTF-8')]);
  });

  it('a .json file is parsed as JSON: a syntax error at its line and column', () => {
    assert.deepEqual(issues('a.json', '{\n  "a": 1,\n}'), [
      issue('a.json', '', 3, 1, 'json-syntax', 'JSON syntax error: Expected double-quoted property name in JSON at position 12'),
    ]);
    assert.deepEqual(issues('A.JSON', ''), [issue('A.JSON', '', 1, 1, 'json-syntax', 'JSON syntax error: Unexpected end of JSON input')]);
    // YAML that is not JSON is fine in a .yaml file.
    assert.deepEqual(parseDocumentText('a.yaml', 'a: 1 # yaml\n').data, { a: 1 });
    assert.deepEqual(parseDocumentText('a.json', '{"a": [1, {"b": null}]}').data, { a: [1, { b: null }] });
  });

  it('YAML errors: syntax, duplicate keys, several documents, alias bombs', () => {
    assert.deepEqual(issues('y.yaml', 'a: [1, 2\nb: 3\n'), [
      issue('y.yaml', '', 2, 1, 'yaml-syntax', 'Flow sequence in block collection must be sufficiently indented and end with a ]'),
    ]);
    assert.deepEqual(issues('y.yaml', 'a: 1\nb:\n  c: 2\n  c: 3\na: 3\n'), [
      issue('y.yaml', '', 5, 1, 'duplicate-key', 'Map keys must be unique'),
      issue('y.yaml', '', 4, 3, 'duplicate-key', 'Map keys must be unique'),
    ]);
    // The same key in two different maps is no duplicate; a list of maps neither.
    assert.deepEqual(parseDocumentText('y.yaml', 'a: {k: 1}\nb: {k: 2}\nc: [{k: 1}, {k: 2}]\n').data, { a: { k: 1 }, b: { k: 2 }, c: [{ k: 1 }, { k: 2 }] });
    assert.deepEqual(issues('y.yaml', 'l:\n  - {k: 1, k: 2}\n'), [issue('y.yaml', '', 2, 12, 'duplicate-key', 'Map keys must be unique')]);
    assert.deepEqual(issues('y.yaml', 'a: 1\n---\nb: 2\n---\nc: 3\n'), [
      issue('y.yaml', '', 2, 1, 'yaml-syntax', 'Source contains multiple documents; please use YAML.parseAllDocuments()'),
    ]);
    const bomb = 'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c]\n';
    assert.deepEqual(issues('y.yaml', bomb), [
      issue('y.yaml', '', undefined, undefined, 'yaml-aliases', 'document rejected: Excessive alias count indicates a resource exhaustion attack'),
    ]);
  });

  it('nesting: 64 levels are read, 65 are refused at the innermost list', () => {
    assert.deepEqual(JSON.stringify(parseDocumentText('n.yaml', nest(64)).data), nest(64));
    assert.deepEqual(issues('n.yaml', nest(65)), [issue('n.yaml', '/0'.repeat(64), 1, 65, 'max-depth', 'nesting deeper than 64 levels')]);
    // Far deeper: refused while the syntax tree is built, at the offset where it happened.
    assert.deepEqual(issues('n.yaml', nest(100)), [issue('n.yaml', '', 1, 67, 'max-depth', 'nesting deeper than 64 levels')]);
    // An empty list or map at depth 64 holds nothing deeper.
    assert.equal(parseDocumentText('n.yaml', '['.repeat(65) + ']'.repeat(65)).data instanceof Array, true);
  });

  it('entries: exactly maxItems are read, one more is refused with the pointer of the list or map', () => {
    assert.deepEqual(parseDocumentText('i.yaml', 'a: [1, 2]\nb: {x: 1, y: 2}\n', { maxItems: 2 }).data, { a: [1, 2], b: { x: 1, y: 2 } });
    assert.deepEqual(issues('i.yaml', 'a: [1, 2]\nb:\n  c: [1, 2, 3]\n', { maxItems: 2 }), [
      issue('i.yaml', '/b/c', 3, 6, 'max-items', 'a list of 3 entries; at most 2'),
    ]);
    assert.deepEqual(issues('i.yaml', 'a: {x: 1, y: 2, z: 3}\n', { maxItems: 2 }), [issue('i.yaml', '/a', 1, 4, 'max-items', 'a map of 3 entries; at most 2')]);
    // Far more: refused while the tree is built.
    assert.deepEqual(issues('i.yaml', `a: [${'1,'.repeat(20)}1]`, { maxItems: 2 }), [
      issue('i.yaml', '', 1, 17, 'max-items', 'a list or map of more than 2 entries'),
    ]);
    // The default limit: 10,000.
    assert.equal((parseDocumentText('i.json', JSON.stringify(Array(10_000).fill(0))).data as unknown[]).length, 10_000);
    assert.equal(issues('i.json', JSON.stringify(Array(10_001).fill(0)))[0]?.message, 'a list of 10001 entries; at most 10000');
  });

  it('locates a pointer: its value, or its key, or the deepest part that exists', () => {
    const d = parseDocumentText('l.yaml', 'a:\n  b: [1, 2]\n  c: x\n"d/e": 5\n');
    assert.deepEqual(d.locate('/a/b/1'), { line: 2, column: 10 });
    assert.deepEqual(d.locate('/a/c'), { line: 3, column: 6 });
    assert.deepEqual(d.locate('/a/c', true), { line: 3, column: 3 });
    assert.deepEqual(d.locate('/d~1e', true), { line: 4, column: 1 });
    assert.deepEqual(d.locate('/a/missing'), { line: 2, column: 3 });
    assert.deepEqual(d.locate('/a/b/7'), { line: 2, column: 6 });
    assert.deepEqual(d.locate('/a/c/deeper'), { line: 3, column: 6 });
    assert.deepEqual(d.locate(''), { line: 1, column: 1 });
    assert.deepEqual(parseDocumentText('e.yaml', '').locate('/x'), { line: 1, column: 1 });
  });
});

describe('reading a document file', () => {
  it('refuses a missing file, a directory, a device and a file over the limit, naming the file', () => {
    const read = (f: string) => {
      try {
        parseDocumentFile(f);
        return [];
      } catch (e) {
        return JSON.parse(JSON.stringify((e as { issues: InputIssue[] }).issues));
      }
    };
    const missing = join(tmp, 'nope.yaml');
    assert.deepEqual(read(missing), [issue(missing, '', undefined, undefined, 'readable', 'file does not exist')]);
    assert.deepEqual(read(tmp), [issue(tmp, '', undefined, undefined, 'regular-file', 'a directory, not a regular file')]);
    assert.deepEqual(read('/dev/null'), [issue('/dev/null', '', undefined, undefined, 'regular-file', 'a character device, not a regular file')]);
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, MAX_DOCUMENT_BYTES + 1);
    assert.deepEqual(read(big), [issue(big, '', undefined, undefined, 'max-size', 'file is larger than 4194304 bytes (4194305)')]);
    const ok = join(tmp, 'ok.yaml');
    writeFileSync(ok, 'a: 1\n');
    assert.deepEqual(parseDocumentFile(ok).data, { a: 1 });
    if (process.getuid?.() !== 0) {
      const locked = join(tmp, 'locked.yaml');
      writeFileSync(locked, 'a: 1\n', { mode: 0 });
      assert.deepEqual(read(locked), [issue(locked, '', undefined, undefined, 'readable', 'cannot read file (EACCES)')]);
    }
    const fifo = join(tmp, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    assert.deepEqual(read(fifo), [issue(fifo, '', undefined, undefined, 'regular-file', 'a FIFO, not a regular file')]);
  });
});

describe('did you mean', () => {
  it('suggests the closest candidate within max(2, a third of the word) edits, ignoring case', () => {
    assert.equal(didYouMean('gropus', ['guests', 'groups']), 'groups');
    assert.equal(didYouMean('GROUPS', ['iohyps', 'groups']), 'groups');
    assert.equal(didYouMean('abcdefghi', ['abcxyzghi']), 'abcxyzghi', '3 edits in 9 letters');
    assert.equal(didYouMean('abcdefghijkl', ['abcdwxyzijkl']), 'abcdwxyzijkl', '4 edits in 12 letters');
    assert.equal(didYouMean('abcdefgh', ['abcxyzgh']), undefined, '3 edits in 8 letters');
    assert.equal(didYouMean('abcdef', ['abcxyz']), undefined, '3 edits in 6 letters');
    assert.equal(didYouMean('ab', ['xy']), 'xy', 'short words: up to 2 edits');
    assert.equal(didYouMean('mode', ['mod', 'model']), 'mod', 'the first of equally close candidates');
    assert.equal(didYouMean('kitten', ['sitting']), undefined, '3 edits in 6 letters');
    assert.equal(didYouMean('kiten', ['kitten', 'sitting']), 'kitten');
    assert.equal(didYouMean('', ['ab']), 'ab');
    assert.equal(didYouMean('a', []), undefined);
  });
});

describe('values quoted in messages', () => {
  it('never private key material, never pages of text', () => {
    const hidden = '(a value that looks like private key material, not shown)';
    assert.equal(shownValue('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn'), hidden);
    assert.equal(shownValue('AAAA'.repeat(16)), hidden, '64 base64 characters');
    assert.equal(shownValue('AAAA/+== '.repeat(8)), hidden);
    assert.equal(shownValue('A'.repeat(63)), JSON.stringify('A'.repeat(63)));
    assert.equal(shownValue('-'.repeat(118)), JSON.stringify('-'.repeat(118)), '120 characters quoted are shown whole');
    assert.equal(shownValue('-'.repeat(119)), `"${'-'.repeat(99)}... (121 characters)`);
    assert.equal(shownValue(5), '5');
    assert.equal(shownValue(undefined), 'undefined');
    assert.equal(shownValue({ a: [1] }), '{"a":[1]}');
  });
});

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { const: 1 },
    mode: { enum: ['fast', 'safe'] },
    ip: { type: 'string', format: 'ipv4' },
    name: { type: 'string', pattern: '^[a-z]+$', 'x-hint': 'lower-case letters only' },
    empty: { type: 'object', additionalProperties: false },
    hosts: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9]+$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['addr'],
        properties: { addr: { type: 'string', pattern: '^(\\$\\{[A-Z]+\\}|[0-9.]+)$' }, peer: { type: 'string' } },
      },
    },
    port: { anyOf: [{ type: 'integer', minimum: 1 }, { const: 'auto' }] },
    list: { type: 'array', items: { type: 'integer' } },
  },
};

/** A check beside the schema: every peer names a host. */
const peers: SemanticCheck<any> = (d, file) =>
  Object.entries((d.hosts ?? {}) as Record<string, { peer?: string }>).flatMap(([n, h]) =>
    h.peer !== undefined && !(h.peer in d.hosts) ? [{ file, pointer: `/hosts/${n}/peer`, rule: 'peer-exists', message: `peer '${h.peer}' is not a host` }] : [],
  );

describe('schema validation: one message per problem, at the value or key', () => {
  const v = (text: string, semantic?: SemanticCheck<any>) => issues('d.yaml', text, {}, schema, semantic);

  it('an unknown key: at the key, with the closest known key or the allowed keys', () => {
    assert.deepEqual(v('version: 1\nmdoe: fast\n'), [issue('d.yaml', '/mdoe', 2, 1, 'additionalProperties', "unknown key 'mdoe'", "did you mean 'mode'?")]);
    assert.deepEqual(v('version: 1\nzzzzzzzz: 1\n'), [
      issue('d.yaml', '/zzzzzzzz', 2, 1, 'additionalProperties', "unknown key 'zzzzzzzz'", 'allowed keys: version, mode, ip, name, empty, hosts, port, list'),
    ]);
    assert.deepEqual(v('version: 1\nempty: {x: 1}\n'), [issue('d.yaml', '/empty/x', 2, 9, 'additionalProperties', "unknown key 'x'")]);
  });

  it('a missing key, a value not in the enum (with a suggestion when close), a bad format or pattern (with the value and the x-hint)', () => {
    assert.deepEqual(v('mode: fats\n'), [
      issue('d.yaml', '', 1, 1, 'required', "missing required key 'version'"),
      issue('d.yaml', '/mode', 1, 7, 'enum', 'must be one of: fast, safe', "did you mean 'fast'?"),
    ]);
    assert.deepEqual(v('version: 1\nmode: zzzzzz\n'), [issue('d.yaml', '/mode', 2, 7, 'enum', 'must be one of: fast, safe')]);
    assert.deepEqual(v('version: 1\nip: 10.0.0.300\nname: Abc\n'), [
      issue('d.yaml', '/ip', 2, 5, 'format', '"10.0.0.300" must match format "ipv4"'),
      issue('d.yaml', '/name', 3, 7, 'pattern', '"Abc" must match pattern "^[a-z]+$"', 'lower-case letters only'),
    ]);
    assert.deepEqual(v('version: 1\nlist: [1, x]\n'), [issue('d.yaml', '/list/1', 2, 11, 'type', 'must be integer')]);
  });

  it('a bad key name: at the key, the message names it', () => {
    assert.deepEqual(v('version: 1\nhosts:\n  Bad_Name: {addr: 10.0.0.1}\n'), [
      issue('d.yaml', '/hosts/Bad_Name', 3, 3, 'pattern', `key 'Bad_Name' must match pattern "^[a-z0-9]+$"`),
    ]);
  });

  it('anyOf: the precise errors of its branches, not the wrapper', () => {
    assert.deepEqual(v('version: 1\nport: 0\n'), [
      issue('d.yaml', '/port', 2, 7, 'minimum', 'must be >= 1'),
      issue('d.yaml', '/port', 2, 7, 'const', 'must be equal to constant'),
    ]);
    assert.deepEqual(v('version: 1\nport: 3\n'), []);
  });

  it('semantic checks run on a valid document and are located', () => {
    assert.deepEqual(v('version: 1\nhosts:\n  a: {addr: 10.0.0.1, peer: b}\n  c: {addr: 10.0.0.3, peer: a}\n', peers), [
      issue('d.yaml', '/hosts/a/peer', 3, 29, 'peer-exists', "peer 'b' is not a host"),
    ]);
  });

  it('semantic checks run beside schema errors, on the well-formed parts only', () => {
    // b's bad address is left out (as if not written): a's peer b still exists, c's peer zz does not.
    assert.deepEqual(v('version: 1\nhosts:\n  a: {addr: 10.0.0.1, peer: b}\n  b: {addr: "1-2"}\n  c: {addr: 10.0.0.3, peer: zz}\n', peers), [
      issue('d.yaml', '/hosts/b/addr', 4, 13, 'pattern', '"1-2" must match pattern "^(\\$\\{[A-Z]+\\}|[0-9.]+)$"'),
      issue('d.yaml', '/hosts/c/peer', 5, 29, 'peer-exists', "peer 'zz' is not a host"),
    ]);
    // An error elsewhere does not hide the semantic one.
    assert.deepEqual(v('version: 2\nhosts:\n  a: {addr: 10.0.0.1, peer: zz}\n', peers), [
      issue('d.yaml', '/version', 1, 10, 'const', 'must be equal to constant'),
      issue('d.yaml', '/hosts/a/peer', 3, 29, 'peer-exists', "peer 'zz' is not a host"),
    ]);
    // A refused peer is not also reported as dangling; nor is a peer naming a host whose entry is malformed.
    assert.deepEqual(v('version: 1\nhosts:\n  a: {addr: 10.0.0.1, peer: 5}\n', peers), [issue('d.yaml', '/hosts/a/peer', 3, 29, 'type', 'must be string')]);
    assert.deepEqual(v('version: 1\nhosts:\n  a: {addr: 10.0.0.1, peer: b}\n  b: {adr: 10.0.0.2}\n', peers), [
      issue('d.yaml', '/hosts/b', 4, 6, 'required', "missing required key 'addr'"),
      issue('d.yaml', '/hosts/b/adr', 4, 7, 'additionalProperties', "unknown key 'adr'", "did you mean 'addr'?"),
    ]);
    // A malformed section: its schema error alone (every reference into it would dangle).
    assert.deepEqual(v('version: 1\nhosts: [1]\n', peers), [issue('d.yaml', '/hosts', 2, 8, 'type', 'must be object')]);
  });

  it('a semantic check that trips over a malformed entry runs again without it', () => {
    const fragile: SemanticCheck<any> = (d, file) =>
      Object.entries(d.hosts as Record<string, { addr: string }>).map(([n, h]) => ({
        file,
        pointer: `/hosts/${n}`,
        rule: 'r',
        message: `addr ${h.addr.length}`,
      }));
    assert.deepEqual(v('version: 1\nhosts:\n  a: {addr: 10.0.0.1}\n  b: {peer: x}\n', fragile), [
      issue('d.yaml', '/hosts/b', 4, 6, 'required', "missing required key 'addr'"),
      issue('d.yaml', '/hosts/a', 3, 6, 'r', 'addr 8'),
    ]);
  });
});

describe('values after ${NAME} substitution', () => {
  it('are held to the schema at their pointer, each pointer once per batch, repeats reported once', () => {
    const doc = parseDocumentText('s.yaml', 'version: 1\nhosts:\n  a: {addr: "${A}"}\n  b: {addr: "${B}"}\n');
    assert.deepEqual(
      JSON.parse(
        JSON.stringify(
          revalidateSubstituted(doc, schema, [
            { pointer: '/hosts/a/addr', value: '10.0.0.1' },
            { pointer: '/hosts/a/addr', value: 'x' },
            { pointer: '/hosts/a/addr', value: 'x' },
            { pointer: '/hosts/b/addr', value: 'y' },
            { pointer: '/hosts/b/addr', value: '10.0.0.2' },
          ]),
        ),
      ),
      [
        issue('s.yaml', '/hosts/b/addr', 4, 13, 'pattern', 'after ${NAME} substitution: "y" must match pattern "^(\\$\\{[A-Z]+\\}|[0-9.]+)$"'),
        issue('s.yaml', '/hosts/a/addr', 3, 13, 'pattern', 'after ${NAME} substitution: "x" must match pattern "^(\\$\\{[A-Z]+\\}|[0-9.]+)$"'),
      ],
    );
    assert.deepEqual(revalidateSubstituted(doc, schema, [{ pointer: '/hosts/a/addr', value: '10.0.0.9' }]), []);
  });
});
