// The 6.1 vRIO series as committed: the overlay of the pinned SplitIO-kernel
// commit, our fixes (links to the 3.10 files), then our port, applied to the
// files of Debian's linux-source-6.1 they touch. Needs the pinned source (the
// offline bundle beside the checkout) and the Debian tarball; CI has both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { applySeries } from '../../builder/kernel/apply.js';
import { isUnder, splitPatch } from '../../builder/kernel/patchfile.js';
import { collectSeries } from '../../builder/kernel/series.js';
import { loadManifest } from '../../builder/manifest.js';
import { ensureSources, kernelSourceNames } from '../../builder/sources/index.js';
import { Logger, setLogger } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import { CI_TARBALL } from '../../bench/ci-kernel/manifest.js';
import { prerequisite } from '../support/prereq.js';
import { splitioBundle } from '../support/vrio-images.js';

setLogger(new Logger({ verbosity: 'quiet' }));

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `vrio-${p}-`));
const OVERLAY = ['drivers/vrio', 'include/linux/vrio'];
/**
 * The core files the port may touch, each only by adding lines: the kbuild
 * hook, and tun's in-kernel TUNSETIFF (0011) for tun/tap back ends.
 */
const CORE = ['drivers/Makefile', 'drivers/net/tun.c', 'include/linux/if_tun.h'];
const PORT_DIR = dataPath('kernel-config/patches/6.1/port');

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const missing = !splitioBundle()
  ? 'the SplitIO-kernel bundle (../shared/mirrors/SplitIO-kernel.bundle or VRIO_SPLITIO_MIRROR)'
  : !existsSync(CI_TARBALL)
    ? `${CI_TARBALL} (apt-get install linux-source-6.1)`
    : undefined;

