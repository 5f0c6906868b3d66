// Hostile package merges (issue #15): each .deb below is safe on its own
// (dpkg-deb + our extraction accept it), but package A plants a symlink that
// points out of the image (an absolute host path, or a chain of links that
// climbs out: a/b/c/up -> ../../.., then ../../a/b/c/up/../host), and a later
// layer (package B, an overlay, a generated file, the helper binary, the
// kernel modules) writes beneath it. Every merge must be refused with an error
// naming both layers, and nothing outside the stage may be created or changed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { KernelArtifacts } from '../../builder/artifacts.js';
import { unpackDeb, type UnpackedPackage } from '../../builder/debs/apt.js';
import { assembleRootfs, type RootfsPlan } from '../../builder/image/rootfs.js';
import { Logger, setLogger } from '../../lib/log.js';
import { controlTar, makeDeb, makeTar, type Entry } from '../support/deb-archives.js';
import { printFigures } from '../support/figures.js';

setLogger(new Logger({ verbosity: 'quiet' }));
const tmp = mkdtempSync(join(tmpdir(), 'vrio-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Build a real .deb from tar entries and unpack it the way the build does. */
async function deb(box: string, name: string, entries: Entry[]): Promise<UnpackedPackage> {
  const file = join(box, `${name}.deb`);
  writeFileSync(file, makeDeb(await controlTar(name), await makeTar([{ name: './', type: 'directory' }, ...entries])));
  const root = join(box, 'pkgs', name);
  const ents = await unpackDeb(file, root, `package ${name}`);
  return { pkg: { name, version: '1.0', arch: 'amd64', sha256: name.padEnd(64, '0'), size: 1, source: name, depends: [] }, deb: file, root, entries: ents };
}

/** Everything under `dir` (not following links): type, mode, content hash or link target. */
function snapshot(dir: string, skip: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const abs = join(dir, r);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mode.toString(8)}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(abs)}`);
      else out.push(`${r} ${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16)}`);
    }
  };
  walk('');
  return out;
}

type Form = 'absolute' | 'chain';
type Layer =
  | 'pkg-file'
  | 'pkg-file-over-host'
  | 'pkg-symlink-over-host'
  | 'pkg-dir-and-file'
  | 'pkg-hardlink'
  | 'overlay-file'
  | 'overlay-symlink'
  | 'overlay-dir'
  | 'generated'
  | 'helper'
  | 'modules';
const LAYERS: Layer[] = [
  'pkg-file',
  'pkg-file-over-host',
  'pkg-symlink-over-host',
  'pkg-dir-and-file',
  'pkg-hardlink',
  'overlay-file',
  'overlay-symlink',
  'overlay-dir',
  'generated',
  'helper',
  'modules',
];
const RELEASE = '0.0.0-hostile';

let tried = 0;
let refused = 0;
let hostChanges = 0;

/** The planting package: `evil` (at usr/share/evil, or lib/modules for the modules layer) points at <box>/host. */
function plantEntries(form: Form, box: string, at: string): Entry[] {
  const depth = at.split('/').length - 1;
  if (form === 'absolute') return [{ name: `./${at}`, type: 'symlink', linkname: join(box, 'host') }];
  // Lexically a/b/c/host (inside the image); on the host the stage's parent, then host.
  const dirs = at
    .split('/')
    .slice(0, -1)
    .map((_, i, a) => ({ name: `./${a.slice(0, i + 1).join('/')}/`, type: 'directory' as const }));
  return [
    { name: './a/', type: 'directory' },
    { name: './a/b/', type: 'directory' },
    { name: './a/b/c/', type: 'directory' },
    { name: './a/b/c/up', type: 'symlink', linkname: '../../..' },
    ...dirs,
    { name: `./${at}`, type: 'symlink', linkname: `${'../'.repeat(depth)}a/b/c/up/../host` },
  ];
}

async function hostileMerge(form: Form, layer: Layer): Promise<void> {
  const box = join(tmp, `${form}-${layer}`);
  mkdirSync(join(box, 'host'), { recursive: true });
  writeFileSync(join(box, 'host', 'victim'), 'host original\n', { mode: 0o644 });
  const at = layer === 'modules' ? 'lib/modules' : 'usr/share/evil';
  const pkgs = [await deb(box, 'a-links', plantEntries(form, box, at))];
  const kernel: KernelArtifacts = {
    role: 'test',
    release: RELEASE,
    hash: 'x',
    bzImage: '',
    systemMap: '',
    config: '',
    modulesRoot: join(box, 'no-modules'),
    modules: [],
    sourceTree: '',
    buildDir: '',
    inputs: [],
    patches: [],
  };
  const overlay = join(box, 'overlay');
  mkdirSync(overlay);
  const generated: RootfsPlan['generated'] = [];
  const binaries: Record<string, string> = {};
  const dirEntries = [
    { name: './usr/', type: 'directory' as const },
    { name: './usr/share/', type: 'directory' as const },
    { name: './usr/share/evil/', type: 'directory' as const },
  ];
  switch (layer) {
    case 'pkg-file':
      pkgs.push(await deb(box, 'b-payload', [...dirEntries, { name: './usr/share/evil/planted', body: 'pwned\n' }]));
      break;
    case 'pkg-file-over-host':
      pkgs.push(await deb(box, 'b-payload', [...dirEntries, { name: './usr/share/evil/victim', body: 'pwned\n' }]));
      break;
    case 'pkg-symlink-over-host':
      pkgs.push(await deb(box, 'b-payload', [...dirEntries, { name: './usr/share/evil/victim', type: 'symlink', linkname: '/bin/sh' }]));
      break;
    case 'pkg-dir-and-file':
      pkgs.push(
        await deb(box, 'b-payload', [
          ...dirEntries,
          { name: './usr/share/evil/sub/', type: 'directory' },
          { name: './usr/share/evil/sub/planted', body: 'pwned\n' },
        ]),
      );
      break;
    case 'pkg-hardlink':
      pkgs.push(
        await deb(box, 'b-payload', [
          ...dirEntries,
          { name: './usr/share/evil/orig', body: 'pwned\n' },
          { name: './usr/share/evil/victim', type: 'link', linkname: './usr/share/evil/orig' },
        ]),
      );
      break;
    case 'overlay-file':
      mkdirSync(join(overlay, 'usr/share/evil'), { recursive: true });
      writeFileSync(join(overlay, 'usr/share/evil/victim'), 'pwned\n');
      break;
    case 'overlay-symlink':
      mkdirSync(join(overlay, 'usr/share/evil'), { recursive: true });
      spawnSync('ln', ['-s', '/bin/sh', join(overlay, 'usr/share/evil/victim')]);
      break;
    case 'overlay-dir':
      mkdirSync(join(overlay, 'usr/share/evil/sub'), { recursive: true });
      break;
    case 'generated':
      generated.push({ path: 'usr/share/evil/victim', data: 'secret key\n', mode: 0o600 });
      break;
    case 'helper': {
      const bin = join(box, 'vrio-iohyp');
      copyFileSync('/bin/true', bin);
      binaries['usr/share/evil/victim'] = bin;
      break;
    }
    case 'modules':
      mkdirSync(join(box, 'no-modules/lib/modules', RELEASE, 'extra'), { recursive: true });
      writeFileSync(join(box, 'no-modules/lib/modules', RELEASE, 'extra/victim.ko'), 'not really a module\n');
      break;
  }
  const before = snapshot(box, ['stage', 'pkgs']);
  const plan: RootfsPlan = { role: 'test', packages: pkgs, requested: pkgs.map((p) => p.pkg.name), kernel, overlayDirs: [overlay], generated, binaries };
  tried++;
  let err: Error | undefined;
  try {
    await assembleRootfs(join(box, 'stage'), plan, join(box, 'log'));
  } catch (e) {
    err = e as Error;
  }
  const after = snapshot(box, ['stage', 'pkgs']);
  if (JSON.stringify(after) !== JSON.stringify(before)) hostChanges++;
  assert.deepEqual(after, before, `${form}/${layer}: nothing outside the stage may change`);
  assert.ok(err, `${form}/${layer}: the merge must be refused`);
  assert.match(
    err.message,
    new RegExp(`refused '${at}(/[^']*)?': '${at}' is a symlink \\(-> [^)]*host\\) \\(made by package a-links\\) \\[through-symlink\\]`),
    `${form}/${layer}: ${err.message}`,
  );
  refused++;
}

