// vRIO's module knowledge lives in one data file (kernel-config/vrio-modules.yaml)
// that the builder, smoke and the provisioner read through lib/vrio-modules.ts:
// the three agree because they read the same lists, and a data file whose
// loaded modules the image would not ship is refused naming the pointer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadManifest } from '../../builder/manifest.js';
import { moduleParams, modulesToLoad } from '../../smoke/checks.js';
import { InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';
import { linkParams, loadVrioModules, vrioModules } from '../../lib/vrio-modules.js';
import { provisionDefaults } from '../../provision/defaults.js';
import { parseInventory } from '../../provision/inventory.js';
import { sampleImageManifest } from '../support/image-manifest.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-modules-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('vRIO module data', () => {
  test('the builder ships, smoke loads and the provisioner loads the lists of the one data file', () => {
    const d = vrioModules();
    const m = loadManifest(undefined, tmp);
    for (const role of ['iohyp', 'guest'] as const) {
      assert.deepEqual(m.roles[role].modules, d.roles[role].image, `${role}: the image ships roles.${role}.image`);
      assert.equal(m.origins[`/roles/${role}/modules`], 'default (kernel-config/vrio-modules.yaml)');
      assert.deepEqual(provisionDefaults().modules[role], { support: d.roles[role].support, vrio: d.roles[role].load });
      const img = { ...sampleImageManifest(role), kernel: { ...sampleImageManifest(role).kernel, modules: d.roles[role].image } };
      assert.deepEqual(
        modulesToLoad({
          name: role,
          role,
          kind: role,
          dir: '',
          manifestFile: '',
          manifest: img,
          hostKeyPins: [],
          clientKey: '',
          kernelRelease: '3.10.0',
          modules: d.roles[role].image,
        }),
        d.roles[role].load,
      );
    }
  });

  test('smoke loads vrio_eth and vrio_gen with the parameters the provisioner gives a host on the same link', () => {
    const inv = parseInventory(
      join(tmp, 'same-link.yaml'),
      'version: 1\niohyps:\n  io: { l2: { interface: eth0 }, mtu: 1500 }\nguests:\n  g: { iohyp: io, mtu: 1500, l2: { interface: eth0, mac: "52:54:00:00:00:02", ip: 10.0.0.2 } }\n',
      { env: {} },
    );
    for (const h of inv.hosts) {
      for (const mod of ['vrio_eth', 'vrio_gen'])
        assert.deepEqual(moduleParams(mod, h.role), h.modules.find((x) => x.name === mod)!.params, `${h.role} ${mod}`);
    }
    assert.deepEqual(linkParams('guest', 'eth1', 8100), {
      vrio_eth: { l2_packet_size: 8100, l2_packet_list_size: 256, large_packet_list_size: 256 },
      vrio_gen: { g_eth_name: 'eth1', g_cpu_affinity: 1 },
    });
  });

  test('a data file that loads a module the image does not ship, or an unknown key, is refused naming pointer and rule', () => {
    const text = readFileSync(dataPath('kernel-config/vrio-modules.yaml'), 'utf8');
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, text.replace('load: [vrio_eth, vrio_gen, vrio_gblk, vrio_gnet]', 'load: [vrio_eth, vrio_gen, vrio_gblk, vrio_gnet, vrio_gfoo]'));
    assert.throws(
      () => loadVrioModules(f),
      (e: unknown) =>
        e instanceof InputError && /bad\.yaml:\d+:\d+: \/roles\/guest\/load\/4: module 'vrio_gfoo' is not in roles\.guest\.image.* \[shipped\]/.test(e.message),
    );
    writeFileSync(f, text.replace('frontEndFor:', 'frontEndsFor:'));
    assert.throws(
      () => loadVrioModules(f),
      (e: unknown) => e instanceof InputError && /\/frontEndsFor: unknown key 'frontEndsFor' \[additionalProperties\]/.test(e.message),
    );
  });
});
