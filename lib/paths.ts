import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The package root (where package.json is), found from this compiled file's location. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'kernel-config'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the vrio-appliance package root');
    dir = up;
  }
}

/** A path to a data file shipped with the package (kernel-config/, rootfs/, schemas). */
export function dataPath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/** Download/source cache, like Buildroot's DL_DIR: $VRIO_CACHE_DIR, else XDG cache. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VRIO_CACHE_DIR) return resolve(env.VRIO_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'vrio');
}
