// The image outputs that carry the appliance's SSH host PRIVATE key (the ISO,
// initramfs.img, rootfs.tar: each holds /etc/dropbear/dropbear_ed25519_host_key)
// are readable by their owner only; the rest of the image directory stays
// world-readable. A real buildImage run, hermetic: no packages (an empty
// package lock, so nothing is downloaded), a stand-in kernel file, our overlays
// and the real ISO tools when they are installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { KernelArtifacts } from '../../builder/artifacts.js';
import { readCpio } from '../../builder/cpio.js';
import { buildImage, type ImageFormat } from '../../builder/image/index.js';
import { ISOLINUX_BIN } from '../../builder/image/iso.js';
import { loadManifest } from '../../builder/manifest.js';
import { Logger, setLogger } from '../../lib/log.js';
import { tempDir } from '../support/cli.js';

const tmp = tempDir('vrio-image-modes-');
after(() => tmp.cleanup());

function haveIsoTools(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v xorriso && command -v grub-mkimage && command -v mformat'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  return existsSync(ISOLINUX_BIN);
}

function fixture(name: string, hostKeys: 'build' | 'first-boot') {
  const dir = join(tmp.dir, name);
  mkdirSync(join(dir, 'modules-root'), { recursive: true });
  writeFileSync(join(dir, 'bzImage'), Buffer.alloc(4096, 1));
  const manifest = join(dir, 'vrio.yaml');
  writeFileSync(
    manifest,
    [
      'roles:',
      '  guest: { packages: [], controlHelper: false, modules: [] }',
      'image:',
      `  hostKeys: ${hostKeys}`,
      `outputDir: ${join(dir, 'out')}`,
      `cacheDir: ${join(dir, 'cache')}`,
      '',
    ].join('\n'),
  );
  // An empty closure for the role: lockRole takes it as it is (no apt).
  writeFileSync(join(dir, 'vrio.lock.json'), JSON.stringify({ lockVersion: 1, packages: {}, roles: { guest: { requested: [], closure: [] } } }));
  const kernel: KernelArtifacts = {
    role: 'guest',
    release: '6.1.0-test',
    hash: 'e'.repeat(64), // a kernel's content hash is a sha256 (the image manifest's schema says so)
    bzImage: join(dir, 'bzImage'),
    systemMap: join(dir, 'System.map'),
    config: join(dir, 'config'),
    modulesRoot: join(dir, 'modules-root'),
    modules: [],
    sourceTree: dir,
    buildDir: dir,
    inputs: [],
    patches: [],
  };
  return { m: loadManifest(manifest, dir), kernel, lockFile: join(dir, 'vrio.lock.json') };
}

const modeOf = (f: string) => statSync(f).mode & 0o777;

describe('image output modes', () => {
  setLogger(new Logger({ verbosity: 'quiet' }));
  const formats: ImageFormat[] = haveIsoTools() ? ['iso', 'initramfs', 'tar'] : ['initramfs', 'tar'];
  const secret = ['guest.iso', 'initramfs.img', 'rootfs.tar'].filter((n) =>
    formats.includes(n === 'guest.iso' ? 'iso' : n === 'rootfs.tar' ? 'tar' : 'initramfs'),
  );

  it('with a build-time host key: ISO, initramfs and tar are 0600, the rest 0644, the directory 0755; a cached rebuild restores 0600', async () => {
    const f = fixture('build', 'build');
    const art = await buildImage(f.m, 'guest', f.kernel, { formats, lockFile: f.lockFile });
    // The host private key really is in them (what makes them secret).
    const cpio = gunzipSync(readFileSync(join(art.dir, 'initramfs.img'))).toString('latin1');
    assert.ok(cpio.includes('etc/dropbear/dropbear_ed25519_host_key'));
    for (const n of secret) assert.equal(modeOf(join(art.dir, n)), 0o600, `${n} is 0600`);
    // Inside: /tmp keeps its sticky bit (anyone may create, only the owner delete), /root stays private.
    const inside = new Map(readCpio(gunzipSync(readFileSync(join(art.dir, 'initramfs.img')))).map((e) => [e.path, e.mode]));
    assert.deepEqual([inside.get('tmp'), inside.get('root')], [0o1777, 0o700], 'initramfs: /tmp 1777, /root 0700');
    for (const n of readdirSync(art.dir).filter((x) => !secret.includes(x))) assert.equal(modeOf(join(art.dir, n)), 0o644, `${n} stays 0644`);
    assert.equal(modeOf(art.dir), 0o755);
    // Outputs of an older build (0644) are reused by the cache, and fixed on the way.
    for (const n of secret) chmodSync(join(art.dir, n), 0o644);
    const again = await buildImage(f.m, 'guest', f.kernel, { formats, lockFile: f.lockFile });
    assert.equal(again.dir, art.dir);
    for (const n of secret) assert.equal(modeOf(join(art.dir, n)), 0o600, `${n} is 0600 after a cache hit`);
  });

  it('with host keys made at first boot (no private key inside): the outputs stay 0644', async () => {
    const f = fixture('first-boot', 'first-boot');
    const art = await buildImage(f.m, 'guest', f.kernel, { formats, lockFile: f.lockFile });
    const cpio = gunzipSync(readFileSync(join(art.dir, 'initramfs.img'))).toString('latin1');
    assert.ok(!cpio.includes('etc/dropbear/dropbear_ed25519_host_key\0'), 'no host key inside');
    for (const n of secret) assert.equal(modeOf(join(art.dir, n)), 0o644, `${n} is 0644`);
  });
});
