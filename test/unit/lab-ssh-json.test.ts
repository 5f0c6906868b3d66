// `vrio --json lab ssh NAME CMD`: the remote command's output as typed
// `remote-output` events, valid against cli/events.schema.json, and an
// interactive `lab ssh --json` refused with exit 2. The ssh itself needs a
// running lab VM (QEMU), so the wrapping is tested on a local command through
// the same function the verb uses (lab/remote-output.ts runAsEvents).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { parseDocumentText, validateDocument } from '../../lib/document.js';
import { Logger } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import { runAsEvents } from '../../lab/remote-output.js';

const schema = JSON.parse(readFileSync(dataPath('cli/events.schema.json'), 'utf8')) as object;
const valid = (line: string) => validateDocument<Record<string, unknown>>(parseDocumentText('stdout', line), schema);

describe('lab ssh --json', () => {
  it("a command's stdout and stderr become remote-output events, then one result line with its exit code", async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += String(c)));
    const log = new Logger({ json: true, out });
    const code = await runAsEvents('sh', ['-c', 'echo out1; echo "{not json}"; echo err1 >&2; printf tail; exit 3'], log);
    log.result(code);
    assert.equal(code, 3);
    const events = text.trimEnd().split('\n').map(valid);
    const remote = events.filter((e) => e.type === 'remote-output').map((e) => `${e.stream}:${e.text}`);
    assert.deepEqual(
      remote.filter((l) => l.startsWith('stdout')),
      ['stdout:out1', 'stdout:{not json}', 'stdout:tail'],
    );
    assert.deepEqual(
      remote.filter((l) => l.startsWith('stderr')),
      ['stderr:err1'],
    );
    assert.equal(events.filter((e) => e.type === 'result').length, 1);
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'result', exitCode: 3 });
  });

  it('an interactive lab ssh --json (no command) is refused with exit 2 and a clear error event', () => {
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), '--json', 'lab', 'ssh', 'guest1'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    const events = r.stdout.trimEnd().split('\n').map(valid);
    const err = events.find((e) => e.type === 'error')!;
    assert.match(String(err.message), /needs a command: an interactive session cannot be a JSON event stream/);
    assert.equal(err.exitCode, 2);
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'result', exitCode: 2 });
  });

  it('vrio schema events lists remote-output', () => {
    const r = spawnSync(process.execPath, [dataPath('dist/cli/bin.js'), 'schema', 'events'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { properties: { type: { enum: string[] } } }).properties.type.enum.includes('remote-output'));
  });
});
