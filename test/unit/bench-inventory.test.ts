// The provisioning benchmark's work is written once as our inventory and
// converted for Ansible. These check that the inventory is valid by our own
// schema, that the conversion reads back through `vrio inventory import` to the
// same hosts, that Ansible itself parses it as meant, and that an Ansible
// recap is read correctly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseRecap, writeSpec } from '../../bench/ansible.js';
import type { Fleet } from '../../bench/fleet.js';
import { fleetInventory, inventoryYaml, toAnsibleIni, writeInventory } from '../../bench/inventory.js';
import { planFiles } from '../../provision/ops/files.js';
import { which } from '../../lib/exec.js';
import { importAnsible } from '../../provision/ansible/index.js';
import { parseInventory } from '../../provision/inventory.js';
import { InputError } from '../../lib/errors.js';
import { vrio } from '../support/cli.js';
import { prerequisite } from '../support/prereq.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-bench-inv-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The shape createFleet() returns, for three hosts in namespaces (no sshd needed to convert). */
function fleetOf(n: number): Fleet {
  const hosts = Array.from({ length: n }, (_, i) => ({
    name: `h${String(i + 1).padStart(3, '0')}`,
    address: `10.213.0.${i * 4 + 2}`,
    port: 22,
    iface: `vb1234i${i}`,
    mac: `6a:46:60:50:fa:${(0x10 + i).toString(16)}`,
    scratch: join(tmp, 'scratch', `h${i + 1}`),
    sshd: {} as Fleet['hosts'][number]['sshd'],
  }));
  writeFileSync(join(tmp, 'id_ed25519'), '');
  writeFileSync(join(tmp, 'known_hosts'), '');
  return {
    network: 'netns',
    dir: tmp,
    user: 'root',
    hosts,
    identityFile: join(tmp, 'id_ed25519'),
    knownHostsFile: join(tmp, 'known_hosts'),
    sshConfigFile: join(tmp, 'ssh_config'),
    resetScratch: () => {},
    destroy: async () => {},
  };
}