describe('hostile package merges (issue #15)', () => {
  for (const form of ['absolute', 'chain'] as const) {
    for (const layer of LAYERS) it(`${form} link + ${layer}: refused, nothing outside the stage touched`, () => hostileMerge(form, layer));
  }

  it('a library link that climbs out through a chain of links is resolved in the image, never on the host', async () => {
    const box = join(tmp, 'chain-read');
    mkdirSync(box);
    // On the host, stage/esc/lib64 is <box>/lib64: a host "loader" that must not be taken as the image's.
    mkdirSync(join(box, 'lib64'));
    writeFileSync(join(box, 'lib64', 'ld-host.so'), 'host file\n');
    const pkg = await deb(box, 'app', [
      { name: './a/', type: 'directory' },
      { name: './a/b/', type: 'directory' },
      { name: './a/b/c/', type: 'directory' },
      { name: './a/b/c/up', type: 'symlink', linkname: '../../..' },
      { name: './esc', type: 'symlink', linkname: 'a/b/c/up/..' },
      { name: './lib/', type: 'directory' },
      { name: './lib/ld.so', type: 'symlink', linkname: '/esc/lib64/ld-host.so' },
      { name: './usr/', type: 'directory' },
      { name: './usr/bin/', type: 'directory' },
      // An ELF (x86_64, static, PT_INTERP /lib/ld.so) built here.
      { name: './usr/bin/tool', body: elfWithInterp(box, '/lib/ld.so'), mode: 0o755 },
    ]);
    const kernel: KernelArtifacts = {
      role: 'test',
      release: RELEASE,
      hash: 'x',
      bzImage: '',
      systemMap: '',
      config: '',
      modulesRoot: join(box, 'none'),
      modules: [],
      sourceTree: '',
      buildDir: '',
      inputs: [],
      patches: [],
    };
    const before = snapshot(box, ['stage', 'pkgs']);
    tried++;
    await assert.rejects(
      assembleRootfs(
        join(box, 'stage'),
        { role: 'test', packages: [pkg], requested: ['app'], kernel, overlayDirs: [], generated: [], binaries: {} },
        join(box, 'log'),
      ),
      (e: Error) => {
        // In the image, esc is / (up is /, and /.. is /): the loader would be /lib64/ld-host.so, which no package has.
        assert.match(
          e.message,
          /usr\/bin\/tool: interpreter \/lib\/ld\.so: rootfs: symlink lib\/ld\.so -> \/esc\/lib64\/ld-host\.so leads to no file in the image/,
        );
        return true;
      },
    );
    refused++;
    assert.deepEqual(snapshot(box, ['stage', 'pkgs']), before);
    printFigures('hostile-rootfs', { merges_tried: tried, refused, host_changes: hostChanges, forms: 2, layers: LAYERS.length });
  });
});

function elfWithInterp(box: string, interp: string): Buffer {
  const c = join(box, 'tool.c');
  writeFileSync(c, 'void _start(void) { for (;;) ; }\n');
  const r = spawnSync('gcc', ['-o', join(box, 'tool'), c, '-nostdlib', `-Wl,--dynamic-linker=${interp}`, '-Wl,-z,noexecstack'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(box, 'tool'));
}
