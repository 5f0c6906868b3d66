// File-system helpers for "nothing half-written is left behind": atomic writes,
// atomic directory replacement, hashing, and a per-directory build lock.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VrioError } from './errors.js';

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

/** Write a file via a temp file in the same directory + rename (atomic on POSIX). */
export function writeFileAtomic(path: string, data: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
  renameSync(tmp, path);
}

/** A sibling temp path for building a directory or file that is renamed into place. */
export function tempSibling(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${Date.now()}`);
}

/**
 * Move a finished directory into place. The old one (if any) is moved aside
 * first and removed only after the new one is in place.
 */
export async function replaceDir(tmpDir: string, finalDir: string): Promise<void> {
  const old = `${finalDir}.old-${process.pid}`;
  const had = existsSync(finalDir);
  if (had) await rename(finalDir, old);
  await rename(tmpDir, finalDir);
  if (had) await rm(old, { recursive: true, force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Hold an exclusive lock on `dir` while `fn` runs. A lock whose owner process is
 * gone is taken over; a live one is waited for up to `waitMs`, then refused.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, opts: { waitMs?: number; what?: string } = {}): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, '.vrio.lock');
  const deadline = Date.now() + (opts.waitMs ?? 0);
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(lockPath, 'utf8').trim() || '0');
      if (!owner || !pidAlive(owner)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new VrioError(`${opts.what ?? dir} is locked by another vrio process (pid ${owner})`, {
          hint: `wait for it to finish, or stop it; the lock is ${lockPath}`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}
