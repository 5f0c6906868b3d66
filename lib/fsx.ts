// File-system helpers for "nothing half-written is left behind": atomic writes,
// atomic directory replacement, hashing, and a per-directory build lock.
//
// Temp names follow one scheme so a later run can find what a killed run left:
//   .<name>.tmp-<pid>-<random>  a file or directory being built for <name>
//   <name>.old-<pid>           the previous <name>, moved aside by replaceDir
// Whenever a new temp for <name> is made, those of dead processes are removed
// (a SIGKILLed kernel-tree extraction leaves 1.5 GB behind otherwise).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MissingToolError, VrioError } from './errors.js';
import { log } from './log.js';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a temp or moved-aside name of `base`, or undefined when `name` is not one. */
function tempOwner(name: string, base: string): number | undefined {
  for (const prefix of [`.${base}.tmp-`, `${base}.tmp-`, `${base}.old-`]) {
    if (!name.startsWith(prefix)) continue;
    // <pid>, <pid>-<ms> (older runs) or <pid>-<random hex>.
    const m = /^(\d+)(?:-[0-9a-f]+)?$/.exec(name.slice(prefix.length));
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * Remove the temps and moved-aside copies of `finalPath` that belong to dead
 * processes (a killed build). Those of live processes are left alone: another
 * vrio may be building right now. Returns how many were removed.
 */
export function removeStaleTemps(finalPath: string): number {
  const dir = dirname(finalPath);
  const base = basename(finalPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const pid = tempOwner(name, base);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

/**
 * A fresh temp name beside `finalPath`. The random part makes it unguessable:
 * a predictable name in a shared directory lets another user plant a symlink
 * there and have us write through it (the pid alone was such a name).
 */
function tempName(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
}

/**
 * Create `path` as a new file, never opening anything that already exists:
 * O_EXCL refuses an existing name (a planted file or symlink) and O_NOFOLLOW
 * refuses a symlink even where O_EXCL alone would not be checked.
 */
export function createExclusive(path: string, data: string | Buffer, mode = 0o666): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
  } catch (e) {
    rmSync(path, { force: true }); // ours, half-written (e.g. ENOSPC)
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** Write a file via a new temp file in the same directory + rename (atomic on POSIX). */
export function writeFileAtomic(path: string, data: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  removeStaleTemps(path);
  const tmp = tempName(path);
  createExclusive(tmp, data, mode);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * A sibling temp path for building a directory or file that is renamed into
 * place (the caller creates it, and mkdir fails on an existing name).
 * Leftovers of killed runs for the same final path are removed first.
 */
export function tempSibling(finalPath: string): string {
  removeStaleTemps(finalPath);
  return tempName(finalPath);
}

/**
 * Move a finished directory into place. The old one (if any) is moved aside
 * first and removed only after the new one is in place. A kill between the
 * two renames leaves no final dir (a rebuild, never a mix of old and new);
 * the moved-aside copy is removed by the next run (removeStaleTemps).
 */
export async function replaceDir(tmpDir: string, finalDir: string): Promise<void> {
  removeStaleTemps(finalDir);
  const old = `${finalDir}.old-${process.pid}`;
  const had = existsSync(finalDir);
  if (had) await rename(finalDir, old);
  await rename(tmpDir, finalDir);
  if (had) await rm(old, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// The build lock.
//
// A kernel lock (flock(2) on <dir>/.vrio.lock), held by a small helper process
// (util-linux `flock` running `cat`) whose stdin is a pipe from us. Why not a
// pid file: taking over a dead owner's pid file is racy (two waiters both see
// the owner dead, one removes the other's fresh lock) and pid reuse can keep a
// dead build's lock "alive". With flock the kernel releases the lock the
// moment its holder is gone: when we exit, however we exit (SIGKILL included),
// the pipe closes, `cat` sees EOF and the helper exits. The helper runs in its
// own session so a Ctrl-C to our process group does not release the lock
// while we are still cleaning up. The lock file is never removed: removing a
// flock'ed file lets a waiter lock an unlinked inode while a third process
// locks a new file. Our pid is written into it for "locked by pid N" messages.
// ---------------------------------------------------------------------------

const BUSY = 75; // flock -E: the exit code for "could not get the lock"

export function lockFileOf(dir: string): string {
  return join(dir, '.vrio.lock');
}

/** Try to take the lock; undefined when another process holds it (after waiting `waitSec`). */
function flockHelper(lockPath: string, waitSec: number, signal?: AbortSignal): Promise<ChildProcess | undefined> {
  const wait = waitSec > 0 ? ['-w', String(waitSec)] : ['-n'];
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn('flock', [...wait, '-E', String(BUSY), lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      reject(e);
      return;
    }
    let out = '';
    let err = '';
    let got = false;
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!got && out.includes('locked\n')) {
        got = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e.code === 'ENOENT' ? new MissingToolError([{ tool: 'flock', debianPackage: 'util-linux', why: 'the build lock' }]) : e);
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (got) return;
      if (signal?.aborted) reject(signal.reason);
      else if (code === BUSY) resolve(undefined);
      else reject(new VrioError(`cannot lock ${lockPath}: flock exited with ${code}: ${err.trim()}`));
    });
  });
}

function release(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.stdin!.end();
  });
}

function ownerOf(lockPath: string): string {
  try {
    const pid = readFileSync(lockPath, 'utf8').trim();
    return /^\d+$/.test(pid) ? `pid ${pid}` : 'an unknown process';
  } catch {
    return 'an unknown process';
  }
}

/** Whether another process holds the lock of `dir` right now. */
export function isLocked(dir: string): boolean {
  const lockPath = lockFileOf(dir);
  if (!existsSync(lockPath)) return false;
  const r = spawnSync('flock', ['-n', '-E', String(BUSY), lockPath, 'true']);
  return r.status === BUSY;
}

/**
 * Hold an exclusive lock on `dir` while `fn` runs. A lock held by a live
 * process is waited for up to `waitMs`, then refused with an error naming the
 * holder and the lock file. A dead holder's lock is free (the kernel released it).
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, opts: { waitMs?: number; what?: string; signal?: AbortSignal } = {}): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lockPath = lockFileOf(dir);
  const what = opts.what ?? dir;
  let holder = await flockHelper(lockPath, 0);
  const waitSec = Math.ceil((opts.waitMs ?? 0) / 1000);
  if (!holder && waitSec > 0) {
    log().info(`waiting for ${what}: locked by another vrio process (${ownerOf(lockPath)}), up to ${waitSec}s`);
    holder = await flockHelper(lockPath, waitSec, opts.signal);
  }
  if (!holder) {
    throw new VrioError(`${what} is locked by another vrio process (${ownerOf(lockPath)})`, {
      hint: `wait for it to finish, or stop it; the lock is ${lockPath}`,
    });
  }
  try {
    writeFileSync(lockPath, `${process.pid}\n`);
    return await fn();
  } finally {
    await release(holder);
  }
}
