// `vrio clean`: remove build outputs (and with --all the source cache too).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { withLock } from '../../lib/fsx.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

/** Remove a directory's contents but not the directory (it may hold our lock). */
function emptyDir(dir: string, keep: string[] = []): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir)) {
    if (keep.includes(e)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
    n++;
  }
  return n;
}

/** Refuse to empty a directory that holds the project itself (outputDir: "." by mistake). */
function guard(dir: string, what: string, keepOut: (string | undefined)[]): void {
  const d = resolve(dir);
  const inside = (p: string) => {
    const r = relative(d, resolve(p));
    return r === '' || (!r.startsWith('..') && !r.startsWith('/'));
  };
  if (d === '/' || d === resolve(homedir()) || keepOut.some((p) => p !== undefined && inside(p))) {
    throw new UsageError(`refusing to clean ${what} ${d}: it contains the manifest or the working directory`, `set ${what === 'output directory' ? 'outputDir' : 'cacheDir'} to a directory of its own`);
  }
}

export const cleanCommand: Command = {
  name: 'clean',
  summary: 'remove build outputs (prepared trees, kernel builds, images, logs); --all also empties the download cache',
  usage: '[--all]',
  description: 'Waits for no one: if a build holds the output directory lock, clean refuses. The cache (git mirrors, tarballs) survives unless --all is given.',
  examples: ['vrio clean', 'vrio clean --all', 'vrio clean -o /tmp/vrio-out'],
  options: {
    all: { type: 'boolean', description: 'also empty the download/source cache' },
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    guard(m.outputDir, 'output directory', [m.file, ctx.cwd]);
    if (values.all) guard(m.cacheDir, 'cache', [m.file, ctx.cwd]);
    // Take the kernel stage's lock too, so a running kernel build is not cut from under it.
    await withLock(join(m.outputDir, 'kernel'), async () => {
      await withLock(m.outputDir, async () => {
        const n = emptyDir(m.outputDir, ['.vrio.lock', 'kernel']);
        const k = emptyDir(join(m.outputDir, 'kernel'), ['.vrio.lock']);
        ctx.log.info(`removed ${n + k} entries from ${m.outputDir}`);
      }, { what: `output directory ${m.outputDir}` });
    }, { what: `kernel outputs in ${m.outputDir}` });
    if (values.all) {
      await withLock(m.cacheDir, async () => {
        ctx.log.info(`removed ${emptyDir(m.cacheDir, ['.vrio.lock'])} entries from the cache ${m.cacheDir}`);
      }, { what: `cache ${m.cacheDir}` });
    }
    return 0;
  },
};
