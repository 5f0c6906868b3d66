// `vrio clean` through the real CLI (issue #15): an output or cache dir that is
// a symlink to a home directory, or any directory vrio did not create, is
// refused (exit 2, naming the real path and how to remove it by hand) and not
// one file in it changes; a directory vrio created is emptied, links inside it
// are removed without touching what they point to.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { claimDir } from '../../builder/owned-dirs.js';
import { tempDir, vrio } from '../support/cli.js';

const t = tempDir('vrio-clean-');
after(t.cleanup);
let n = 0;

/** A directory with a few files that must survive. */
function precious(name: string): string {
  const d = join(t.dir, name);
  mkdirSync(join(d, 'docs'), { recursive: true });
  writeFileSync(join(d, 'docs', 'thesis.tex'), 'years of work\n');
  writeFileSync(join(d, '.bashrc'), 'alias ll="ls -l"\n');
  return d;
}

function listing(d: string): string[] {
  return (readdirSync(d, { recursive: true }) as string[]).sort();
}

describe('vrio clean (issue #15)', () => {
  const cwd = join(t.dir, 'work');
  mkdirSync(cwd);

  it('refuses an output dir that is a symlink to the home directory; nothing in it is deleted', () => {
    const home = precious(`home${n++}`);
    const before = listing(home);
    symlinkSync(home, join(cwd, 'out-home'));
    const r = vrio(['clean', '-o', 'out-home'], { cwd, env: { HOME: home } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`refusing to clean output directory .*out-home \\(which is ${home}\\): it is a home directory`));
    assert.deepEqual(listing(home), before);
    assert.equal(readFileSync(join(home, 'docs/thesis.tex'), 'utf8'), 'years of work\n');
  });

  it('refuses a cache that is a symlink to a directory holding a home (--all), before touching the outputs', () => {
    const parent = join(t.dir, `homes${n++}`);
    mkdirSync(parent);
    const home = precious(join(`homes${n - 1}`, 'alice'));
    const out = join(t.dir, 'out-ok');
    claimDir(out, 'output');
    writeFileSync(join(out, 'build.log'), 'x');
    symlinkSync(parent, join(cwd, 'cache-link'));
    const r = vrio(['clean', '--all', '-o', out, '--cache-dir', 'cache-link'], { cwd, env: { HOME: home } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /refusing to clean cache .*cache-link \(which is .*\): it contains the home directory .*alice/);
    assert.ok(existsSync(join(home, 'docs/thesis.tex')));
    assert.ok(existsSync(join(out, 'build.log')), 'nothing is deleted when any directory is refused');
  });

  it('refuses a directory vrio did not create (no marker), even through a symlink, and says how to remove it by hand', () => {
    const mine = precious(`project${n++}`);
    const before = listing(mine);
    symlinkSync(mine, join(cwd, 'out-project'));
    const r = vrio(['clean', '-o', 'out-project'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /it has no \.vrio-output marker/);
    assert.ok(r.stderr.includes(`rm -rf -- '${mine}'`), r.stderr);
    assert.deepEqual(listing(mine), before);
  });

  it('refuses /', () => {
    const r = vrio(['clean', '-o', '/'], { cwd });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to clean output directory \/: it is \/ or a system directory/);
  });

  it('empties a directory the builder created (marker from vrio fetch), removing links inside without following them', () => {
    const out = join(t.dir, `out${n++}`);
    const cache = join(t.dir, `cache${n++}`);
    // A real CLI run creates both (and fails offline: nothing is cached).
    const f = vrio(['fetch', '--offline', '--cache-dir', cache, '-o', out], { cwd });
    assert.equal(f.code, 1, f.stderr);
    assert.ok(existsSync(join(out, '.vrio-output')) && existsSync(join(cache, '.vrio-cache')), 'the markers are written when the dirs are created');
    const victim = precious(`victim${n++}`);
    const before = listing(victim);
    mkdirSync(join(out, 'kernel', 'trees'), { recursive: true });
    writeFileSync(join(out, 'kernel', 'trees', 'x'), 'x');
    symlinkSync(victim, join(out, 'images'));
    symlinkSync(victim, join(cache, 'debs'));
    // Through a symlink to the output dir: the real (marked) directory is cleaned.
    symlinkSync(out, join(cwd, 'out-link'));
    const r = vrio(['clean', '--all', '-o', 'out-link', '--cache-dir', cache], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['.vrio-output', '.vrio.lock', 'kernel']);
    assert.deepEqual(readdirSync(join(out, 'kernel')), ['.vrio.lock']);
    assert.deepEqual(readdirSync(cache).sort(), ['.vrio-cache', '.vrio.lock']);
    assert.deepEqual(listing(victim), before, 'a link inside is removed, its target untouched');
  });
});
