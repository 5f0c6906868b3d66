// Rootfs assembly with packages made here: requested packages go in whole
// (minus excluded paths), dependency packages give only the libraries the ELF
// files need (following soname symlinks and the interpreter), nothing comes
// from the host, and an unmet dependency is an error naming binary and soname.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KernelArtifacts } from '../../builder/artifacts.js';
import { readCpio } from '../../builder/cpio.js';
import { unpackDeb, type UnpackedPackage } from '../../builder/debs/apt.js';
import type { ExtractedEntry } from '../../builder/debs/extract.js';
import { collectEntries, initramfsBytes } from '../../builder/image/archive.js';
import { assembleRootfs, type RootfsPlan } from '../../builder/image/rootfs.js';
import { Logger, setLogger } from '../../lib/log.js';
import { controlTar, makeDeb, makeTar } from '../support/deb-archives.js';

setLogger(new Logger({ verbosity: 'quiet' }));
const tmp = mkdtempSync(join(tmpdir(), 'vrio-rootfs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cc(out: string, src: string, args: string[]): string {
  const c = join(tmp, `${out}.c`);
  writeFileSync(c, src);
  const o = join(tmp, out);
  // -nostdlib: the binaries are only read, never run, and must not need the host's libc.
  const r = spawnSync('gcc', ['-o', o, c, '-nostdlib', '-fPIC', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return o;
}

/** An "unpacked package": files laid out under a root plus the entry list apt.ts would record. */
function makePkg(name: string, files: Record<string, string | { link: string }>): UnpackedPackage {
  const root = join(tmp, 'pkgs', name);
  const entries: ExtractedEntry[] = [];
  const dirs = new Set<string>();
  for (const [path, what] of Object.entries(files)) {
    for (let d = dirname(path); d !== '.' && !dirs.has(d); d = dirname(d)) dirs.add(d);
    mkdirSync(join(root, dirname(path)), { recursive: true });
    if (typeof what === 'string') {
      copyFileSync(what, join(root, path));
      entries.push({ path, type: 'file', mode: 0o755, size: 1 });
    } else {
      symlinkSync(what.link, join(root, path));
      entries.push({ path, type: 'symlink', mode: 0o777, size: 0, target: what.link });
    }
  }
  for (const d of [...dirs].sort()) entries.unshift({ path: d, type: 'dir', mode: 0o755, size: 0 });
  return { pkg: { name, version: '1.0', arch: 'amd64', sha256: name.padEnd(64, '0'), size: 1, source: name, depends: [] }, deb: '', root, entries };
}

const kernel: KernelArtifacts = {
  role: 'test',
  release: '0.0.0-none',
  hash: 'x',
  bzImage: '',
  systemMap: '',
  config: '',
  modulesRoot: join(tmp, 'no-modules'),
  modules: [],
  sourceTree: '',
  buildDir: '',
  inputs: [],
  patches: [],
};

let libx = '';
let liby = '';
let ld = '';
let tool = '';
let broken = '';
let plugin = '';
let docs = '';
before(() => {
  libx = cc('libx.so.1.0', 'int x(void) { return 1; }\n', ['-shared', '-Wl,-soname,libx.so.1']);
  liby = cc('liby.so.1', 'int y(void) { return 2; }\n', ['-shared', '-Wl,-soname,liby.so.1']);
  // Stands in for a library that is in no package (only here, to link against).
  cc('libz-missing.so.1', 'int z(void) { return 4; }\n', ['-shared', '-Wl,-soname,libz-missing.so.1']);
  ld = cc('ld-fake.so.1', 'int ld(void) { return 0; }\n', ['-shared', '-Wl,-soname,ld-fake.so.1']);
  const main = 'int x(void);\nvoid _start(void) { x(); for (;;) ; }\n';
  tool = cc('tool', main, [`-L${tmp}`, '-l:libx.so.1.0', '-Wl,--dynamic-linker=/lib64/ld-fake.so', '-Wl,--no-as-needed']);
  broken = cc('broken', 'void _start(void) { for (;;) ; }\n', [
    '-Wl,--no-as-needed',
    `-L${tmp}`,
    '-l:libz-missing.so.1',
    '-Wl,--dynamic-linker=/lib64/ld-fake.so',
  ]);
  plugin = cc('plugin.so', 'int p(void) { return 3; }\n', ['-shared', '-Wl,--no-as-needed', `-L${tmp}`, '-l:libz-missing.so.1']);
  docs = join(tmp, 'README');
  writeFileSync(docs, 'docs');
});

function plan(requested: string[], pkgs: UnpackedPackage[]): RootfsPlan {
  const overlay = join(tmp, 'overlay');
  mkdirSync(join(overlay, 'etc'), { recursive: true });
  writeFileSync(join(overlay, 'etc/motd'), 'hello\n');
  return {
    role: 'test',
    packages: pkgs,
    requested,
    kernel,
    overlayDirs: [overlay],
    generated: [{ path: 'etc/vrio/role', data: 'test\n', mode: 0o644 }],
    binaries: {},
  };
}

describe('rootfs assembly', () => {
  it('takes requested packages whole, and only the needed libraries (via soname links) from dependencies', async () => {
    const app = makePkg('app', { 'usr/bin/tool': tool, 'usr/share/doc/app/README': docs, 'usr/share/man/man1/tool.1': docs });
    const libs = makePkg('libx1', {
      'usr/lib/x86_64-linux-gnu/libx.so.1.0': libx,
      'usr/lib/x86_64-linux-gnu/libx.so.1': { link: 'libx.so.1.0' },
      'usr/bin/libx-tool': tool,
    });
    const unused = makePkg('liby1', { 'lib/x86_64-linux-gnu/liby.so.1': liby });
    const libc = makePkg('fakelibc', { 'lib/x86_64-linux-gnu/ld-fake.so.1': ld, 'lib64/ld-fake.so': { link: '/lib/x86_64-linux-gnu/ld-fake.so.1' } });
    const stage = join(tmp, 'stage1');
    const res = await assembleRootfs(stage, plan(['app'], [app, libs, unused, libc]), join(tmp, 'log'));
    assert.ok(existsSync(join(stage, 'usr/bin/tool')));
    assert.equal(readlinkSync(join(stage, 'usr/lib/x86_64-linux-gnu/libx.so.1')), 'libx.so.1.0');
    assert.ok(lstatSync(join(stage, 'usr/lib/x86_64-linux-gnu/libx.so.1.0')).isFile());
    assert.equal(readlinkSync(join(stage, 'lib64/ld-fake.so')), '/lib/x86_64-linux-gnu/ld-fake.so.1');
    assert.ok(existsSync(join(stage, 'lib/x86_64-linux-gnu/ld-fake.so.1')), 'the interpreter symlink chain is followed');
    assert.equal(existsSync(join(stage, 'lib/x86_64-linux-gnu/liby.so.1')), false, 'unneeded libraries stay out');
    assert.equal(existsSync(join(stage, 'usr/bin/libx-tool')), false, 'a dependency package gives libraries only');
    assert.equal(existsSync(join(stage, 'usr/share/doc/app')), false, 'docs are excluded (rootfs/exclude.txt)');
    assert.equal(existsSync(join(stage, 'usr/share/man')), false);
    assert.equal(readFileSync(join(stage, 'etc/motd'), 'utf8'), 'hello\n', 'overlay applied');
    assert.equal(readFileSync(join(stage, 'etc/vrio/role'), 'utf8'), 'test\n', 'generated file written');
    assert.equal(readlinkSync(join(stage, 'init')), 'bin/busybox');
    assert.deepEqual(res.libraries, {
      'lib/x86_64-linux-gnu/ld-fake.so.1': 'fakelibc',
      'lib64/ld-fake.so': 'fakelibc',
      'usr/lib/x86_64-linux-gnu/libx.so.1': 'libx1',
      'usr/lib/x86_64-linux-gnu/libx.so.1.0': 'libx1',
    });
    assert.deepEqual(res.packagesUsed, ['app', 'fakelibc', 'libx1']);
  });

  it('refuses a program whose library no package provides, naming both', async () => {
    const app = makePkg('app2', { 'usr/bin/broken': broken });
    const libc = makePkg('fakelibc2', { 'lib/x86_64-linux-gnu/ld-fake.so.1': ld, 'lib64/ld-fake.so': { link: '/lib/x86_64-linux-gnu/ld-fake.so.1' } });
    await assert.rejects(assembleRootfs(join(tmp, 'stage2'), plan(['app2'], [app, libc]), join(tmp, 'log')), (e: Error) => {
      assert.match(
        e.message,
        /rootfs for role test: missing shared libraries:\n {2}usr\/bin\/broken needs libz-missing\.so\.1, which no package of the role's closure provides/,
      );
      return true;
    });
  });

  it('leaves out a plugin whose optional library is missing, instead of failing', async () => {
    const app = makePkg('app3', { 'usr/lib/x86_64-linux-gnu/app/plugin.so': plugin, 'usr/bin/tool': tool });
    const libs = makePkg('libx1b', { 'usr/lib/x86_64-linux-gnu/libx.so.1.0': libx, 'usr/lib/x86_64-linux-gnu/libx.so.1': { link: 'libx.so.1.0' } });
    const libc = makePkg('fakelibc3', { 'lib/x86_64-linux-gnu/ld-fake.so.1': ld, 'lib64/ld-fake.so': { link: '/lib/x86_64-linux-gnu/ld-fake.so.1' } });
    const stage = join(tmp, 'stage3');
    await assembleRootfs(stage, plan(['app3'], [app, libs, libc]), join(tmp, 'log'));
    assert.equal(existsSync(join(stage, 'usr/lib/x86_64-linux-gnu/app/plugin.so')), false);
    assert.ok(existsSync(join(stage, 'usr/bin/tool')));
  });
});

// What the package says is what the appliance gets: a .deb's setuid, setgid
// and sticky bits survive extraction (builder/debs/extract.ts), the staged
// rootfs and the initramfs. Checked against `dpkg-deb -c`, Debian's own
// reading of the archive. (The images' own packages have no such bits today;
// a role's `packages:` may add some, e.g. util-linux's setuid mount.)
describe('rootfs: mode bits from the packages', () => {
  it('setuid/setgid files and sticky/setgid directories of a .deb keep their bits into the initramfs', async () => {
    const script = '#!/bin/sh\nexit 0\n';
    const data = await makeTar([
      { name: './', type: 'directory' },
      { name: './usr/', type: 'directory' },
      { name: './usr/bin/', type: 'directory' },
      { name: './usr/bin/su-like', body: script, mode: 0o4755 },
      { name: './usr/bin/wall-like', body: script, mode: 0o2755 },
      { name: './usr/bin/plain', body: script, mode: 0o755 },
      { name: './var/', type: 'directory' },
      { name: './var/spool/', type: 'directory', mode: 0o1777 },
      { name: './var/mail/', type: 'directory', mode: 0o2775 },
    ]);
    const deb = join(tmp, 'modes.deb');
    writeFileSync(deb, makeDeb(await controlTar('modes'), data));
    const root = join(tmp, 'modes-unpacked');
    const entries = await unpackDeb(deb, root, 'package modes');
    assert.equal(lstatSync(join(root, 'usr/bin/su-like')).mode & 0o7000, 0, 'the unpacked cache on this machine holds no setuid file');
    const pkg: UnpackedPackage = {
      pkg: { name: 'modes', version: '1.0', arch: 'amd64', sha256: 'm'.repeat(64), size: 1, source: 'modes', depends: [] },
      deb,
      root,
      entries,
    };
    const stage = join(tmp, 'stage-modes');
    await assembleRootfs(stage, plan(['modes'], [pkg]), join(tmp, 'log'));
    const image = new Map(readCpio(initramfsBytes(collectEntries(stage), 1700000000)).map((e) => [e.path, e.mode]));
    // dpkg-deb -c: "-rwsr-xr-x root/root 15 2023-... ./usr/bin/su-like"
    const listed = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const want = listed.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/))
      .map((f) => [f[5].replace(/^\.\/|\/$/g, ''), f[0]] as const)
      .filter(([p]) => p !== '');
    assert.ok(
      want.some(([, m]) => /[sStT]/.test(m)),
      'the package has special bits to keep',
    );
    for (const [p, m] of want) assert.equal(image.has(p) ? symbolic(m[0], image.get(p)!) : 'missing', m, `${p} in the initramfs as in the .deb`);
  });
});

/** ls-style mode string ("drwxrwxrwt") for a type letter and permission bits. */
function symbolic(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, s: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? s : s.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return type + rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}
