// lib/document.ts, what a user reads when a document fails its schema and its
// semantic checks at once: the complete list of problems, each exactly (file,
// JSON pointer, line:column, rule, message, hint), in one run. The semantic
// checks run on the well-formed parts only: a refused value is left out (never
// compared, never called missing), a malformed entry is left out when a check
// trips over it, and nothing is concluded about a left-out entry. Values after
// ${NAME} substitution are held to the schema at their own pointers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InputIssue } from '../../lib/errors.js';
import {
  didYouMean,
  parseDocumentFile,
  parseDocumentText,
  shownValue,
  revalidateSubstituted,
  validateDocument,
  type ParsedDocument,
  type SemanticCheck,
} from '../../lib/document.js';

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { const: 1 },
    owner: { type: 'string', minLength: 2, not: { enum: ['root', 'r'] }, 'x-hint': 'a person, not root' },
    mode: { enum: ['fast', 'safe'], 'x-hint': 'fast or safe' },
    id: { type: ['integer', 'string'] },
    pick: { oneOf: [{ type: 'integer' }, { type: 'number', minimum: 0 }] },
    size: { oneOf: [{ type: 'integer', minimum: 1 }, { const: 'auto' }] },
    label: {
      anyOf: [
        { type: 'string', minLength: 2 },
        { type: 'string', pattern: '^x' },
        { type: 'integer', minimum: 10 },
      ],
    },
    hosts: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9]+$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['net'],
        properties: { net: { type: 'string' }, peer: { type: 'string' }, port: { type: 'integer' } },
      },
    },
  },
  // In fast mode, an owner is required.
  if: { required: ['mode'], properties: { mode: { const: 'fast' } } },
  then: { properties: { owner: { type: 'string', pattern: '^[a-z]+$' } }, required: ['owner'] },
};

type Host = { net?: string; peer?: string };
type Doc = { owner?: string; hosts?: Record<string, Host> };

/**
 * The checks beside the schema: every host's net is the first host's net; a peer names a host; a host has a net
 * (the schema requires it: a check run on a left-out value would call it missing); the document has hosts;
 * the owner is not 'nobody'.
 */
const audit: SemanticCheck<Doc> = (d, file) => {
  const out: Omit<InputIssue, 'line' | 'column'>[] = [];
  const hosts = Object.entries(d.hosts ?? {});
  const first = hosts.find(([, h]) => h.net !== undefined)?.[1].net;
  for (const [n, h] of hosts) {
    if (h.net === undefined) out.push({ file, pointer: `/hosts/${n}/net`, rule: 'has-net', message: 'no net' });
    else if (h.net !== first) out.push({ file, pointer: `/hosts/${n}/net`, rule: 'same-net', message: `net ${String(h.net)} is not ${String(first)}` });
    if (h.peer !== undefined && !(h.peer in d.hosts!)) out.push({ file, pointer: `/hosts/${n}/peer`, rule: 'peer', message: `peer '${h.peer}' is not a host` });
    if (h.peer === n) out.push({ file, pointer: `/hosts/${n}/peer`, rule: 'peer', message: `peer '${n}' is the host itself` });
  }
  if (!hosts.length) out.push({ file, pointer: '', rule: 'has-hosts', message: 'no hosts' });
  if (d.owner === 'nobody') out.push({ file, pointer: '/owner', rule: 'owner', message: 'owner nobody owns nothing' });
  return out;
};

/** The same checks, written as if the schema held: a host without a net (or not a map) throws. */
const fragile: SemanticCheck<Doc> = (d, file) => {
  for (const h of Object.values(d.hosts ?? {})) if (h.net!.length === 0) throw new Error('unreachable');
  return audit(d, file);
};

/** Always throws on a document with a left-out version: nothing to report but the schema's errors. */
const hopeless: SemanticCheck<{ version?: number }> = (d) => {
  if (d.version === undefined) throw new TypeError('no version');
  return [];
};

