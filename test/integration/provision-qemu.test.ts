// End to end in QEMU: boot three VMs from a built appliance image (one IOhyp,
// two guests) and drive `vrio provision` against them: plan, apply, plan-after-
// apply empty, idempotent re-apply, a parameter change reloading the module,
// teardown restoring the MTU. The module is vRIO's own transport, vrio_eth, on
// the real 3.10 vRIO kernel (modules override; the vRIO lab runs the same verbs
// with every vRIO module and real devices). Last, the module behaviour the
// fake kernel copies is checked on this real kernel (kmod-checks.ts).
//
// Uses VRIO_TEST_IMAGE_DIR=<out>/images/<role> (vmlinuz, initramfs.img,
// manifest.json) and VRIO_TEST_SSH_KEY (default <out>/keys/id_ed25519) when
// set; otherwise the 3.10 vRIO images (test/support/vrio-images.ts, built once,
// content-addressed, shared with the smoke and lab tests).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeTcpPort } from '../../vm/ports.js';
import { freeUdpPorts } from '../support/udp-ports.js';
import { startVm, type RunningVm } from '../../vm/vm.js';
import { dataPath } from '../../lib/paths.js';
import { loadInventory, statusInventory } from '../../provision/index.js';
import { connect } from '../../lib/ssh/client.js';
import { checkKmodStepsOn } from '../support/kmod-checks.js';
import { prerequisite } from '../support/prereq.js';
import { vrioImages } from '../support/vrio-images.js';
import { readImageManifest, type ImageManifest } from '../../builder/image/image-manifest.js';

const ci = process.env.VRIO_TEST_IMAGE_DIR ? undefined : await vrioImages();
const imageDir = process.env.VRIO_TEST_IMAGE_DIR ?? (typeof ci === 'object' ? join(ci.out, 'images', 'iohyp') : undefined);
const key = process.env.VRIO_TEST_SSH_KEY ?? (imageDir ? resolve(imageDir, '../../keys/id_ed25519') : '');
const skip = prerequisite(
  !imageDir
    ? `no image to boot: ${typeof ci === 'string' ? ci : 'set VRIO_TEST_IMAGE_DIR'}`
    : !existsSync(join(imageDir, 'manifest.json')) || !existsSync(key)
      ? `no manifest.json in ${imageDir} or no key ${key}`
      : false,
);

