// Rolling changes over TEN real sshd hosts (each in its own network namespace,
// modules simulated by test/support/fake-kernel.ts): five IOhyps with one guest
// each. What a fleet team relies on with --serial and --max-fail-percent:
//   - batches hold whole cells (an IOhyp with its guests), the IOhyp first;
//   - a batch starts only after the previous one has finished;
//   - when a batch fails beyond the budget, no later batch starts: those hosts
//     stay untouched (checked on the host side) and the recap says so, exit 1;
//   - without a budget, only a batch where every host fails stops the run.
// Host selection (patterns, --list-hosts, a limit that selects nothing) is
// checked against the same fleet, before any connection is made.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { events, tempDir, vrio } from '../support/cli.js';
import { startFakeKernelHost, type FakeKernelHost } from '../support/fake-kernel.js';
import { printFigures } from '../support/figures.js';
import { netnsSupport, sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const skip = prerequisite(!sshdSupport().ok ? sshdSupport().reason : !netnsSupport().ok ? netnsSupport().reason : false);

const MODULES = ['vt_eth', 'vt_gen'];
const CELLS = 5;
const names = Array.from({ length: CELLS }, (_, i) => [`io${i + 1}`, `g${i + 1}`]).flat();

describe('rolling changes: 10 real sshd hosts in 5 cells, --serial and --max-fail-percent', { skip }, () => {
  const tmp = tempDir('vrio-rolling-');
  const hosts = new Map<string, FakeKernelHost>();
  let inv: string;
  const figures = { hosts: names.length, runs: 0, batches: 0, 'hosts not started checked pristine': 0 };

  before(async () => {
    // g3 and g4 lack vt_gen: their apply fails at the second module (batch 2 of --serial 4).
    const started = await Promise.all(
      names.map((n) => startFakeKernelHost(Object.fromEntries((n === 'g3' || n === 'g4' ? ['vt_eth'] : MODULES).map((m) => [m, {}])))),
    );
    names.forEach((n, i) => hosts.set(n, started[i]));
    const entry = (n: string, extra: string) => {
      const h = hosts.get(n)!;
      return [
        `  ${n}:`,
        `    address: ${h.ns.address}`,
        `    connection: { identityFile: ${h.sshd.identityFile} }`,
        `    hostKey: "${h.sshd.hostKeyFingerprint}"`,
        `    modules: [ ${MODULES.map((m) => `{ name: ${m} }`).join(', ')} ]`,
        extra,
      ].join('\n');
    };
    inv = join(tmp.dir, 'fleet.yaml');
    writeFileSync(
      inv,
      [
        'version: 1',
        'connection: { user: root, connectTimeout: 20, commandTimeout: 60, retries: 0 }',
        'groups:',
        '  rack_a: { hosts: [ io1, g1, io2, g2 ] }',
        '  rack_b: { hosts: [ io3, g3, io4, g4, io5, g5 ] }',
        'iohyps:',
        ...names.filter((n) => n.startsWith('io')).map((n) => entry(n, `    l2: { interface: ${hosts.get(n)!.ns.interface} }`)),
        'guests:',
        ...names
          .filter((n) => n.startsWith('g'))
          .map((n) =>
            entry(
              n,
              `    iohyp: io${n.slice(1)}\n    l2: { interface: ${hosts.get(n)!.ns.interface}, mac: "${hosts.get(n)!.ns.mac}", ip: 10.56.0.${Number(n.slice(1)) + 10}/24 }`,
            ),
          ),
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    printFigures('rolling fleet', figures);
    await Promise.all([...hosts.values()].map((h) => h.stop()));
    tmp.cleanup();
  });

  const run = (args: string[]) => {
    figures.runs++;
    return vrio(['--json', 'provision', ...args], { timeoutMs: 300_000 });
  };
  const loaded = (n: string) => Object.keys(hosts.get(n)!.modules());

  it('host selection: patterns with groups, & and !, --list-hosts, and a limit that selects nothing (exit 2, did you mean)', async () => {
    const list = async (limit: string) => {
      const r = await vrio(['--json', 'provision', 'apply', '-i', inv, '--limit', limit, '--list-hosts']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      return events(r)
        .filter((e) => e.type === 'host')
        .map((e) => e.host as string);
    };
    // A group's hosts in the group's order, as ansible --list-hosts shows them.
    assert.deepEqual(await list('rack_a'), ['io1', 'g1', 'io2', 'g2']);
    assert.deepEqual(await list('rack_b:&guests'), ['g3', 'g4', 'g5']);
    assert.deepEqual(await list('all:!rack_b:!g1'), ['io1', 'io2', 'g2']);
    assert.deepEqual(await list('g5,rack_a'), ['g5', 'io1', 'g1', 'io2', 'g2']);
    assert.deepEqual(await list('~io[12]$,g5'), ['io1', 'io2', 'g5']);
    const none = await vrio(['provision', 'apply', '-i', inv, '--limit', 'rack_c']);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /--limit 'rack_c' selects no host of .*fleet\.yaml/);
    assert.match(none.stderr, /did you mean 'rack_a'\?/);
    for (const n of names) assert.deepEqual(loaded(n), [], `${n}: nothing was done by a run that selected nothing`);
  });

  it('--serial 4 --max-fail-percent 25: batch 2 fails 2 of 4 hosts, batch 3 never starts, exit 1', async () => {
    const r = await run(['apply', '-i', inv, '--serial', '4', '--max-fail-percent', '25']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const ev = events(r);
    const recap = ev.find((e) => e.type === 'recap')!;
    figures.batches += recap.batches.length;
    assert.deepEqual(recap.batches, [
      { hosts: ['io1', 'g1', 'io2', 'g2'], failed: 0 },
      { hosts: ['io3', 'g3', 'io4', 'g4'], failed: 2 },
    ]);
    assert.match(recap.stopped, /^batch 2\/3: 2 of 4 hosts failed \(more than --max-fail-percent 25\)$/);
    const status = Object.fromEntries(ev.filter((e) => e.type === 'host').map((e) => [e.host, e.status]));
    assert.deepEqual(status, {
      io1: 'changed',
      io2: 'changed',
      io3: 'changed',
      io4: 'changed',
      io5: 'not-started',
      g1: 'changed',
      g2: 'changed',
      g3: 'failed',
      g4: 'failed',
      g5: 'not-started',
    });
    // Batches in order: every event of batch 1's hosts comes before any of batch 2's.
    const at = (hs: string[], pick: 'first' | 'last') => {
      const idx = ev.map((e, i) => (e.type === 'change' && hs.includes(e.host) ? i : -1)).filter((i) => i >= 0);
      return pick === 'first' ? Math.min(...idx) : Math.max(...idx);
    };
    assert.ok(at(['io1', 'g1', 'io2', 'g2'], 'last') < at(['io3', 'g3', 'io4', 'g4'], 'first'), 'batch 2 started after batch 1 ended');
    // Inside a batch the IOhyp comes first: its changes precede its guest's.
    assert.ok(at(['io3'], 'first') < at(['g3'], 'first'));
    // Host side: batch 1 converged, the hosts of batch 3 untouched.
    for (const n of ['io1', 'g1', 'io2', 'g2']) assert.deepEqual(loaded(n), MODULES, `${n} converged`);
    for (const n of ['io5', 'g5']) {
      assert.deepEqual(loaded(n), [], `${n} was not started`);
      figures['hosts not started checked pristine']++;
    }
    // The text recap shows the batches and the stop.
    const text = await vrio(['provision', 'apply', '-i', inv, '--serial', '4', '--max-fail-percent', '25']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^batches: 1\) io1,g1,io2,g2 ok; 2\) io3,g3,io4,g4 2 failed$/m);
    assert.match(text.stdout, /^stopped: batch 2\/3: 2 of 4 hosts failed/m);
    assert.match(text.stdout, /^io5 +: iohyp .* not started$/m);
  });

  it('--serial 40% without a budget: a batch with failures goes on (not all of it failed); every reachable host converges', async () => {
    // 40% of 10 = 4 hosts per batch: the same cells as --serial 4.
    const r = await run(['apply', '-i', inv, '--serial', '40%']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const recap = events(r).find((e) => e.type === 'recap')!;
    figures.batches += recap.batches.length;
    assert.deepEqual(
      recap.batches.map((b: { hosts: string[] }) => b.hosts),
      [
        ['io1', 'g1', 'io2', 'g2'],
        ['io3', 'g3', 'io4', 'g4'],
        ['io5', 'g5'],
      ],
    );
    assert.equal(recap.stopped, undefined);
    for (const n of names.filter((x) => x !== 'g3' && x !== 'g4')) assert.deepEqual(loaded(n), MODULES, `${n} converged`);
  });

  it('teardown --serial 2: cell by cell, every host back to no modules', async () => {
    const r = await run(['teardown', '-i', inv, '--serial', '2']);
    const recap = events(r).find((e) => e.type === 'recap')!;
    figures.batches += recap.batches.length;
    assert.equal(recap.batches.length, 5, JSON.stringify(recap.batches));
    for (const n of names)
      assert.deepEqual(
        loaded(n).filter((m) => MODULES.includes(m)),
        [],
        `${n} torn down`,
      );
  });

  it('bad --serial and --max-fail-percent values are usage errors (exit 2) that name the flag', async () => {
    for (const [flag, value] of [
      ['--serial', '0'],
      ['--serial', '150%'],
      ['--serial', 'half'],
      ['--max-fail-percent', '101'],
    ]) {
      const r = await vrio(['provision', 'apply', '-i', inv, flag, value]);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} ${value.replace('%', '%')}: must be`));
    }
  });
});