/** Every issue of a document, as JSON (an undefined line or hint is no key), [] when it is accepted. */
function issues(text: string, semantic?: SemanticCheck<any>, file = 'x.yaml'): InputIssue[] {
  return issuesOf(() => validateDocument(parseDocumentText(file, text), schema, semantic));
}
function issuesOf(f: () => unknown): InputIssue[] {
  try {
    f();
    return [];
  } catch (e) {
    if (e instanceof Error && 'issues' in e) return JSON.parse(JSON.stringify((e as { issues: InputIssue[] }).issues));
    throw e;
  }
}
const at = (pointer: string, line: number, column: number, rule: string, message: string, hint?: string): InputIssue => ({
  file: 'x.yaml',
  pointer,
  line,
  column,
  rule,
  message,
  ...(hint === undefined ? {} : { hint }),
});

describe('semantic checks beside schema errors: every problem in one run, nothing concluded from a refused value', () => {
  it('a valid document: the semantic problems alone, located; none: the data is returned', () => {
    assert.deepEqual(issues('version: 1\nowner: nobody\nhosts:\n  a: {net: n1, peer: zz}\n  b: {net: n2}\n', audit), [
      at('/hosts/a/peer', 4, 22, 'peer', "peer 'zz' is not a host"),
      at('/hosts/b/net', 5, 12, 'same-net', 'net n2 is not n1'),
      at('/owner', 2, 8, 'owner', 'owner nobody owns nothing'),
    ]);
    const doc = parseDocumentText('x.yaml', 'version: 1\nhosts:\n  a: {net: n1, peer: b}\n  b: {net: n1}\n');
    assert.equal(validateDocument(doc, schema, audit), doc.data);
    assert.equal(validateDocument(doc, schema), doc.data);
  });

  it('a missing key: the rest of its entry is still checked, and the key is not also called missing', () => {
    assert.deepEqual(issues('version: 1\nhosts:\n  a: {peer: zz}\n  b: {net: n1, peer: a}\n', audit), [
      at('/hosts/a', 3, 6, 'required', "missing required key 'net'"),
      at('/hosts/a/peer', 3, 13, 'peer', "peer 'zz' is not a host"),
    ]);
  });

  it('an unknown key: the rest of its entry is still checked', () => {
    assert.deepEqual(issues('version: 1\nhosts:\n  a: {net: n1, peer: zz, colour: red}\n', audit), [
      at('/hosts/a/colour', 3, 26, 'additionalProperties', "unknown key 'colour'", 'allowed keys: net, peer, port'),
      at('/hosts/a/peer', 3, 22, 'peer', "peer 'zz' is not a host"),
    ]);
  });

  it('a refused value is left out: never compared with the others, never called missing', () => {
    // a's net 5 is not the net the others are held to; b's net is, c's is not.
    assert.deepEqual(issues('version: 1\nhosts:\n  a: {net: 5}\n  b: {net: n1}\n  c: {net: n2, port: x}\n', audit), [
      at('/hosts/a/net', 3, 12, 'type', 'must be string'),
      at('/hosts/c/port', 5, 22, 'type', 'must be integer'),
      at('/hosts/c/net', 5, 12, 'same-net', 'net n2 is not n1'),
    ]);
  });

  it('a badly named entry is left out, and nothing is said about it (a peer naming it is not dangling)', () => {
    assert.deepEqual(issues('version: 1\nhosts:\n  a: {net: n1, peer: Bad}\n  Bad: {net: n2, peer: zz}\n  b: {net: n1, peer: zz}\n', audit), [
      at('/hosts/Bad', 4, 3, 'pattern', `key 'Bad' must match pattern "^[a-z0-9]+$"`),
      at('/hosts/b/peer', 5, 22, 'peer', "peer 'zz' is not a host"),
    ]);
  });

  it('an entry with a refused value is not left out: what is said about it by name stays', () => {
    assert.deepEqual(issues('version: 1\nhosts:\n  b: {net: n1, peer: b, port: x}\n', audit), [
      at('/hosts/b/port', 3, 31, 'type', 'must be integer'),
      at('/hosts/b/peer', 3, 22, 'peer', "peer 'b' is the host itself"),
    ]);
  });

  it('an entry of the wrong type is left out; a neighbour whose name starts alike is still checked', () => {
    assert.deepEqual(issues('version: 1\nhosts:\n  a: [1]\n  ab: {net: n1, peer: zz}\n  b: {net: n1, peer: a}\n', audit), [
      at('/hosts/a', 3, 6, 'type', 'must be object'),
      at('/hosts/ab/peer', 4, 23, 'peer', "peer 'zz' is not a host"),
    ]);
  });

  it('a section that is null is left out as if not written; one of the wrong shape hides the semantic problems', () => {
    assert.deepEqual(issues('version: 1\nowner: nobody\nhosts: null\n', audit), [
      at('/hosts', 3, 8, 'type', 'must be object'),
      at('', 1, 1, 'has-hosts', 'no hosts'),
      at('/owner', 2, 8, 'owner', 'owner nobody owns nothing'),
    ]);
    assert.deepEqual(issues('version: 1\nowner: nobody\nhosts: [1]\n', audit), [at('/hosts', 3, 8, 'type', 'must be object')]);
    // A top-level scalar refused: the others are still checked.
    assert.deepEqual(issues('version: 2\nowner: nobody\n', audit), [
      at('/version', 1, 10, 'const', 'must be equal to constant'),
      at('', 1, 1, 'has-hosts', 'no hosts'),
      at('/owner', 2, 8, 'owner', 'owner nobody owns nothing'),
    ]);
  });

  it('a check that trips over a malformed entry runs again without it; then nothing is said about the whole document or the entry', () => {
    assert.deepEqual(issues('version: 1\nowner: nobody\nhosts:\n  a: {peer: b}\n  b: {net: n1, peer: a}\n  c: {net: n2, peer: zz}\n', fragile), [
      at('/hosts/a', 4, 6, 'required', "missing required key 'net'"),
      at('/hosts/c/net', 6, 12, 'same-net', 'net n2 is not n1'),
      at('/hosts/c/peer', 6, 22, 'peer', "peer 'zz' is not a host"),
      at('/owner', 2, 8, 'owner', 'owner nobody owns nothing'),
    ]);
    // Its only host left out: 'no hosts' would be about the gap.
    assert.deepEqual(issues('version: 1\nhosts:\n  a: {peer: zz}\n', fragile), [at('/hosts/a', 3, 6, 'required', "missing required key 'net'")]);
  });

  it('a root-level `if` that fails: what its `then` refuses is left out, the checks still run', () => {
    assert.deepEqual(issues('version: 1\nmode: fast\nhosts:\n  a: {net: n1, peer: zz}\n', audit), [
      at('', 1, 1, 'required', "missing required key 'owner'"),
      at('/hosts/a/peer', 4, 22, 'peer', "peer 'zz' is not a host"),
    ]);
  });

  it('a check that throws on a valid document is a bug: the error is not passed off as no problems', () => {
    const buggy: SemanticCheck<unknown> = () => {
      throw new TypeError('a bug');
    };
    assert.throws(() => validateDocument(parseDocumentText('x.yaml', 'version: 1\n'), schema, buggy), /^TypeError: a bug$/);
  });

  it('a check that trips over the document even without the malformed entries: the schema errors alone', () => {
    assert.deepEqual(issues('version: x\nhosts:\n  a: {net: 1}\n', hopeless), [
      at('/version', 1, 10, 'const', 'must be equal to constant'),
      at('/hosts/a/net', 3, 12, 'type', 'must be string'),
    ]);
  });
});

