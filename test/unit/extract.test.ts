// Hostile package contents are refused with an error naming the package, the
// entry and the rule, and nothing lands outside (or is left inside) the target.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { unpackDeb } from '../../builder/debs/apt.js';
import { defaultLimits, extractTarSafe, normaliseMemberName, UnsafeArchiveError, type ExtractLimits } from '../../builder/debs/extract.js';
import { controlTar, makeDeb, makeTar, type Entry } from '../support/deb-archives.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-extract-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Extract into a fresh target inside a fresh box; returns both so a test can look around. */
async function tryExtract(entries: Entry[], limits?: ExtractLimits): Promise<{ box: string; dest: string; err?: unknown }> {
  const box = join(tmp, `box${n++}`);
  mkdirSync(box);
  writeFileSync(join(box, 'sentinel'), 'untouched');
  const dest = join(box, 'root');
  try {
    await extractTarSafe(Readable.from([await makeTar(entries)]), dest, 'package evil 6.6', limits);
    return { box, dest };
  } catch (err) {
    return { box, dest, err };
  }
}

function assertRefused(r: { box: string; dest: string; err?: unknown }, entry: string, rule: string): void {
  assert.ok(r.err instanceof UnsafeArchiveError, `expected a refusal, got ${String(r.err)}`);
  const e = r.err as UnsafeArchiveError;
  assert.equal(e.rule, rule);
  assert.equal(e.entry, entry);
  assert.match(e.message, /^package evil 6\.6: refused entry /);
  assert.ok(e.message.includes(`'${entry}'`), e.message);
  // Nothing left in the target, nothing new beside it.
  assert.equal(existsSync(r.dest), false, 'the half-extracted target is removed');
  assert.deepEqual(readdirSync(r.box), ['sentinel']);
  assert.equal(readFileSync(join(r.box, 'sentinel'), 'utf8'), 'untouched');
}

