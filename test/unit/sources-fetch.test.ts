// Fetching sources for real: a local HTTP server on 127.0.0.1 (counting
// requests, honouring Range), real git repositories as upstream and mirror.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../../builder/manifest.js';
import { bareRepoPath, ensureCommits } from '../../builder/sources/git.js';
import { ensureSources, gitLocations, MissingInputsError } from '../../builder/sources/index.js';
import { ChecksumError, ensureTarball, tarballCachePath } from '../../builder/sources/tarball.js';
import { Logger, setLogger } from '../../lib/log.js';

setLogger(new Logger({ verbosity: 'quiet' }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `vrio-${p}-`));

// ---- a tiny HTTP server with Range support -----------------------------------
const payload = Buffer.alloc(256 * 1024);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
const requests: { url: string; range?: string }[] = [];
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url !== '/linux.tar') {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, { 'content-length': payload.length - start, 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}` });
      res.end(payload.subarray(start));
    } else {
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(
  () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
);

describe('tarball sources', () => {
  it('download, verify and reuse without a second request', async () => {
    const cache = tmp('cache');
    requests.length = 0;
    const r = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: false });
    assert.ok(r.path);
    assert.equal(sha(readFileSync(r.path)), sha(payload));
    const again = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: false });
    assert.equal(again.path, r.path);
    assert.equal(requests.length, 1);
  });

  it('resume an interrupted download with a Range request', async () => {
    const cache = tmp('cache');
    const file = tarballCachePath(cache, 'linux', `${base}/linux.tar`);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(`${file}.part`, payload.subarray(0, 100_000));
    requests.length = 0;
    const r = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: false });
    assert.equal(requests[0].range, 'bytes=100000-');
    assert.equal(sha(readFileSync(r.path!)), sha(payload));
  });

  it('reject a mismatching download and move it aside', async () => {
    const cache = tmp('cache');
    await assert.rejects(
      ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: 'f'.repeat(64), cacheDir: cache, offline: false }),
      (e: unknown) => e instanceof ChecksumError && /sha256 mismatch/.test(e.message) && e.actual === sha(payload),
    );
    const dir = join(cache, 'dl', 'linux');
    const names = readdirSync(dir);
    assert.ok(!names.includes('linux.tar'), 'the bad file must not stay under its usable name');
    assert.ok(
      names.some((n) => /^linux\.tar\.bad-/.test(n)),
      names.join(','),
    );
  });

  it('detect a cached file that changed after it was verified', async () => {
    const cache = tmp('cache');
    const r = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: false });
    const bad = Buffer.from(payload);
    bad[5000] ^= 0xff;
    writeFileSync(r.path!, bad);
    await assert.rejects(ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: false }), ChecksumError);
  });

  it('offline: no request at all, and the missing file is named with how to provide it', async () => {
    const cache = tmp('cache');
    requests.length = 0;
    const r = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, offline: true });
    assert.equal(requests.length, 0);
    assert.ok(r.missing);
    assert.match(r.missing.what, /linux\.tar \(sha256 [0-9a-f]{64}\)/);
    assert.match(r.missing.how, /--mirror linux=/);
  });

  it('offline: a mirror directory provides the file', async () => {
    const cache = tmp('cache');
    const mirror = tmp('mirror');
    writeFileSync(join(mirror, 'linux.tar'), payload);
    requests.length = 0;
    const r = await ensureTarball({ name: 'linux', url: `${base}/linux.tar`, sha256: sha(payload), cacheDir: cache, mirror, offline: true });
    assert.equal(requests.length, 0);
    assert.ok(r.path);
  });
});

// ---- git --------------------------------------------------------------------
function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
  }).trim();
}

function repoWithCommits(n: number): { dir: string; commits: string[] } {
  const dir = tmp('repo');
  git(dir, 'init', '-q', '-b', 'main');
  const commits: string[] = [];
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, 'f.txt'), `v${i}\n`);
    git(dir, 'add', 'f.txt');
    git(dir, 'commit', '-q', '-m', `c${i}`);
    commits.push(git(dir, 'rev-parse', 'HEAD'));
  }
  return { dir, commits };
}

describe('git sources', () => {
  it('try the mirror before upstream', () => {
    const m = { mirrors: { k: '/srv/mirror.git' } } as unknown as Pick<Manifest, 'mirrors'>;
    assert.deepEqual(
      gitLocations(m, 'k', { url: 'https://example.invalid/k.git' }).map((l) => l.label),
      ['mirror', 'upstream'],
    );
  });

  it('fetch pinned commits by id from a mirror (a non-bare clone), never upstream', async () => {
    const { dir, commits } = repoWithCommits(3);
    // Advertised refs do not contain the middle commit: fetched by id anyway.
    git(dir, 'checkout', '-q', '--detach', commits[1]);
    git(dir, 'branch', '-q', '-D', 'main');
    git(dir, 'checkout', '-q', '-b', 'other', commits[0]);
    const cache = tmp('cache');
    requests.length = 0;
    const missing = await ensureCommits({
      name: 'k',
      repo: bareRepoPath(cache, 'k'),
      commits: [commits[1]],
      locations: [
        { label: 'mirror', url: dir },
        { label: 'upstream', url: `${base}/k.git` },
      ],
      offline: false,
      logFile: join(cache, 'fetch.log'),
    });
    assert.deepEqual(missing, []);
    assert.equal(requests.length, 0, 'upstream must not be asked when the mirror has the commit');
    assert.equal(git(bareRepoPath(cache, 'k'), 'cat-file', '-t', commits[1]), 'commit');
    // Pinned commits get a ref, so gc keeps them.
    assert.match(git(bareRepoPath(cache, 'k'), 'for-each-ref'), new RegExp(`refs/pins/${commits[1]}`));
  });

  it('offline with no mirror: list every missing commit, touch no network', async () => {
    const cache = tmp('cache');
    const m = {
      kernel: { source: 'k', series: { source: 'k', from: '1'.repeat(40), to: '2'.repeat(40) } },
      sources: { k: { kind: 'git', url: `${base}/k.git`, commit: '2'.repeat(40) } },
      mirrors: {},
      cacheDir: cache,
    } as unknown as Manifest;
    requests.length = 0;
    await assert.rejects(ensureSources(m, ['k'], { offline: true, logFile: join(cache, 'f.log') }), (e: unknown) => {
      assert.ok(e instanceof MissingInputsError);
      assert.deepEqual(e.missing.map((x) => x.what.slice(0, 51)).sort(), [`git commit ${'1'.repeat(40)}`, `git commit ${'2'.repeat(40)}`]);
      assert.match(e.message, /--mirror k=/);
      assert.ok(e.hint && /offline/.test(e.hint));
      return true;
    });
    assert.equal(requests.length, 0);
    assert.equal(existsSync(join(cache, 'git', 'k.git', 'objects', 'pack')) && readdirSync(join(cache, 'git', 'k.git', 'objects', 'pack')).length > 0, false);
  });
});
