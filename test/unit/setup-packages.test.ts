// scripts/setup.sh installs scripts/apt-packages.txt on a fresh machine (CI too):
// every entry must be a plain Debian package name after comments are stripped,
// exactly as the script strips them, or apt-get fails on CI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';

describe('setup package list', () => {
  it('parses into valid Debian package names the way setup.sh reads it', () => {
    const out = execFileSync(
      'bash',
      [
        '-c',
        `mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' -e '/^$/d' scripts/apt-packages.txt); printf '%s\\n' "\${pkgs[@]}"`,
      ],
      { cwd: dataPath(), encoding: 'utf8' },
    );
    const script = execFileSync('grep', ['-c', 's/\\[\\[:space:\\]\\]\\*\\$//', 'scripts/setup.sh'], { cwd: dataPath(), encoding: 'utf8' });
    assert.equal(script.trim(), '1', 'setup.sh strips trailing blanks the same way');
    const names = out.trim().split('\n');
    assert.ok(names.length > 20);
    for (const n of names) assert.match(n, /^[a-z0-9][a-z0-9+.-]+$/, `'${n}' is not a package name`);
    assert.ok(names.includes('linux-source-6.1') && names.includes('qemu-system-x86') && names.includes('openssh-server'));
  });
});
