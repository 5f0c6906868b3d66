// roles.<name>.cmdline goes into grub.cfg (`linux /boot/vmlinuz <cmdline>`) and
// isolinux.cfg (`APPEND ... <cmdline>`), where GRUB's script language reads ';'
// as a command separator, '$' as a variable, quotes, braces, '#' and backslashes
// as syntax, and a newline as a new directive. The manifest schema allows only
// characters a kernel command line of VAR=value words needs; a bad one is bad
// input (exit 2) naming file:line:column and the pointer, through the real CLI.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SAFE_CMDLINE } from '../../builder/image/iso.js';
import { dataPath } from '../../lib/paths.js';
import { tempDir, vrio } from '../support/cli.js';

const tmp = tempDir('vrio-cmdline-');
after(tmp.cleanup);

// YAML double-quoted scalars, so escapes like \n and \t stand for the character.
const BAD = [
  'console=ttyS0; reboot',
  'init=$prefix/evil',
  'a=${root}',
  'quiet\\nmenuentry evil {',
  'panic=10\\r',
  'a=\\"b c\\"',
  "a='b'",
  'a\\\\b',
  'x{y}',
  'quiet # comment',
  'a`id`',
  'a|b',
  'a&b',
  'a<b',
  'a>b',
  'a\\tb',
  'a*',
  'a[1]',
  'a!b',
];
const GOOD = [
  'console=tty0 console=ttyS0,115200 panic=10 no_timer_check',
  'vrio.ip=10.55.0.2/24 root=UUID=1234-ABCD modprobe.blacklist=a,b ip=::::eth0:dhcp',
  'dyndbg=+p log_buf_len=1M@0x1000 foo.bar=~x%y',
  '',
];

function manifest(name: string, cmdline: string): string {
  const f = join(tmp.dir, `${name}.yaml`);
  writeFileSync(f, `# cmdline test\nroles:\n  guest:\n    cmdline: "${cmdline}"\n`);
  return f;
}

describe('manifest cmdline', () => {
  BAD.forEach((c, i) => {
    it(`rejects ${JSON.stringify(c)} with exit 2, file:line:column and /roles/guest/cmdline`, () => {
      const f = manifest(`bad${i}`, c);
      const r = vrio(['--manifest', f, 'config', 'show'], { cwd: tmp.dir });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`${f}:4:14: /roles/guest/cmdline:`), r.stderr);
      assert.match(r.stderr, /\[pattern\]/);
      assert.match(r.stderr, /hint: .*kernel command line/);
    });
  });
  GOOD.forEach((c, i) => {
    it(`accepts ${JSON.stringify(c)}`, () => {
      const r = vrio(['--manifest', manifest(`good${i}`, c), '--json', 'config', 'show'], { cwd: tmp.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(JSON.stringify(c)), 'the value is kept as written');
    });
  });
});

describe('cmdline rule in two places', () => {
  it('the schema pattern is the one writeIso checks before grub.cfg', () => {
    const schema = JSON.parse(readFileSync(dataPath('builder/manifest.schema.json'), 'utf8'));
    assert.equal(schema.$defs.role.properties.cmdline.pattern, SAFE_CMDLINE.source);
  });
});