describe('the 6.1 port series', () => {
  it('every port patch says what API changed, how it is mapped and how it was tested, and changes no core file but by adding lines to the kbuild hook and tun', () => {
    const files = readdirSync(PORT_DIR)
      .filter((f) => f.endsWith('.patch'))
      .sort();
    assert.ok(files.length >= 8, files.join(' '));
    for (const f of files) {
      const text = readFileSync(join(PORT_DIR, f), 'utf8');
      const msg = text.slice(0, text.indexOf('\n---\n'));
      assert.match(msg, /^Subject: \[PATCH\] (vrio|tun): /m, f);
      assert.match(msg, /API change/, `${f}: names the API change`);
      assert.match(msg, /[Mm]apping|map(s|ped)? to|->/, `${f}: says how it is mapped`);
      assert.match(msg, /^Tested: /m, `${f}: says how it was tested`);
      for (const s of splitPatch(text)) {
        const p = s.newPath ?? s.oldPath!;
        assert.ok(isUnder(p, OVERLAY) || CORE.includes(p), `${f} touches ${p}: the port changes only vRIO files, the kbuild hook and tun`);
        if (CORE.includes(p)) {
          const removed = s.text.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
          assert.deepEqual(removed, [], `${f} changes lines of ${p}: a core file is only added to`);
        }
      }
    }
  });

  it('fixes: every 3.10 driver fix is carried as a link to the 3.10 file, 0006 (core skbuff) is shown unnecessary', () => {
    const dir = dataPath('kernel-config/patches/6.1/fixes');
    const carried = readdirSync(dir)
      .filter((f) => f.endsWith('.patch'))
      .sort();
    const all310 = readdirSync(dataPath('kernel-config/patches/3.10/fixes'))
      .filter((f) => f.endsWith('.patch'))
      .sort();
    assert.deepEqual(
      all310.filter((f) => !carried.includes(f)),
      ['0006-net-skb-copy-relative-to-data.patch'],
    );
    for (const f of carried) assert.equal(readFileSync(join(dir, f), 'utf8'), readFileSync(dataPath('kernel-config/patches/3.10/fixes', f), 'utf8'), f);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /0006[^\n]*\*\*unnecessary\*\*/);
  });

  it(
    'overlay + fixes + port apply to Debian 6.1 and change nothing outside the vRIO paths but the kbuild hook and the tun export',
    { skip: prerequisite(missing && `needs ${missing}`), timeout: 600_000 },
    async () => {
      const cache = tmp('port61-cache');
      const m = loadManifest(dataPath('kernel-config/manifests/vrio-6.1.yaml'), dataPath(), {
        cacheDir: cache,
        outputDir: tmp('port61-out'),
        mirrors: { 'splitio-kernel': splitioBundle()! },
      });
      // Only the git source: the tarball is read directly below, whatever its pin.
      const names = kernelSourceNames(m).filter((n) => n === 'splitio-kernel');
      const sources = await ensureSources(m, names, { logFile: join(cache, 'log') });
      const s = await collectSeries(m, sources, { gcc: '12.2.0', binutils: '2.40' }, join(cache, 'log'));
      const port = readdirSync(PORT_DIR)
        .filter((f) => f.endsWith('.patch'))
        .sort();
      assert.deepEqual(
        s.patches.map((p) => `${p.origin}:${p.name}`),
        [
          'overlay:overlay/splitio-kernel-b2b678832056.patch',
          ...[
            '0001-vrio-short-frames',
            '0002-vrio-large-block-requests',
            '0003-vrio-create-error-paths',
            '0004-vrio-tcp-multi-fragment-frames',
            '0005-vrio-tcp-clone-shinfo-and-host-priv',
            '0007-vrio-blk-bio-max-pages',
            '0008-vrio-gblk-no-floating-point',
            '0009-vrio-iocore-lost-wakeup',
          ].map((f) => `fixes:fixes/${f}.patch`),
          ...port.map((f) => `port:port/${f}`),
        ],
      );
      // The base files the series touches (all but what the overlay creates), from the tarball.
      const created = new Set(splitPatch(s.patches[0].text).map((x) => x.newPath!));
      const fromBase = [...new Set(s.patches.slice(1).flatMap((p) => splitPatch(p.text).map((x) => x.newPath ?? x.oldPath!)))].filter(
        (p) => !created.has(p) && !isUnder(p, OVERLAY),
      );
      assert.deepEqual(fromBase.sort(), [...CORE].sort());
      const tree = tmp('port61-tree');
      execFileSync('tar', ['-x', '-f', CI_TARBALL, '-C', tree, '--strip-components=1', ...fromBase.map((p) => `linux-source-6.1/${p}`)]);
      const before = new Map(CORE.map((p) => [p, readFileSync(join(tree, p), 'utf8').split('\n')]));
      await applySeries(tree, s.patches, join(tmp('port61-series'), 's'), join(cache, 'log'));
      const files = listing(tree);
      assert.deepEqual(
        files.filter((f) => !isUnder(f, OVERLAY)),
        [...CORE].sort(),
      );
      const added = (p: string) => {
        const now = readFileSync(join(tree, p), 'utf8').split('\n');
        // Every line of the base file is still there, in order.
        const old = before.get(p)!;
        let i = 0;
        for (const l of now) if (i < old.length && l === old[i]) i++;
        assert.equal(i, old.length, `${p}: base line ${i + 1} was changed or removed`);
        return now.filter((l) => !old.includes(l));
      };
      assert.deepEqual(
        added('drivers/Makefile').filter((l) => !l.startsWith('#')),
        ['obj-m\t\t\t\t+= vrio/'],
      );
      assert.ok(added('drivers/net/tun.c').includes('EXPORT_SYMBOL_GPL(tun_set_iff_kernel);'));
      assert.ok(added('include/linux/if_tun.h').includes('int tun_set_iff_kernel(struct file *file, struct ifreq *ifr, int vnet_hdr_sz);'));
      // Our two headers beside the overlaid ones; the 8 module Makefiles of the series.
      for (const h of ['skb_frag_destructor.h', 'headroom.h']) assert.ok(files.includes(`include/linux/vrio/${h}`), h);
      assert.equal(files.filter((f) => /^drivers\/vrio\/.+\/Makefile$/.test(f)).length, 8);
      // The ABI of /dev/iohyp is the overlaid header, untouched by the port.
      assert.ok(!s.patches.slice(1).some((p) => splitPatch(p.text).some((x) => x.newPath === 'include/linux/vrio/generic_common.h')));
    },
  );
});
