// `vrio lab` with real QEMU VMs. With the CI test images (6.1, no vRIO
// modules: `--kernel ci`): IOhyp + 1 guest boot, provision loads the test
// module on both, they ping each other over the private L2 segment, teardown
// unloads the module, and `lab down` leaves no process and no state. The vRIO
// lab runs on the 3.10 vRIO images (test/support/vrio-images.ts, built from the
// pinned source): remote block and net devices, encrypted backing, counters;
// then the bug checks of our fix series, which must pass with the fixes and
// fail on pure upstream vRIO.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, parseDocument } from 'yaml';
import { dataPath } from '../../lib/paths.js';
import { PERF_SIZES_KIB, type BlkPerfRow } from '../../lab/blk-perf.js';
import { lacks } from '../support/prereq.js';
import { vrioImagesFixture } from '../support/vrio-images.js';
import { ciImagesFixture, jsonLines, pidsWith, vrio } from './smoke-support.js';
import { BASIC_GUEST_CHECKS, FIX_CHECKS } from '../support/lab-checks.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-lab-it-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
interface LabHost {
  address: string;
  connection: { port: number };
  hostKey: string | string[];
  l2: { mac?: string };
}
interface LabInventory {
  connection: { identityFile: string };
  iohyps: Record<string, LabHost>;
  guests: Record<string, LabHost>;
}

