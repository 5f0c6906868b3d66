// What `vrio smoke` reads and runs before any VM boots: the image directory
// (bad input is refused naming the file, pointer and rule) and the module
// commands it sends to the guest (only the role's shipped modules, with the
// parameters vRIO needs, never anything a remote shell could misread).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deviceNodes, moduleParams, moduleScript, modulesToLoad, unloadScript } from '../../smoke/checks.js';
import { loadImage, type SmokeImage } from '../../vm/image.js';
import { InputError } from '../../lib/errors.js';
import { sampleImageManifest } from '../support/image-manifest.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-smoke-unit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PIN = 'SHA256:' + 'B'.repeat(43);

function imageDir(name: string, manifest: unknown | string): string {
  const dir = join(tmp, name, 'images', 'iohyp');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(tmp, name, 'keys'), { recursive: true });
  writeFileSync(join(tmp, name, 'keys', 'id_ed25519'), 'key');
  writeFileSync(join(dir, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  for (const f of ['iohyp.iso', 'vmlinuz', 'initramfs.img']) writeFileSync(join(dir, f), '');
  return dir;
}

describe('image directory', () => {
  test('a built image directory gives ISO, kernel, initramfs, pins, client key, release and shipped modules', () => {
    const dir = imageDir('good', sampleImageManifest('iohyp', PIN));
    const img = loadImage(dir, '/');
    assert.equal(img.kind, 'iohyp');
    assert.equal(img.iso, join(dir, 'iohyp.iso'));
    assert.equal(img.kernel, join(dir, 'vmlinuz'));
    assert.deepEqual(img.hostKeyPins, [PIN]);
    assert.equal(img.clientKey, join(tmp, 'good', 'keys', 'id_ed25519'));
    assert.equal(img.kernelRelease, '3.10.0');
    assert.equal(img.isoSha256, 'ab'.repeat(32));
    assert.deepEqual(img.modules, ['vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet', 'macvtap']);
    assert.deepEqual(loadImage(join(dir, 'iohyp.iso'), '/').dir, dir, 'the ISO path works too');
  });

  const bad: [string, string, unknown | string, RegExp][] = [
    ['no manifest', 'nomanifest', null, /manifest\.json: \(root\): image manifest missing.*\[exists\]/],
    ['manifest not JSON', 'notjson', '{ "role": ', /manifest\.json:1:\d+: \(root\): JSON syntax error.*\[json-syntax\]/],
    [
      'no host key pins (keys made at first boot)',
      'nopins',
      { ...sampleImageManifest(), hostKeys: {} },
      /manifest\.json: \/hostKeys: no SSH host key fingerprints.*\[required\]/,
    ],
    // Before there was one schema, smoke guessed at keys the builder never writes (ssh.hostKeys, files.iso, role.kind...).
    [
      'guessed keys instead of the written ones',
      'guessed',
      { ...sampleImageManifest(), hostKeys: undefined, ssh: { hostKeys: [PIN] } },
      /manifest\.json:\d+:\d+: \/ssh: unknown key 'ssh' \[additionalProperties\]/,
    ],
    [
      'a manifest of no format version (rebuild)',
      'noformat',
      { ...sampleImageManifest(), format: undefined },
      /manifest\.json:1:1: \/format: no format field: this vrio reads image manifests of format vrio-image-manifest\/1 only \[format-version\]\n  hint: rebuild the image/,
    ],
  ];
  for (const [what, name, m, re] of bad) {
    test(`refused with file, pointer and rule: ${what}`, () => {
      const dir = imageDir(name, m ?? '{}');
      if (m === null) rmSync(join(dir, 'manifest.json'));
      assert.throws(
        () => loadImage(dir, '/'),
        (e: unknown) => e instanceof InputError && re.test(e.message),
      );
    });
  }

  test('a path that does not exist is refused naming it', () => {
    assert.throws(
      () => loadImage('no/such/image', tmp),
      (e: unknown) => e instanceof InputError && /no\/such\/image: \(root\): no such image directory/.test(e.message),
    );
  });
});

describe('module checks sent to the guest', () => {
  const img = (kind: SmokeImage['kind'], modules: string[]): SmokeImage => ({
    name: kind,
    role: kind,
    kind,
    dir: '',
    manifestFile: '',
    manifest: sampleImageManifest(kind),
    hostKeyPins: [],
    clientKey: '',
    kernelRelease: '3.10.0',
    modules,
  });

  test('an IOhyp loads the back end in order with the cpu affinity vRIO needs, and checks /dev/iohyp', () => {
    const i = img('iohyp', ['vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet', 'vrio_gblk', 'macvtap']);
    const mods = modulesToLoad(i);
    assert.deepEqual(mods, ['vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet'], 'the back end only, in load order');
    assert.deepEqual(moduleParams('vrio_gen', 'iohyp'), { h_eth_name: 'eth0', h_cpu_affinity: '1' });
    assert.equal(moduleParams('vrio_eth', 'iohyp').l2_packet_list_size, '256', 'small lists: fits a 1 GiB VM');
    assert.deepEqual(deviceNodes(mods, 'iohyp'), ['/dev/iohyp']);
    const script = moduleScript(mods, 'iohyp');
    assert.ok(script.indexOf('modprobe vrio_eth') < script.indexOf('modprobe vrio_gen h_eth_name=eth0 h_cpu_affinity=1'));
    assert.match(script, /cat \/sys\/module\/vrio_gen\/parameters\/h_cpu_affinity/, 'parameters are read back from sysfs');
    const un = unloadScript(mods);
    assert.ok(un.indexOf('vrio_hnet') < un.indexOf('vrio_eth'), 'unload in reverse order');
  });

  test('a guest loads the front end with g_cpu_affinity=1 (without it the first packet panics the guest)', () => {
    const mods = modulesToLoad(img('guest', ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet', 'vrio_hblk']));
    assert.deepEqual(mods, ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet']);
    assert.deepEqual(moduleParams('vrio_gen', 'guest'), { g_eth_name: 'eth0', g_cpu_affinity: '1' });
    assert.deepEqual(deviceNodes(mods, 'guest'), []);
  });

  test('the CI test image loads just its test module, with a parameter', () => {
    assert.deepEqual(modulesToLoad(img('guest', ['vrio_test', 'x86_pkg_temp_thermal'])), ['vrio_test']);
    assert.match(moduleScript(['vrio_test'], 'guest'), /modprobe vrio_test greeting=vrio-smoke/);
  });

  test('a module name that is not a plain kernel module name is refused before anything is sent', () => {
    assert.throws(() => moduleScript(['vrio_eth; reboot'], 'guest'), /bad module name/);
  });
});
