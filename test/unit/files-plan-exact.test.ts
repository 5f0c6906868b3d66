// The file changes plan shows and apply runs, exactly: summaries, commands,
// --diff before/after, the refusals; and the write script itself, run for real
// by /bin/sh against a temporary directory (the remote side of a file write).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FileFact, Facts } from '../../provision/facts.js';
import type { FileSpec, Host } from '../../provision/inventory-types.js';
import { planFiles } from '../../provision/ops/files.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-files-exact-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function spec(path: string, s: Partial<FileSpec>): FileSpec {
  const content = s.content ?? (s.type === 'directory' || s.state === 'absent' ? undefined : Buffer.from('hello\n'));
  return { path, type: 'file', state: 'present', mode: 0o644, pointer: '/x', ...s, content, sha256: content ? sha(content.toString()) : undefined };
}

/** planFiles reads only the host's name and files. */
function plan(files: FileSpec[], have: Record<string, FileFact>) {
  const host = { name: 'h1', files } as unknown as Host;
  const r = planFiles(host, { files: have } as unknown as Facts);
  return { errors: r.errors, changes: r.changes.map((c) => ({ ...c, stdin: c.stdin?.toJSON() })) };
}

describe('file plans, exactly', () => {
  it('directories: created with their mode, re-moded, removed with everything in them', () => {
    const r = plan(
      [spec('/a', { type: 'directory', mode: 0o750 }), spec('/b', { type: 'directory', mode: 0o700 }), spec('/c', { type: 'directory', state: 'absent' })],
      { '/b': { type: 'directory', mode: 0o755 }, '/c': { type: 'directory', mode: 0o755 } },
    );
    assert.deepEqual(r, {
      errors: [],
      changes: [
        {
          host: 'h1',
          kind: 'dir-create',
          summary: 'create directory /a (0750)',
          data: { kind: 'dir-create', path: '/a', type: 'directory', mode: '0750' },
          argv: ['mkdir', '-p', '-m', '0750', '--', '/a'],
          diff: { path: '/a', before: null, after: 'directory 0750' },
          batch: true,
          stdin: undefined,
        },
        {
          host: 'h1',
          kind: 'file-mode',
          summary: 'set mode of /b 0755 -> 0700',
          data: { kind: 'file-mode', path: '/b', mode: '0700' },
          argv: ['chmod', '0700', '--', '/b'],
          diff: { path: '/b', before: 'directory 0755', after: 'directory 0700' },
          batch: true,
          stdin: undefined,
        },
        {
          host: 'h1',
          kind: 'file-remove',
          summary: 'remove directory /c',
          data: { kind: 'file-remove', path: '/c', was: 'directory' },
          argv: ['rm', '-rf', '--', '/c'],
          diff: { path: '/c', before: 'directory 0755', after: null },
          batch: true,
          stdin: undefined,
        },
      ],
    });
  });

  it('files: created, rewritten, re-moded, removed (a link too, never followed); an unchanged one is left alone', () => {
    const hello = sha('hello\n');
    const r = plan(
      [
        spec('/new', { mode: 0o600 }),
        spec('/old', {}),
        spec('/mode', { mode: 0o640 }),
        spec('/same', {}),
        spec('/gone', { state: 'absent' }),
        spec('/link', { state: 'absent' }),
        spec('/never', { state: 'absent' }),
      ],
      {
        '/old': { type: 'file', mode: 0o644, sha256: sha('old\n') },
        '/mode': { type: 'file', mode: 0o644, sha256: hello },
        '/same': { type: 'file', mode: 0o644, sha256: hello },
        '/gone': { type: 'file', mode: 0o600 },
        '/link': { type: 'link', mode: 0o777 },
        '/never': { type: 'missing', mode: 0 },
      },
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.changes.map((c) => [c.kind, c.summary, c.diff, c.stdin]),
      [
        [
          'file-write',
          `create /new (6 bytes, sha256:${hello.slice(0, 12)}, 0600)`,
          { path: '/new', before: null, after: `file 0600 sha256:${hello.slice(0, 12)}` },
          { sha256: hello, size: 6 },
        ],
        [
          'file-write',
          `rewrite /old (6 bytes, sha256:${hello.slice(0, 12)}, 0644)`,
          { path: '/old', before: `file 0644 sha256:${sha('old\n').slice(0, 12)}`, after: `file 0644 sha256:${hello.slice(0, 12)}` },
          { sha256: hello, size: 6 },
        ],
        [
          'file-mode',
          'set mode of /mode 0644 -> 0640',
          { path: '/mode', before: `file 0644 sha256:${hello.slice(0, 12)}`, after: `file 0640 sha256:${hello.slice(0, 12)}` },
          undefined,
        ],
        ['file-remove', 'remove file /gone', { path: '/gone', before: 'file 0600 sha256:?', after: null }, undefined],
        ['file-remove', 'remove link /link', { path: '/link', before: 'link 0777', after: null }, undefined],
      ],
    );
    assert.deepEqual(r.changes[0].data, { kind: 'file-write', path: '/new', type: 'file', mode: '0600', sha256: hello, bytes: 6 });
    assert.deepEqual(
      r.changes.slice(2).map((c) => c.argv),
      [
        ['chmod', '0640', '--', '/mode'],
        ['rm', '-f', '--', '/gone'],
        ['rm', '-f', '--', '/link'],
      ],
    );
    assert.ok(r.changes.every((c) => c.batch === true));
  });

  it('refuses what it will not touch, saying why', () => {
    const r = plan([spec('/d', { state: 'absent' }), spec('/l', { type: 'directory' }), spec('/f', {}), spec('/s', {})], {
      '/d': { type: 'directory', mode: 0o755 },
      '/l': { type: 'link', mode: 0o777 },
      '/f': { type: 'directory', mode: 0o755 },
      '/s': { type: 'other', mode: 0o644 },
    });
    assert.deepEqual(r, {
      changes: [],
      errors: [
        '/d is a directory: give type: directory to remove it with everything in it',
        '/l exists as a link, not a directory (remove it first, e.g. an entry with state: absent)',
        '/f exists as a directory, not a regular file (vrio does not write through links, over directories or into special files)',
        '/s exists as a FIFO, device or socket, not a regular file (vrio does not write through links, over directories or into special files)',
      ],
    });
  });

  it('a host without file facts gets every file created', () => {
    const host = { name: 'h1', files: [spec('/x', {})] } as unknown as Host;
    assert.deepEqual(
      planFiles(host, {} as Facts).changes.map((c) => c.kind),
      ['file-write'],
    );
  });

  it('the write script, run by /bin/sh: makes the parent, writes stdin with the mode, replaces atomically, leaves no temporary file', () => {
    const dir = join(tmp, 'w');
    mkdirSync(dir);
    const target = join(dir, 'sub', 'dir', 'f.conf');
    const run = (content: string, mode: number) => {
      const host = { name: 'h1', files: [spec(target, { content: Buffer.from(content), mode })] } as unknown as Host;
      const [c] = planFiles(host, {} as Facts).changes;
      const [cmd, ...args] = c.argv;
      return spawnSync(cmd, args, { input: c.stdin!.bytes(), encoding: 'utf8' });
    };
    const first = run('one\n', 0o600);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(readFileSync(target, 'utf8'), 'one\n');
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o755);
    const second = run('two\n', 0o644);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(readFileSync(target, 'utf8'), 'two\n');
    assert.equal(statSync(target).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(join(dir, 'sub', 'dir')), ['f.conf'], 'no temporary file is left');
    // A parent that is a file: the script fails, and nothing is written.
    writeFileSync(join(dir, 'plain'), 'x');
    const host = { name: 'h1', files: [spec(join(dir, 'plain', 'f'), {})] } as unknown as Host;
    const [c] = planFiles(host, {} as Facts).changes;
    const bad = spawnSync(c.argv[0], c.argv.slice(1), { input: c.stdin!.bytes(), encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(existsSync(join(dir, 'plain', 'f')), false);
    assert.deepEqual(readdirSync(dir).sort(), ['plain', 'sub']);
  });
});
