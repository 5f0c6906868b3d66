// Secrets in image builds: `--ssh-key` puts the user's PUBLIC key into the
// image and its manifest, and the build's secrets — the host-key seed
// (<out>/keys/host-seed), the host private key derived from it, the build's own
// client private key — never appear in what the build prints (--json and -v),
// its logs, manifest.json, the SBOM, or (for the seed and the client key) the
// image itself. The host private key must be in the image (the appliance's sshd
// needs it); it must not be anywhere else.
//
// Runs after image-build.test.ts in CI (same kernel and .deb cache, so the
// kernel stage is a cached no-op and only one role's image is assembled).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { ImageArtifacts } from '../../builder/artifacts.js';
import { buildImage } from '../../builder/image/index.js';
import { deriveHostKey } from '../../builder/image/keys.js';
import { buildKernel } from '../../builder/kernel/index.js';
import { loadManifest } from '../../builder/manifest.js';
import { Logger, setLogger } from '../../lib/log.js';
import { ciKernelUnavailable, writeCiManifest } from '../../bench/ci-kernel/manifest.js';
import { tempDir } from '../support/cli.js';
import { printFigures } from '../support/figures.js';
import { makeClientKey } from '../support/sshd.js';
import { findLeaks, keyNeedles } from '../support/secrets-scan.js';
import { prerequisite } from '../support/prereq.js';

const cacheRoot = process.env.VRIO_TEST_CACHE ?? join(tmpdir(), 'vrio-test-cache');
const skip = prerequisite(ciKernelUnavailable());
const ROLE = 'guest';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(c, _e, cb) {
        chunks.push(Buffer.from(c));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('latin1'),
  };
}

function filesBelow(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesBelow(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('image builds keep their secrets', { skip }, () => {
  const tmp = tempDir('vrio-image-secrets-');
  const out = join(tmp.dir, 'out');
  const stats = { places: 0, bytes: 0, leaks: 0 };
  let art: ImageArtifacts;
  let userPub = '';
  let userKey = '';
  const printed = { json: sink(), jsonErr: sink(), verbose: sink(), verboseErr: sink() };

  before(async () => {
    const dir = join(cacheRoot, 'ci-kernel');
    mkdirSync(dir, { recursive: true });
    const file = await writeCiManifest(dir, { outputDir: join(dir, 'out'), cacheDir: join(cacheRoot, 'cache') });
    const base = loadManifest(file, dir);
    // Quiet for the (cached) kernel stage; the image build is what is captured.
    setLogger(new Logger({ verbosity: 'quiet' }));
    const k = await buildKernel(base, 'iohyp');
    const user = makeClientKey(join(tmp.dir, 'user'), 'id_ed25519');
    userKey = user.privateKeyFile;
    userPub = user.publicKey;
    const lockFile = join(tmp.dir, 'vrio.lock.json');
    // Once as --json, once forced as -v: both outputs are searched.
    setLogger(new Logger({ json: true, out: printed.json.stream, err: printed.jsonErr.stream }));
    art = await buildImage({ ...base, outputDir: out }, ROLE, { ...k, role: ROLE }, { sshKeys: [`${userKey}.pub`], lockFile });
    setLogger(new Logger({ verbosity: 'verbose', out: printed.verbose.stream, err: printed.verboseErr.stream }));
    art = await buildImage({ ...base, outputDir: out }, ROLE, { ...k, role: ROLE }, { sshKeys: [`${userKey}.pub`], lockFile, force: true });
    setLogger(new Logger({ verbosity: 'quiet' }));
  });

  after(() => {
    printFigures('image secrets', { 'outputs and files searched': stats.places, 'bytes searched': stats.bytes, leaks: stats.leaks });
    tmp.cleanup();
  });

  it('the image authorizes the public key given with --ssh-key, and its manifest names that public key only', () => {
    const tar = readFileSync(art.tar!).toString('latin1');
    assert.ok(tar.includes(userPub.split(' ')[1]), 'the public key is in the image');
    const manifest = readFileSync(art.manifest, 'utf8');
    const blob = userPub.split(' ')[1];
    assert.ok(
      manifest.includes(blob) || manifest.includes(spawnSync('ssh-keygen', ['-lf', `${userKey}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]),
      'the manifest records the authorized key (line or fingerprint)',
    );
  });

  it('no seed, no client private key, no user private key in outputs, logs, manifest, SBOM or image; the host private key only in the image', () => {
    const keysDir = join(out, 'keys');
    const seedHex = readFileSync(join(keysDir, 'host-seed'), 'utf8').trim();
    const seed = Buffer.from(seedHex, 'hex');
    const host = deriveHostKey(seed, ROLE);
    // With --ssh-key the build makes no client key of its own; if one exists it is a secret too.
    const clientFile = join(keysDir, 'id_ed25519');
    const clientPem = existsSync(clientFile) ? readFileSync(clientFile, 'utf8') : '';
    const buildSecrets = new Map<string, string[]>([
      ['host-seed', [seedHex, seed.toString('latin1'), seed.toString('base64')]],
      ...(clientPem ? ([['build client private key', keyNeedles(clientPem)]] as [string, string[]][]) : []),
      ['user private key', keyNeedles(readFileSync(userKey, 'utf8'))],
    ]);
    const hostPrivate = new Map<string, string[]>([
      ['host private key', [host.seed.toString('hex'), host.seed.toString('base64'), host.seed.toString('latin1')]],
    ]);

    const everywhere = new Map<string, string>([
      ['--json stdout', printed.json.text()],
      ['--json stderr', printed.jsonErr.text()],
      ['-v stdout', printed.verbose.text()],
      ['-v stderr', printed.verboseErr.text()],
    ]);
    const imageFiles = new Map<string, string>();
    for (const f of filesBelow(out)) {
      const rel = relative(out, f);
      if (rel.startsWith('keys/')) continue; // where the secrets are kept, mode 0600
      if (statSync(f).size > 512 * 1024 * 1024) continue;
      let data = readFileSync(f);
      if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
      const text = data.toString('latin1');
      const isImage = f === art.iso || f === art.initramfs || f === art.tar || f === art.kernel;
      (isImage ? imageFiles : everywhere).set(rel, text);
    }
    stats.places = everywhere.size + imageFiles.size;
    stats.bytes = [...everywhere.values(), ...imageFiles.values()].reduce((n, t) => n + t.length, 0);
    const inImage = new Map<string, string[]>([
      ['host-seed', buildSecrets.get('host-seed')!],
      ...(clientPem ? ([['build client private key', keyNeedles(clientPem, { armour: false })]] as [string, string[]][]) : []),
      ['user private key', keyNeedles(readFileSync(userKey, 'utf8'), { armour: false })],
    ]);
    const leaks = [...findLeaks(everywhere, buildSecrets), ...findLeaks(everywhere, hostPrivate), ...findLeaks(imageFiles, inImage)];
    stats.leaks = leaks.length;
    assert.deepEqual(leaks, []);
    assert.ok(printed.json.text().includes('{') && (printed.verbose.text() + printed.verboseErr.text()).length > 0, 'the builds printed something to search');
    assert.ok(everywhere.has(relative(out, art.manifest)) && everywhere.has(relative(out, art.sbom)), 'manifest and SBOM were searched');
    assert.ok(
      [...everywhere.keys()].some((k) => k.startsWith('logs/')),
      'build logs were searched',
    );
    // Control: the host key IS in the image (so the search can see inside it).
    assert.equal(
      findLeaks(new Map([['initramfs', imageFiles.get(relative(out, art.initramfs!))!]]), hostPrivate).length,
      1,
      'the search finds the host private key in the initramfs',
    );
  });
});