describe('schema errors: the precise ones, each once, with its hint', () => {
  it('a value refused by `not` is reported beside errors elsewhere (was: dropped whenever the document had another error)', () => {
    assert.deepEqual(issues('version: 2\nowner: root\n'), [
      at('/version', 1, 10, 'const', 'must be equal to constant'),
      at('/owner', 2, 8, 'not', 'must NOT be valid', 'a person, not root'),
    ]);
    assert.deepEqual(issues('version: 1\nowner: root\n'), [at('/owner', 2, 8, 'not', 'must NOT be valid', 'a person, not root')]);
    // Beside another error of the same value: both.
    assert.deepEqual(issues('version: 1\nowner: r\n'), [
      at('/owner', 2, 8, 'not', 'must NOT be valid', 'a person, not root'),
      at('/owner', 2, 8, 'minLength', 'must NOT have fewer than 2 characters', 'a person, not root'),
    ]);
  });

  it('oneOf, anyOf, if: the errors of their branches, not the wrapper; the same message at the same place once', () => {
    assert.deepEqual(issues('version: 1\nsize: 0\n'), [at('/size', 2, 7, 'minimum', 'must be >= 1'), at('/size', 2, 7, 'const', 'must be equal to constant')]);
    // Two branches say 'must be string': said once; the third's own complaint beside it.
    assert.deepEqual(issues('version: 1\nlabel: 5\n'), [at('/label', 2, 8, 'type', 'must be string'), at('/label', 2, 8, 'minimum', 'must be >= 10')]);
    assert.deepEqual(issues('version: 1\nmode: fast\n'), [at('', 1, 1, 'required', "missing required key 'owner'")]);
    assert.deepEqual(issues('version: 1\nmode: fast\nowner: Me\n'), [at('/owner', 3, 8, 'pattern', '"Me" must match pattern "^[a-z]+$"')]);
    assert.deepEqual(issues('version: 1\nmode: safe\nsize: auto\nlabel: xy\n'), []);
    // A oneOf that two branches pass has no branch errors: its own is the problem.
    assert.deepEqual(issues('version: 1\npick: 5\n'), [at('/pick', 2, 7, 'oneOf', 'must match exactly one schema in oneOf')]);
  });

  it("an enum's hint: the closest allowed value when one is close, else the schema's x-hint", () => {
    assert.deepEqual(issues('version: 1\nowner: me\nmode: fsat\n'), [at('/mode', 3, 7, 'enum', 'must be one of: fast, safe', "did you mean 'fast'?")]);
    assert.deepEqual(issues('version: 1\nmode: zzzzzz\n'), [at('/mode', 2, 7, 'enum', 'must be one of: fast, safe', 'fast or safe')]);
  });

  it('a document without lines (a --set value): every issue names the file and pointer, without line or column', () => {
    const doc: ParsedDocument = {
      file: '--set owner=root',
      data: { version: 1, owner: 'root', hosts: { a: { net: 'n1', peer: 'zz' } } },
      locate: () => undefined,
    };
    const problems = (() => {
      try {
        validateDocument(doc, schema, audit);
        return [];
      } catch (e) {
        return (e as { issues: InputIssue[] }).issues;
      }
    })();
    assert.deepEqual(problems, [
      {
        file: '--set owner=root',
        pointer: '/owner',
        line: undefined,
        column: undefined,
        rule: 'not',
        message: 'must NOT be valid',
        hint: 'a person, not root',
      },
      { file: '--set owner=root', pointer: '/hosts/a/peer', line: undefined, column: undefined, rule: 'peer', message: "peer 'zz' is not a host" },
    ]);
  });
});

