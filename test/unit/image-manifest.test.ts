// The image manifest (out/images/<role>/manifest.json) has one schema and one
// reader: a manifest of another format version, or one that breaks the schema,
// is refused as bad input (exit 2) naming the file, the JSON pointer (with its
// line) and the rule; the builder checks what it writes against the same schema.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkImageManifest, readImageManifest } from '../../builder/image/image-manifest.js';
import { inspectImage } from '../../builder/image/inspect.js';
import { ExitCode, InputError } from '../../lib/errors.js';
import { sampleImageManifest } from '../support/image-manifest.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-image-manifest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function manifestFile(name: string, m: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  return join(dir, 'manifest.json');
}

function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.exitCode, ExitCode.USAGE);
    assert.match(e.message, re);
    return true;
  });
}

describe('image manifest', () => {
  test('a manifest as the builder writes it is read back whole', () => {
    for (const role of ['iohyp', 'guest'] as const) {
      const m = sampleImageManifest(role);
      assert.deepEqual(readImageManifest(manifestFile(`ok-${role}`, m)), m);
    }
  });

  test('a manifest of an older or unknown format version is refused with a rebuild hint', () => {
    const { format: _, ...noFormat } = sampleImageManifest();
    refused(
      () => readImageManifest(manifestFile('v0', noFormat)),
      /manifest\.json:1:1: \/format: no format field: this vrio reads image manifests of format vrio-image-manifest\/1 only \[format-version\]\n  hint: rebuild the image/,
    );
    refused(
      () => readImageManifest(manifestFile('v2', { ...sampleImageManifest(), format: 'vrio-image-manifest/2' })),
      /manifest\.json:2:\d+: \/format: format "vrio-image-manifest\/2": .* \[format-version\]/,
    );
    refused(() => readImageManifest(manifestFile('array', [1])), /\/format: no format field.*\[format-version\]/);
  });

  test('a schema violation names the pointer, its line and the rule', () => {
    const m = sampleImageManifest();
    refused(
      () => readImageManifest(manifestFile('badmods', { ...m, kernel: { ...m.kernel, modules: 'vrio_eth' } })),
      /manifest\.json:\d+:\d+: \/kernel\/modules: must be array \[type\]/,
    );
    refused(
      () => readImageManifest(manifestFile('badpin', { ...m, hostKeys: { 'ssh-ed25519': 'MD5:aa' } })),
      /\/hostKeys\/ssh-ed25519: "MD5:aa" must match pattern .* \[pattern\]/,
    );
    const { outputs: _, ...noOutputs } = m;
    refused(() => readImageManifest(manifestFile('nooutputs', noOutputs)), /\(root\): missing required key 'outputs' \[required\]/);
  });

  test('the builder refuses to write a manifest its readers would refuse', () => {
    const m = sampleImageManifest();
    assert.doesNotThrow(() => checkImageManifest(m, 'out/images/iohyp/manifest.json'));
    refused(
      () => checkImageManifest({ ...m, kind: 'peer' as 'guest' }, 'out/images/iohyp/manifest.json'),
      /out\/images\/iohyp\/manifest\.json: \/kind: must be one of: iohyp, guest \[enum\]/,
    );
  });

  test('vrio inspect of an image directory reads its manifest through the same check', async () => {
    const file = manifestFile('inspect', { ...sampleImageManifest(), format: undefined });
    writeFileSync(join(file, '..', 'iohyp.iso'), '');
    await assert.rejects(inspectImage(join(file, '..')), (e: unknown) => e instanceof InputError && /\[format-version\]/.test(e.message));
  });
});
