// --limit with Ansible's pattern language, rolling batches, and the inventory
// arguments of the provision verbs (-i -, -i given twice, --list-hosts, a limit
// that selects nothing). The same behaviours over ten real sshd hosts are in
// test/reliability/rolling-fleet.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ExitCode, UsageError } from '../../lib/errors.js';
import { closestName, requireHosts, selectHosts } from '../../provision/host-patterns.js';
import type { Inventory } from '../../provision/inventory-types.js';
import { parseInventory } from '../../provision/inventory.js';
import { batchStops, cells, parseSerial, rollingBatches } from '../../provision/serial.js';
import { tempDir, vrio } from '../support/cli.js';
import { baseInventory } from './inventory-fixtures.js';

/** io1 (g1, g2) and io2 (g3), g4 of io2; groups lab and edge. */
function fleet(): Inventory {
  const doc = baseInventory();
  doc.iohyps.io2 = { ...structuredClone(doc.iohyps.io1), address: '192.0.2.20', l2: { interface: 'eth0', address: '10.56.0.1/24', segment: 'seg2' } };
  for (const [n, i] of [
    ['g3', 4],
    ['g4', 5],
  ] as const)
    doc.guests[n] = {
      iohyp: 'io2',
      address: `192.0.2.${20 + i}`,
      l2: { interface: 'eth0', mac: `52:54:00:00:01:0${i}`, ip: `10.56.0.${i}/24`, segment: 'seg2' },
    };
  doc.groups.edge = { hosts: ['io2', 'g4'] };
  return parseInventory('fleet.yaml', stringify(doc));
}
const names = (inv: Inventory, ...p: string[]) => selectHosts(inv, p).hosts.map((h) => h.name);

describe('--limit patterns (Ansible semantics)', () => {
  const inv = fleet();
  it('names, groups, the role groups, all and *', () => {
    assert.deepEqual(names(inv, 'g1'), ['g1']);
    assert.deepEqual(names(inv, 'edge'), ['io2', 'g4']);
    assert.deepEqual(names(inv, 'iohyps'), ['io1', 'io2']);
    assert.deepEqual(names(inv, 'all'), names(inv, '*'));
    assert.equal(names(inv, 'all').length, 6);
  });
  it("',' and ':' both separate words; hosts come in the order of the words, once each (as ansible --list-hosts)", () => {
    assert.deepEqual(names(inv, 'g4,io1'), ['g4', 'io1']);
    assert.deepEqual(names(inv, 'g4:io1'), ['g4', 'io1']);
    assert.deepEqual(names(inv, 'g4', 'io1', 'edge'), ['g4', 'io1', 'io2']);
  });
  it('&word intersects, !word excludes, after the plain words are joined', () => {
    assert.deepEqual(names(inv, 'lab:&guests'), ['g1', 'g2']);
    assert.deepEqual(names(inv, 'guests:!edge'), ['g1', 'g2', 'g3']);
    assert.deepEqual(names(inv, '!edge:lab'), ['io1', 'g1', 'g2']);
    // A glob over group names excludes their hosts too (ansible 'grp01:!g*' selects nothing).
    assert.deepEqual(names(inv, 'lab:!e*'), ['io1', 'g1', 'g2']);
    assert.deepEqual(names(inv, 'lab:!l*'), []);
    // Only exclusions: they apply to every host.
    assert.deepEqual(names(inv, '!guests'), ['io1', 'io2']);
    assert.deepEqual(names(inv, '&edge'), ['io2', 'g4']);
  });
  it('globs match host and group names; ~ is a regular expression anchored at the start', () => {
    assert.deepEqual(names(inv, 'g?'), ['g1', 'g2', 'g3', 'g4']);
    assert.deepEqual(names(inv, 'ed*'), ['io2', 'g4'], 'the glob matched the group edge');
    assert.deepEqual(names(inv, '~g[13]'), ['g1', 'g3']);
    assert.deepEqual(names(inv, '~[13]'), [], 'anchored: ~[13] does not match g1');
  });
  it('a word that matches nothing is reported with the closest name; a limit that selects nothing is a usage error', () => {
    assert.deepEqual(selectHosts(inv, ['g1,gg2,nothing_like_it']).unmatched, [
      { word: 'gg2', suggestion: 'g2' },
      { word: 'nothing_like_it', suggestion: undefined },
    ]);
    assert.equal(closestName('edgee', inv), 'edge');
    assert.equal(closestName('zzzzzz', inv), undefined);
    assert.throws(
      () => requireHosts(inv, ['iox1']),
      (e: unknown) =>
        e instanceof UsageError &&
        e.exitCode === ExitCode.USAGE &&
        /--limit 'iox1' selects no host of .*fleet\.yaml/.test(e.message) &&
        /did you mean 'io1'\?/.test(e.hint ?? ''),
    );
    assert.throws(() => requireHosts(inv, ['~[']), /not a valid regular expression/);
    assert.throws(() => requireHosts(inv, ['g1,!']), /'!' needs a host or group/);
  });
});