describe('bench inventory', () => {
  it('is a valid vrio inventory: one IOhyp, the other hosts its guests', () => {
    const inv = parseInventory(join(tmp, 'bench.yaml'), inventoryYaml(fleetInventory(fleetOf(3))));
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.role, h.connection.address, h.connection.port, h.l2.interface]),
      [
        ['h001', 'iohyp', '10.213.0.2', 22, 'vb1234i0'],
        ['h002', 'guest', '10.213.0.6', 22, 'vb1234i1'],
        ['h003', 'guest', '10.213.0.10', 22, 'vb1234i2'],
      ],
    );
    assert.equal(inv.hosts[1].iohyp, 'h001');
    assert.equal(inv.hosts[1].l2.mac, '6a:46:60:50:fa:11');
    assert.equal(inv.hosts[2].vars.scratch, join(tmp, 'scratch', 'h3'));
  });

  it('is refused when built, like a user inventory, if the fleet gives values the schema does not take', () => {
    const fleet = fleetOf(2);
    fleet.hosts[1].iface = 'an-interface-name-too-long';
    assert.throws(
      () => fleetInventory(fleet),
      (e: unknown) => e instanceof InputError && /benchmark inventory \(generated\): \/guests\/h002\/l2\/interface: .* \[pattern\]/.test(e.message),
    );
  });

  it('converts to an Ansible INI that `vrio inventory import` reads back to the same hosts', () => {
    const ours = fleetInventory(fleetOf(3));
    const { inventory: back } = importAnsible(toAnsibleIni(ours), 'bench.ini');
    assert.equal(back.connection?.user, 'root');
    assert.equal(back.connection?.identityFile, ours.connection.identityFile);
    assert.deepEqual(Object.keys(back.iohyps ?? {}), ['h001']);
    assert.deepEqual(Object.keys(back.guests ?? {}), ['h002', 'h003']);
    assert.equal(back.iohyps!.h001.address, '10.213.0.2');
    assert.equal(back.iohyps!.h001.l2.interface, 'vb1234i0');
    for (const [name, g] of Object.entries(ours.guests)) {
      const b = back.guests![name];
      assert.equal(b.address, g.address);
      assert.equal(b.iohyp, 'h001');
      assert.deepEqual(b.l2, { interface: g.l2.interface, mac: g.l2.mac, ip: g.l2.ip });
      assert.equal(b.vars?.scratch, g.vars.scratch);
    }
  });

  it('the same CLI conversion works end to end (vrio inventory import on the written file)', () => {
    const ini = join(tmp, 'bench.ini');
    writeFileSync(ini, toAnsibleIni(fleetInventory(fleetOf(2))));
    const r = vrio(['inventory', 'import', ini]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /h002:[\s\S]*mac: 6a:46:60:50:fa:11/);
  });

  it(
    'is parsed by Ansible itself with the host variables the playbooks use',
    { skip: prerequisite(which('ansible-inventory') ? false : 'ansible-inventory not installed (apt-get install ansible-core)') },
    () => {
      const ini = join(tmp, 'ansible.ini');
      writeFileSync(ini, toAnsibleIni(fleetInventory(fleetOf(2))));
      const out = JSON.parse(
        execFileSync('ansible-inventory', ['-i', ini, '--list'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_HOME: join(tmp, 'ansible-home') } }),
      ) as {
        _meta: { hostvars: Record<string, Record<string, unknown>> };
        iohyps: { hosts: string[] };
        guests: { hosts: string[] };
      };
      assert.deepEqual(out.iohyps.hosts, ['h001']);
      assert.deepEqual(out.guests.hosts, ['h002']);
      const h2 = out._meta.hostvars.h002;
      assert.equal(h2.ansible_host, '10.213.0.6');
      assert.equal(h2.vrio_interface, 'vb1234i1');
      assert.equal(h2.ansible_user, 'root');
      // A list, not the string '["vrio_eth", ...]': the plan task takes a set difference of it.
      assert.ok(Array.isArray(h2.required_modules), JSON.stringify(h2.required_modules));
      assert.ok((h2.required_modules as string[]).includes('vrio_gblk'));
      assert.ok((out._meta.hostvars.h001.required_modules as string[]).includes('vrio_hblk'));
    },
  );
});

describe('bench Ansible recap', () => {
  const recap = `PLAY RECAP *********************************************************************
h001                       : ok=2    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
h002                       : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
h003                       : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
`;
  it('adds up ok, changed, unreachable and failed over hosts', () => {
    assert.deepEqual(parseRecap(recap), { ok: 4, changed: 2, unreachable: 1, failed: 0 });
  });
  it('refuses output without a recap (the run did not finish)', () => {
    assert.throws(() => parseRecap('ERROR! the playbook could not be found'), /no PLAY RECAP/);
  });
});

describe('bench write workload (vrio side)', () => {
  it('is the inventory with the write set as files: entries under each scratch root, planned as 2 directories and 4 files', () => {
    const fleet = fleetOf(2);
    const inv = parseInventory(join(tmp, 'write.yaml'), inventoryYaml(writeInventory(fleetInventory(fleet), writeSpec())), { env: {} });
    const spec = writeSpec();
    for (const [i, h] of inv.hosts.entries()) {
      const root = fleet.hosts[i].scratch;
      assert.deepEqual(
        h.files.map((f) => [f.path, f.type, f.mode.toString(8)]),
        [...spec.dirs.map((d) => [`${root}/${d}`, 'directory', '755']), ...spec.files.map((f) => [`${root}/${f.path}`, 'file', f.mode.replace(/^0/, '')])],
      );
      assert.deepEqual(
        h.files.filter((f) => f.type === 'file').map((f) => f.content!.toString()),
        spec.files.map((f) => f.content),
      );
      // Against a host where nothing exists yet: exactly the work Ansible's file + copy tasks do.
      const plan = planFiles(h, { files: {} } as never);
      assert.deepEqual(
        plan.changes.map((c) => c.kind),
        [...spec.dirs.map(() => 'dir-create'), ...spec.files.map(() => 'file-write')],
      );
    }
  });
});
