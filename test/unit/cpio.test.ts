// The newc writer must produce archives that the real `cpio` reads exactly as
// written, and the same bytes whatever order the entries come in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, lstatSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCpio, writeCpio, type CpioEntry } from '../../builder/cpio.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-cpio-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const EPOCH = 1700000000;
const sample: CpioEntry[] = [
  { path: 'bin', type: 'dir', mode: 0o755 },
  { path: 'bin/hello', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, target: 'busybox' },
  { path: 'dev', type: 'dir', mode: 0o755 },
  { path: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
  { path: 'etc', type: 'dir', mode: 0o755 },
  { path: 'etc/odd', type: 'file', mode: 0o600, data: Buffer.from('abc') }, // length not a multiple of 4
  { path: 'etc/empty', type: 'file', mode: 0o644, data: Buffer.alloc(0) },
  { path: 'etc/long-name-' + 'x'.repeat(150), type: 'file', mode: 0o644, data: Buffer.alloc(4097, 7) },
];

function cpio(args: string[], input: Buffer, cwd = tmp): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('cpio', args, { input, cwd, encoding: 'buffer', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), status: r.status };
}

describe('cpio newc writer', () => {
  const archive = writeCpio(sample, EPOCH);

  it('is listed by the real cpio -t in sorted path order', () => {
    const r = cpio(['-t', '--quiet'], archive);
    assert.equal(r.status, 0, r.stderr);
    const names = r.stdout.trim().split('\n');
    const expected = sample.map((e) => e.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(names, expected);
  });

  it('shows owner root, the fixed mtime, modes and the device node in cpio -tv', () => {
    const r = cpio(['-tv', '--quiet', '--numeric-uid-gid'], archive);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    for (const l of lines) assert.match(l, /^\S+\s+\d+\s+0\s+0\s/, `owner not 0:0: ${l}`);
    assert.ok(
      lines.every((l) => l.includes('Nov 14  2023')),
      'every entry carries SOURCE_DATE_EPOCH (2023-11-14)',
    );
    assert.match(lines.find((l) => l.endsWith('dev/console')) ?? '', /^crw-------\s+1\s+0\s+0\s+5,\s+1 /);
    assert.match(lines.find((l) => l.includes('bin/sh')) ?? '', /^lrwxrwxrwx .* bin\/sh -> busybox$/);
    assert.match(lines.find((l) => l.endsWith('etc/odd')) ?? '', /^-rw-------/);
  });

  it('extracts with the real cpio to the same contents', () => {
    const dest = mkdtempSync(join(tmp, 'x-'));
    const r = cpio(['-id', '--quiet', '--no-absolute-filenames'], archive.subarray(0), dest);
    // cpio cannot mknod without privilege everywhere; everything else must be there.
    assert.ok(r.status === 0 || /console/.test(r.stderr), r.stderr);
    assert.equal(readFileSync(join(dest, 'bin/hello'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(readFileSync(join(dest, 'etc/odd'), 'utf8'), 'abc');
    assert.equal(readFileSync(join(dest, 'etc/long-name-' + 'x'.repeat(150))).length, 4097);
    assert.equal(readlinkSync(join(dest, 'bin/sh')), 'busybox');
    assert.equal(lstatSync(join(dest, 'bin/hello')).mode & 0o777, 0o755);
  });

  it('keeps setuid, setgid and sticky bits (our reader and the real cpio -tv)', () => {
    const special: CpioEntry[] = [
      { path: 'tmp', type: 'dir', mode: 0o1777 },
      { path: 'var', type: 'dir', mode: 0o755 },
      { path: 'var/mail', type: 'dir', mode: 0o2775 },
      { path: 'su', type: 'file', mode: 0o4755, data: Buffer.from('x') },
      { path: 'wall', type: 'file', mode: 0o2755, data: Buffer.from('x') },
      { path: 'both', type: 'file', mode: 0o6711, data: Buffer.from('x') },
    ];
    const a = writeCpio(special, EPOCH);
    assert.deepEqual(
      readCpio(a).map((e) => [e.path, e.mode.toString(8)]),
      special.map((e) => [e.path, e.mode.toString(8)]).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    );
    const r = cpio(['-tv', '--quiet'], a);
    assert.equal(r.status, 0, r.stderr);
    const modeOf = (p: string) =>
      r.stdout
        .split('\n')
        .find((l) => l.endsWith(` ${p}`))
        ?.split(/\s+/)[0];
    assert.deepEqual(['tmp', 'var/mail', 'su', 'wall', 'both'].map(modeOf), ['drwxrwxrwt', 'drwxrwsr-x', '-rwsr-xr-x', '-rwxr-sr-x', '-rws--s--x']);
  });

  it('gives the same bytes for any input order', () => {
    const shuffled = [...sample].reverse();
    assert.ok(writeCpio(shuffled, EPOCH).equals(archive));
  });

  it('round-trips through our reader', () => {
    const back = readCpio(archive);
    assert.equal(back.length, sample.length);
    const hello = back.find((e) => e.path === 'bin/hello');
    assert.equal(hello?.data?.toString(), '#!/bin/sh\necho hi\n');
    assert.equal(hello?.mtime, EPOCH);
    assert.deepEqual(
      back.filter((e) => e.type === 'char').map((e) => [e.path, e.major, e.minor]),
      [['dev/console', 5, 1]],
    );
  });

  it('reads an archive written by the real cpio (newc)', () => {
    const src = mkdtempSync(join(tmp, 'src-'));
    writeFileSync(join(src, 'a.txt'), 'from gnu cpio\n');
    const r = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { input: 'a.txt\n', cwd: src });
    assert.equal(r.status, 0);
    const back = readCpio(r.stdout);
    assert.equal(back.find((e) => e.path === 'a.txt')?.data?.toString(), 'from gnu cpio\n');
  });

  it('refuses unsafe or duplicate paths', () => {
    for (const path of ['/abs', '../up', 'a/../b', 'a//b', '']) {
      assert.throws(() => writeCpio([{ path, type: 'dir', mode: 0o755 }], EPOCH), /bad entry path/, path);
    }
    assert.throws(
      () =>
        writeCpio(
          [
            { path: 'a', type: 'dir', mode: 0o755 },
            { path: 'a', type: 'dir', mode: 0o755 },
          ],
          EPOCH,
        ),
      /duplicate/,
    );
  });
});
