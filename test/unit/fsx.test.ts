// lib/fsx.ts: the build lock (flock held by a helper process) and the removal
// of temps that killed runs left behind. Real processes, real SIGKILL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { VrioError } from '../../lib/errors.js';
import { createExclusive, isLocked, lockFileOf, removeStaleTemps, replaceDir, tempSibling, withLock, writeFileAtomic } from '../../lib/fsx.js';
import { Logger, setLogger } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';

setLogger(new Logger({ verbosity: 'quiet' }));

const root = mkdtempSync(join(tmpdir(), 'vrio-fsx-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A child node process that takes the lock of `dir`, says "held", and keeps it until killed. */
function holder(dir: string): Promise<{ pid: number; exited: Promise<void> }> {
  const fsx = dataPath('dist/lib/fsx.js');
  const code = `import(${JSON.stringify(fsx)}).then((m) => m.withLock(${JSON.stringify(dir)}, () => { console.log('held'); return new Promise(() => {}); }))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve({ pid: child.pid!, exited }));
    child.once('error', reject);
    setTimeout(() => reject(new Error('the holder did not take the lock in 20s')), 20_000).unref();
  });
}

/** A pid that belongs to no process (a child that has exited). */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.once('close', r));
  return c.pid!;
}

describe('withLock', () => {
  it('refuses a second holder with an error naming the holder pid and the lock file', async () => {
    const dir = join(root, 'busy');
    const h = await holder(dir);
    try {
      assert.ok(isLocked(dir));
      await assert.rejects(
        withLock(dir, async () => 'never', { what: 'test outputs' }),
        (e: VrioError) => {
          assert.match(e.message, new RegExp(`test outputs is locked by another vrio process \\(pid ${h.pid}\\)`));
          assert.ok(e.hint?.includes(lockFileOf(dir)));
          return true;
        },
      );
    } finally {
      process.kill(h.pid, 'SIGKILL');
      await h.exited;
    }
  });

  it('is free as soon as a SIGKILLed holder is gone, and a waiter gets it', async () => {
    const dir = join(root, 'killed');
    const h = await holder(dir);
    const waiting = withLock(dir, async () => readFileSync(lockFileOf(dir), 'utf8').trim(), { waitMs: 20_000 });
    process.kill(h.pid, 'SIGKILL');
    await h.exited;
    assert.equal(await waiting, String(process.pid), 'the waiter took the lock and recorded its pid');
    assert.ok(!isLocked(dir), 'released after fn');
  });

  it('releases the lock when fn throws', async () => {
    const dir = join(root, 'throws');
    await assert.rejects(
      withLock(dir, async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.ok(!isLocked(dir));
    assert.equal(await withLock(dir, async () => 7), 7);
  });
});

describe('temps of killed runs', () => {
  it('are removed when the same output is written again; a live process keeps its own', async () => {
    const dir = join(root, 'temps');
    mkdirSync(dir, { recursive: true });
    const dead = await deadPid();
    const final = join(dir, 'stage');
    for (const n of [`.stage.tmp-${dead}-1700000000000`, `stage.old-${dead}`, `.stage.tmp-${process.pid}-1`, `.other.tmp-${dead}-1`]) {
      mkdirSync(join(dir, n, 'sub'), { recursive: true });
    }
    writeFileSync(join(dir, `.state.json.tmp-${dead}`), '{"half":');
    const tmp = tempSibling(final);
    assert.deepEqual(readdirSync(dir).sort(), [`.other.tmp-${dead}-1`, `.stage.tmp-${process.pid}-1`, `.state.json.tmp-${dead}`].sort());
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'f'), 'new');
    await replaceDir(tmp, final);
    assert.equal(readFileSync(join(final, 'f'), 'utf8'), 'new');
    writeFileAtomic(join(dir, 'state.json'), '{}');
    assert.ok(!existsSync(join(dir, `.state.json.tmp-${dead}`)));
    assert.equal(removeStaleTemps(join(dir, 'other')), 1);
  });
});

describe('temp files cannot be hijacked (issue #15)', () => {
  it('writeFileAtomic does not write through a symlink planted at the predictable temp name', () => {
    const dir = join(root, 'planted');
    mkdirSync(dir, { recursive: true });
    const victim = join(root, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    // The names the old scheme used: .<name>.tmp-<pid> (and tempSibling's .<name>.tmp-<pid>-<ms>).
    const planted = [`.state.json.tmp-${process.pid}`, ...Array.from({ length: 5 }, (_, i) => `.state.json.tmp-${process.pid}-${Date.now() + i}`)];
    for (const n of planted) symlinkSync(victim, join(dir, n));
    writeFileAtomic(join(dir, 'state.json'), '{"new":1}\n', 0o600);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target is untouched');
    assert.equal(statSync(victim).mode & 0o777, 0o644);
    const st = lstatSync(join(dir, 'state.json'));
    assert.ok(st.isFile(), 'the result is a regular file, not the planted link');
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), '{"new":1}\n');
    for (const n of planted) assert.equal(readlinkSync(join(dir, n)), victim, `${n} is not ours: left as it was`);
  });

  it('temp names are unguessable, and creation refuses an existing name or symlink', () => {
    const final = join(root, 'guess', 'out');
    mkdirSync(join(root, 'guess'), { recursive: true });
    const a = tempSibling(final);
    const b = tempSibling(final);
    assert.notEqual(a, b);
    assert.match(a, new RegExp(`/\\.out\\.tmp-${process.pid}-[0-9a-f]{16}$`));
    const victim = join(root, 'victim2');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, a);
    assert.throws(() => createExclusive(a, 'x'), { code: 'EEXIST' });
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });
});