/** An example inventory as a user copies it: a YAML file, or the first yaml block of a markdown page. */
function readExample(rel: string): string {
  const text = readFileSync(dataPath(rel), 'utf8');
  if (!rel.endsWith('.md')) return text;
  const m = /```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(m, `${rel} has a yaml block`);
  return m[1];
}

/** The example with the running lab's addresses: SSH endpoint, host-key pins, key path, L2 MACs. */
function adaptExample(yamlText: string, lab: LabInventory): string {
  const doc = parseDocument(yamlText);
  doc.setIn(['connection', 'identityFile'], lab.connection.identityFile);
  if (doc.hasIn(['vars'])) doc.setIn(['vars', 'VRIO_SSH_KEY'], lab.connection.identityFile);
  for (const kind of ['iohyps', 'guests'] as const) {
    const hosts = doc.getIn([kind]) as { items: { key: { value: string } }[] };
    for (const item of hosts.items) {
      const name = item.key.value;
      const live = lab[kind][name];
      assert.ok(live, `${name} of the example is a lab VM`);
      doc.setIn([kind, name, 'address'], live.address);
      doc.setIn([kind, name, 'connection', 'port'], live.connection.port);
      doc.setIn([kind, name, 'hostKey'], live.hostKey);
      if (kind === 'guests') doc.setIn([kind, name, 'l2', 'mac'], live.l2.mac);
    }
  }
  return doc.toString();
}

type UpReport = {
  ok: boolean;
  phase: string;
  timings: Record<string, number>;
  checks: Check[];
  vms: { name: string; running: boolean }[];
  blkPerf?: BlkPerfRow[];
};

/**
 * Every check passed, or a failure that carries the last kernel messages of
 * every VM of the lab (its serial console log in the state dir): a check that
 * fails once in many CI runs must leave enough behind to be understood.
 */
function assertChecks(up: UpReport, state: string): void {
  const failed = up.checks.filter((c) => !c.ok);
  if (failed.length === 0) return;
  const tails = existsSync(state)
    ? readdirSync(state, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(state, d.name, 'serial.log')))
        .map(
          (d) =>
            `--- ${d.name} console, last lines:\n${readFileSync(join(state, d.name, 'serial.log'), 'utf8')
              .split('\n')
              .slice(-40)
              .join('\n')}`,
        )
    : [];
  assert.fail(`${failed.map((c) => `${c.name}: ${c.detail}`).join('\n')}\n${tails.join('\n')}`);
}

describe('vrio lab with the CI test images', () => {
  const ci = ciImagesFixture();
  const state = join(tmp, 'ci-lab');
  after(async () => {
    if (existsSync(state)) await vrio(['lab', 'down', '--state-dir', state, '--no-teardown']);
  });

  test('up: IOhyp + 1 guest boot, provision loads the test module, ping both ways over L2', async (t) => {
    if (lacks(t, ci.missing)) return;
    const r = await vrio(['lab', 'up', '--kernel', 'ci', '--images', ci.imgs!.out, '--state-dir', state, '--json']);
    const up = jsonLines(r.stdout).find((e) => e.type === 'lab-up') as UpReport | undefined;
    assert.ok(up, r.stderr);
    t.diagnostic(`timings: ${JSON.stringify(up.timings)}`);
    assertChecks(up, state);
    assert.equal(r.code, 0, r.stderr);
    const names = up.checks.map((c) => c.name);
    assert.ok(names.includes('iohyp1: vrio_test loaded by provision') && names.includes('guest1: vrio_test loaded by provision'));
    assert.ok(names.includes('iohyp1 -> guest1 ping over L2') && names.includes('guest1 -> iohyp1 ping over L2'));
    assert.deepEqual(
      up.vms.map((v) => [v.name, v.running]),
      [
        ['iohyp1', true],
        ['guest1', true],
      ],
    );
    const inv = readFileSync(join(state, 'inventory.yaml'), 'utf8');
    assert.match(inv, /SHA256:[A-Za-z0-9+/]{43}/, 'the inventory pins host keys from the image manifests');
  });

  test('a second up on the same state dir is refused while the lab runs', async (t) => {
    if (lacks(t, ci.missing)) return;
    const r = await vrio(['lab', 'up', '--kernel', 'ci', '--images', ci.imgs!.out, '--state-dir', state]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already running/);
  });

  test('status shows the running VMs; lab ssh runs a command with the pinned host key', async (t) => {
    if (lacks(t, ci.missing)) return;
    const st = await vrio(['lab', 'status', '--state-dir', state, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const s = jsonLines(st.stdout).find((e) => e.type === 'lab-status') as {
      vms: { name: string; running: boolean }[];
      hubs: { running: boolean }[];
      metrics: string;
    };
    assert.ok(s.vms.every((v) => v.running) && s.hubs.every((h) => h.running));
    assert.match(s.metrics, /vrio_test/, 'the IOhyp reports its loaded module');
    const ssh = await vrio(['lab', 'ssh', '--state-dir', state, 'guest1', '--', 'cat', '/proc/sys/kernel/hostname']);
    assert.equal(ssh.code, 0, ssh.stderr);
  });

  test('provision teardown unloads the module; lab down leaves no process and no state', async (t) => {
    if (lacks(t, ci.missing)) return;
    const td = await vrio(['provision', 'teardown', '-i', join(state, 'inventory.yaml')]);
    assert.equal(td.code, 0, td.stderr);
    for (const vm of ['iohyp1', 'guest1']) {
      const r = await vrio(['lab', 'ssh', '--state-dir', state, vm, '--', 'test', '!', '-d', '/sys/module/vrio_test']);
      assert.equal(r.code, 0, `vrio_test still loaded on ${vm}`);
    }
    assert.ok(pidsWith(state).length >= 3, 'two QEMUs and the L2 hub run before down');
    const down = await vrio(['lab', 'down', '--state-dir', state, '--no-teardown']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /stopped 3 process/);
    assert.deepEqual(pidsWith(state), []);
    assert.equal(existsSync(state), false);
  });
});

describe('vrio lab with the 3.10 vRIO images', () => {
  const vr = vrioImagesFixture();
  const state = join(tmp, 'vrio-lab');
  after(async () => {
    if (existsSync(state)) await vrio(['lab', 'down', '--state-dir', state, '--no-teardown']);
  });

  test('IOhyp + 2 guests: remote block and net device each, all checks', async (t) => {
    if (lacks(t, vr.missing)) return;
    const r = await vrio(['lab', 'up', '--kernel', 'vrio', '--guests', '2', '--images', vr.imgs!.out, '--state-dir', state, '--json'], {
      timeoutMs: 30 * 60_000,
    });
    const up = jsonLines(r.stdout).find((e) => e.type === 'lab-up') as UpReport | undefined;
    assert.ok(up, r.stderr);
    t.diagnostic(`timings: ${JSON.stringify(up.timings)}`);
    for (const c of up.checks) t.diagnostic(`${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`);
    for (const g of ['guest1', 'guest2']) {
      for (const what of BASIC_GUEST_CHECKS) {
        assert.ok(
          up.checks.some((c) => c.name.startsWith(g) && c.name.includes(what)),
          `${g}: a '${what}' check ran`,
        );
      }
      // The inventory's disk name reaches the guest (not the front end's vrd<letter>).
      assert.ok(
        up.checks.some((c) => c.name.startsWith(g) && c.name.includes('/dev/vdb O_DIRECT')),
        `${g}: the disk is /dev/vdb`,
      );
    }
    assertChecks(up, state);
    assert.equal(r.code, 0);
  });

  // What users copy: the shipped example inventory and the one in docs/provision.md,
  // with only addresses, ports, host-key pins, the key path and the guests' L2 MACs
  // taken from the running lab.
  for (const example of ['provision/examples/lab.yaml', 'docs/provision.md']) {
    test(`${example}: provisions the lab as written (devices appear under their names), then tears down`, async (t) => {
      if (lacks(t, vr.missing)) return;
      assert.ok(existsSync(join(state, 'inventory.yaml')), 'the lab is up');
      const labInv = join(state, 'inventory.yaml');
      const td = await vrio(['provision', 'teardown', '-i', labInv]);
      assert.equal(td.code, 0, td.stderr);
      const file = join(tmp, `example-${example.replace(/\W/g, '-')}.yaml`);
      writeFileSync(file, adaptExample(readExample(example), parse(readFileSync(labInv, 'utf8')) as LabInventory));
      const check = await vrio(['inventory', 'check', file]);
      assert.equal(check.code, 0, check.stderr + check.stdout);
      const apply = await vrio(['provision', 'apply', '-i', file]);
      t.diagnostic(
        apply.stdout
          .split('\n')
          .filter((l) => /RECAP|: (iohyp|guest) /.test(l))
          .join('\n'),
      );
      assert.equal(apply.code, 0, apply.stdout + apply.stderr);
      const inv = parse(readFileSync(file, 'utf8')) as { guests: Record<string, { devices?: { type: string; name?: string }[] }> };
      for (const [g, spec] of Object.entries(inv.guests)) {
        for (const d of (spec.devices ?? []).filter((x) => x.type === 'blk')) {
          // One argument: like ssh, lab ssh hands the words to the remote shell joined by spaces.
          const io = await vrio([
            'lab',
            'ssh',
            '--state-dir',
            state,
            g,
            '--',
            `dd if=/dev/urandom of=/tmp/x bs=64k count=4 2>/dev/null && dd if=/tmp/x of=/dev/${d.name} bs=64k oflag=direct 2>/dev/null && dd if=/dev/${d.name} bs=64k count=4 iflag=direct 2>/dev/null | cmp - /tmp/x && echo same`,
          ]);
          assert.match(io.stdout, /same/, `${g}: /dev/${d.name} reads back what was written (${io.stderr})`);
        }
      }
      const down = await vrio(['provision', 'teardown', '-i', file]);
      assert.equal(down.code, 0, down.stdout + down.stderr);
      const back = await vrio(['provision', 'apply', '-i', labInv]);
      assert.equal(back.code, 0, `the lab's own inventory applies again: ${back.stdout}${back.stderr}`);
    });
  }

  test('lab down: teardown, no process and no state left', async (t) => {
    if (lacks(t, vr.missing)) return;
    const down = await vrio(['lab', 'down', '--state-dir', state]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /teardown: devices removed/);
    assert.deepEqual(pidsWith(state), []);
    assert.equal(existsSync(state), false);
  });
});