describe('the schema itself', () => {
  it('an x-hint that is not a string is refused when the schema is first used', () => {
    assert.throws(() => validateDocument(parseDocumentText('x.yaml', 'a: 1\n'), { type: 'object', 'x-hint': 5 }), /^Error: x-hint value must be \["string"\]$/);
  });

  it('a misspelt keyword is refused when the schema is first used (strict mode); a union type is allowed', () => {
    assert.throws(
      () => validateDocument(parseDocumentText('x.yaml', 'a: 1\n'), { type: 'object', propertees: {} }),
      /^Error: strict mode: unknown keyword: "propertees"$/,
    );
    assert.deepEqual(issues('version: 1\nid: 7\n'), []);
    assert.deepEqual(issues('version: 1\nid: seven\n'), []);
    assert.deepEqual(issues('version: 1\nid: [7]\n'), [at('/id', 2, 5, 'type', 'must be integer,string')]);
  });
});

describe('values after ${NAME} substitution', () => {
  const doc = parseDocumentText('x.yaml', 'version: 1\nowner: "${OWNER}"\nhosts:\n  a: {net: "${NET}", port: 1}\n  b: {net: n1}\n');
  const subs = (...s: [string, string][]) =>
    JSON.parse(
      JSON.stringify(
        revalidateSubstituted(
          doc,
          schema,
          s.map(([pointer, value]) => ({ pointer, value })),
        ),
      ),
    );

  it('each value is held to the schema at its pointer: the message says so, the position is where it was written', () => {
    assert.deepEqual(subs(['/owner', 'root'], ['/hosts/a/net', 'n1']), [
      at('/owner', 2, 8, 'not', 'after ${NAME} substitution: must NOT be valid', 'a person, not root'),
    ]);
    assert.deepEqual(subs(['/owner', 'me'], ['/hosts/a/net', 'n1']), []);
    assert.deepEqual(subs(), []);
  });

  it('one pointer with several values (per-host variables): each value checked, each problem once, in the order found', () => {
    assert.deepEqual(subs(['/owner', 'me'], ['/owner', 'root'], ['/owner', 'root'], ['/hosts/a/port', 'x'], ['/owner', 'you'], ['/hosts/a/port', 'y']), [
      at('/hosts/a/port', 4, 28, 'type', 'after ${NAME} substitution: must be integer'),
      at('/owner', 2, 8, 'not', 'after ${NAME} substitution: must NOT be valid', 'a person, not root'),
    ]);
  });

  it('a pointer that names nothing in the document changes nothing', () => {
    assert.deepEqual(subs(['', 'x'], ['/nohost/net', 'x'], ['/owner/x', 'y'], ['/hosts/a/net', 'n1']), []);
  });
});

