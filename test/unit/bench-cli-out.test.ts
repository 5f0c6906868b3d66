// `vrio bench` writes its reports where the user runs it, not into the
// installed package's own bench/results (where an npm install would keep them
// out of sight, or fail to write). A real quick run over one sshd host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { which } from '../../lib/exec.js';
import { packageRoot } from '../../lib/paths.js';
import { prerequisite } from '../support/prereq.js';
import { sshdSupport } from '../support/sshd.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-out-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function skipReason(): string | false {
  const s = sshdSupport();
  if (!s.ok) return s.reason ?? 'no sshd';
  if (!which('ansible-playbook')) return 'ansible-playbook missing (scripts/apt-packages.txt: ansible-core)';
  return false;
}

describe('vrio bench output directory', { skip: prerequisite(skipReason()) }, () => {
  it('defaults to the working directory', { timeout: 300_000 }, () => {
    const results = join(packageRoot(), 'bench', 'results');
    const before = existsSync(results) ? readdirSync(results).sort() : [];
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist', 'cli', 'bin.js'), 'bench', '--quick', '--sections', 'provisioning', '--hosts', '1'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 280_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const names = readdirSync(tmp).sort();
    assert.equal(names.length, 3, names.join(' '));
    assert.deepEqual(
      names.map((n) => n.replace(/^\d{4}-\d{2}-\d{2}-quick\./, '')),
      ['html', 'json', 'md'],
    );
    assert.deepEqual(existsSync(results) ? readdirSync(results).sort() : [], before, 'nothing written into the package');
  });
});
