// `vrio clean`: remove build outputs (and with --all the source cache too).
//
// Deleting is the one thing here that cannot be undone, so a directory is
// emptied only when (checked on its real path, symlinks resolved first):
//   - it is not /, a system directory, a home directory or above one, and does
//     not hold the manifest or the working directory;
//   - it carries the marker vrio writes when it creates it (builder/owned-dirs.ts).
// An output dir that is a symlink to ~ was wiped before these checks.
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { isOwned, markerName, type OwnedKind } from '../../builder/owned-dirs.js';
import { UsageError } from '../../lib/errors.js';
import { withLock } from '../../lib/fsx.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

/** Remove a directory's contents but not the directory (it holds our lock and marker). */
function emptyDir(dir: string, keep: string[]): number {
  let n = 0;
  for (const e of readdirSync(dir)) {
    if (keep.includes(e)) continue;
    rmSync(join(dir, e), { recursive: true, force: true }); // removes links, never what they point to
    n++;
  }
  return n;
}

/** Trees that belong to the system at any depth. */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/sbin', '/sys'];
/** Every directory directly below these is a system directory (/tmp, /usr/lib, /var/tmp...); deeper ones may be anyone's. */
const SYSTEM_PARENTS = ['/', '/usr', '/var', '/usr/local'];

/** Every home directory on this machine (passwd and $HOME), as real paths. */
function homeDirs(): string[] {
  const homes = new Set<string>();
  const add = (p: string | undefined) => {
    if (!p || !p.startsWith('/')) return;
    try {
      homes.add(realpathSync(p));
    } catch {
      /* a passwd home that does not exist cannot be cleaned either */
    }
  };
  add(homedir());
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) add(line.split(':')[5]);
  } catch {
    /* no passwd: $HOME only */
  }
  homes.delete('/'); // daemons with home "/": / is refused on its own
  return [...homes];
}

const isInside = (p: string, d: string) => {
  const r = relative(d, p);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep));
};

/**
 * The real path of the directory `vrio clean` may empty, or undefined when it
 * does not exist. Throws a usage error (exit 2) naming the directory and why not.
 */
function checkedDir(dir: string, kind: OwnedKind, keepOut: (string | undefined)[]): string | undefined {
  const what = kind === 'output' ? 'output directory' : 'cache';
  const key = kind === 'output' ? 'outputDir (or -o)' : 'cacheDir (or --cache-dir)';
  if (!existsSync(dir)) return undefined;
  const real = realpathSync(dir);
  const shown = real === resolve(dir) ? real : `${resolve(dir)} (which is ${real})`;
  const refuse = (why: string, hint: string): never => {
    throw new UsageError(`refusing to clean ${what} ${shown}: ${why}`, hint);
  };
  if (!lstatSync(real).isDirectory()) refuse('not a directory', `set ${key} to a directory of its own`);
  if (real === '/' || SYSTEM_TREES.some((s) => isInside(real, s)) || SYSTEM_PARENTS.includes(real) || SYSTEM_PARENTS.includes(dirname(real))) {
    refuse('it is / or a system directory', `set ${key} to a directory of its own`);
  }
  const home = homeDirs().find((h) => isInside(h, real));
  if (home) refuse(home === real ? 'it is a home directory' : `it contains the home directory ${home}`, `set ${key} to a directory of its own`);
  const kept = keepOut.filter((p): p is string => p !== undefined).map((p) => (existsSync(p) ? realpathSync(p) : resolve(p)));
  if (kept.some((p) => isInside(p, real))) refuse('it contains the manifest or the working directory', `set ${key} to a directory of its own`);
  if (!isOwned(real, kind)) {
    refuse(
      `it has no ${markerName(kind)} marker, so vrio did not create it (or it was made by a vrio older than the marker)`,
      `look at what it holds, and if it is only vrio's ${kind === 'output' ? 'outputs' : 'downloads'}, remove it by hand: rm -rf -- '${real}'`,
    );
  }
  return real;
}

export const cleanCommand: Command = {
  name: 'clean',
  summary: 'remove build outputs (prepared trees, kernel builds, images, logs); --all also empties the download cache',
  usage: '[--all]',
  description:
    'Waits for no one: if a build holds the output directory lock, clean refuses. The cache (git mirrors, tarballs) survives unless --all is given. ' +
    'Only directories vrio created (they hold a .vrio-output / .vrio-cache marker) are emptied, never /, a system or a home directory, even through a symlink.',
  examples: ['vrio clean', 'vrio clean --all', 'vrio clean -o /tmp/vrio-out'],
  options: {
    all: { type: 'boolean', description: 'also empty the download/source cache' },
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    // Every check before any lock: withLock creates the directory it locks.
    const out = checkedDir(m.outputDir, 'output', [m.file, ctx.cwd]);
    const cache = values.all ? checkedDir(m.cacheDir, 'cache', [m.file, ctx.cwd]) : undefined;
    const keepOut = [markerName('output'), '.vrio.lock'];
    if (out) {
      const kernel = join(out, 'kernel');
      if (existsSync(kernel) && !lstatSync(kernel).isDirectory()) {
        throw new UsageError(`refusing to clean ${kernel}: not a directory (a symlink?)`, `remove it by hand: rm -- '${kernel}'`);
      }
      // Take the kernel stage's lock too, so a running kernel build is not cut from under it.
      await withLock(
        kernel,
        async () => {
          await withLock(
            out,
            async () => {
              const n = emptyDir(out, [...keepOut, 'kernel']);
              const k = emptyDir(kernel, ['.vrio.lock']);
              ctx.log.info(`removed ${n + k} entries from ${out}`);
            },
            { what: `output directory ${out}` },
          );
        },
        { what: `kernel outputs in ${out}` },
      );
    } else ctx.log.info(`nothing to clean: ${resolve(m.outputDir)} does not exist`);
    if (cache) {
      await withLock(
        cache,
        async () => {
          ctx.log.info(`removed ${emptyDir(cache, [markerName('cache'), '.vrio.lock'])} entries from the cache ${cache}`);
        },
        { what: `cache ${cache}` },
      );
    }
    return 0;
  },
};
