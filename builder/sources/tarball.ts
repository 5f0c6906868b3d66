// Tarball sources: downloaded into <cache>/dl/<name>/, verified by sha256
// before every use. A verified file gets a stamp (sha256, size, mtime) so an
// unchanged file is not re-hashed on every build; a mismatch moves the file
// aside as *.bad-<time> and aborts.
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { VrioError } from '../../lib/errors.js';
import { sha256File, writeFileAtomic } from '../../lib/fsx.js';
import { log } from '../../lib/log.js';
import { download, localPathOf } from './download.js';
import { isRemote, type MissingInput } from './missing.js';

export class ChecksumError extends VrioError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    readonly movedTo: string,
    source: string,
  ) {
    super(`${source}: sha256 mismatch for ${basename(file)}\n  expected ${expected}\n  actual   ${actual}\n  the file was moved aside to ${movedTo}`, {
      hint: 'a corrupted or tampered download, or a pin that is wrong; the next run downloads it again',
    });
    this.name = 'ChecksumError';
  }
}

export function tarballFileName(url: string): string {
  const clean = url.replace(/[?#].*$/, '');
  const b = basename(clean);
  return b && b !== '/' ? b : 'source.tar';
}

export function tarballCachePath(cacheDir: string, name: string, url: string): string {
  return join(cacheDir, 'dl', name, tarballFileName(url));
}

interface Stamp {
  sha256: string;
  size: number;
  mtimeMs: number;
}

function stampPath(file: string): string {
  return `${file}.verified.json`;
}

/** sha256 of `file`, trusting a stamp only when size and mtime are unchanged. */
async function hashWithStamp(file: string): Promise<string> {
  const st = statSync(file);
  const sp = stampPath(file);
  if (existsSync(sp)) {
    try {
      const s = JSON.parse(readFileSync(sp, 'utf8')) as Stamp;
      if (s.size === st.size && s.mtimeMs === st.mtimeMs) return s.sha256;
    } catch {
      /* unreadable stamp: hash again */
    }
  }
  const sha = await sha256File(file);
  writeFileAtomic(sp, JSON.stringify({ sha256: sha, size: st.size, mtimeMs: st.mtimeMs } satisfies Stamp));
  return sha;
}

/** Verify a cached file; on mismatch move it aside and throw ChecksumError. */
export async function verifyFile(file: string, expected: string, source: string): Promise<void> {
  const actual = await hashWithStamp(file);
  if (actual === expected) return;
  const aside = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  if (existsSync(stampPath(file))) renameSync(stampPath(file), `${aside}.verified.json`);
  throw new ChecksumError(file, expected, actual, aside, source);
}

/** Where a mirror value points for this file: a directory holding it, the file itself, or a URL base. */
export function mirrorCandidate(mirror: string, fileName: string): string {
  if (isRemote(mirror)) return mirror.replace(/\/?$/, '/') + fileName;
  const p = localPathOf(mirror) ?? mirror;
  if (existsSync(p) && statSync(p).isDirectory()) return join(p, fileName);
  return p;
}

/**
 * Make sure the tarball is in the cache and verified. Returns its path, or
 * the missing-input record when no location could provide it.
 */
export async function ensureTarball(opts: {
  name: string;
  url: string;
  sha256: string;
  cacheDir: string;
  mirror?: string;
  offline: boolean;
  signal?: AbortSignal;
}): Promise<{ path?: string; missing?: MissingInput }> {
  const file = tarballCachePath(opts.cacheDir, opts.name, opts.url);
  if (existsSync(file)) {
    await verifyFile(file, opts.sha256, opts.name);
    return { path: file };
  }
  const fileName = tarballFileName(opts.url);
  const locations = [...(opts.mirror ? [{ label: 'mirror', url: mirrorCandidate(opts.mirror, fileName) }] : []), { label: 'upstream', url: opts.url }];
  const tried: string[] = [];
  for (const loc of locations) {
    if (opts.offline && isRemote(loc.url)) continue;
    const local = localPathOf(loc.url);
    if (local !== undefined && !existsSync(local)) {
      tried.push(`${loc.label} ${local}: does not exist`);
      continue;
    }
    try {
      await download(loc.url, file, { signal: opts.signal, label: `${opts.name} (${fileName})` });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      tried.push(`${loc.label} ${loc.url}: ${(e as Error).message}`);
      log().warn((e as Error).message);
      continue;
    }
    // A bad copy from a mirror aborts like any other mismatch: the user should know.
    await verifyFile(file, opts.sha256, opts.name);
    return { path: file };
  }
  return {
    missing: {
      source: opts.name,
      what: `${fileName} (sha256 ${opts.sha256})` + (tried.length ? ` (tried: ${tried.join('; ')})` : ''),
      how: `--mirror ${opts.name}=<a directory holding ${fileName}>, or put it at ${file}`,
    },
  };
}
