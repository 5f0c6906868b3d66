// The files operation from fixture facts (data in, changes out; no SSH): what
// apply writes, rewrites, chmods or removes, what it refuses, idempotence via
// projected facts, the facts lines it reads, and the inventory rules for files:.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseFacts, type FileFact } from '../../provision/facts.js';
import { parseInventory } from '../../provision/inventory.js';
import { planFiles } from '../../provision/ops/files.js';
import { planHost } from '../../provision/ops/plan.js';
import { projectFacts } from '../../provision/ops/projection.js';
import { baseInventory, issuesOf } from './inventory-fixtures.js';
import { freshFacts, lab } from './ops-fixtures.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const tmp = mkdtempSync(join(tmpdir(), 'vrio-ops-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const files = [
  { path: '/etc/vrio', type: 'directory' },
  { path: '/etc/vrio/modules.conf', content: 'vrio_eth\n', mode: '0600' },
  { path: '/etc/old.conf', state: 'absent' },
];
const host = (list: unknown[] = files) => lab((i) => (i.iohyps.io1.files = list)).io;
const factsWith = (f: Record<string, FileFact>) => freshFacts({ files: f });

describe('files operation', () => {
  it('a fresh host: create the directory, write the file with its mode; nothing to remove', () => {
    const p = planFiles(
      host(),
      factsWith({
        '/etc/vrio': { type: 'missing', mode: 0 },
        '/etc/vrio/modules.conf': { type: 'missing', mode: 0 },
        '/etc/old.conf': { type: 'missing', mode: 0 },
      }),
    );
    assert.deepEqual(p.errors, []);
    assert.deepEqual(
      p.changes.map((c) => [c.kind, c.data.path]),
      [
        ['dir-create', '/etc/vrio'],
        ['file-write', '/etc/vrio/modules.conf'],
      ],
    );
    const w = p.changes[1];
    assert.equal(w.data.sha256, sha('vrio_eth\n'));
    assert.equal(w.data.mode, '0600');
    assert.deepEqual(w.argv.slice(-2), ['/etc/vrio/modules.conf', '0600'], 'path and mode only');
    assert.ok(!w.argv.some((a) => a.includes('vrio_eth')), 'the content is in no argument');
    assert.deepEqual(w.stdin?.bytes(), Buffer.from('vrio_eth\n'), 'the content goes on stdin');
    assert.equal(JSON.stringify(w).includes('vrio_eth'), false, 'and serializes as sha256 and size only');
    assert.deepEqual(JSON.parse(JSON.stringify(w.stdin)), { sha256: sha('vrio_eth\n'), size: 9 });
    const bin = planFiles(host([{ path: '/bin/x', content: 'a\u0000b', mode: '0755' }]), factsWith({})).changes[0];
    assert.deepEqual(bin.stdin?.bytes(), Buffer.from('a\0b'), 'bytes travel as they are, NUL included');
    assert.match(w.summary, new RegExp(`create /etc/vrio/modules.conf \\(9 bytes, sha256:${sha('vrio_eth\n').slice(0, 12)}, 0600\\)`));
  });

  it('converged: the projected facts need nothing more', () => {
    const f = factsWith({});
    const again = planFiles(host(), projectFacts(f, planFiles(host(), f).changes));
    assert.deepEqual(again.changes, []);
  });

  it('rewrites only a file whose content differs, and only chmods one whose mode differs', () => {
    const good = { type: 'file', mode: 0o600, sha256: sha('vrio_eth\n') } as FileFact;
    assert.deepEqual(planFiles(host(), factsWith({ '/etc/vrio': { type: 'directory', mode: 0o755 }, '/etc/vrio/modules.conf': good })).changes, []);
    const p1 = planFiles(host(), factsWith({ '/etc/vrio': { type: 'directory', mode: 0o755 }, '/etc/vrio/modules.conf': { ...good, sha256: sha('old') } }));
    assert.deepEqual(
      p1.changes.map((c) => c.kind),
      ['file-write'],
    );
    assert.match(p1.changes[0].summary, /^rewrite /);
    const p2 = planFiles(host(), factsWith({ '/etc/vrio': { type: 'directory', mode: 0o700 }, '/etc/vrio/modules.conf': { ...good, mode: 0o644 } }));
    assert.deepEqual(
      p2.changes.map((c) => [c.kind, c.argv.join(' ')]),
      [
        ['file-mode', 'chmod 0755 -- /etc/vrio'],
        ['file-mode', 'chmod 0600 -- /etc/vrio/modules.conf'],
      ],
    );
    assert.deepEqual(planFiles(host(), factsWith({})).changes[0].argv, ['mkdir', '-p', '-m', '0755', '--', '/etc/vrio']);
    assert.deepEqual(p2.changes[1].diff, {
      path: '/etc/vrio/modules.conf',
      before: `file 0644 sha256:${sha('vrio_eth\n').slice(0, 12)}`,
      after: `file 0600 sha256:${sha('vrio_eth\n').slice(0, 12)}`,
    });
  });

  it('state absent removes a file; a directory only when the entry says type: directory', () => {
    const p = planFiles(host(), factsWith({ '/etc/old.conf': { type: 'file', mode: 0o644, sha256: sha('x') } }));
    assert.deepEqual(
      p.changes.filter((c) => c.kind === 'file-remove').map((c) => c.argv),
      [['rm', '-f', '--', '/etc/old.conf']],
    );
    const d = planFiles(host(), factsWith({ '/etc/old.conf': { type: 'directory', mode: 0o755 } }));
    assert.match(d.errors.join('\n'), /\/etc\/old.conf is a directory: give type: directory/);
    const rd = planFiles(
      host([{ path: '/srv/scratch', type: 'directory', state: 'absent' }]),
      factsWith({ '/srv/scratch': { type: 'directory', mode: 0o755 } }),
    );
    assert.deepEqual(
      rd.changes.map((c) => c.argv),
      [['rm', '-rf', '--', '/srv/scratch']],
    );
  });

  it('refuses to write over a directory or through a link', () => {
    const p = planFiles(
      host(),
      factsWith({ '/etc/vrio': { type: 'file', mode: 0o644, sha256: sha('') }, '/etc/vrio/modules.conf': { type: 'link', mode: 0 } }),
    );
    assert.deepEqual(p.changes, []);
    assert.match(p.errors[0], /\/etc\/vrio exists as a file, not a directory/);
    assert.match(p.errors[1], /\/etc\/vrio\/modules.conf exists as a link, not a regular file/);
  });

  it('apply puts files before link and module changes; --only files leaves those out', () => {
    const all = planHost(host(), factsWith({}));
    assert.deepEqual(
      all.changes.slice(0, 2).map((c) => c.kind),
      ['dir-create', 'file-write'],
    );
    assert.ok(all.changes.some((c) => c.kind === 'module-load'));
    const only = planHost(host(), freshFacts({ modulesSupported: false, files: {} }), 'files');
    assert.deepEqual(
      only.changes.map((c) => c.kind),
      ['dir-create', 'file-write'],
    );
    assert.deepEqual(only.errors, [], 'no module errors when only files are asked for');
  });

  it('reads @file lines from the facts script (paths with spaces, unreadable files)', () => {
    const f = parseFacts(
      [
        '@files',
        '644 regular file|/etc/a b.conf',
        '755 directory|/etc/vrio',
        '600 regular empty file|/root/secret',
        '777 symbolic link|/etc/l',
        '@end',
        '@hashes',
        `${sha('a')}  /etc/a b.conf`,
        `${sha('t')}  /etc/l`,
        '@end',
        '@done',
      ].join('\n'),
    );
    assert.deepEqual(f.files, {
      '/etc/a b.conf': { type: 'file', mode: 0o644, sha256: sha('a') },
      '/etc/vrio': { type: 'directory', mode: 0o755 },
      '/root/secret': { type: 'file', mode: 0o600 },
      '/etc/l': { type: 'link', mode: 0o777 },
    });
    assert.equal(planFiles(host([{ path: '/nope', content: 'x' }]), f).changes[0].kind, 'file-write', 'a path stat did not list is missing');
  });
});

