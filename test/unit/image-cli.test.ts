// The image verbs' input handling: bad values are refused before any build
// step runs, with the file/pointer/rule; inspect reads an initramfs directly.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { writeCpio, type CpioEntry } from '../../builder/cpio.js';
import { eventOf, tempDir, vrio } from '../support/cli.js';

const t = tempDir('vrio-image-cli-');
after(t.cleanup);
const base = ['--output-dir', join(t.dir, 'out'), '--cache-dir', join(t.dir, 'cache')];

describe('vrio image / build / inspect input checks', () => {
  it('refuses an unknown --format naming the value and the allowed ones', () => {
    const r = vrio(['image', '--format', 'iso,qcow2', ...base], { cwd: t.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--format qcow2: must be iso, initramfs or tar/);
  });

  it('refuses an unknown role', () => {
    const r = vrio(['image', '--role', 'gust', ...base], { cwd: t.dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no role 'gust'/);
  });

  it('refuses a --ssh-key that is not a public key, naming file and line, before building anything', () => {
    const key = join(t.dir, 'id.pub');
    writeFileSync(key, '# my key\n-----BEGIN OPENSSH PRIVATE KEY-----\n');
    for (const verb of ['image', 'build']) {
      const r = vrio([verb, '--ssh-key', key, ...base], { cwd: t.dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${key.replace(/[/.]/g, '\\$&')}:2:1: \\(root\\): not an OpenSSH public key line \\[ssh-public-key\\]`));
    }
    const missing = vrio(['image', '--ssh-key', join(t.dir, 'nope.pub'), ...base], { cwd: t.dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.pub: \/image\/sshAuthorizedKeys: cannot read SSH public key file \(ENOENT\) \[readable\]/);
  });

  it('inspect: a missing path is a usage error; an initramfs shows role, modules and files', () => {
    const r = vrio(['inspect', join(t.dir, 'nothing.iso')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no such file or directory/);

    const img = join(t.dir, 'initramfs.img');
    const content = {
      role: 'guest',
      kind: 'guest',
      kernel: { release: '6.1.0' },
      packages: { 'busybox-static': '1:1.35.0' },
      hostKeys: { 'ssh-ed25519': 'SHA256:abc' },
    };
    const entries: CpioEntry[] = [
      { path: 'etc', type: 'dir', mode: 0o755 },
      { path: 'etc/vrio', type: 'dir', mode: 0o755 },
      { path: 'etc/vrio/image.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(content)) },
      { path: 'lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko', type: 'file', mode: 0o644, data: Buffer.from('ko') },
    ];
    writeFileSync(img, gzipSync(writeCpio(entries, 0)));
    const text = vrio(['inspect', img, '--files']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /role\s+guest \(guest\)/);
    assert.match(text.stdout, /host key\s+ssh-ed25519 SHA256:abc/);
    assert.match(text.stdout, /modules\s+virtio_net/);
    assert.match(text.stdout, /lib\/modules\/6\.1\.0\/kernel\/drivers\/net\/virtio_net\.ko/);
    const json = eventOf(vrio(['inspect', img, '--json']).stdout, 'inspect');
    assert.equal(json.kind, 'initramfs');
    assert.equal(json.fileCount, 4);
    assert.deepEqual(json.modules, ['virtio_net']);
  });
});
