// The block throughput comparison of `vrio lab up --checks fixes`
// (lab/blk-perf.ts): how many requests each size gets, the arithmetic of the
// figures, the table, and the guest-side script run for real by /bin/sh against
// a loop device (the same dd and /proc/uptime the guest uses).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseTiming, perfMarkdown, perfScript, perfTable, PERF_SIZES_KIB, requestsFor, rowOf, SOURCE_BYTES } from '../../lab/blk-perf.js';
import { prerequisite } from '../support/prereq.js';

describe('lab block throughput', () => {
  test('every size moves at least 2 MiB in at least 8 requests, so the 10 ms uptime tick stays small', () => {
    for (const k of PERF_SIZES_KIB) {
      assert.ok(requestsFor(k) >= 8, `${k} KiB`);
      assert.ok(requestsFor(k) * k >= 2048, `${k} KiB`);
    }
    assert.equal(requestsFor(4), 512);
    assert.equal(requestsFor(1024), 8);
    // The source file covers the biggest write run (8 x 1 MiB) and fits the 16 MiB disks.
    assert.equal(SOURCE_BYTES, 8 << 20);
  });

  test('figures: average latency per request and MB/s from one timed run', () => {
    const r = rowOf('read', 64, { seconds: 2, requests: 32 }, { seconds: 0.05, requests: 32 });
    assert.equal(r.vrio.avgMs, 62.5);
    assert.equal(r.virtio.avgMs, 1.5625);
    assert.ok(Math.abs(r.vrio.mbPerSec - (64 * 1024 * 32) / 2 / 1e6) < 1e-9);
    assert.equal(r.requests, 32);
  });

  test('timing: two clock readings in ns (timer_list) or uptime seconds; a run under one uptime tick counts as one tick; no readings is an error naming the output', () => {
    assert.deepEqual(parseTiming('[  5.1] some kernel line\n389719940810ns 389728568850ns\n', 4), { seconds: 0.00862804, requests: 4 });
    assert.deepEqual(parseTiming('[  5.1] some kernel line\n123.45s 125.95s\n', 10), { seconds: 2.5, requests: 10 });
    assert.equal(parseTiming('7.00s 7.00s\n', 8).seconds, 0.01);
    assert.throws(() => parseTiming('dd: /dev/vrda: Input/output error', 8), /no timing in the guest's output: 'dd: \/dev\/vrda: Input\/output error'/);
  });

  test('the script refuses anything but a plain /dev path (it is run by a remote shell)', () => {
    assert.throws(() => perfScript('/dev/vda; reboot', 'read', 4, 8), /not a block device path/);
    assert.throws(() => perfScript('/tmp/x', 'read', 4, 8), /not a block device path/);
    assert.match(perfScript('/dev/vrda', 'write', 1024, 8), /of=\/dev\/vrda oflag=direct bs=1048576 count=8/);
  });

  test('table and Markdown carry both disks per size and op', () => {
    const rows = [
      rowOf('write', 4, { seconds: 1.2, requests: 512 }, { seconds: 0.4, requests: 512 }),
      rowOf('read', 1024, { seconds: 2, requests: 8 }, { seconds: 0.02, requests: 8 }),
    ];
    const t = perfTable(rows).split('\n');
    assert.match(t[0], /^OP\s+SIZE\s+REQS\s+VRIO AVG\s+VRIO MB\/S\s+VIRTIO-BLK AVG\s+VIRTIO-BLK MB\/S\s+VRIO\/VIRTIO TIME$/);
    assert.match(t[1], /^write\s+4 KiB\s+512\s+2\.34 ms\s+1\.75\s+0\.78 ms\s+5\.24\s+3\.00x$/);
    assert.match(t[2], /^read\s+1 MiB\s+8\s+250 ms\s+4\.19\s+2\.50 ms\s+419\s+100x$/);
    const md = perfMarkdown(rows).split('\n');
    assert.equal(md.length, 4);
    assert.equal(md[3], '| read | 1 MiB | 8 | 250 ms | 4.19 | 2.50 ms | 419 |');
  });

  // The real script, on a real block device: it must time a real O_DIRECT run and write the data.
  const loop = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
  const canLoop = loop.status === 0 && process.getuid?.() === 0;
  test(
    'the guest script times a real O_DIRECT dd run on a block device and writes the source data',
    { skip: prerequisite(canLoop ? false : 'needs root and a free loop device') },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'vrio-perf-'));
      const img = join(dir, 'disk.img');
      writeFileSync(img, Buffer.alloc(4 << 20));
      const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
      try {
        const src = Buffer.alloc(1 << 20, 0x5a);
        writeFileSync('/tmp/vrio-perf-src', src);
        const w = spawnSync('sh', ['-c', perfScript(dev, 'write', 64, 16)], { encoding: 'utf8' });
        assert.equal(w.status, 0, w.stdout + w.stderr);
        const tw = parseTiming(w.stdout, 16);
        assert.ok(tw.seconds > 0 && tw.seconds < 60);
        const r = spawnSync('sh', ['-c', perfScript(dev, 'read', 64, 16)], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        parseTiming(r.stdout, 16);
        const back = execFileSync('dd', [`if=${dev}`, 'bs=1M', 'count=1', 'iflag=direct', 'status=none']);
        assert.ok(back.equals(src), 'the written megabyte reads back from the device');
        // A failing dd (past the end of the device) exits 3 with dd's own message.
        const bad = spawnSync('sh', ['-c', perfScript(dev, 'read', 1024, 8).replace('count=8', 'count=8 skip=100')], { encoding: 'utf8' });
        assert.equal(bad.status, 3);
      } finally {
        execFileSync('losetup', ['-d', dev]);
        rmSync(dir, { recursive: true, force: true });
        rmSync('/tmp/vrio-perf-src', { force: true });
      }
    },
  );
});
