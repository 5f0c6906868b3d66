// What --diff may show of a file (provision/ops/text-diff.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIFF_MAX_BYTES, showable, unifiedDiff } from '../../provision/ops/text-diff.js';

describe('--diff of file contents', () => {
  it('is a diff -u of host -> inventory text', () => {
    assert.equal(
      unifiedDiff('/etc/motd', Buffer.from('a\nb\nc\n'), Buffer.from('a\nB\nc\n')),
      ['--- /etc/motd (host)', '+++ /etc/motd (inventory)', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c'].join('\n'),
    );
  });
  it('only for files anyone may read, on the host and in the inventory', () => {
    assert.equal(showable(0o644, 0o644), true);
    assert.equal(showable(0o640, 0o644), false, 'the host file is not world-readable');
    assert.equal(showable(0o644, 0o600), false, 'the inventory makes it private');
    assert.equal(showable(0o604, 0o604), true);
  });
  it('never for binary data or files over the limit', () => {
    assert.equal(unifiedDiff('/bin/x', Buffer.from([0x7f, 0x45, 0x00]), Buffer.from('text\n')), undefined, 'a NUL byte');
    assert.equal(unifiedDiff('/x', Buffer.from([0xff, 0xfe]), Buffer.from('text\n')), undefined, 'invalid UTF-8');
    assert.equal(unifiedDiff('/x', Buffer.alloc(DIFF_MAX_BYTES + 1, 0x61), Buffer.from('a\n')), undefined, 'over the limit');
    assert.equal(unifiedDiff('/x', Buffer.from('text\n'), Buffer.from([0x61, 0x00])), undefined, 'binary in the inventory');
    assert.equal(unifiedDiff('/x', Buffer.from('text\n'), Buffer.from([0xc3])), undefined, 'invalid UTF-8 in the inventory');
    assert.equal(unifiedDiff('/x', Buffer.from('text\n'), Buffer.alloc(DIFF_MAX_BYTES + 1, 0x61)), undefined, 'the inventory side over the limit');
  });
  it('a file of exactly the limit is diffed', () => {
    const host = Buffer.alloc(DIFF_MAX_BYTES, 0x61);
    host[DIFF_MAX_BYTES - 1] = 0x0a;
    assert.equal(unifiedDiff('/x', host, Buffer.from('b\n'))?.split('\n').slice(0, 3).join('\n'), '--- /x (host)\n+++ /x (inventory)\n@@ -1,1 +1,1 @@');
  });
  it('shows 3 lines of context, like diff -u, and nothing after the last line', () => {
    const lines = (n: number, changed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i === changed ? 'X' : `l${i}`)).join('\n') + '\n');
    assert.equal(
      unifiedDiff('/etc/f', lines(12, -1), lines(12, 6)),
      ['--- /etc/f (host)', '+++ /etc/f (inventory)', '@@ -4,7 +4,7 @@', ' l3', ' l4', ' l5', '-l6', '+X', ' l7', ' l8', ' l9'].join('\n'),
    );
  });
});