describe('inventory files:', () => {
  const rule = (inv: Record<string, any>, r: string) => issuesOf(inv).find((i) => i.rule === r);

  it('group files come first and a host entry for the same path wins; source is read relative to the inventory', () => {
    writeFileSync(join(tmp, 'motd'), 'hello\n');
    const inv = baseInventory();
    inv.groups.lab.files = [
      { path: '/etc/motd', content: 'group\n' },
      { path: '/etc/issue', source: 'motd', mode: '0640' },
    ];
    inv.guests.g1.files = [{ path: '/etc/motd', content: 'mine\n' }];
    const parsed = parseInventory(join(tmp, 'inv.yaml'), stringify(inv), { env: {} });
    const g1 = parsed.hosts.find((h) => h.name === 'g1')!;
    assert.deepEqual(
      g1.files.map((f) => [f.path, f.content?.toString(), f.mode.toString(8)]),
      [
        ['/etc/motd', 'mine\n', '644'],
        ['/etc/issue', 'hello\n', '640'],
      ],
    );
    const g2 = parsed.hosts.find((h) => h.name === 'g2')!;
    assert.equal(g2.files[0].content?.toString(), 'group\n');
  });

  it('names file, pointer and rule for bad entries', () => {
    const cases: [(i: Record<string, any>) => void, string, string][] = [
      [(i) => (i.guests.g1.files = [{ path: '/a' }]), 'file-content-or-source', '/guests/g1/files/0'],
      [(i) => (i.guests.g1.files = [{ path: '/a', content: 'x', source: 'y' }]), 'file-content-or-source', '/guests/g1/files/0'],
      [(i) => (i.guests.g1.files = [{ path: '/a', state: 'absent', content: 'x' }]), 'file-absent', '/guests/g1/files/0/content'],
      [(i) => (i.guests.g1.files = [{ path: '/d', type: 'directory', content: 'x' }]), 'file-directory', '/guests/g1/files/0/content'],
      [
        (i) =>
          (i.guests.g1.files = [
            { path: '/a', content: 'x' },
            { path: '/a', content: 'y' },
          ]),
        'unique-file',
        '/guests/g1/files/1/path',
      ],
      [
        (i) =>
          (i.guests.g1.files = [
            { path: '/a', content: 'x' },
            { path: '/a/b', content: 'y' },
          ]),
        'file-parent',
        '/guests/g1',
      ],
      [(i) => (i.guests.g1.files = [{ path: '/a', source: 'does-not-exist' }]), 'file-source', '/guests/g1/files/0/source'],
      [
        (i) => (i.groups = { a: { hosts: ['g1'], files: [{ path: '/x', content: '1' }] }, b: { hosts: ['g1'], files: [{ path: '/x', content: '2' }] } }),
        'file-conflict',
        '/groups/b/files/0',
      ],
    ];
    for (const [mut, r, pointer] of cases) {
      const inv = baseInventory();
      mut(inv);
      const hit = rule(inv, r);
      assert.ok(hit, `expected [${r}] for ${JSON.stringify(inv.guests.g1.files ?? inv.groups)}`);
      assert.equal(hit.pointer, pointer, r);
      assert.ok(hit.line && hit.line > 0, `${r} has a line number`);
    }
  });

  it('the schema refuses relative paths, "..", and modes that are not octal strings', () => {
    for (const [f, pointer] of [
      [{ path: 'etc/a', content: '' }, '/guests/g1/files/0/path'],
      [{ path: '/etc/../a', content: '' }, '/guests/g1/files/0/path'],
      [{ path: '/etc/a', content: '', mode: 644 }, '/guests/g1/files/0/mode'],
      [{ path: '/etc/a', content: '', mode: '0998' }, '/guests/g1/files/0/mode'],
    ] as const) {
      const inv = baseInventory();
      inv.guests.g1.files = [f];
      assert.ok(
        issuesOf(inv).some((i) => i.pointer === pointer),
        `${JSON.stringify(f)} refused at ${pointer}`,
      );
    }
  });
});
