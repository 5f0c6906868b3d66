// `vrio inventory import DIR` against `ansible-inventory -i DIR --list` (2.14):
// which files Ansible reads in a directory and in what order, which plugin
// takes each, how they merge into one inventory, and whose group_vars/ and
// host_vars/ count. Each case is compared host by host (test/support/ansible.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';
import { importAnsibleFile } from '../../provision/ansible/index.js';
import { ansibleList, ansibleMissing, compareFile, emptyFigures } from '../support/ansible.js';
import { prerequisite } from '../support/prereq.js';

const root = mkdtempSync(join(tmpdir(), 'vrio-ansible-dir-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh inventory directory holding these files (path -> text). */
function tree(spec: Record<string, string>): string {
  const base = join(root, `inv${n++}`);
  mkdirSync(base);
  for (const [p, text] of Object.entries(spec)) {
    mkdirSync(dirname(join(base, p)), { recursive: true });
    writeFileSync(join(base, p), text);
  }
  return base;
}

function matches(dir: string) {
  const f = emptyFigures();
  assert.deepEqual(compareFile(dir, f, root), []);
  assert.ok(f.compared > 0, 'some host was compared');
  return f;
}

describe('inventory import of a directory agrees with ansible-inventory -i DIR', { skip: prerequisite(ansibleMissing()) }, () => {
  it("skips what Ansible skips: hidden names, '.ini', '~', '.md', '.retry', '.cfg', group_vars as an inventory", () => {
    const dir = tree({
      hosts: '[iohyps]\nio1\n',
      'extra.ini': '[iohyps]\nini1\n',
      'hosts~': '[iohyps]\nbackup1\n',
      '.hidden': '[iohyps]\nhidden1\n',
      'README.md': '[iohyps]\nmd1\n',
      'site.retry': 'retry1\n',
      'ansible.cfg': '[iohyps]\ncfg1\n',
      'group_vars/iohyps.yml': 'tier: gold\n',
    });
    matches(dir);
    assert.deepEqual(Object.keys(ansibleList(dir).hostvars), ['io1']);
    const r = importAnsibleFile(dir, { iohyps: ['all'] });
    assert.deepEqual([...r.names.keys()], ['io1']);
    assert.equal(r.inventory.iohyps!.io1.vars?.tier ?? r.inventory.vars?.tier, 'gold');
    assert.ok(r.warnings.some((w) => w.includes("extra.ini: skipped, as Ansible skips '.ini' files")));
  });

  it('reads files in byte order and sub-directories recursively, each with its own plugin, merged into one inventory', () => {
    const dir = tree({
      // INI, extensionless YAML, .yml and .json YAML inventories side by side.
      '01-web': '[web]\nweb1 ansible_port=2201 role=a\nweb2\n',
      '02-db': 'db:\n  hosts:\n    db1:\n      role: b\n',
      'B-later.yml': 'all:\n  hosts:\n    web1:\n      role: later\n      ansible_port: 2299\n',
      'a-sub/10-more': '[web]\nweb3\n[prod:children]\nweb\ndb\n',
      'a-sub/group_vars/web.yml': 'ignored_here: true\n',
      'c.json': '{"edge": {"hosts": {"edge1": {"role": "json"}}}}',
      'group_vars/web.yml': 'tier: front\n',
      'host_vars/db1.yml': 'role: from-host-vars\n',
    });
    matches(dir);
    const truth = ansibleList(dir);
    assert.equal(truth.hostvars.web1.role, 'later', 'a later file overrides a host variable');
    assert.equal(truth.hostvars.web1.ansible_port, 2299);
    assert.deepEqual(truth.groups.web3.sort(), ['prod', 'web']);
    assert.equal(truth.hostvars.web1.ignored_here, undefined, "a sub-directory's group_vars are not read");
  });

  it('a file Ansible cannot parse is skipped with a warning; the rest is read (load order: parents before children fails)', () => {
    const dir = tree({
      '01-parents': '[production:children]\nweb\n',
      '02-web': '[web]\nweb1\n',
    });
    matches(dir);
    assert.deepEqual(ansibleList(dir).groups.web1, ['web']);
    const r = importAnsibleFile(dir, { iohyps: ['all'] });
    assert.ok(
      r.warnings.some((w) => w.includes('01-parents: skipped') && w.includes('includes undefined group: web')),
      r.warnings.join('\n'),
    );
  });

  it('a directory where nothing parses is refused by both, naming the files', () => {
    const dir = tree({ 'hosts.ini': '[iohyps]\nio1\n', 'group_vars/all.yml': 'a: 1\n' });
    const f = emptyFigures();
    assert.deepEqual(compareFile(dir, f, root), []);
    assert.equal(f.rejectedByBoth, 1);
    assert.throws(
      () => importAnsibleFile(dir, {}, 'inv'),
      (e: unknown) => e instanceof InputError && e.issues[0].rule === 'inventory-directory' && /hosts\.ini is skipped/.test(e.issues[0].hint ?? ''),
    );
  });

  it("an inventory script (#!) in the directory is refused: Ansible would run it, we don't", () => {
    const dir = tree({ hosts: '[iohyps]\nio1\n', 'zz-dynamic.py': '#!/usr/bin/env python3\nprint("{}")\n' });
    chmodSync(join(dir, 'zz-dynamic.py'), 0o755);
    assert.throws(
      () => importAnsibleFile(dir, {}, 'inv'),
      (e: unknown) => e instanceof InputError && e.issues[0].file === join('inv', 'zz-dynamic.py') && e.issues[0].rule === 'inventory-script',
    );
  });

  it('vrio inventory import DIR works from the command line', () => {
    const dir = tree({ hosts: '[iohyps]\nio1 vrio_interface=eth1\n' });
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), 'inventory', 'import', dir], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /io1:/);
  });
});