describe('parsing: what the data is, and where each part is', () => {
  const refusal = (file: string, text: string) => issuesOf(() => parseDocumentText(file, text));
  const one = (file: string, line: number, column: number, rule: string, message: string): InputIssue[] => [{ file, pointer: '', line, column, rule, message }];

  it('a lone CR is a line break, in JSON (whitespace) as in YAML (was: taken into the value)', () => {
    assert.deepEqual(parseDocumentText('a.json', '["a",\r"b"]').data, ['a', 'b']);
    assert.deepEqual(parseDocumentText('a.yaml', 'a: 1\rb: 2\r').data, { a: 1, b: 2 });
    // Positions count it as a line; CRLF is one line break.
    assert.deepEqual(
      refusal('a.json', '{\r"a": 1,\r}'),
      one('a.json', 3, 1, 'json-syntax', 'JSON syntax error: Expected double-quoted property name in JSON at position 10'),
    );
    assert.deepEqual(
      refusal('a.json', '{\r\n"a": 1,\r\n}'),
      one('a.json', 3, 1, 'json-syntax', 'JSON syntax error: Expected double-quoted property name in JSON at position 12'),
    );
    assert.deepEqual(parseDocumentText('a.yaml', 'a:\r\n  b: [1, 2]\r\n').locate('/a/b/1'), { line: 2, column: 10 });
  });

  it('keys that become the same key in the data are duplicates (1 and "1", ~ and ""); JSON too', () => {
    assert.deepEqual(refusal('k.yaml', '1: a\n"1": b\n'), one('k.yaml', 2, 1, 'duplicate-key', 'Map keys must be unique'));
    assert.deepEqual(refusal('k.yaml', 'x: 0\n~: a\n"": b\n'), one('k.yaml', 3, 1, 'duplicate-key', 'Map keys must be unique'));
    assert.deepEqual(refusal('k.json', '{"a": 1, "a": 2}'), one('k.json', 1, 10, 'duplicate-key', 'Map keys must be unique'));
    assert.deepEqual(parseDocumentText('k.yaml', '1: a\n"2": b\ntrue: c\n').data, { 1: 'a', 2: 'b', true: 'c' });
  });

  it('a JSON syntax error is placed at its own line, not the last', () => {
    assert.deepEqual(
      refusal('a.json', '{\n"a": 1,\n}\n\n\n'),
      one('a.json', 3, 1, 'json-syntax', 'JSON syntax error: Expected double-quoted property name in JSON at position 10'),
    );
  });

  it('anchors as keys: each its own key', () => {
    assert.deepEqual(parseDocumentText('k.yaml', 'x: &p a\ny: &q b\n*p : 1\n*q : 2\n').data, { x: 'a', y: 'b', a: 1, b: 2 });
  });

  it('a file is JSON by its name ending in .json, nothing else', () => {
    assert.deepEqual(parseDocumentText('a.json.yaml', 'a: 1 # yaml\n').data, { a: 1 });
  });

  it('a scalar is no collection: no entry limit; the limits hold for small maxItems', () => {
    assert.equal(parseDocumentText('s.yaml', 'abc', { maxItems: 1 }).data, 'abc');
    assert.deepEqual(parseDocumentText('s.yaml', 'a: xyz', { maxItems: 1 }).data, { a: 'xyz' });
    assert.deepEqual(parseDocumentText('s.yaml', '[[1]]', { maxItems: 1 }).data, [[1]]);
    assert.deepEqual(
      issuesOf(() => parseDocumentText('s.yaml', '[[1, 2]]', { maxItems: 1 })),
      [{ file: 's.yaml', pointer: '/0', line: 1, column: 2, rule: 'max-items', message: 'a list of 2 entries; at most 1' }],
    );
    // Up to twice the limit and two more, the list is built and named by its pointer; beyond, refused while it is built.
    assert.deepEqual(
      issuesOf(() => parseDocumentText('s.yaml', 'a: [1, 2, 3, 4, 5, 6]', { maxItems: 2 })),
      [{ file: 's.yaml', pointer: '/a', line: 1, column: 4, rule: 'max-items', message: 'a list of 6 entries; at most 2' }],
    );
    assert.deepEqual(
      issuesOf(() => parseDocumentText('s.yaml', 'a: [1, 2, 3, 4, 5, 6, 7]', { maxItems: 2 })),
      [{ file: 's.yaml', pointer: '', line: 1, column: 22, rule: 'max-items', message: 'a list or map of more than 2 entries' }],
    );
  });

  it('locates a key without a value at the key, a null key by the data\'s key "", and below a missing item at the deepest part', () => {
    assert.deepEqual(parseDocumentText('l.yaml', 'x: 0\n? a\n').locate('/a'), { line: 2, column: 3 });
    assert.deepEqual(parseDocumentText('l.yaml', 'x: 0\n~: 1\n').locate('/', true), { line: 2, column: 1 });
    assert.deepEqual(parseDocumentText('l.yaml', 'a:\n  b: [1, 2]\n').locate('/a/b/7/x'), { line: 2, column: 6 });
    assert.deepEqual(parseDocumentText('l.yaml', 'a:\n  b: x\n').locate('/a/b/c/d'), { line: 2, column: 6 });
  });

  it('a path through a file names the read error', () => {
    assert.deepEqual(
      issuesOf(() => parseDocumentFile('/etc/passwd/x.yaml')),
      [{ file: '/etc/passwd/x.yaml', pointer: '', rule: 'readable', message: 'cannot read file (ENOTDIR)' }],
    );
  });
});

describe('did you mean, values quoted', () => {
  it('inserting letters costs as much as any edit (an empty or short word is not close to a long candidate)', () => {
    assert.equal(didYouMean('', ['abc']), undefined);
    assert.equal(didYouMean('x', ['abcx']), undefined);
    assert.equal(didYouMean('x', ['abx']), 'abx');
  });

  it('key material anywhere in a value is not shown; a long value with other characters is', () => {
    const hidden = '(a value that looks like private key material, not shown)';
    assert.equal(shownValue({ key: '-----BEGIN OPENSSH PRIVATE KEY-----' }), hidden);
    assert.equal(shownValue(['A'.repeat(64)]), hidden);
    assert.equal(shownValue('-' + 'a'.repeat(64)), JSON.stringify('-' + 'a'.repeat(64)));
    assert.equal(shownValue('a'.repeat(64) + '.img'), JSON.stringify('a'.repeat(64) + '.img'));
    assert.equal(shownValue(['a', 'b']), '["a","b"]');
  });
});
