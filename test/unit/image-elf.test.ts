// DT_NEEDED/PT_INTERP reading on real binaries compiled here, and safe
// rejection of damaged files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readElf } from '../../builder/debs/elf.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-elf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cc(out: string, args: string[]): Buffer {
  const src = join(tmp, 'p.c');
  writeFileSync(src, '#include <math.h>\n#include <stdio.h>\nint main(int c, char **v) { printf("%f\\n", sqrt((double)c)); return 0; }\n');
  const r = spawnSync('gcc', ['-o', join(tmp, out), src, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(tmp, out));
}

describe('ELF dynamic section reader', () => {
  it('finds the interpreter and DT_NEEDED of a dynamic executable', () => {
    const e = readElf(cc('dyn', ['-lm', '-Wl,--no-as-needed', '-Wl,-rpath,/opt/x']));
    assert.ok(e);
    assert.equal(e.bits, 64);
    assert.equal(e.interp, '/lib64/ld-linux-x86-64.so.2');
    assert.deepEqual([...e.needed].sort(), ['libc.so.6', 'libm.so.6']);
    assert.deepEqual(e.runpath, ['/opt/x']);
  });

  it('reads a shared library SONAME and a static binary as needing nothing', () => {
    const so = readElf(cc('libx.so', ['-shared', '-fPIC', '-Wl,-soname,libx.so.1']));
    assert.equal(so?.soname, 'libx.so.1');
    const st = readElf(cc('static', ['-static', '-lm']));
    assert.ok(st);
    assert.equal(st.interp, undefined);
    assert.deepEqual(st.needed, []);
  });

  it('returns undefined for non-ELF and truncated or corrupt files instead of throwing', () => {
    const good = cc('dyn2', ['-lm']);
    assert.equal(readElf(Buffer.from('#!/bin/sh\n')), undefined);
    assert.equal(readElf(good.subarray(0, 40)), undefined);
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(0xffffffffffn, 32); // e_phoff far past the end
    assert.equal(readElf(bad), undefined);
  });
});
