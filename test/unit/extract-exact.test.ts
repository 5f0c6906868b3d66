// What a user of the package extractor gets, exactly: the entry list the image
// is assembled from (paths, kinds, the package's mode bits, sizes, link
// targets), the modes of the unpacked copy on this machine, and the refusal
// message for every rule, to the letter, with nothing left behind.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { extractTarSafe, resolveLinkTarget, UnsafeArchiveError, type ExtractLimits } from '../../builder/debs/extract.js';
import { VrioError } from '../../lib/errors.js';
import { makeTar, type Entry } from '../support/deb-archives.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-extract-exact-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function freshDest(): { box: string; dest: string } {
  const box = join(tmp, `box${n++}`);
  mkdirSync(box);
  return { box, dest: join(box, 'root') };
}

async function extract(entries: Entry[] | Buffer, limits?: ExtractLimits) {
  const { box, dest } = freshDest();
  const tar = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
  return { box, dest, entries: await extractTarSafe(Readable.from([tar]), dest, 'pkg 1.0', limits) };
}

/** The exact message a user reads for a refused archive, and that the target is gone. */
async function refusal(entries: Entry[] | Buffer, limits?: ExtractLimits): Promise<string> {
  const { box, dest } = freshDest();
  const tar = Buffer.isBuffer(entries) ? entries : await makeTar(entries);
  const err = await extractTarSafe(Readable.from([tar]), dest, 'pkg 1.0', limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof VrioError, `expected a refusal, got ${String(err)}`);
  assert.equal(existsSync(dest), false, 'the half-extracted target is removed');
  assert.deepEqual(readdirSync(box), []);
  return err.message;
}

/** A tar of one entry whose type flag byte is `flag` (a type tar-stream cannot write), checksum fixed. */
async function tarWithTypeFlag(flag: string): Promise<Buffer> {
  const tar = Buffer.from(await makeTar([{ name: './odd', body: 'x' }]));
  tar[156] = flag.charCodeAt(0);
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i];
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return tar;
}

