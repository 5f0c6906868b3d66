// YAML inventory details checked against the real ansible-inventory (2.14):
// dates and timestamps print as Python's isoformat(), host and group names
// that YAML reads as numbers/booleans are rejected as Ansible rejects them
// (naming the file and line), a bad host range names its line, and a missing
// vRIO field on many hosts is one warning with a count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../lib/errors.js';
import { importAnsibleFile } from '../../provision/ansible/index.js';
import { ansibleList, ansibleMissing, compareFile, emptyFigures } from '../support/ansible.js';
import { prerequisite } from '../support/prereq.js';

const dir = mkdtempSync(join(tmpdir(), 'vrio-ansible-yaml-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string, ext = '.yml'): string {
  const f = join(dir, `inv${n++}${ext}`);
  writeFileSync(f, text);
  return f;
}

/** The import error's issues (it must fail). */
function rejected(f: string): InputError['issues'] {
  try {
    importAnsibleFile(f, { iohyps: ['all'] });
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
  assert.fail(`${f} was imported`);
}

/** Ansible's stderr with the line wrapping undone. */
const ansibleSays = (f: string) => ansibleList(f).stderr.replace(/\s+/g, ' ');

describe('YAML inventories: what ansible-inventory does', { skip: prerequisite(ansibleMissing()) }, () => {
  it('dates and timestamps come out as Ansible prints them (isoformat, written UTC offset kept)', () => {
    const f = file(`iohyps:
  hosts:
    io1:
      day: 2024-01-02
      stamp: 2024-01-02 10:20:30
      frac: 2002-12-14 21:59:43.1
      offset: 2001-12-14t21:59:43.10-05:00
      zulu: 2024-01-02T10:20:30Z
      short_offset: 2002-1-4 1:59:43 +5
      half_hour: 2024-01-02 10:20:30 -00:30
      tiny_fraction: 2024-01-02 10:20:30.0000001
      not_a_date: 2024-1-2
`);
    const truth = ansibleList(f).hostvars.io1;
    assert.equal(truth.day, '2024-01-02', 'Ansible prints a date');
    const fig = emptyFigures();
    assert.deepEqual(compareFile(f, fig, dir), []);
    assert.equal(fig.varsCompared, 9, 'every date value compared with Ansible');
  });

  it('a host name YAML reads as a number, boolean, null or date is rejected as Ansible rejects it, naming the line', () => {
    for (const [key, shown] of [
      ['1', '1'],
      ['1.0', '1.0'],
      ['0x1F', '31'],
      ['true', 'True'],
      ['~', 'None'],
      ['2024-01-02', '2024-01-02'],
    ]) {
      const f = file(`iohyps:\n  hosts:\n    web1:\n    ${key}:\n      vrio_interface: eth1\n`);
      const message = `Host pattern ${shown} must be a string. Enclose integers/floats in quotation marks.`;
      assert.ok(ansibleSays(f).includes(message), `Ansible says: ${ansibleSays(f)}`);
      const fig = emptyFigures();
      assert.deepEqual(compareFile(f, fig, dir), []);
      assert.equal(fig.rejectedByBoth, 1, `${key}: rejected by both`);
      const [issue] = rejected(f);
      assert.equal(issue.message, message);
      assert.equal(issue.line, 4);
      assert.equal(issue.file, f);
    }
    // Quoted, it is a name: both accept it.
    const ok = file(`iohyps:\n  hosts:\n    "10":\n      vrio_interface: eth1\n`);
    assert.deepEqual(compareFile(ok, emptyFigures(), dir), []);
  });

  it('a group name YAML reads as a number or boolean is rejected as Ansible rejects it, naming the line', () => {
    for (const [text, line, message] of [
      [
        'all:\n  children:\n    7:\n      hosts:\n        h1:\n',
        3,
        "Unable to add group 7: Invalid group name supplied, expected a string but got <class 'int'> for 7",
      ],
      ['5.5:\n  hosts:\n    h1:\n', 1, "Unable to add group 5.5: Invalid group name supplied, expected a string but got <class 'float'> for 5.5"],
      ['0:\n  hosts:\n    h1:\n', 1, 'Unable to add group 0: Invalid empty/false group name provided: 0'],
      ['g:\n  children:\n    false:\n      hosts:\n        h1:\n', 3, 'Unable to add group False: Invalid empty/false group name provided: False'],
    ] as const) {
      const f = file(text);
      assert.ok(ansibleSays(f).includes(message), `Ansible says: ${ansibleSays(f)}`);
      const fig = emptyFigures();
      assert.deepEqual(compareFile(f, fig, dir), []);
      assert.equal(fig.rejectedByBoth, 1);
      const [issue] = rejected(f);
      assert.ok(issue.message.startsWith(message), issue.message);
      assert.equal(issue.line, line, message);
    }
  });

  it('a bad host range in YAML names its line', () => {
    for (const [pattern, ansibleWords] of [
      ['b[1:3:0]', 'range() arg 3 must not be zero'],
      ['b[1:x]', 'invalid literal for int()'],
    ]) {
      const f = file(`iohyps:\n  vars:\n    vrio_interface: eth1\n  hosts:\n    a:\n    "${pattern}":\n`);
      assert.ok(ansibleSays(f).includes(ansibleWords), `Ansible says: ${ansibleSays(f)}`);
      const fig = emptyFigures();
      assert.deepEqual(compareFile(f, fig, dir), []);
      assert.equal(fig.rejectedByBoth, 1);
      const [issue] = rejected(f);
      assert.equal(issue.rule, 'host-range');
      assert.equal(issue.line, 6, `${pattern}: ${issue.message}`);
    }
  });

  it('a vRIO field missing on many hosts is one warning naming a few of them and the count', () => {
    const f = file('[iohyps]\nnode[001:300]\n[guests]\nvm[1:40] vrio_interface=eth0\n', '.ini');
    const truth = Object.keys(ansibleList(f).hostvars);
    assert.equal(truth.length, 340);
    const { warnings } = importAnsibleFile(f, {});
    const iface = warnings.filter((w) => w.includes('l2.interface'));
    assert.deepEqual(iface, [
      'set l2.interface on 300 hosts (node001, node002, node003, node004, node005 and 295 more): the NIC on the vRIO segment; vrio_interface in Ansible, on the hosts or a group of theirs',
    ]);
    for (const field of ['iohyp', 'l2.mac', 'l2.ip']) {
      const lines = warnings.filter((w) => w.startsWith(`set ${field} on`));
      assert.equal(lines.length, 1, field);
      assert.match(lines[0], /^set \S+ on 40 hosts \(vm1, vm2, vm3, vm4, vm5 and 35 more\)/);
    }
    assert.ok(warnings.length <= 6, `${warnings.length} warnings for 340 hosts`);
  });
});
