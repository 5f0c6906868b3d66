// `vrio inventory import` against the real ansible-inventory, host by host, on
// inventories from public projects (test/fixtures/ansible-corpus, sources in
// its README.md). For each file: Ansible's --list output is the truth; our
// import (every host made an IOhyp with --iohyps all, l2.interface filled in)
// is loaded by our own inventory loader, and each host's address, port, user,
// groups and plain variables must be what Ansible gives it. Every variable we
// do not carry must be named in a warning. A file Ansible rejects must be
// rejected too. The figures are printed for the README's reliability section.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataPath } from '../../lib/paths.js';
import { ansibleMissing, compareFile, emptyFigures } from '../support/ansible.js';
import { prerequisite } from '../support/prereq.js';

const CORPUS = dataPath('test/fixtures/ansible-corpus');
/** Inventory directories, each compared as a whole (ansible-inventory -i DIR --list). */
const DIRECTORIES = join(CORPUS, 'directories');

/** Inventory files of the corpus (group_vars/host_vars contents and the README are not inventories). */
function corpusFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        if (n !== 'group_vars' && n !== 'host_vars' && p !== DIRECTORIES) walk(p);
      } else if (n !== 'README.md') out.push(p);
    }
  };
  walk(CORPUS);
  return out;
}

describe('inventory import matches ansible-inventory on the public corpus', { skip: prerequisite(ansibleMissing()) }, () => {
  it('every file: same hosts, addresses, ports, users, groups, plain variables; the rest warned; rejected files rejected by both', () => {
    const f = emptyFigures();
    const files = corpusFiles();
    assert.ok(files.length >= 15, `corpus has ${files.length} inventories`);
    const bad = files.flatMap((file) => compareFile(file, f, CORPUS));
    console.log(`ansible corpus: ${JSON.stringify(f)}`);
    assert.deepEqual(bad, []);
    assert.ok(f.compared > 50, `only ${f.compared} hosts compared`);
    assert.equal(f.unmappedWarned, f.unmappedSettings);
  });

  it('every inventory directory, read whole as ansible-inventory -i DIR reads it', () => {
    const f = emptyFigures();
    const dirs = readdirSync(DIRECTORIES)
      .sort()
      .map((n) => join(DIRECTORIES, n));
    assert.ok(dirs.length >= 2, `corpus has ${dirs.length} inventory directories`);
    const bad = dirs.flatMap((d) => compareFile(d, f, CORPUS));
    console.log(`ansible corpus directories: ${JSON.stringify(f)}`);
    assert.deepEqual(bad, []);
    assert.ok(f.compared >= 10, `only ${f.compared} hosts compared`);
    assert.ok(f.rejectedByBoth >= 1, 'a directory whose only inventory is hosts.ini is rejected by both');
    assert.equal(f.unmappedWarned, f.unmappedSettings);
  });
});
