// `vrio fetch`: fill the source cache (and verify it) without building.
import { existsSync } from 'node:fs';
import { fetchSources } from '../../builder/kernel/index.js';
import { bareRepoPath } from '../../builder/sources/git.js';
import { kernelSourceNames } from '../../builder/sources/index.js';
import { tarballCachePath } from '../../builder/sources/tarball.js';
import { table } from '../../lib/log.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'download and verify every pinned source the build needs into the cache',
  usage: '[--offline] [--mirror NAME=PATH]... [--cache-dir DIR]',
  description:
    'Git sources are fetched by commit id into bare repositories, tarballs are downloaded (resuming) and checked against their sha256. Mirrors are tried before upstream. With --offline nothing touches the network and whatever is missing is listed with how to provide it. Run it on a connected machine to prepare a cache for an offline one.',
  examples: ['vrio fetch', 'vrio fetch --mirror splitio-kernel=/srv/git/SplitIO-kernel.git', 'vrio fetch --offline --cache-dir /media/usb/vrio-cache'],
  options: {
    offline: { type: 'boolean', description: 'never use the network; list what is missing instead' },
    ...manifestOptions,
  },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    await fetchSources(m, { offline: Boolean(values.offline), signal: ctx.signal });
    const rows = kernelSourceNames(m).map((name) => {
      const s = m.sources[name];
      const where =
        s.kind === 'git' ? bareRepoPath(m.cacheDir, name) : s.kind === 'tarball' ? tarballCachePath(m.cacheDir, name, s.url) : (m.mirrors[name] ?? s.path);
      const ref = s.kind === 'git' ? s.commit : s.kind === 'tarball' ? `sha256:${s.sha256}` : '(local directory)';
      return { name, kind: s.kind, ref, where, ok: existsSync(where) };
    });
    if (ctx.global.json) ctx.log.event('sources', { cacheDir: m.cacheDir, sources: rows });
    else {
      ctx.log.print(
        table(
          ['SOURCE', 'KIND', 'PIN', 'STATUS', 'CACHED AT'],
          rows.map((r) => [r.name, r.kind, r.ref, r.ok ? 'verified' : 'missing', r.where]),
        ),
      );
    }
    return 0;
  },
};