describe('rolling batches (--serial)', () => {
  const inv = fleet();
  const b = (hosts: Inventory['hosts'], s: string) => rollingBatches(hosts, parseSerial('--serial', s)).map((x) => x.map((h) => h.name));
  it('cells: each IOhyp with its selected guests, first; a guest without its IOhyp alone', () => {
    assert.deepEqual(
      cells(inv.hosts).map((c) => c.map((h) => h.name)),
      [
        ['io1', 'g1', 'g2'],
        ['io2', 'g3', 'g4'],
      ],
    );
    assert.deepEqual(
      cells(selectHosts(inv, ['guests:!g2', 'io2']).hosts).map((c) => c.map((h) => h.name)),
      [['g1'], ['io2', 'g3', 'g4']],
    );
  });
  it('whole cells per batch; a cell larger than the batch size goes alone; P% rounds down, at least 1', () => {
    assert.deepEqual(b(inv.hosts, '3'), [
      ['io1', 'g1', 'g2'],
      ['io2', 'g3', 'g4'],
    ]);
    assert.deepEqual(b(inv.hosts, '1'), [
      ['io1', 'g1', 'g2'],
      ['io2', 'g3', 'g4'],
    ]);
    assert.deepEqual(b(inv.hosts, '6'), [['io1', 'g1', 'g2', 'io2', 'g3', 'g4']]);
    const guests = selectHosts(inv, ['guests']).hosts;
    assert.deepEqual(b(guests, '50%'), [
      ['g1', 'g2'],
      ['g3', 'g4'],
    ]);
    assert.deepEqual(b(guests, '10%'), [['g1'], ['g2'], ['g3'], ['g4']]);
    assert.deepEqual(
      rollingBatches(guests, undefined).map((x) => x.length),
      [4],
    );
  });
  it('a batch stops the run when more than P% of it failed, or, without a budget, all of it', () => {
    assert.equal(batchStops(1, 4, 25), false);
    assert.equal(batchStops(2, 4, 25), true);
    assert.equal(batchStops(1, 4, 0), true);
    assert.equal(batchStops(3, 4, undefined), false);
    assert.equal(batchStops(4, 4, undefined), true);
    assert.equal(batchStops(0, 4, 0), false);
  });
  it('--serial values', () => {
    assert.deepEqual(parseSerial('--serial', '5'), { count: 5 });
    assert.deepEqual(parseSerial('--serial', '20%'), { percent: 20 });
    for (const bad of ['0', '0%', '101%', '-1', '1.5', 'x', '']) assert.throws(() => parseSerial('--serial', bad), UsageError, bad);
  });
});

describe('the inventory arguments of the provision verbs', () => {
  const tmp = tempDir('vrio-hostsel-');
  const file = join(tmp.dir, 'lab.yaml');
  writeFileSync(file, stringify(baseInventory()));
  it('--list-hosts prints the selection and connects to nothing (the addresses are TEST-NET, never reached)', () => {
    const r = vrio(['provision', 'apply', '-i', file, '--limit', 'lab:!g2', '--list-hosts']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '  hosts (2):\n    io1\n    g1\n');
  });
  it('-i - reads the inventory from standard input; empty input is bad input', () => {
    const r = vrio(['provision', 'plan', '-i', '-', '--list-hosts', '--limit', 'guests'], { input: stringify(baseInventory()), cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '  hosts (2):\n    g1\n    g2\n');
    const bad = vrio(['provision', 'plan', '-i', '-'], { input: 'version: 1\niohyps: 3\n', cwd: tmp.dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /<stdin>:2:\d+: \/iohyps: must be object/);
    const empty = vrio(['provision', 'plan', '-i', '-'], { input: '', cwd: tmp.dir });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /standard input was empty/);
  });
  it('a single-value option given twice is refused (it used to keep the last one)', () => {
    const r = vrio(['provision', 'plan', '-i', file, '-i', join(tmp.dir, 'other.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--inventory given 2 times \('.*lab\.yaml', '.*other\.yaml'\): it takes one value/);
  });
  it('a limit that selects nothing: exit 2 with a did-you-mean, before any connection', () => {
    const r = vrio(['provision', 'status', '-i', file, '--limit', 'gg1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--limit 'gg1' selects no host of .*lab\.yaml/);
    assert.match(r.stderr, /did you mean 'g1'\?/);
    assert.doesNotMatch(r.stderr, /connect/i);
  });
});
