// Output reaches onLine as whole lines whatever the pipe's chunking (lines were
// split at chunk boundaries: "hel" + "lo"), git fetch reports its phases as
// progress instead of running --quiet, and --json gets throttled progress events.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { bareRepoPath, ensureCommits } from '../../builder/sources/git.js';
import { run } from '../../lib/exec.js';
import { LineSplitter } from '../../lib/lines.js';
import { log, Logger, setLogger } from '../../lib/log.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-exec-lines-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function jsonLogger(jsonEverySec?: number): { logger: Logger; events: () => Record<string, unknown>[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const logger = new Logger({ json: true, out, err: new PassThrough() });
  if (jsonEverySec !== undefined) {
    const orig = logger.progress.bind(logger);
    logger.progress = (label, o = {}) => orig(label, { ...o, jsonEverySec });
  }
  return {
    logger,
    events: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('whole output lines', () => {
  it('LineSplitter joins a line split across chunks, and a UTF-8 character split across chunks', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const euro = Buffer.from('€');
    for (const c of [
      Buffer.from('hel'),
      Buffer.from('lo\nwor'),
      Buffer.from('ld\r'),
      Buffer.from('\n50% '),
      euro.subarray(0, 1),
      Buffer.concat([euro.subarray(1), Buffer.from('\r60%\rtail')]),
    ])
      s.push(c);
    s.end();
    assert.deepEqual(got, ['hello', 'world', '50% €', '60%', 'tail']);
  });

  it('run() gives onLine whole lines when a real process writes them in pieces', async () => {
    const lines: string[] = [];
    const script =
      'printf "hel"; sleep 0.3; printf "lo\\nwor"; sleep 0.3; printf "ld\\n"; printf "par" >&2; sleep 0.3; printf "tial\\n" >&2; printf "no newline"';
    await run('sh', ['-c', script], { onLine: (l) => lines.push(l) });
    assert.deepEqual([...lines].sort(), ['hello', 'no newline', 'partial', 'world']);
  });

  it('the error tail holds whole lines too', async () => {
    await assert.rejects(run('sh', ['-c', 'printf "first li"; sleep 0.3; printf "ne\\nsecond\\n"; exit 3'], { logFile: join(tmp, 'x.log') }), (e: Error) => {
      assert.match(e.message, /last lines:\n {4}first line\n {4}second/);
      return true;
    });
  });
});

describe('progress', () => {
  it('--json: progress events are throttled, the first at once, then at most one per interval', async () => {
    const { logger, events } = jsonLogger(0.2);
    setLogger(logger);
    const p = log().progress('step');
    for (let i = 0; i < 1000; i++) p.update(i, 1000);
    await new Promise((r) => setTimeout(r, 250));
    p.update(1000, 1000, 'last');
    p.done();
    const ev = events();
    assert.deepEqual(
      ev.map((e) => e.type),
      ['progress', 'progress', 'progress-done'],
    );
    assert.deepEqual([ev[0].done, ev[0].total, ev[1].done, ev[1].detail], [0, 1000, 1000, 'last']);
  });

  it('git fetch of a source reports its phases as progress (it ran --quiet before)', async () => {
    const src = join(tmp, 'src');
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
      GIT_CONFIG_NOSYSTEM: '1',
    };
    execFileSync('git', ['init', '-q', src], { env });
    for (let i = 0; i < 200; i++) writeFileSync(join(src, `f${i}`), `${i}\n`.repeat(i + 1));
    execFileSync('git', ['add', '.'], { cwd: src, env });
    execFileSync('git', ['commit', '-q', '-m', 'c'], { cwd: src, env });
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: src, env, encoding: 'utf8' }).trim();
    const { logger, events } = jsonLogger();
    setLogger(logger);
    const cache = join(tmp, 'cache');
    const missing = await ensureCommits({
      name: 'k',
      repo: bareRepoPath(cache, 'k'),
      commits: [commit],
      locations: [{ label: 'mirror', url: `file://${src}` }],
      offline: false,
      logFile: join(cache, 'fetch.log'),
    });
    assert.deepEqual(missing, []);
    const progress = events().filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 1, JSON.stringify(events()));
    assert.ok(
      progress.every((e) => String(e.label).startsWith('fetching k: ')),
      JSON.stringify(progress),
    );
    assert.ok(
      progress.some((e) => /objects/.test(String(e.label)) && typeof e.total === 'number'),
      JSON.stringify(progress),
    );
    assert.ok(events().some((e) => e.type === 'progress-done' && /fetching k: /.test(String(e.label))));
  });
});
