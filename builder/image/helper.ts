// Build the static /dev/iohyp control helper from rootfs/helper/ at image
// build time: musl-gcc when present (about 85 KiB), else gcc -static. The
// source carries _Static_asserts for the 472-byte request layout, so an ABI
// slip fails the build instead of reaching a kernel.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, which } from '../../lib/exec.js';
import { sha256, sha256File, writeFileAtomic } from '../../lib/fsx.js';
import { dataPath } from '../../lib/paths.js';

export const HELPER_SOURCE = 'rootfs/helper/vrio-iohyp.c';

export interface BuiltHelper {
  path: string;
  compiler: string;
  sha256: string;
}

export interface HelperCache {
  /** Directory holding compiled helpers, one subdirectory per key. */
  dir: string;
  /** What else decides the binary besides the source: compiler package versions. */
  toolchain: string;
}

/**
 * Compile the helper into outDir. With a cache, a binary compiled before from
 * the same source, compiler and toolchain versions is copied instead: the
 * compile is deterministic and cost ~0.2–0.6 s of every image build.
 */
export async function buildHelper(outDir: string, logFile: string, cache?: HelperCache): Promise<BuiltHelper> {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'vrio-iohyp');
  const cc = which('musl-gcc') ? 'musl-gcc' : 'gcc';
  const src = dataPath(HELPER_SOURCE);
  const cached = cache ? join(cache.dir, sha256([cc, cache.toolchain, sha256(readFileSync(src))].join('\n')).slice(0, 16), 'vrio-iohyp') : undefined;
  if (cached && existsSync(cached)) {
    copyFileSync(cached, out);
    return { path: out, compiler: cc, sha256: await sha256File(out) };
  }
  // -s and no debug info: no build paths or times end up in the binary.
  await run(cc, ['-static', '-Os', '-s', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', out, src], {
    logFile,
    env: { LC_ALL: 'C', SOURCE_DATE_EPOCH: '0' },
  });
  if (cached) writeFileAtomic(cached, readFileSync(out), 0o755);
  return { path: out, compiler: cc, sha256: await sha256File(out) };
}
