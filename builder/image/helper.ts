// Build the static /dev/iohyp control helper from rootfs/helper/ at image
// build time: musl-gcc when present (about 85 KiB), else gcc -static. The
// source carries _Static_asserts for the 472-byte request layout, so an ABI
// slip fails the build instead of reaching a kernel.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, which } from '../../lib/exec.js';
import { sha256File } from '../../lib/fsx.js';
import { dataPath } from '../../lib/paths.js';

export const HELPER_SOURCE = 'rootfs/helper/vrio-iohyp.c';

export interface BuiltHelper {
  path: string;
  compiler: string;
  sha256: string;
}

export async function buildHelper(outDir: string, logFile: string): Promise<BuiltHelper> {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'vrio-iohyp');
  const cc = which('musl-gcc') ? 'musl-gcc' : 'gcc';
  const src = dataPath(HELPER_SOURCE);
  // -s and no debug info: no build paths or times end up in the binary.
  await run(cc, ['-static', '-Os', '-s', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', out, src], {
    logFile,
    env: { LC_ALL: 'C', SOURCE_DATE_EPOCH: '0' },
  });
  return { path: out, compiler: cc, sha256: await sha256File(out) };
}
