// vRIO on Linux 6.1: the images of kernel-config/manifests/vrio-6.1.yaml
// (Debian's linux-source-6.1, the drivers overlaid from the pinned
// SplitIO-kernel commit, our fixes and 6.1 port), built by the real `vrio
// build` into the test cache, then the vRIO lab on them: remote block device
// (O_DIRECT data, encrypted backing, ext2 remount, counters) and remote NIC
// (ping, TCP, counters). Then wire compatibility with the 3.10 images both
// ways: a 3.10 IOhyp serving a 6.1 guest, a 6.1 IOhyp serving a 3.10 guest.
// And the drivers are W=1 and sparse clean on 6.1: rebuilt with `make C=2 W=1`
// against the built 6.1 tree, no warning at all.
// VRIO_LAB61_IMAGES names ready 6.1 images (as VRIO_LAB_IMAGES the 3.10 ones).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { run } from '../../lib/exec.js';
import { dataPath } from '../../lib/paths.js';
import { ciKernelUnavailable, verifiedTarballSha256 } from '../../bench/ci-kernel/manifest.js';
import { lacks } from '../support/prereq.js';
import { cacheRoot, cliBin, kernelTreeOf, splitioBundle, vrioImages, type VrioImages } from '../support/vrio-images.js';
import { vrioSparseW1 } from '../support/vrio-warnings.js';
import { jsonLines, vrio } from './smoke-support.js';
import { BASIC_GUEST_CHECKS, FIX_CHECKS } from '../support/lab-checks.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-lab61-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface UpReport {
  checks: { name: string; ok: boolean; detail: string }[];
}

/**
 * Build the 6.1 images (content-addressed: a no-op once built). Their images
 * also authorise the 3.10 set's client key, so a lab mixing both lines logs
 * into every VM with one key.
 */
async function images61(key310: string | undefined): Promise<{ out: string } | string> {
  // Ready images (an output dir of the 6.1 manifest whose images also authorise the 3.10 key).
  if (process.env.VRIO_LAB61_IMAGES) return { out: process.env.VRIO_LAB61_IMAGES };
  const why =
    ciKernelUnavailable() ?? (splitioBundle() ? undefined : 'the SplitIO-kernel bundle (../shared/mirrors/SplitIO-kernel.bundle or VRIO_SPLITIO_MIRROR)');
  if (why) return `needs ${why}`;
  const dir = join(cacheRoot, 'vrio-6.1');
  mkdirSync(dir, { recursive: true });
  const doc = parseDocument(readFileSync(dataPath('kernel-config/manifests/vrio-6.1.yaml'), 'utf8'));
  doc.delete('$schema');
  // Debian updates the package: pin what dpkg installed (checked against its md5).
  doc.setIn(['sources', 'linux-debian', 'sha256'], await verifiedTarballSha256());
  doc.set('outputDir', join(dir, 'out'));
  doc.set('cacheDir', join(cacheRoot, 'cache'));
  doc.set('mirrors', { 'splitio-kernel': splitioBundle() });
  const file = join(dir, 'vrio.yaml');
  const logFile = join(dir, 'test-build.log');
  const build = async (): Promise<string | undefined> => {
    const text = `# written by test/integration/lab-61.test.ts\n${doc.toString()}`;
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
    try {
      await run(process.execPath, [cliBin(), 'build', '-m', file, '--no-color'], { logFile, timeoutMs: 60 * 60_000 });
      return undefined;
    } catch (e) {
      return `building the 6.1 vRIO images failed (log: ${logFile}): ${(e as Error).message.split('\n')[0]}`;
    }
  };
  const ownKey = join(dir, 'out', 'keys', 'id_ed25519.pub');
  // The first build makes the output dir and its client key; authorising the
  // 3.10 key besides it then redoes only the image stage.
  if (!existsSync(ownKey)) {
    const failed = await build();
    if (failed) return failed;
  }
  if (key310) {
    doc.setIn(['image', 'sshAuthorizedKeys'], [key310, ownKey]);
    const failed = await build();
    if (failed) return failed;
  }
  return { out: join(dir, 'out') };
}

/** An output dir whose images come from two builds; the lab logs in with `keys`' client key. */
function mixed(name: string, iohyp: string, guest: string, keys: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'images'), { recursive: true });
  symlinkSync(join(iohyp, 'images', 'iohyp'), join(dir, 'images', 'iohyp'));
  symlinkSync(join(guest, 'images', 'guest'), join(dir, 'images', 'guest'));
  cpSync(join(keys, 'keys'), join(dir, 'keys'), { recursive: true });
  return dir;
}

