// SSH that fits existing setups, against a real OpenSSH server on loopback:
// -u/--key on the provision verbs override the inventory's user and key;
// ~/.ssh/config (or -F FILE) supplies what the inventory does not set, by the
// alias in the host's address, with OpenSSH's first-match-wins rules.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { events, tempDir, vrio } from '../support/cli.js';
import { prerequisite } from '../support/prereq.js';
import { freePort, makeClientKey, sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';

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
  const host = (connection: string, address = s.host, pin = true) =>
    [
      'version: 1',
      'iohyps:',
      '  a:',
      `    address: ${address}`,
      `    connection: { ${connection}connectTimeout: 5, retries: 0, agent: false }`,
      pin ? `    hostKey: "${s.hostKeyFingerprint}"` : '',
      '    l2: { interface: lo }',
      '    modules: [ { name: vrio_test } ]',
    ]
      .filter(Boolean)
      .join('\n') + '\n';
  const home = join(dir, 'home');
  const status = (inv: string, ...args: string[]) => {
    const r = vrio(['provision', 'status', '-i', inv, '--json', ...args], { env: { SSH_AUTH_SOCK: '', HOME: home } });
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

  // The first block that sets a value wins: theali* before thealias, Host * last.
  const sshConfig = () =>
    [
      'Host theali*',
      '  HostName 127.0.0.1',
      `  Port ${s.port}`,
      `  User ${s.user}`,
      `  IdentityFile ${join(dir, 'no-such-key')}`,
      `  IdentityFile ${s.identityFile}`,
      'Host thealias',
      '  Port 1',
      '  User nobody',
      'Host *',
      '  Port 2',
    ].join('\n') + '\n';

  it('-F FILE: the host alias in address takes HostName, Port, User and IdentityFile from the ssh_config', () => {
    const cfg = join(dir, 'ssh_config');
    writeFileSync(cfg, sshConfig());
    const inv = join(dir, 'alias.yaml');
    writeFileSync(inv, host('', 'thealias'));
    const r = status(inv, '-F', cfg);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.errors));
    const none = status(inv, '-F', 'none');
    assert.equal(none.code, 4, 'without a config thealias is only a name that does not resolve');
    assert.match(JSON.stringify(none.errors), /root@thealias:22/);
  });

  it('~/.ssh/config is read by default', () => {
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, '.ssh/config'), sshConfig());
    const inv = join(dir, 'alias-default.yaml');
    writeFileSync(inv, host('', 'thealias'));
    const r = status(inv);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.errors));
  });

  it('a port (or user) the inventory sets wins over the ssh_config, and -u over both', async () => {
    const closed = await freePort();
    const inv = join(dir, 'alias-port.yaml');
    writeFileSync(inv, host(`port: ${closed}, user: invuser, `, 'thealias'));
    const r = status(inv, '-F', join(dir, 'ssh_config'));
    assert.equal(r.code, 4);
    assert.match(JSON.stringify(r.errors), new RegExp(`invuser@127\\.0\\.0\\.1:${closed}`));
    writeFileSync(inv, host(`user: invuser, `, 'thealias'));
    assert.notEqual(status(inv, '-F', join(dir, 'ssh_config')).code, 0, 'invuser is not authorized');
    const u = status(inv, '-F', join(dir, 'ssh_config'), '-u', s.user);
    assert.equal(u.code, 0, u.stderr + JSON.stringify(u.errors));
  });

  it('-F naming a missing file is bad input (exit 2) naming it', () => {
    const inv = join(dir, 'alias-missing.yaml');
    writeFileSync(inv, host('', 'thealias'));
    const r = status(inv, '-F', join(dir, 'missing_config'));
    assert.equal(r.code, 2);
    assert.match(r.stdout, /missing_config.*ENOENT/);
  });

  it("UserKnownHostsFile: the host key is checked against the config's known_hosts when the inventory names none", () => {
    writeFileSync(join(dir, 'kh_from_config'), s.knownHostsLine + '\n');
    const inv = join(dir, 'alias-nopin.yaml');
    writeFileSync(inv, host('', 'thealias', false));
    const without = join(dir, 'ssh_config_nokh');
    writeFileSync(without, sshConfig());
    const refused = status(inv, '-F', without);
    assert.equal(refused.code, 1, 'no known_hosts has the key: refused');
    assert.match(JSON.stringify(refused.errors), /host key/i);
    const withKh = join(dir, 'ssh_config_kh');
    writeFileSync(withKh, `Host thealias\n  UserKnownHostsFile ~/none ${join(dir, 'kh_from_config')}\n` + sshConfig());
    const r = status(inv, '-F', withKh);
    assert.equal(r.code, 0, r.stderr + JSON.stringify(r.errors));
  });
});