describe('package extraction, exactly', () => {
  it('returns every entry as the image needs it: root skipped, package modes kept (setuid, sticky), sizes, link targets', async () => {
    const r = await extract([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './tmp/', type: 'directory', mode: 0o1777 },
      { name: './ro/', type: 'directory', mode: 0o555 },
      { name: './bin/', type: 'directory', mode: 0o755 },
      { name: './bin/su', body: 'ELF-su', mode: 0o4755 },
      { name: './bin/wall', body: 'ELF', mode: 0o2755 },
      { name: './bin/secret', body: 'k', mode: 0o400 },
      { name: './bin/contig', type: 'contiguous-file', body: 'abc', mode: 0o644 },
      { name: './bin/sh', type: 'symlink', linkname: 'dash' },
      { name: './bin/login', type: 'link', linkname: './bin/su' },
      { name: './bin/login2', type: 'link', linkname: 'bin/login' },
    ]);
    assert.deepEqual(r.entries, [
      { path: 'tmp', type: 'dir', mode: 0o1777, size: 0 },
      { path: 'ro', type: 'dir', mode: 0o555, size: 0 },
      { path: 'bin', type: 'dir', mode: 0o755, size: 0 },
      { path: 'bin/su', type: 'file', mode: 0o4755, size: 6 },
      { path: 'bin/wall', type: 'file', mode: 0o2755, size: 3 },
      { path: 'bin/secret', type: 'file', mode: 0o400, size: 1 },
      { path: 'bin/contig', type: 'file', mode: 0o644, size: 3 },
      { path: 'bin/sh', type: 'symlink', mode: 0o777, size: 0, target: 'dash' },
      { path: 'bin/login', type: 'hardlink', mode: 0o755, size: 0, target: 'bin/su' },
      // A hard link to a hard link: the first link counts as a file extracted before.
      { path: 'bin/login2', type: 'hardlink', mode: 0o755, size: 0, target: 'bin/login' },
    ]);
    // The unpacked copy on this machine never carries setuid/setgid/sticky; a
    // directory stays enterable and writable by us so the image can be assembled.
    const mode = (p: string) => lstatSync(join(r.dest, p)).mode & 0o7777;
    assert.equal(mode('tmp'), 0o777);
    assert.equal(mode('ro'), 0o755);
    assert.equal(mode('bin/su'), 0o755);
    assert.equal(mode('bin/wall'), 0o755);
    assert.equal(mode('bin/secret'), 0o400);
    assert.equal(readFileSync(join(r.dest, 'bin/contig'), 'utf8'), 'abc');
    assert.equal(readlinkSync(join(r.dest, 'bin/sh')), 'dash');
    assert.equal(lstatSync(join(r.dest, 'bin/login2')).ino, lstatSync(join(r.dest, 'bin/su')).ino);
  });

  it('a later entry replaces an earlier file or link of the same name (as dpkg does), never a directory', async () => {
    const r = await extract([
      { name: './a', body: 'first' },
      { name: './a', body: 'second' },
      { name: './l', body: 'was a file' },
      { name: './l', type: 'symlink', linkname: 'a' },
      { name: './d/', type: 'directory' },
      { name: './d/', type: 'directory', mode: 0o700 },
    ]);
    assert.equal(readFileSync(join(r.dest, 'a'), 'utf8'), 'second');
    assert.equal(readlinkSync(join(r.dest, 'l')), 'a');
    assert.equal(lstatSync(join(r.dest, 'd')).mode & 0o777, 0o700);
    assert.deepEqual(
      r.entries.map((e) => `${e.type}:${e.path}`),
      ['file:a', 'file:a', 'file:l', 'symlink:l', 'dir:d', 'dir:d'],
    );
  });

  it('creates missing parent directories (0755) for an entry whose directories the archive does not list', async () => {
    const r = await extract([{ name: './usr/share/doc/x/copyright', body: 'GPL' }]);
    assert.equal(lstatSync(join(r.dest, 'usr/share/doc')).mode & 0o777, 0o755);
    assert.deepEqual(r.entries, [{ path: 'usr/share/doc/x/copyright', type: 'file', mode: 0o644, size: 3 }]);
  });

  it('takes an archive exactly at its limits', async () => {
    const limits = { maxEntryBytes: 1000, maxTotalBytes: 1500, maxEntries: 3 };
    const r = await extract(
      [
        { name: './', type: 'directory' }, // the root is not an entry
        { name: './a', body: Buffer.alloc(1000) },
        { name: './b', body: Buffer.alloc(500) },
        { name: './c/', type: 'directory' },
      ],
      limits,
    );
    assert.deepEqual(
      r.entries.map((e) => [e.path, e.size]),
      [
        ['a', 1000],
        ['b', 500],
        ['c', 0],
      ],
    );
  });

  it('refuses with these exact messages', async () => {
    const limits = { maxEntryBytes: 1000, maxTotalBytes: 1500, maxEntries: 2 };
    const cases: [string, Entry[] | Buffer, string, ExtractLimits?][] = [
      ['dot-dot', [{ name: './a/../../x', body: 'x' }], "pkg 1.0: refused entry './a/../../x': path contains '..' [dot-dot]"],
      ['absolute', [{ name: '/x', body: 'x' }], "pkg 1.0: refused entry '/x': absolute path [absolute-path]"],
      ['device', [{ name: './sda', type: 'block-device', devmajor: 8 }], "pkg 1.0: refused entry './sda': block-device nodes are not allowed [device-node]"],
      [
        'char device',
        [{ name: './mem', type: 'character-device', devmajor: 1 }],
        "pkg 1.0: refused entry './mem': character-device nodes are not allowed [device-node]",
      ],
      ['fifo', [{ name: './p', type: 'fifo' }], "pkg 1.0: refused entry './p': FIFOs are not allowed [fifo]"],
      ['unsupported type', await tarWithTypeFlag('V'), "pkg 1.0: refused entry './odd': unknown entry type flag [entry-type]"],
      ['empty symlink', [{ name: './l', type: 'symlink', linkname: '' }], "pkg 1.0: refused entry './l': symlink with an empty target [symlink-target]"],
      [
        'symlink escape',
        [{ name: './a/l', type: 'symlink', linkname: '../../etc' }],
        "pkg 1.0: refused entry './a/l': symlink to '../../etc' points outside the root [symlink-escape]",
      ],
      [
        'symlink over a directory',
        [
          { name: './d/', type: 'directory' },
          { name: './d', type: 'symlink', linkname: '/' },
        ],
        "pkg 1.0: refused entry './d': a symlink would replace a directory [replace-dir]",
      ],
      [
        'file over a directory',
        [
          { name: './d/', type: 'directory' },
          { name: './d', body: 'x' },
        ],
        "pkg 1.0: refused entry './d': a file would replace a directory [replace-dir]",
      ],
      [
        'hard link over a directory',
        [
          { name: './f', body: 'x' },
          { name: './d/', type: 'directory' },
          { name: './d', type: 'link', linkname: './f' },
        ],
        "pkg 1.0: refused entry './d': a hard link would replace a directory [replace-dir]",
      ],
      [
        'through a symlink',
        [
          { name: './etc', type: 'symlink', linkname: '/' },
          { name: './etc/passwd', body: 'x' },
        ],
        "pkg 1.0: refused entry './etc/passwd': parent 'etc' is a symlink [through-symlink]",
      ],
      [
        'under a file',
        [
          { name: './a', body: 'x' },
          { name: './a/b/c', body: 'y' },
        ],
        "pkg 1.0: refused entry './a/b/c': parent 'a' is not a directory [parent-not-dir]",
      ],
      [
        'deeper through a symlink',
        [
          { name: './usr/', type: 'directory' },
          { name: './usr/lib', type: 'symlink', linkname: '/' },
          { name: './usr/lib/x/y', body: 'y' },
        ],
        "pkg 1.0: refused entry './usr/lib/x/y': parent 'usr/lib' is a symlink [through-symlink]",
      ],
      [
        'hard link climbing',
        [{ name: './h', type: 'link', linkname: '../etc/shadow' }],
        "pkg 1.0: refused entry './h': hard link source: path contains '..' [hardlink-dot-dot]",
      ],
      [
        'hard link to a directory',
        [
          { name: './d/', type: 'directory' },
          { name: './h', type: 'link', linkname: './d' },
        ],
        "pkg 1.0: refused entry './h': hard link to './d', which is not a regular file earlier in the archive [hardlink-source]",
      ],
      [
        'entry too big',
        [{ name: './big', body: Buffer.alloc(1001) }],
        "pkg 1.0: refused entry './big': 1001 bytes is over the per-file limit of 1000 [max-entry-size]",
        limits,
      ],
      [
        'archive too big',
        [
          { name: './a', body: Buffer.alloc(1000) },
          { name: './b', body: Buffer.alloc(501) },
        ],
        "pkg 1.0: refused entry './b': archive content exceeds 1500 bytes [max-total-size]",
        limits,
      ],
      [
        'too many entries',
        [
          { name: './a', body: 'x' },
          { name: './b', body: 'x' },
          { name: './c', body: 'x' },
        ],
        "pkg 1.0: refused entry './c': more than 2 entries [max-entries]",
        limits,
      ],
    ];
    for (const [what, entries, message, lim] of cases) assert.equal(await refusal(entries, lim), message, what);
  });

  it('every refusal is an UnsafeArchiveError naming the package, the entry and the rule, with the same hint', async () => {
    const { dest } = freshDest();
    const err = await extractTarSafe(Readable.from([await makeTar([{ name: './p', type: 'fifo' }])]), dest, 'pkg 1.0').catch((e: unknown) => e);
    assert.ok(err instanceof UnsafeArchiveError);
    assert.deepEqual(
      [err.name, err.label, err.entry, err.rule, err.hint],
      ['UnsafeArchiveError', 'pkg 1.0', './p', 'fifo', 'the package or archive is corrupt or hostile; nothing from it was used'],
    );
  });

  it('a cut archive is "cannot read the archive", not a refusal, and nothing is left', async () => {
    const whole = await makeTar([{ name: './x', body: Buffer.alloc(5000) }]);
    const message = await refusal(whole.subarray(0, 1500));
    assert.match(message, /^pkg 1\.0: cannot read the archive: /);
    const { dest } = freshDest();
    const err = await extractTarSafe(Readable.from([whole.subarray(0, 1500)]), dest, 'pkg 1.0').catch((e: unknown) => e);
    assert.ok(err instanceof VrioError && !(err instanceof UnsafeArchiveError));
  });

  it('resolves symlink targets against the link, from the image root when absolute', () => {
    assert.equal(resolveLinkTarget('usr/bin/x', '../lib/y'), 'usr/lib/y');
    assert.equal(resolveLinkTarget('usr/bin/x', './y'), 'usr/bin/y');
    assert.equal(resolveLinkTarget('usr/bin/x', '/etc//./passwd'), 'etc/passwd');
    assert.equal(resolveLinkTarget('usr/bin/x', '/../etc'), undefined);
    assert.equal(resolveLinkTarget('a/b', '..'), '');
    assert.equal(resolveLinkTarget('x', '..'), undefined);
    assert.equal(resolveLinkTarget('a/b', '../../x'), undefined);
    assert.equal(resolveLinkTarget('./a/b', 'c'), 'a/c');
  });
});
