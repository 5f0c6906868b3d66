// The `vrio` command line as a user meets it: help, version, usage errors (exit 2
// with a hint), config show with provenance, JSON output.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../../lib/paths.js';
import { eventOf, tempDir, vrio } from '../support/cli.js';

const tmp = tempDir('vrio-cli-');
after(tmp.cleanup);

describe('vrio CLI', () => {
  it('prints help listing the verbs and the exit codes', () => {
    const r = vrio(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /config show/);
    assert.match(r.stdout, /doctor/);
    assert.match(r.stdout, /Exit codes:[\s\S]*2 +bad input/);
  });

  it('prints the package version', () => {
    const r = vrio(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
  });

  it('gives every verb a --help with an example', async () => {
    const { commands } = await import('../../cli/commands/index.js');
    for (const c of commands) {
      const r = vrio([...c.name.split(' '), '--help']);
      assert.equal(r.code, 0, c.name);
      assert.match(r.stdout, new RegExp(`vrio ${c.name}`), c.name);
      assert.match(r.stdout, /Examples:\n  vrio /, `${c.name} has an example`);
    }
  });

  it('rejects an unknown verb with exit 2 and a suggestion', () => {
    const r = vrio(['doctr']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown verb 'doctr'/);
    assert.match(r.stderr, /did you mean 'vrio doctor'/);
  });

  it('rejects an unknown option with exit 2 and a suggestion', () => {
    const r = vrio(['config', 'show', '--rol', 'guest']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--rol/);
    assert.match(r.stderr, /did you mean '--role'/);
  });

  it('rejects stray arguments with exit 2', () => {
    const r = vrio(['doctor', 'extra']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unexpected argument 'extra'/);
  });

  it('exits 2 with usage when run without a verb', () => {
    const r = vrio([]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /Usage: vrio <verb>/);
  });

  it('shows the effective config and where each value came from', () => {
    const f = join(tmp.dir, 'vrio.yaml');
    writeFileSync(f, 'roles:\n  guest:\n    cmdline: console=ttyS0 quiet\n');
    const r = vrio(['config', 'show', '--role', 'guest'], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`manifest: ${f}`), './vrio.yaml is picked up by default');
    assert.match(r.stdout, new RegExp(`/roles/guest/cmdline +console=ttyS0 quiet +${f}`));
    assert.match(r.stdout, /\/kernel\/defconfig +x86_64_defconfig +default/);
    assert.doesNotMatch(r.stdout, /\/roles\/iohyp\//, '--role limits the output');
  });

  it('prints config as JSON with --json', () => {
    const r = vrio(['config', 'show', '--json', '--cache-dir', '/tmp/c'], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    const j = eventOf(r.stdout, 'config');
    assert.equal(j.config.cacheDir, '/tmp/c');
    assert.equal(j.origins['/cacheDir'], 'command line');
  });

  it('reports a bad manifest with file, line and pointer and exits 2', () => {
    const f = join(tmp.dir, 'bad.yaml');
    writeFileSync(f, 'image:\n  compresion: gzip\n');
    const r = vrio(['--manifest', f, 'config', 'show']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${f}:2:3: /image/compresion: unknown key 'compresion' \\[additionalProperties\\]`));
    assert.match(r.stderr, /did you mean 'compression'/);
  });

  it('emits machine-readable errors with --json', () => {
    const f = join(tmp.dir, 'bad2.yaml');
    writeFileSync(f, 'kernel:\n  jobs: -1\n');
    const r = vrio(['--json', '--manifest', f, 'config', 'show']);
    assert.equal(r.code, 2);
    const ev = eventOf(r.stdout, 'error');
    assert.equal(ev.issues[0].pointer, '/kernel/jobs');
    assert.equal(ev.issues[0].line, 2);
  });

  it('rejects a malformed --mirror value', () => {
    const r = vrio(['config', 'show', '--mirror', 'nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /NAME=PATH_OR_URL/);
  });

  it('publishes the manifest schema', () => {
    const r = vrio(['config', 'schema']);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).$schema, 'https://json-schema.org/draft/2020-12/schema');
  });
});