describe('provision apply/teardown against QEMU VMs', { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-prov-qemu-'));
  const vms: RunningVm[] = [];
  const ports: number[] = [];
  const macs = ['52:54:00:21:00:01', '52:54:00:21:00:02', '52:54:00:21:00:03'];
  let man: ImageManifest;
  let module: { name: string; params: Record<string, string | number>; change: [string, string | number] };
  const inv = join(dir, 'lab.yaml');

  const writeInventory = (params: Record<string, string | number>) => {
    const pin = Object.values(man.hostKeys)[0];
    const mods = `    modules: [ { name: ${module.name}, params: ${JSON.stringify(params)} } ]`;
    const host = (i: number) => `    address: 127.0.0.1\n    connection: { port: ${ports[i]} }\n    hostKey: "${pin}"\n    mtu: 4000\n${mods}`;
    writeFileSync(
      inv,
      [
        'version: 1',
        `connection: { user: root, identityFile: ${key}, connectTimeout: 10, commandTimeout: 60 }`,
        'iohyps:',
        `  iohyp1:\n${host(0)}\n    l2: { interface: eth1, address: 10.55.0.1/24 }`,
        'guests:',
        `  guest1:\n    iohyp: iohyp1\n${host(1)}\n    l2: { interface: eth1, mac: "${macs[1]}", ip: 10.55.0.2/24 }`,
        `  guest2:\n    iohyp: iohyp1\n${host(2)}\n    l2: { interface: eth1, mac: "${macs[2]}", ip: 10.55.0.3/24 }`,
      ].join('\n') + '\n',
    );
  };
  const vrio = (...args: string[]) => {
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const events = (out: string) =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
  const recap = (out: string): Record<string, Record<string, any>> =>
    Object.fromEntries(
      events(out)
        .filter((e) => e.type === 'host')
        .map((e) => [e.host, e]),
    );

  before(async () => {
    man = readImageManifest(join(imageDir!, 'manifest.json'));
    // vRIO's transport module: its list sizes are read back from /sys/module/vrio_eth/parameters.
    module = man.kernel.modules.includes('vrio_test')
      ? { name: 'vrio_test', params: { greeting: 'provisioned' }, change: ['greeting', 'again'] }
      : { name: 'vrio_eth', params: { l2_packet_size: 8100, l2_packet_list_size: 64, large_packet_list_size: 64 }, change: ['l2_packet_list_size', 128] };
    for (let i = 0; i < 3; i++) {
      ports.push(await freeTcpPort());
      vms.push(
        startVm(
          {
            name: `provtest-${process.pid}-${i}`,
            accel: 'tcg',
            memoryMiB: 512,
            cpus: 1,
            firmware: 'bios',
            // TCG on a busy machine can fail the kernel's IO-APIC timer check: no_timer_check.
            boot: {
              kind: 'kernel',
              kernel: join(imageDir!, 'vmlinuz'),
              initrd: join(imageDir!, 'initramfs.img'),
              append: `${man.image.cmdline.replace('console=tty0 ', '')} no_timer_check`,
            },
            serialLog: join(dir, `vm${i}.serial.log`),
            management: { sshPort: ports[i], mac: `52:54:00:20:00:0${i + 1}` },
            l2: [
              { id: 'l2', mac: macs[i], model: 'virtio-net-pci', ...(await freeUdpPorts(2).then(([localPort, remotePort]) => ({ localPort, remotePort }))) },
            ],
          },
          { stderrLog: join(dir, `vm${i}.qemu.log`) },
        ),
      );
    }
    writeInventory(module.params);
    // Wait (bounded) until every VM answers SSH with its pinned key.
    const h = loadInventory(inv).hosts;
    await Promise.all(
      h.map(async (host) => {
        for (let i = 0; i < 180; i++) {
          try {
            (await connect(host.connection)).close();
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        throw new Error(`${host.name} did not answer SSH`);
      }),
    );
  });
  after(async () => {
    await Promise.all(vms.map((v) => v.kill()));
  });

  it('plan shows the module, vMTU and address for all three hosts', () => {
    const r = vrio('provision', 'plan', '-i', inv, '--json');
    assert.equal(r.code, 0, r.err);
    const plans = events(r.out).filter((e) => e.type === 'plan');
    assert.equal(plans.length, 3);
    for (const p of plans) {
      const kinds = p.changes.map((c: any) => c.kind);
      assert.ok(kinds.includes('module-load') && kinds.includes('mtu') && kinds.includes('address'), `${p.host}: ${kinds}`);
    }
  });

  it('apply changes every host and verifies; plan afterwards is empty; a second apply changes nothing', async () => {
    const r = vrio('provision', 'apply', '-i', inv, '--json');
    assert.equal(r.code, 0, r.out + r.err);
    for (const h of Object.values(recap(r.out))) assert.ok(h.changed > 0 && h.failed === 0, JSON.stringify(h));
    const st = await statusInventory(loadInventory(inv));
    for (const n of ['iohyp1', 'guest1', 'guest2']) {
      assert.equal(st.facts[n].nics.eth1.mtu, 4000);
      assert.ok(st.facts[n].modules[module.name], `${module.name} loaded on ${n}`);
    }
    const p = vrio('provision', 'plan', '-i', inv, '--json');
    assert.ok(
      events(p.out)
        .filter((e) => e.type === 'plan')
        .every((e) => e.changes.length === 0),
    );
    const again = vrio('provision', 'apply', '-i', inv, '--json');
    assert.equal(again.code, 0);
    for (const h of Object.values(recap(again.out))) assert.equal(h.changed, 0);
  });

  it('a changed module parameter reloads the module', async () => {
    const [k, v] = module.change;
    writeInventory({ ...module.params, [k]: v });
    const r = vrio('provision', 'apply', '-i', inv, '--json');
    assert.equal(r.code, 0, r.out);
    const kinds = events(r.out)
      .filter((e) => e.type === 'change' && e.host === 'guest1')
      .map((e) => e.kind);
    assert.deepEqual(kinds, ['module-unload', 'module-load']);
    const st = await statusInventory(loadInventory(inv));
    assert.equal(st.facts.guest1.modules[module.name].params[k], String(v));
  });

  it('teardown unloads and restores; the hosts look as before apply', async () => {
    const r = vrio('provision', 'teardown', '-i', inv, '--json');
    assert.equal(r.code, 0, r.out);
    const st = await statusInventory(loadInventory(inv));
    for (const n of ['iohyp1', 'guest1', 'guest2']) {
      assert.equal(st.facts[n].nics.eth1.mtu, 1500);
      assert.equal(st.facts[n].modules[module.name], undefined);
      assert.equal(st.facts[n].saved, undefined);
      assert.deepEqual(st.facts[n].nics.eth1.ipv4, []);
    }
  });

  // Last, on a torn-down host: the module behaviour the fake kernel copies
  // (test/support/kmod-checks.ts; test/reliability/fake-kernel.test.ts runs the
  // same steps on the fake), pinned on the real 3.10 kernel and the image's kmod.
  it('the real kernel gives the output the fake kernel is held to (dependencies, use counts, Y/N bools, refused parameters)', async (t) => {
    if (!man.kernel.modules.includes('vrio_gen')) return t.skip('the image has no vRIO modules (a CI test image)');
    const host = loadInventory(inv).hosts.find((h) => h.name === 'guest2')!;
    await checkKmodStepsOn(host.connection, (l) => t.diagnostic(l));
  });
});
