// Downloading one file into the cache: http(s) with resume (a `.part` file and
// an HTTP Range request), or a copy for file:// URLs and plain paths. Shows
// bytes, rate and ETA (a bar on a TTY, plain lines otherwise).
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { VrioError } from '../../lib/errors.js';
import { log } from '../../lib/log.js';

export function localPathOf(url: string): string | undefined {
  if (/^file:\/\//i.test(url)) return fileURLToPath(url);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return undefined;
}

/**
 * Fetch `url` to `dest`. The data goes to `dest + '.part'` first (kept on
 * failure so the next attempt resumes) and is renamed when complete.
 */
export async function download(url: string, dest: string, opts: { signal?: AbortSignal; label?: string } = {}): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const label = opts.label ?? url;
  const local = localPathOf(url);
  if (local !== undefined) {
    if (!existsSync(local)) throw new VrioError(`${label}: ${local} does not exist`);
    const total = statSync(local).size;
    const bar = log().progress(`copying ${label}`, { unit: 'bytes' });
    let done = 0;
    const src = createReadStream(local);
    src.on('data', (c) => {
      done += c.length;
      bar.update(done, total);
    });
    await pipeline(src, createWriteStream(part), { signal: opts.signal });
    bar.done();
    await rename(part, dest);
    return;
  }
  let have = existsSync(part) ? (await stat(part)).size : 0;
  const headers: Record<string, string> = { 'user-agent': 'vrio-appliance' };
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (e) {
    throw new VrioError(`${label}: cannot download ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 416 && have > 0) {
    // The .part already holds the whole file; let verification judge it.
    await rename(part, dest);
    return;
  }
  if (!res.ok || !res.body) throw new VrioError(`${label}: ${url} answered HTTP ${res.status} ${res.statusText}`);
  const resumed = res.status === 206;
  if (!resumed) have = 0; // server ignored the range: start over
  const length = Number(res.headers.get('content-length') ?? '0');
  const total = length ? length + have : undefined;
  if (resumed) log().info(`${label}: resuming at ${have} bytes`);
  const bar = log().progress(`downloading ${label}`, { unit: 'bytes' });
  let done = have;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    done += c.length;
    bar.update(done, total);
  });
  await pipeline(body, createWriteStream(part, { flags: resumed ? 'a' : 'w' }), { signal: opts.signal });
  bar.done();
  await rename(part, dest);
}