describe('safe extraction of package archives', () => {
  it('extracts an ordinary package layout', async () => {
    const r = await tryExtract([
      { name: './', type: 'directory' },
      { name: './usr/', type: 'directory' },
      { name: './usr/bin/', type: 'directory' },
      { name: './usr/bin/tool', body: 'ELF?', mode: 0o755 },
      { name: './usr/bin/alias', type: 'symlink', linkname: 'tool' },
      { name: './lib64/', type: 'directory' },
      { name: './lib64/ld.so', type: 'symlink', linkname: '/usr/bin/tool' }, // absolute = from the image root
      { name: './usr/bin/hard', type: 'link', linkname: './usr/bin/tool' },
    ]);
    assert.equal(r.err, undefined);
    assert.equal(readFileSync(join(r.dest, 'usr/bin/tool'), 'utf8'), 'ELF?');
    assert.equal(lstatSync(join(r.dest, 'usr/bin/tool')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(r.dest, 'usr/bin/alias')), 'tool');
    assert.equal(readlinkSync(join(r.dest, 'lib64/ld.so')), '/usr/bin/tool');
    assert.equal(readFileSync(join(r.dest, 'usr/bin/hard'), 'utf8'), 'ELF?');
  });

  it("refuses '..' path traversal", async () => {
    assertRefused(await tryExtract([{ name: '../escape.txt', body: 'x' }]), '../escape.txt', 'dot-dot');
    assertRefused(
      await tryExtract([
        { name: './usr/', type: 'directory' },
        { name: './usr/../../escape', body: 'x' },
      ]),
      './usr/../../escape',
      'dot-dot',
    );
  });

  it('refuses absolute paths', async () => {
    assertRefused(await tryExtract([{ name: '/etc/passwd', body: 'root::0:0::/:/bin/sh\n' }]), '/etc/passwd', 'absolute-path');
  });

  it('the refusal a user reads: package, entry, why, rule, and that nothing was used', async () => {
    const r = await tryExtract([{ name: '/etc/passwd', body: 'x' }]);
    assert.ok(r.err instanceof UnsafeArchiveError);
    assert.equal(r.err.name, 'UnsafeArchiveError');
    assert.equal(r.err.message, "package evil 6.6: refused entry '/etc/passwd': absolute path [absolute-path]");
    assert.equal(r.err.hint, 'the package or archive is corrupt or hostile; nothing from it was used');
  });

  it('refuses a member name with a NUL byte (a name that would be cut short on disk)', () => {
    const fail = (rule: string, why: string): never => {
      throw new Error(`${why} [${rule}]`);
    };
    assert.throws(() => normaliseMemberName('./etc/passwd\0.txt', fail), { message: 'name contains a NUL byte [nul-byte]' });
    assert.equal(normaliseMemberName('./usr//bin/./tool', fail), 'usr/bin/tool');
    assert.equal(normaliseMemberName('./', fail), '');
  });

  it('by default takes the largest Debian packages: 256 MiB per file, 1 GiB in all, 100,000 entries', () => {
    assert.deepEqual(defaultLimits, { maxEntryBytes: 256 * 2 ** 20, maxTotalBytes: 2 ** 30, maxEntries: 100_000 });
  });

  it('refuses symlinks that point outside the root', async () => {
    assertRefused(
      await tryExtract([
        { name: './lib/', type: 'directory' },
        { name: './lib/up', type: 'symlink', linkname: '../../../etc' },
      ]),
      './lib/up',
      'symlink-escape',
    );
    assertRefused(await tryExtract([{ name: './up', type: 'symlink', linkname: '..' }]), './up', 'symlink-escape');
  });

  it('refuses writing through a symlink the archive planted', async () => {
    // The link itself is legal (absolute = inside the image), the write through it is not.
    const r = await tryExtract([
      { name: './etc', type: 'symlink', linkname: '/' },
      { name: './etc/passwd', body: 'x' },
    ]);
    assertRefused(r, './etc/passwd', 'through-symlink');
  });

  it('refuses device nodes and FIFOs', async () => {
    assertRefused(
      await tryExtract([
        { name: './dev/', type: 'directory' },
        { name: './dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      ]),
      './dev/sda',
      'device-node',
    );
    assertRefused(await tryExtract([{ name: './mem', type: 'character-device', devmajor: 1, devminor: 1 }]), './mem', 'device-node');
    assertRefused(await tryExtract([{ name: './pipe', type: 'fifo' }]), './pipe', 'fifo');
  });

  it('refuses hard links to absolute paths or to nothing extracted before', async () => {
    assertRefused(await tryExtract([{ name: './shadow', type: 'link', linkname: '/etc/shadow' }]), './shadow', 'hardlink-absolute-path');
    assertRefused(await tryExtract([{ name: './x', type: 'link', linkname: './not-there' }]), './x', 'hardlink-source');
  });

  it('refuses oversize files and archives', async () => {
    const limits = { maxEntryBytes: 1024, maxTotalBytes: 1536, maxEntries: 10 };
    assertRefused(await tryExtract([{ name: './big', body: Buffer.alloc(2048) }], limits), './big', 'max-entry-size');
    assertRefused(
      await tryExtract(
        [
          { name: './a', body: Buffer.alloc(1000) },
          { name: './b', body: Buffer.alloc(1000) },
        ],
        limits,
      ),
      './b',
      'max-total-size',
    );
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `./f${i}`, body: 'x' }));
    assertRefused(await tryExtract(many, limits), './f10', 'max-entries');
  });

  it('refuses a hostile .deb read through dpkg-deb --fsys-tarfile, naming the package', async () => {
    const deb = join(tmp, 'evil.deb');
    writeFileSync(
      deb,
      makeDeb(
        await controlTar('evil'),
        await makeTar([
          { name: './', type: 'directory' },
          { name: './../../pwned', body: 'x' },
        ]),
      ),
    );
    // Two levels below our own temp dir: an extractor that let the entry through would
    // write tmp/evil/pwned, which is checked and cleaned up, never a shared /tmp/pwned
    // (mutation testing runs exactly such extractors).
    mkdirSync(join(tmp, 'evil', 'in'), { recursive: true });
    const dest = join(tmp, 'evil', 'in', 'root');
    await assert.rejects(unpackDeb(deb, dest, 'package evil 1.0'), (e: unknown) => {
      assert.ok(e instanceof UnsafeArchiveError);
      assert.match(e.message, /^package evil 1\.0: refused entry '\.\/\.\.\/\.\.\/pwned': path contains '\.\.' \[dot-dot\]/);
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.deepEqual(readdirSync(join(tmp, 'evil')), ['in']);
  });

  it('unpacks a well-formed .deb and reports a corrupt one clearly', async () => {
    const good = join(tmp, 'good.deb');
    writeFileSync(
      good,
      makeDeb(
        await controlTar('good'),
        await makeTar([
          { name: './', type: 'directory' },
          { name: './bin/', type: 'directory' },
          { name: './bin/ok', body: 'fine', mode: 0o755 },
        ]),
      ),
    );
    const dest = join(tmp, 'good-root');
    const entries = await unpackDeb(good, dest, 'package good 1.0');
    assert.deepEqual(
      entries.map((e) => e.path),
      ['bin', 'bin/ok'],
    );
    assert.equal(readFileSync(join(dest, 'bin/ok'), 'utf8'), 'fine');

    const bad = join(tmp, 'bad.deb');
    writeFileSync(bad, 'this is not an ar archive');
    const dest2 = join(tmp, 'bad-root');
    await assert.rejects(unpackDeb(bad, dest2, 'package bad 1.0'), /package bad 1\.0: .*dpkg-deb/);
    assert.equal(existsSync(dest2), false);
  });
});