describe('vrio lab --checks fixes: the bug checks of our vRIO fix series', () => {
  const fixed = vrioImagesFixture('default');
  const upstream = vrioImagesFixture('upstream');
  // One state dir per test: a failed check leaves its lab up until after(),
  // and the next test must still get a lab of its own (and its own verdict).
  const state = join(tmp, 'vrio-fixes-lab');
  const upstreamState = join(tmp, 'vrio-upstream-lab');
  after(async () => {
    for (const dir of [state, upstreamState]) if (existsSync(dir)) await vrio(['lab', 'down', '--state-dir', dir, '--no-teardown']);
  });
  // 5 create/use/remove cycles per device type keep CI's run short; 50 is the thorough run.
  const cycles = process.env.VRIO_LAB_CYCLES ?? '5';

  test('with the fixes (default manifest), IOhyp + 2 guests pass every bug check', async (t) => {
    if (lacks(t, fixed.missing)) return;
    const r = await vrio(['lab', 'up', '--guests', '2', '--checks', 'fixes', '--cycles', cycles, '--images', fixed.imgs!.out, '--state-dir', state, '--json'], {
      timeoutMs: 60 * 60_000,
    });
    const up = jsonLines(r.stdout).find((e) => e.type === 'lab-up') as UpReport | undefined;
    assert.ok(up, r.stderr);
    t.diagnostic(`timings: ${JSON.stringify(up.timings)}`);
    for (const c of up.checks) t.diagnostic(`${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`);
    for (const what of FIX_CHECKS)
      assert.ok(
        up.checks.some((c) => c.name.includes(what)),
        `a '${what}' check ran`,
      );
    assertChecks(up, state);
    // The throughput table: every size both ways, on both disks, with figures a user can read.
    const perf = up.blkPerf ?? [];
    for (const c of perf)
      t.diagnostic(
        `${c.op} ${c.sizeKiB} KiB: vRIO ${c.vrio.avgMs.toFixed(2)} ms ${c.vrio.mbPerSec.toFixed(2)} MB/s, virtio-blk ${c.virtio.avgMs.toFixed(2)} ms ${c.virtio.mbPerSec.toFixed(2)} MB/s`,
      );
    assert.deepEqual(
      perf.map((c) => `${c.op} ${c.sizeKiB}`),
      ['write', 'read'].flatMap((op) => PERF_SIZES_KIB.map((k) => `${op} ${k}`)),
    );
    for (const c of perf) assert.ok(c.vrio.mbPerSec > 0 && c.virtio.mbPerSec > 0 && Number.isFinite(c.vrio.avgMs), `${c.op} ${c.sizeKiB} KiB has figures`);
    assert.deepEqual(JSON.parse(readFileSync(join(state, 'blk-perf.json'), 'utf8')), perf, 'the table is also kept in the state dir');
    const down = await vrio(['lab', 'down', '--state-dir', state]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(pidsWith(state), []);
  });

  // The proof that the checks test something: images built with `kernel.fixes: false`.
  test('with the fixes off (pure upstream vRIO), the bug checks fail', async (t) => {
    if (lacks(t, upstream.missing)) return;
    const r = await vrio(
      ['lab', 'up', '--guests', '2', '--checks', 'fixes', '--cycles', '3', '--images', upstream.imgs!.out, '--state-dir', upstreamState, '--json'],
      { timeoutMs: 60 * 60_000 },
    );
    const up = jsonLines(r.stdout).find((e) => e.type === 'lab-up') as UpReport | undefined;
    assert.ok(up, r.stderr);
    for (const c of up.checks) t.diagnostic(`${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`);
    assert.equal(r.code, 1, 'the lab reports failed checks');
    for (const what of ['short frames', 'CREATE_NET on a missing macvtap', 'CREATE_BLK on a missing block device', 'block throughput by request size']) {
      const c = up.checks.filter((x) => x.name.includes(what));
      assert.ok(c.length && c.some((x) => !x.ok), `'${what}' fails on upstream vRIO`);
    }
    const down = await vrio(['lab', 'down', '--state-dir', upstreamState, '--no-teardown']);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(pidsWith(upstreamState), []);
  });
});
