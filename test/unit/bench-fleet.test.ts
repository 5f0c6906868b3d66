// The benchmark's fleet: N real sshd hosts, each on its own address, reachable
// with strict host-key checking, and gone (namespaces, veths, processes,
// scratch) after destroy().
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createFleet } from '../../bench/fleet.js';
import { sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const sup = sshdSupport();

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('bench fleet', { skip: prerequisite(sup.ok ? false : sup.reason) }, () => {
  it('starts three hosts on distinct addresses that answer over SSH with pinned host keys, and removes them all', async () => {
    const fleet = await createFleet(3);
    const pids = fleet.hosts.map((h) => h.sshd.pid);
    let namespaces: string[] = [];
    try {
      assert.equal(new Set(fleet.hosts.map((h) => `${h.address}:${h.port}`)).size, 3);
      for (const h of fleet.hosts) {
        const out = execFileSync(
          'ssh',
          [
            '-i',
            fleet.identityFile,
            '-o',
            `UserKnownHostsFile=${fleet.knownHostsFile}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            'BatchMode=yes',
            '-p',
            String(h.port),
            `${fleet.user}@${h.address}`,
            `cat /sys/class/net/${h.iface}/address; mkdir -p ${h.scratch} && echo ok > ${h.scratch}/f`,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
        // The host sees its own NIC (inside its namespace) with the MAC the inventory will carry.
        if (fleet.network === 'netns') assert.equal(out.split('\n')[0], h.mac);
        assert.ok(existsSync(join(h.scratch, 'f')));
      }
      fleet.resetScratch();
      assert.ok(
        fleet.hosts.every((h) => !existsSync(h.scratch)),
        'resetScratch empties every scratch root',
      );
      if (fleet.network === 'netns') {
        namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
          .split('\n')
          .map((l) => l.split(' ')[0])
          .filter((n) => n.startsWith(`vrio-bench-${process.pid % 100000}-`));
        assert.equal(namespaces.length, 3);
      }
    } finally {
      await fleet.destroy();
    }
    assert.ok(!existsSync(fleet.dir), 'fleet dir removed');
    assert.deepEqual(pids.filter(alive), [], 'no sshd left running');
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of namespaces) assert.ok(!left.includes(n), `${n} removed`);
  });

  it('refuses a fleet size it cannot build, before creating anything', async () => {
    await assert.rejects(createFleet(0), /1\.\.1000/);
    await assert.rejects(createFleet(2.5), /1\.\.1000/);
  });
});

// Keep the scratch helper honest: a per-host root is under the fleet's own dir.
describe('bench fleet scratch roots', { skip: prerequisite(sup.ok ? false : sup.reason) }, () => {
  it('puts every scratch root under the fleet directory', async () => {
    const fleet = await createFleet(1);
    try {
      assert.ok(fleet.hosts[0].scratch.startsWith(fleet.dir + '/'));
      mkdirSync(fleet.hosts[0].scratch, { recursive: true });
      writeFileSync(join(fleet.hosts[0].scratch, 'x'), '');
    } finally {
      await fleet.destroy();
    }
    assert.ok(!existsSync(fleet.hosts[0].scratch));
  });
});
