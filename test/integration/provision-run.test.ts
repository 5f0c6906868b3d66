// plan / status / apply runs against REAL sshd hosts, each in its own network
// namespace (own address, own NICs): JSON events, recap, unreachable and
// failing hosts next to healthy ones, a host killed mid-run, slow hosts,
// --forks. This machine has no loadable modules, so apply must refuse before
// running anything here; the real apply/teardown runs inside QEMU VMs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyInventory, loadInventory, planInventory, statusInventory } from '../../provision/index.js';
import { dataPath } from '../../lib/paths.js';
import { createNetns, freePort, netnsSupport, sshdSupport, startSshd, type Netns, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const skip = prerequisite(!sshdSupport().ok ? sshdSupport().reason : !netnsSupport().ok ? netnsSupport().reason : false);
const STATE_FILE = '/run/vrio-provision/state';

interface TestHost {
  ns: Netns;
  sshd: SshdInstance;
}

async function host(extraConfig: string[] = []): Promise<TestHost> {
  const ns = await createNetns();
  const sshd = await startSshd({ netns: ns, extraConfig });
  return { ns, sshd };
}

function inventoryYaml(
  io: TestHost,
  guests: TestHost[],
  o: { extraGuests?: string; commandTimeout?: number; pinOverride?: Record<string, string> } = {},
): string {
  const conn = (h: TestHost, name: string) =>
    `    address: ${h.sshd.host}\n    connection: { identityFile: ${h.sshd.identityFile}${o.commandTimeout ? `, commandTimeout: ${o.commandTimeout}` : ''} }\n    hostKey: "${o.pinOverride?.[name] ?? h.sshd.hostKeyFingerprint}"\n`;
  return [
    'version: 1',
    'connection: { user: root, connectTimeout: 5, retries: 0 }',
    'iohyps:',
    '  iohyp1:',
    conn(io, 'iohyp1') + `    l2: { interface: ${io.ns.interface}, address: 10.55.0.1/24 }`,
    'guests:',
    ...guests.map(
      (g, i) =>
        `  guest${i + 1}:\n    iohyp: iohyp1\n${conn(g, `guest${i + 1}`)}    l2: { interface: ${g.ns.interface}, mac: "${g.ns.mac}", ip: 10.55.0.${i + 2}/24 }\n    devices: [ { type: blk, name: vdb, backing: /dev/ram${i + 1} } ]`,
    ),
    o.extraGuests ?? '',
  ].join('\n');
}

describe('provision runs against real sshd hosts in network namespaces', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-prov-test-'));
  const hosts: TestHost[] = [];
  let io: TestHost, g1: TestHost, g2: TestHost;
  let invFile: string;
  before(async () => {
    [io, g1, g2] = await Promise.all([host(), host(), host()]);
    hosts.push(io, g1, g2);
    invFile = join(dir, 'lab.yaml');
    writeFileSync(invFile, inventoryYaml(io, [g1, g2]));
  });
  after(async () => {
    for (const h of hosts) {
      await h.sshd.stop();
      await h.ns.destroy();
    }
  });
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  it('plan --json: one JSON event per line, a plan per host, and nothing changes on any host', () => {
    const mtuBefore = readFileSync(`/sys/class/net/lo/mtu`, 'utf8');
    const r = cli(['provision', 'plan', '-i', invFile, '--json']);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    assert.deepEqual([events[0].type, events.at(-2)!.type, events.at(-1)!.type], ['start', 'recap', 'result']);
    const plans = events.filter((e) => e.type === 'plan');
    assert.deepEqual(plans.map((p) => p.host).sort(), ['guest1', 'guest2', 'iohyp1']);
    const ioPlan = plans.find((p) => p.host === 'iohyp1')!;
    assert.ok(
      ioPlan.changes.some((c: any) => c.kind === 'mtu' && c.data.interface === io.ns.interface && c.data.mtu === 8100),
      'plans the vMTU on the L2 NIC',
    );
    assert.ok(
      ioPlan.changes.every((c: any) => Array.isArray(c.command) && typeof c.summary === 'string'),
      'every change has a human and a machine form',
    );
    const kinds: string[] = ioPlan.changes.map((c: any) => c.kind);
    const create = ioPlan.changes.find((c: any) => c.kind === 'device-create' && c.data.backing === '/dev/ram1');
    assert.ok(create, 'the plan covers device creation too');
    assert.deepEqual(create.command.slice(1, 8), ['create-blk', '--iface', io.ns.interface, '--guest-mac', g1.ns.mac, '--guest-ip', '10.55.0.2']);
    assert.ok(kinds.lastIndexOf('module-load') < kinds.indexOf('device-create'), 'back end before devices');
    assert.equal(events.filter((e) => e.type === 'facts').length, 3);
    if (!existsSync('/proc/modules')) {
      assert.equal(r.status, 1);
      assert.match(ioPlan.errors.join(), /no loadable-module support/);
    }
    assert.equal(events.filter((e) => e.type === 'change').length, 0, 'plan runs no change');
    assert.ok(!existsSync(STATE_FILE), 'plan recorded nothing');
    assert.equal(readFileSync(`/sys/class/net/lo/mtu`, 'utf8'), mtuBefore);
  });

  it('plan text output: per-host changes and an Ansible-like recap', () => {
    const r = cli(['provision', 'plan', '-i', invFile, '--diff']);
    assert.match(r.stdout, /^iohyp1: .*changes/m);
    assert.match(r.stdout, new RegExp(`~ set ${io.ns.interface} mtu 1500 -> 8100`));
    assert.match(r.stdout, new RegExp(`${io.ns.interface}/mtu: 1500 -> 8100`), '--diff shows before -> after');
    assert.match(r.stdout, /^RECAP plan — 3 hosts/m);
    assert.match(r.stdout, /^guest2 +: guest +ok=1 +planned=\d+ +unreachable=0/m);
  });

  it('status: an unreachable host is reported (exit 4) while the others succeed', async () => {
    const port = await freePort('127.0.0.31');
    const extra = `  ghost:\n    iohyp: iohyp1\n    address: 127.0.0.31\n    connection: { port: ${port}, identityFile: ${io.sshd.identityFile} }\n    l2: { interface: eth0, mac: "52:54:00:00:00:99", ip: 10.55.0.99/24 }`;
    const f = join(dir, 'ghost.yaml');
    writeFileSync(f, inventoryYaml(io, [g1, g2], { extraGuests: extra }));
    const res = await statusInventory(loadInventory(f));
    assert.equal(res.exitCode, 4);
    const by = Object.fromEntries(res.hosts.map((h) => [h.host, h]));
    assert.equal(by.ghost.unreachable, true);
    assert.match(by.ghost.errors[0], /ECONNREFUSED/);
    for (const n of ['iohyp1', 'guest1', 'guest2']) {
      assert.equal(by[n].unreachable, false);
      assert.ok(res.facts[n], `${n} has facts`);
    }
    assert.equal(res.facts.guest1.nics[g1.ns.interface!].mac, g1.ns.mac, 'facts come from the host itself (its own NICs)');
  });

  it('a host with a changed key fails before any command; the others succeed', async () => {
    const f = join(dir, 'badkey.yaml');
    writeFileSync(f, inventoryYaml(io, [g1, g2], { pinOverride: { guest2: g1.sshd.hostKeyFingerprint } }));
    const started = (g2.sshd.log().match(/Starting session/g) ?? []).length;
    const res = await statusInventory(loadInventory(f));
    const by = Object.fromEntries(res.hosts.map((h) => [h.host, h]));
    assert.equal(res.exitCode, 1);
    assert.equal(by.guest2.unreachable, false);
    assert.match(by.guest2.errors[0], /matches none of the pinned fingerprints/);
    assert.ok(by.guest2.errors[0].includes(g2.sshd.hostKeyFingerprint));
    assert.equal((g2.sshd.log().match(/Starting session/g) ?? []).length, started, 'no command ran on it');
    assert.ok(res.facts.iohyp1 && res.facts.guest1);
  });

  it('a slow host times out as a failure; a host whose sshd is killed mid-run is unreachable; the rest finish', async () => {
    const slow = await host(['ForceCommand sleep 20; eval "$SSH_ORIGINAL_COMMAND"']);
    const doomed = await host(['ForceCommand sleep 20; eval "$SSH_ORIGINAL_COMMAND"']);
    hosts.push(slow, doomed);
    const f = join(dir, 'mixed.yaml');
    const yaml = inventoryYaml(io, [g1, g2, slow, doomed]).replace(/(guest3:\n(?:.*\n){2}    connection: \{ identityFile: [^ ]+)/, '$1, commandTimeout: 1');
    writeFileSync(f, yaml);
    // Kill the doomed host's sshd (listener and sessions) once its facts command is running.
    const killer = (async () => {
      for (let i = 0; i < 200 && !/Starting session/.test(doomed.sshd.log()); i++) await new Promise((r) => setTimeout(r, 50));
      doomed.sshd.kill('SIGKILL');
    })();
    const res = await statusInventory(loadInventory(f));
    await killer;
    const by = Object.fromEntries(res.hosts.map((h) => [h.host, h]));
    assert.equal(by.guest3.unreachable, false);
    assert.match(by.guest3.errors[0], /timed out after 1s/);
    assert.equal(by.guest4.unreachable, true);
    assert.match(by.guest4.errors[0], /lost/);
    for (const n of ['iohyp1', 'guest1', 'guest2']) assert.ok(res.facts[n], `${n} finished`);
    assert.equal(res.exitCode, 1, 'failed outranks unreachable');
  });

  it('--forks bounds how many hosts are worked on at once', async () => {
    const track = join(dir, 'track.sh');
    writeFileSync(track, 'echo + >> "$TRACK"; sleep 0.4; echo - >> "$TRACK"; eval "$SSH_ORIGINAL_COMMAND"\n');
    const tracked = await Promise.all([0, 1, 2].map(() => host([`ForceCommand TRACK=${join(dir, 'events')} sh ${track}`])));
    hosts.push(...tracked);
    const f = join(dir, 'forks.yaml');
    writeFileSync(f, inventoryYaml(tracked[0], tracked.slice(1)));
    const maxConcurrent = () => {
      let cur = 0;
      let max = 0;
      for (const e of readFileSync(join(dir, 'events'), 'utf8').trim().split('\n')) max = Math.max(max, (cur += e === '+' ? 1 : -1));
      return max;
    };
    writeFileSync(join(dir, 'events'), '');
    const one = await statusInventory(loadInventory(f), { forks: 1 });
    assert.equal(one.exitCode, 0);
    assert.equal(maxConcurrent(), 1);
    writeFileSync(join(dir, 'events'), '');
    const all = await statusInventory(loadInventory(f));
    assert.equal(all.exitCode, 0);
    assert.ok(maxConcurrent() >= 2, 'hosts ran in parallel by default');
  });

  it(
    'apply refuses a kernel without module support and changes nothing',
    { skip: prerequisite(existsSync('/proc/modules') ? 'this machine has loadable modules: apply must not run here' : false) },
    async () => {
      const inv = loadInventory(invFile);
      const before = await statusInventory(inv);
      const res = await applyInventory(inv);
      assert.equal(res.exitCode, 1);
      for (const h of res.hosts) {
        assert.match(h.errors.join(), /no loadable-module support/);
        assert.equal(h.changed, 0);
        assert.equal(h.changes.length, 0);
      }
      const afterwards = await statusInventory(inv);
      for (const n of ['iohyp1', 'guest1', 'guest2']) {
        assert.deepEqual(afterwards.facts[n].nics, before.facts[n].nics);
        assert.deepEqual(afterwards.facts[n].sysctls, before.facts[n].sysctls);
      }
      assert.ok(!existsSync(STATE_FILE));
    },
  );

  it('plan through the library returns the same per-host plan', async () => {
    const res = await planInventory(loadInventory(invFile));
    const ioRes = res.hosts.find((h) => h.host === 'iohyp1')!;
    assert.ok(ioRes.changes.every((c) => c.status === 'planned'));
    assert.ok(ioRes.changes.some((c) => c.change.kind === 'module-load' && c.change.data.module === 'vrio_gen'));
  });
});
