// The 3.10 vRIO images every vRIO test runs on, built once per machine into
// the persistent test cache (VRIO_TEST_CACHE) by the real `vrio build`:
//   default   - the default manifest (vRIO series + compat + our fixes)
//   upstream  - the same with `kernel.fixes: false` (pure upstream vRIO), the
//               images on which the bug checks must fail
// The pinned SplitIO-kernel source comes from the offline bundle beside the
// checkout (../shared/mirrors/SplitIO-kernel.bundle) when it exists, else
// from the network as for any user. Both builds are content-addressed: once
// built, a test file's `vrio build` is a no-op of about a second.
// VRIO_LAB_IMAGES / VRIO_LAB_UPSTREAM_IMAGES name ready output dirs instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before } from 'node:test';
import { stringify } from 'yaml';
import { run } from '../../lib/exec.js';
import { dataPath } from '../../lib/paths.js';
import { readImageManifest } from '../../builder/image/image-manifest.js';

export const cacheRoot = process.env.VRIO_TEST_CACHE ?? join(tmpdir(), 'vrio-test-cache');
export const cliBin = () => dataPath('dist/cli/bin.js');

/** The offline mirror of orbitfp7/SplitIO-kernel, when this checkout has one beside it. */
export function splitioBundle(): string | undefined {
  const p = process.env.VRIO_SPLITIO_MIRROR ?? resolve(dataPath(), '../shared/mirrors/SplitIO-kernel.bundle');
  return existsSync(p) ? p : undefined;
}

export type ImageSet = 'default' | 'upstream';

export interface VrioImages {
  /** Output dir holding images/iohyp and images/guest. */
  out: string;
  /** The manifest that built them (absent when given by environment). */
  manifest?: string;
}

function hasImages(out: string): boolean {
  return ['iohyp', 'guest'].every((r) => existsSync(join(out, 'images', r, 'manifest.json')));
}

/** Why `out` is not a 3.10 vRIO image set, or undefined when it is one. */
export function notVrioImages(out: string): string | undefined {
  if (!hasImages(out)) return `no vRIO images in ${out} (images/iohyp and images/guest with manifest.json)`;
  const m = readImageManifest(join(out, 'images', 'iohyp', 'manifest.json'));
  if (!m.kernel.modules.includes('vrio_gen')) return `the images in ${out} have no vRIO modules (not a 3.10 vRIO build)`;
  return undefined;
}

/** Write the test manifest of one image set; returns its path. */
export function writeVrioManifest(set: ImageSet): string {
  const dir = join(cacheRoot, set === 'default' ? 'vrio-3.10' : 'vrio-3.10-upstream');
  mkdirSync(dir, { recursive: true });
  const bundle = splitioBundle();
  const doc: Record<string, unknown> = {
    outputDir: join(dir, 'out'),
    cacheDir: join(cacheRoot, 'cache'),
    ...(bundle ? { mirrors: { 'splitio-kernel': bundle } } : {}),
    ...(set === 'upstream' ? { kernel: { fixes: false } } : {}),
  };
  const file = join(dir, 'vrio.yaml');
  const text = `# written by test/support/vrio-images.ts\n${stringify(doc)}`;
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
  return file;
}

const cached = new Map<ImageSet, Promise<VrioImages | string>>();

/** The image set, built here if needed, or the reason it cannot be had. */
export function vrioImages(set: ImageSet = 'default'): Promise<VrioImages | string> {
  let p = cached.get(set);
  if (!p) {
    p = (async () => {
      const env = set === 'default' ? process.env.VRIO_LAB_IMAGES : process.env.VRIO_LAB_UPSTREAM_IMAGES;
      if (env) return notVrioImages(env) ?? { out: env };
      const manifest = writeVrioManifest(set);
      const dir = join(manifest, '..');
      const logFile = join(dir, 'test-build.log');
      try {
        await run(process.execPath, [cliBin(), 'build', '-m', manifest, '--no-color'], { logFile, timeoutMs: 60 * 60_000 });
      } catch (e) {
        const how = splitioBundle()
          ? `from the bundle ${splitioBundle()}`
          : 'from the network (no ../shared/mirrors/SplitIO-kernel.bundle beside the checkout)';
        return `building the ${set} 3.10 vRIO images ${how} failed (log: ${logFile}): ${(e as Error).message.split('\n')[0]}`;
      }
      const out = join(dir, 'out');
      return notVrioImages(out) ?? { out, manifest };
    })();
    cached.set(set, p);
  }
  return p;
}

/**
 * For a test file or suite: a `before` hook that gets the image set, and the
 * holder the tests read it (or the reason it is missing) from.
 */
export function vrioImagesFixture(set: ImageSet = 'default'): { imgs?: VrioImages; missing: string | false } {
  const f: { imgs?: VrioImages; missing: string | false } = { missing: false };
  before(async () => {
    const r = await vrioImages(set);
    if (typeof r === 'string') f.missing = r;
    else f.imgs = r;
  });
  return f;
}

/**
 * The prepared source tree and the built object dir of an image set's kernel
 * (for tests that compile against the pinned 3.10 headers or rebuild the vRIO
 * modules), or why there are none. Both roles share one kernel build by
 * default; with several builds in the output dir the newest wins.
 */
export async function vrioKernelTree(set: ImageSet = 'default'): Promise<{ src: string; obj: string } | string> {
  const imgs = await vrioImages(set);
  if (typeof imgs === 'string') return imgs;
  return kernelTreeOf(imgs.out);
}

/** The newest prepared vRIO tree and built kernel in an output dir (any kernel line), or why there are none. */
export function kernelTreeOf(out: string): { src: string; obj: string } | string {
  const newest = (dir: string, inner: string, marker: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .map((d) => join(dir, d))
          .filter((d) => existsSync(join(d, inner, marker)))
          .sort((a, b) => statSync(join(b, inner, marker)).mtimeMs - statSync(join(a, inner, marker)).mtimeMs)[0]
      : undefined;
  const tree = newest(join(out, 'kernel', 'trees'), 'src', 'drivers/vrio/eth/eth.c');
  const build = newest(join(out, 'kernel', 'builds'), 'obj', 'arch/x86/boot/bzImage');
  if (!tree || !build) return `${out}/kernel holds no prepared vRIO tree and built kernel (images given by environment without their kernel dir?)`;
  return { src: join(tree, 'src'), obj: join(build, 'obj') };
}
