// "Every problem at once": an inventory with schema errors still gets its
// semantic checks (uniqueness, references, vRIO constraints) on the parts that
// are well-formed, so fixing the schema error does not reveal a second round.
// Through parseInventory and the real CLI (`vrio inventory check`, exit 2).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { tempDir, vrio } from '../support/cli.js';
import { baseInventory, issuesOf } from './inventory-fixtures.js';

type Inv = Record<string, any>;
const tmp = tempDir('vrio-inv-all-');
after(tmp.cleanup);

const show = (issues: { pointer: string; rule: string; message: string }[]) => issues.map((i) => `${i.pointer} [${i.rule}] ${i.message}`).join('\n');

// [what, mutation, schema error (pointer, rule), semantic error (pointer, rule)]
const cases: [string, (i: Inv) => void, [string, string], [string, string]][] = [
  [
    'an unknown key and a duplicate address',
    (i) => ((i.guests.g1.colour = 'red'), (i.guests.g2.address = '192.0.2.11')),
    ['/guests/g1/colour', 'additionalProperties'],
    ['/guests/g2/address', 'unique-address'],
  ],
  [
    'a bad port and a duplicate MAC',
    (i) => ((i.connection.port = 70000), (i.guests.g2.l2.mac = '52:54:00:00:00:02')),
    ['/connection/port', 'maximum'],
    ['/guests/g2/l2/mac', 'unique-mac'],
  ],
  [
    'a guest missing its l2 (semantic checks would trip over it) and a duplicate address elsewhere',
    (i) => (delete i.guests.g1.l2, (i.guests.g2.address = '192.0.2.10')),
    ['/guests/g1', 'required'],
    ['/guests/g2/address', 'unique-address'],
  ],
  [
    'a malformed group and an unknown IOhyp',
    (i) => ((i.groups.lab.hosts = 'io1'), (i.guests.g2.iohyp = 'io9')),
    ['/groups/lab/hosts', 'type'],
    ['/guests/g2/iohyp', 'iohyp-exists'],
  ],
  [
    "a bad device type (semantic checks would trip over it) and a guest with its IOhyp's IP",
    (i) => ((i.guests.g1.devices[0].type = 'disk'), (i.guests.g2.l2.ip = '10.55.0.1/24')),
    ['/guests/g1/devices/0/type', 'enum'],
    ['/guests/g2/l2/ip', 'unique-ip'],
  ],
  [
    'a bad MTU type and a jump loop',
    (i) => ((i.iohyps.io1.mtu = 'big'), (i.guests.g1.connection = { jump: 'g2' }), (i.guests.g2.connection = { jump: 'g1' })),
    ['/iohyps/io1/mtu', 'type'],
    ['/guests/g1/connection/jump', 'jump-loop'],
  ],
];

describe('inventory: schema and semantic problems reported together', () => {
  for (const [what, mut, [sp, sr], [mp, mr]] of cases) {
    it(what, () => {
      const inv: Inv = baseInventory();
      mut(inv);
      const issues = issuesOf(inv);
      assert.ok(
        issues.some((i) => (i.pointer === sp || i.pointer.startsWith(sp + '/')) && (!sr || i.rule === sr)),
        `schema error at ${sp} [${sr}] expected:\n${show(issues)}`,
      );
      const sem = issues.find((i) => i.pointer === mp && i.rule === mr);
      assert.ok(sem, `semantic error at ${mp} [${mr}] expected:\n${show(issues)}`);
      assert.ok(sem.line && sem.line > 0, 'with its line');
    });
  }

  it('a value the schema refused does not also get semantic errors built on it', () => {
    const inv: Inv = baseInventory();
    inv.guests.g1.l2.ip = '10.55.0.300/24'; // not an IPv4 address: a schema error
    const issues = issuesOf(inv);
    const at = issues.filter((i) => i.pointer === '/guests/g1/l2/ip');
    assert.ok(at.length && at.every((i) => i.rule === 'pattern' || i.rule === 'format'), show(issues));
  });

  it('nothing is concluded from a refused value elsewhere (no "prefix differs from /undefined")', () => {
    for (const mut of [
      (i: Inv) => (i.iohyps.io1.l2.address = 'x'),
      (i: Inv) => (i.iohyps.io1.l2.segment = 42),
      (i: Inv) => (i.iohyps.io1.l2.address = '300.1.1.1/24'),
      (i: Inv) => (i.iohyps.io1.mtu = 67),
    ]) {
      const inv: Inv = baseInventory();
      mut(inv);
      const issues = issuesOf(inv);
      assert.ok(issues.length && issues.every((i) => i.pointer.startsWith('/iohyps/io1/')), show(issues));
    }
  });

  it('cpuAffinity 0 (refused by a `not`) is reported beside an unknown key elsewhere (was: dropped from the report)', () => {
    const inv: Inv = baseInventory();
    inv.iohyps.io1.cpuAffinity = 0;
    inv.iohyps.io1.mtuu = 1500;
    assert.deepEqual(
      issuesOf(inv).map((i) => `${i.pointer} [${i.rule}] ${i.message}`),
      ["/iohyps/io1/mtuu [additionalProperties] unknown key 'mtuu'", '/iohyps/io1/cpuAffinity [not] must NOT be valid'],
    );
  });

  it('a malformed top-level section: its schema errors alone, no dangling references', () => {
    const inv: Inv = baseInventory();
    inv.iohyps = [inv.iohyps.io1];
    const issues = issuesOf(inv);
    assert.ok(issues.length && issues.every((i) => i.pointer.startsWith('/iohyps')), show(issues));
  });

  it('an entry left out because it is malformed is not reported as missing', () => {
    const inv: Inv = baseInventory();
    delete inv.iohyps.io1.l2; // schema error; the guests and the group still name io1
    const issues = issuesOf(inv);
    assert.ok(!issues.some((i) => i.rule === 'iohyp-exists' || i.rule === 'host-exists'), show(issues));
  });

  it('vrio inventory check prints both and exits 2', () => {
    const inv: Inv = baseInventory();
    inv.guests.g1.colour = 'red';
    inv.guests.g2.address = '192.0.2.11';
    const f = join(tmp.dir, 'inv.yaml');
    writeFileSync(f, stringify(inv));
    const r = vrio(['inventory', 'check', f], { cwd: tmp.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /inv\.yaml:\d+:\d+: \/guests\/g1\/colour: unknown key 'colour' \[additionalProperties\]/);
    assert.match(r.stderr, /inv\.yaml:\d+:\d+: \/guests\/g2\/address: .*\[unique-address\]/);
  });
});
