// The CI test kernel's manifest, set up once per bench run in a shared work
// directory, so the boot section can use the images the build section made.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ciKernelUnavailable, writeCiManifest } from '../ci-kernel/manifest.js';

export interface CiSetup {
  dir: string;
  manifest: string;
  outputDir: string;
  patchFile: string;
}

/** Why the CI test kernel cannot be built here, or undefined. */
export const ciUnavailable = ciKernelUnavailable;

export async function ensureCi(dir: string): Promise<CiSetup> {
  const manifest = join(dir, 'ci.yaml');
  const outputDir = join(dir, 'out');
  if (!existsSync(manifest)) await writeCiManifest(dir, { outputDir, cacheDir: join(dir, 'cache') });
  return { dir, manifest, outputDir, patchFile: join(dir, 'patches', '0001-misc-add-vrio_test-module.patch') };
}
