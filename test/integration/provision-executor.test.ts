// The executor's rules over a real SSH connection, with harmless commands in a
// temp dir standing in for changes: a change that fails with exit 1 and has a
// recovery runs it and retries once (REMOVE then CREATE), other failures stop
// the host's remaining changes, and one host's failure leaves the others alone.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadInventory } from '../../provision/inventory.js';
import type { Change } from '../../provision/ops/change.js';
import type { Reporter } from '../../provision/reporter.js';
import { silentReporter } from '../../provision/reporter.js';
import { exitCodeFor } from '../../provision/results.js';
import { pool, Run } from '../../provision/runner.js';
import { sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const skip = prerequisite(sshdSupport().ok ? false : sshdSupport().reason);

describe('change executor (real sshd)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-exec-test-'));
  let a: SshdInstance, b: SshdInstance;
  let invFile: string;
  before(async () => {
    [a, b] = await Promise.all([startSshd({ address: '127.0.0.41' }), startSshd({ address: '127.0.0.42' })]);
    invFile = join(dir, 'inv.yaml');
    const host = (s: SshdInstance) =>
      `    address: ${s.host}\n    connection: { port: ${s.port}, identityFile: ${s.identityFile} }\n    hostKey: "${s.hostKeyFingerprint}"\n    l2: { interface: lo }\n    modules: [ { name: dummy } ]`;
    writeFileSync(invFile, `version: 1\nconnection: { user: ${a.user}, retries: 0 }\niohyps:\n  a:\n${host(a)}\n  b:\n${host(b)}\n`);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });
  const change = (host: string, summary: string, argv: string[], recover?: string[]): Change => ({
    host,
    kind: 'device-create',
    summary,
    data: {},
    argv,
    ...(recover ? { recover } : {}),
  });

  it('exit 1 with a recovery: recover, then one retry', async () => {
    const flag = join(dir, 'attached');
    const events: string[] = [];
    const rep: Reporter = { ...silentReporter(), change: (_h, c, status) => events.push(`${status}:${c.summary}`) };
    const run = new Run('apply', loadInventory(invFile), { reporter: rep });
    const h = run.hosts[0];
    // Fails (exit 1) until the recovery has run, like CREATE after a half-attached device.
    const ok = await run.execute(h, [change('a', 'create', ['sh', '-c', 'test -f "$1" || exit 1', 'sh', flag], ['touch', flag])]);
    run.finish();
    assert.equal(ok, true);
    assert.deepEqual(events, ['recovering:create', 'changed:create']);
    assert.equal(run.result(h).changes[0].recovered, true);
    assert.equal(run.result(h).changed, 1);
  });

  it('other failures are not retried, stop the host and skip its remaining changes; the other host carries on', async () => {
    const marker = join(dir, 'ran-after-failure');
    const run = new Run('apply', loadInventory(invFile), {});
    const [ha, hb] = run.hosts;
    await pool([ha, hb], 2, async (h) => {
      if (h === ha)
        await run.execute(h, [change('a', 'breaks', ['sh', '-c', 'echo no such device >&2; exit 2'], ['true']), change('a', 'never', ['touch', marker])]);
      else await run.execute(h, [change('b', 'fine', ['true']), change('b', 'fine too', ['true'])]);
    });
    const res = run.finish();
    const ra = run.result(ha);
    assert.equal(ra.failed, 1);
    assert.equal(ra.skipped, 1);
    assert.match(ra.errors[0], /breaks: exit 2: no such device/);
    assert.ok(!existsSync(marker), 'nothing ran after the failure');
    assert.equal(run.result(hb).changed, 2);
    assert.equal(exitCodeFor(res.hosts), 1);
  });

  it('commands and their arguments reach the host exactly as planned', async () => {
    const out = join(dir, 'args');
    const run = new Run('apply', loadInventory(invFile), {});
    await run.execute(run.hosts[1], [change('b', 'write', ['sh', '-c', 'printf "%s\\n" "$@" > "$0"', out, 'a b', "c'd", '$(id)'])]);
    run.finish();
    assert.equal(readFileSync(out, 'utf8'), "a b\nc'd\n$(id)\n");
  });
});
