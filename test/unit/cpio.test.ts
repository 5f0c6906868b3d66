// The newc writer must produce archives that the real `cpio` reads exactly as
// written, and the same bytes whatever order the entries come in.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, lstatSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseHeader, readCpio, writeCpio, type CpioEntry } from '../../builder/cpio.js';

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
    for (const path of ['/abs', '../up', 'a/../b', 'a//b', '', '.', 'a/./b', 'a/']) {
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

// The exact bytes: the image hash depends on them, and the kernel's initramfs
// unpacker reads exactly these fields (newc: 13 eight-digit hex fields after
// the magic, the name with its NUL padded to 4, the data padded to 4).
describe('cpio newc bytes', () => {
  it('writes the documented header fields, padding and trailer, byte for byte', () => {
    const a = writeCpio(
      [
        { path: 'n', type: 'block', mode: 0o660, major: 8, minor: 0x1ff },
        { path: 'l', type: 'symlink', mode: 0o777, target: 'd/f' },
        { path: 'd/f', type: 'file', mode: 0o4755, data: Buffer.from('hi') },
        { path: 'd', type: 'dir', mode: 0o755 },
      ],
      1700000000,
    );
    //  magic   ino      mode     uid      gid      nlink    mtime    size     devmaj   devmin   rdevmaj  rdevmin  namesize check
    const expected = [
      '070701' +
        '00000001' +
        '000041ED' +
        '00000000' +
        '00000000' +
        '00000002' +
        '6553F100' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000002' +
        '00000000',
      'd\0', // 110 + 2: no padding; a directory has nlink 2 and no data
      '070701' +
        '00000002' +
        '000089ED' +
        '00000000' +
        '00000000' +
        '00000001' +
        '6553F100' +
        '00000002' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000004' +
        '00000000',
      'd/f\0\0\0', // the setuid bit kept; name padded to 116
      'hi\0\0', // data padded to 4
      '070701' +
        '00000003' +
        '0000A1FF' +
        '00000000' +
        '00000000' +
        '00000001' +
        '6553F100' +
        '00000003' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000002' +
        '00000000',
      'l\0',
      'd/f\0', // the symlink target is its data
      '070701' +
        '00000004' +
        '000061B0' +
        '00000000' +
        '00000000' +
        '00000001' +
        '6553F100' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000008' +
        '000001FF' +
        '00000002' +
        '00000000',
      'n\0',
      '070701' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000001' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' +
        '0000000B' +
        '00000000',
      'TRAILER!!!\0\0\0\0',
    ].join('');
    assert.equal(a.toString('latin1'), expected);
  });

  it('refuses a field that does not fit in 8 hex digits, and accepts the largest that does', () => {
    const e: CpioEntry[] = [{ path: 'a', type: 'dir', mode: 0o755 }];
    assert.throws(() => writeCpio(e, -1), { name: 'RangeError', message: 'cpio field out of range: -1' });
    assert.throws(() => writeCpio(e, 2 ** 32), { name: 'RangeError', message: 'cpio field out of range: 4294967296' });
    assert.throws(() => writeCpio(e, 1.5), { name: 'RangeError', message: 'cpio field out of range: 1.5' });
    assert.throws(() => writeCpio([{ path: 'c', type: 'char', mode: 0o600, major: 2 ** 32, minor: 0 }], 0), /cpio field out of range: 4294967296/);
    assert.equal(readCpio(writeCpio(e, 0xffffffff))[0]?.mtime, 0xffffffff);
  });

  it('refuses a symlink without a target, naming it', () => {
    assert.throws(() => writeCpio([{ path: 'bin/sh', type: 'symlink', mode: 0o777 }], 0), { message: "cpio: symlink 'bin/sh' has no target" });
  });

  it('reads back exactly the entries written: data only for files, a target only for symlinks, device numbers only for nodes', () => {
    const entries: CpioEntry[] = [
      { path: 'd', type: 'dir', mode: 0o755 },
      { path: 'd/f', type: 'file', mode: 0o644, data: Buffer.from('abc') },
      { path: 'dev-c', type: 'char', mode: 0o600, major: 5, minor: 1 },
      { path: 'dev-b', type: 'block', mode: 0o660, major: 8, minor: 16 },
      { path: 'l', type: 'symlink', mode: 0o777, target: 'd/f' },
    ];
    const common = { mtime: 7, uid: 0, gid: 0 };
    assert.deepEqual(readCpio(writeCpio(entries, 7)), [
      { path: 'd', type: 'dir', mode: 0o755, size: 0, ...common },
      { path: 'd/f', type: 'file', mode: 0o644, size: 3, ...common, data: Buffer.from('abc') },
      { path: 'dev-b', type: 'block', mode: 0o660, size: 0, ...common, major: 8, minor: 16 },
      { path: 'dev-c', type: 'char', mode: 0o600, size: 0, ...common, major: 5, minor: 1 },
      { path: 'l', type: 'symlink', mode: 0o777, size: 3, ...common, target: 'd/f' },
    ]);
  });

  it('parses the magic of a header (the streaming reader checks it)', () => {
    const a = writeCpio([{ path: 'a', type: 'dir', mode: 0o700 }], 0);
    assert.deepEqual(parseHeader(a.toString('ascii', 0, 110)), {
      magic: '070701',
      mode: 0o40700,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 0,
      rmaj: 0,
      rmin: 0,
      namesize: 2,
    });
  });
});

describe('cpio reader: archives we did not write', () => {
  const a = writeCpio([{ path: 'bin/hello', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }], 0);

  it("reads names as GNU cpio stores them from `find .` or absolute paths ('./x', '/x') as root-relative", () => {
    const src = mkdtempSync(join(tmp, 'dot-'));
    writeFileSync(join(src, 'a.txt'), 'x');
    const dot = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { input: './a.txt\n', cwd: src });
    assert.equal(dot.status, 0);
    assert.deepEqual(
      readCpio(dot.stdout).map((e) => e.path),
      ['a.txt'],
    );
    // An absolute name: the same archive with the name's first byte made '/'.
    const abs = Buffer.from(writeCpio([{ path: 'xetc', type: 'dir', mode: 0o755 }], 0));
    abs.write('/', 110, 'ascii');
    assert.deepEqual(
      readCpio(abs).map((e) => e.path),
      ['etc'],
    );
  });

  it('reads the CRC variant (070702) and refuses any other magic with its offset', () => {
    const crc = Buffer.from(a);
    crc.write('070702', 0, 'ascii');
    assert.equal(readCpio(crc)[0]?.path, 'bin/hello');
    const odc = Buffer.concat([Buffer.alloc(8), a]);
    odc.write('070707', 8, 'ascii');
    assert.throws(() => readCpio(odc), { message: 'cpio: bad magic at offset 8' });
  });

  it('names where a cut-off archive ends: in a header, a name or the data of an entry', () => {
    assert.throws(() => readCpio(a.subarray(0, 50)), { message: 'cpio: truncated header' });
    assert.throws(() => readCpio(a.subarray(0, 110)), { message: 'cpio: truncated name' });
    assert.throws(() => readCpio(a.subarray(0, 120)), { message: "cpio: truncated data of 'bin/hello'" });
    assert.equal(readCpio(a.subarray(0, a.length - 124)).length, 1, 'without its trailer the entries still read');
  });

  it('refuses a FIFO (GNU cpio archives one) naming it and its mode', () => {
    const src = mkdtempSync(join(tmp, 'fifo-'));
    execFileSync('mkfifo', ['-m', '0644', join(src, 'p')]);
    const r = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { input: 'p\n', cwd: src });
    assert.equal(r.status, 0);
    assert.throws(() => readCpio(r.stdout), { message: "cpio: unsupported mode 10644 for 'p'" });
  });
});
