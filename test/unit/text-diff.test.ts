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
  });
});