/**
 * One lab on the given images: the basic checks of guest1 always; with
 * `fixes`, also the bug checks of our fix series (a few create/remove cycles:
 * CI's time), so every commit proves the fixes and the tun/tap back end on 6.1.
 */
async function labChecks(t: { diagnostic(m: string): void }, images: string, state: string, checks: 'basic' | 'fixes' = 'basic'): Promise<void> {
  try {
    const fixArgs = checks === 'fixes' ? ['--checks', 'fixes', '--cycles', process.env.VRIO_LAB_CYCLES ?? '3'] : [];
    const r = await vrio(['lab', 'up', '--kernel', 'vrio', '--guests', '1', ...fixArgs, '--images', images, '--state-dir', state, '--json'], {
      timeoutMs: 30 * 60_000,
    });
    const up = jsonLines(r.stdout).find((e) => e.type === 'lab-up') as UpReport | undefined;
    assert.ok(up, r.stderr);
    for (const c of up.checks) t.diagnostic(`${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`);
    for (const what of BASIC_GUEST_CHECKS)
      assert.ok(
        up.checks.some((c) => c.name.startsWith('guest1') && c.name.includes(what)),
        `a '${what}' check ran`,
      );
    if (checks === 'fixes')
      for (const what of FIX_CHECKS)
        assert.ok(
          up.checks.some((c) => c.name.includes(what)),
          `a '${what}' check ran`,
        );
    assert.deepEqual(
      up.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      [],
    );
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await vrio(['lab', 'down', '--state-dir', state]);
  }
}

describe('vRIO on Linux 6.1', () => {
  let v310: VrioImages | undefined;
  let v61: { out: string } | undefined;
  let missing310: string | false = false;
  let missing61: string | false = false;
  before(async () => {
    const r310 = await vrioImages('default');
    if (typeof r310 === 'string') missing310 = r310;
    else v310 = r310;
    const key = v310 ? join(v310.out, 'keys', 'id_ed25519.pub') : undefined;
    const r61 = await images61(key && existsSync(key) ? key : undefined);
    if (typeof r61 === 'string') missing61 = r61;
    else v61 = r61;
  });

  test('the 6.1 images carry the 8 vRIO modules built from the overlay, the fixes and the port', (t) => {
    if (lacks(t, missing61)) return;
    const m = JSON.parse(readFileSync(join(v61!.out, 'images', 'iohyp', 'manifest.json'), 'utf8')) as {
      kernel: { release: string; modules: string[]; patches: { name: string; origin: string }[] };
    };
    assert.match(m.kernel.release, /^6\.1\./);
    for (const mod of ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet', 'vrio_gsdev', 'vrio_hblk', 'vrio_hnet', 'vrio_hsdev'])
      assert.ok(m.kernel.modules.includes(mod), mod);
    const origins = new Set(m.kernel.patches.map((p) => p.origin));
    assert.deepEqual([...origins].sort(), ['fixes', 'overlay', 'port']);
  });

  test('drivers/vrio is W=1 and sparse clean on 6.1 (make C=2 W=1: no compiler or sparse warning)', async (t) => {
    if (lacks(t, missing61)) return;
    const tree = kernelTreeOf(v61!.out);
    if (lacks(t, typeof tree === 'string' && tree)) return;
    const sparse = await run('sparse', ['--version']).catch(() => undefined);
    if (lacks(t, !sparse && 'sparse (apt-get install sparse)')) return;
    const r = await vrioSparseW1(tree as { src: string; obj: string });
    // 9 C files in 8 modules, each through sparse.
    assert.ok(r.checked >= 9, `sparse ran on ${r.checked} files:\n${r.log.slice(-3000)}`);
    assert.deepEqual(r.warnings, [], `${r.warnings.length} warnings:\n${r.warnings.join('\n')}`);
    assert.equal(r.code, 0, r.log.slice(-3000));
  });

  test('the lab on the 6.1 images: remote block and net device, all checks and the bug checks of the fix series', async (t) => {
    if (lacks(t, missing61)) return;
    await labChecks(t, v61!.out, join(tmp, 'lab61'), 'fixes');
  });

  test('wire compatibility: a 3.10 IOhyp serves a 6.1 guest (block and net)', async (t) => {
    if (lacks(t, missing61 || missing310)) return;
    await labChecks(t, mixed('io310-guest61', v310!.out, v61!.out, v310!.out), join(tmp, 'lab-a'));
  });

  test('wire compatibility: a 6.1 IOhyp serves a 3.10 guest (block and net)', async (t) => {
    if (lacks(t, missing61 || missing310)) return;
    await labChecks(t, mixed('io61-guest310', v61!.out, v310!.out, v310!.out), join(tmp, 'lab-b'));
  });
});
