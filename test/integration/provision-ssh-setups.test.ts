// SSH that fits existing setups, against a real OpenSSH server on loopback:
// -u/--key on the provision verbs override the inventory's user and key.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { events, tempDir, vrio } from '../support/cli.js';
import { prerequisite } from '../support/prereq.js';
import { makeClientKey, sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';

const skip = prerequisite(sshdSupport().ok ? false : sshdSupport().reason);

describe('provision verbs fit existing SSH setups (real sshd)', { skip }, () => {
  const { dir, cleanup } = tempDir('vrio-ssh-setups-');
  let s: SshdInstance;
  before(async () => {
    s = await startSshd({ address: '127.0.0.1' });
  });
  after(async () => {
    await s?.stop();
    cleanup();
  });
  const host = (connection: string, address = s.host) =>
    [
      'version: 1',
      'iohyps:',
      '  a:',
      `    address: ${address}`,
      `    connection: { ${connection}connectTimeout: 5, retries: 0, agent: false }`,
      `    hostKey: "${s.hostKeyFingerprint}"`,
      '    l2: { interface: lo }',
      '    modules: [ { name: vrio_test } ]',
    ].join('\n') + '\n';
  const status = (inv: string, ...args: string[]) => {
    const r = vrio(['provision', 'status', '-i', inv, '--json', ...args], { env: { SSH_AUTH_SOCK: '' } });
    return { ...r, errors: events(r).filter((e) => e.type === 'status' && (e.unreachable || e.errors.length)) };
  };

  it('-u and --key win over the user and identity file of every selected host', () => {
    const other = makeClientKey(join(dir, 'other'));
    const inv = join(dir, 'wrong-creds.yaml');
    writeFileSync(inv, host(`port: ${s.port}, user: nosuchuser, identityFile: ${other.privateKeyFile}, `));
    const denied = status(inv);
    assert.notEqual(denied.code, 0, 'the inventory credentials are refused');
    assert.match(JSON.stringify(denied.errors), /nosuchuser@127\.0\.0\.1/);
    const r = status(inv, '-u', s.user, '--key', s.identityFile);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.errors));
  });

  it('--key naming a file that cannot be read is a usage error (exit 2) before any connection', () => {
    const inv = join(dir, 'ok.yaml');
    writeFileSync(inv, host(`port: ${s.port}, `));
    const r = status(inv, '--key', join(dir, 'missing-key'));
    assert.equal(r.code, 2);
    assert.match(r.stdout, /--key .*missing-key: cannot read .*ENOENT/);
  });
});
