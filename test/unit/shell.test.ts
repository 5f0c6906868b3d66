// The one shell-quoting module (lib/shell.ts): what provision, smoke, the lab
// and the Ansible INI export hand to a POSIX shell. Each quoted word is checked
// by a real sh reading it back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { commandLine, quote, shScript } from '../../lib/shell.js';

describe('shell quoting', () => {
  test('plain words stay as they are; others are single-quoted', () => {
    assert.equal(quote('/dev/ram0'), '/dev/ram0');
    assert.equal(quote('02:00:00:00:99:01'), '02:00:00:00:99:01');
    assert.equal(quote("a b'c"), `'a b'\\''c'`);
    assert.equal(quote('$(reboot)'), `'$(reboot)'`);
    assert.equal(quote(''), "''");
  });

  test('sh reads every word back unchanged', () => {
    const words = ["it's", 'a b', '$(touch /tmp/pwned-vrio)', '*', 'x\ny', '`id`', '', '\\', '"', '~', '#x', 'é€'];
    const out = execFileSync('sh', ['-c', commandLine(['printf', '[%s]\\n', ...words])], { encoding: 'utf8' });
    assert.equal(out, words.map((w) => `[${w}]\n`).join(''));
  });

  test('a NUL byte or an empty command is refused, not truncated', () => {
    assert.throws(() => quote('a\u0000b'), /NUL byte/);
    assert.throws(() => commandLine([]), /empty command/);
  });

  test('shScript passes its arguments as positional parameters', () => {
    const out = execFileSync('sh', ['-c', commandLine(shScript('printf "%s|" "$@"', ['a b', '$x']))], { encoding: 'utf8' });
    assert.equal(out, 'a b|$x|');
  });
});
