// Decompression bombs given to `vrio inspect` (issue #15): a 6.5 MB gzip (and a
// zstd) initramfs whose one cpio entry claims 4 GiB of zeros and holds 6.4 GiB.
// The real CLI must stop at the limit with a message naming the file and the
// limit (exit 2), in bounded time and memory (max RSS measured by
// /usr/bin/time -v around the CLI process), and leave no temp file behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_INITRAMFS_BYTES } from '../../builder/image/inspect.js';
import { packageRoot } from '../../lib/paths.js';
import { tempDir } from '../support/cli.js';
import { printFigures, type Figures } from '../support/figures.js';

const t = tempDir('vrio-bomb-');
after(t.cleanup);

const MEMBER = 64 * 1024 * 1024; // zeros per compressed member
const MEMBERS = 100; // 6.4 GiB in all

/** A newc header for one regular file of `size` bytes (the data follows). */
function cpioHeader(name: string, size: number): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const nameBuf = Buffer.from(name + '\0');
  const head = '070701' + [1, 0o100644, 0, 0, 1, 0, size, 0, 0, 0, 0, nameBuf.length, 0].map(hex).join('');
  const pad = (4 - ((head.length + nameBuf.length) % 4)) % 4;
  return Buffer.concat([Buffer.from(head, 'ascii'), nameBuf, Buffer.alloc(pad)]);
}

/** Concatenated members/frames: each decompresses to MEMBER zeros (valid gzip and zstd streams). */
function bomb(kind: 'gzip' | 'zstd'): string {
  const head = cpioHeader('zeros', 0xfffffff0);
  const file = join(t.dir, `bomb.${kind === 'gzip' ? 'gz' : 'zst'}.img`);
  let parts: Buffer[];
  if (kind === 'gzip') parts = [gzipSync(head), ...Array(MEMBERS).fill(gzipSync(Buffer.alloc(MEMBER), { level: 9 }))];
  else {
    const z = (b: Buffer) => {
      const r = spawnSync('zstd', ['-19', '-q', '-c'], { input: b, maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, String(r.stderr));
      return r.stdout;
    };
    parts = [z(head), ...Array(MEMBERS).fill(z(Buffer.alloc(MEMBER)))];
  }
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

/** The CLI under /usr/bin/time -v: exit code, stderr, max RSS (MiB) and wall time (s). */
function inspect(file: string, tmp: string): { code: number | null; stderr: string; rssMiB: number; seconds: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, join(packageRoot(), 'dist/cli/bin.js'), 'inspect', file], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', TMPDIR: tmp },
    timeout: 300_000,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  assert.ok(rss, r.stderr);
  const code = /Exit status: (\d+)/.exec(r.stderr);
  return { code: code ? Number(code[1]) : r.status, stderr: r.stderr, rssMiB: Number(rss[1]) / 1024, seconds };
}

const figures: Figures = {};

describe('vrio inspect on decompression bombs (issue #15)', () => {
  for (const kind of ['gzip', 'zstd'] as const) {
    it(`${kind}: stops at the limit with exit 2 naming the file and the limit, in bounded memory and time, no temp file left`, () => {
      const file = bomb(kind);
      const size = statSync(file).size;
      const tmp = join(t.dir, `tmp-${kind}`);
      spawnSync('mkdir', [tmp]);
      const r = inspect(file, tmp);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`${file}: decompresses to more than ${MAX_INITRAMFS_BYTES / (1024 * 1024)} MiB, the limit for an initramfs`), r.stderr);
      assert.ok(r.rssMiB < 200, `max RSS ${r.rssMiB.toFixed(0)} MiB`);
      assert.ok(r.seconds < 60, `${r.seconds.toFixed(1)} s`);
      assert.deepEqual(readdirSync(tmp), [], 'no temp file (the zstd output is piped)');
      figures[`${kind}_bomb_MB`] = (size / 1e6).toFixed(2);
      figures[`${kind}_expands_GiB`] = ((MEMBER * MEMBERS) / 2 ** 30).toFixed(1);
      figures[`${kind}_max_rss_MiB`] = r.rssMiB.toFixed(0);
      figures[`${kind}_seconds`] = r.seconds.toFixed(1);
    });
  }

  it('prints its figures', () => {
    figures.limit_MiB = MAX_INITRAMFS_BYTES / (1024 * 1024);
    printFigures('inspect-bomb', figures);
  });
});
