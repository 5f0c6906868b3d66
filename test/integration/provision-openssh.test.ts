// `vrio provision` over connection.transport: openssh against a real sshd
// whose host key is signed by a CA (known_hosts has only the @cert-authority
// line) and that trusts only the CA for user keys (the login key is in no
// authorized_keys; its certificate gets it in): apply and status end to end,
// -F handed to OpenSSH itself, the ControlPath directories gone after the run,
// and the ssh2 transport's refusal of such a host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { dataPath } from '../../lib/paths.js';
import { events, tempDir, vrio } from '../support/cli.js';
import { prerequisite } from '../support/prereq.js';
import { makeClientKey, sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';

const skip = prerequisite(sshdSupport().ok ? (existsSync('/usr/bin/ssh') ? false : 'ssh not found (apt-get install openssh-client)') : sshdSupport().reason);

describe('provision over the openssh transport: CA-signed host, user certificate (real sshd)', { skip }, () => {
  const { dir, cleanup } = tempDir('vrio-prov-openssh-');
  const tmp = join(dir, 'tmp');
  const target = join(dir, 'target');
  let s: SshdInstance;
  let key: string;
  let cert: string;
  let knownHosts: string;
  before(async () => {
    mkdirSync(tmp, { mode: 0o700 });
    mkdirSync(target);
    const ca = join(dir, 'ca');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-ca', '-f', ca], { stdio: 'ignore' });
    s = await startSshd({ address: '127.0.0.65', hostCertificate: { caKeyFile: ca }, trustedUserCAKeys: `${ca}.pub` });
    key = makeClientKey(join(dir, 'ops'), 'id_ed25519').privateKeyFile;
    execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'ops', '-n', s.user, '-V', '-5m:+1h', `${key}.pub`], { stdio: 'ignore' });
    cert = `${key}-cert.pub`;
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `@cert-authority 127.0.0.* ${readFileSync(`${ca}.pub`, 'utf8')}`);
  });
  after(async () => {
    await s?.stop();
    cleanup();
  });
  const inventory = (connection: string, address = s.host) => {
    const inv = join(dir, 'inv.yaml');
    writeFileSync(
      inv,
      [
        'version: 1',
        `hostKeys: { knownHosts: ${knownHosts} }`,
        'iohyps:',
        '  a:',
        `    address: ${address}`,
        `    connection: { ${connection}connectTimeout: 5, retries: 0, agent: false }`,
        '    l2: { interface: lo }',
        '    modules: [ { name: vrio_test } ]',
        '    files:',
        `      - { path: ${target}/vrio.conf, content: "ca-signed\\n", mode: "0640" }`,
      ].join('\n') + '\n',
    );
    return inv;
  };
  // TMPDIR: where the ControlPath directories go, so the test sees every one this run made.
  const run = (inv: string, ...args: string[]) => {
    const r = vrio(['provision', ...args, '-i', inv, '--json'], { env: { SSH_AUTH_SOCK: '', TMPDIR: tmp, HOME: join(dir, 'home') } });
    return { ...r, ev: events(r) };
  };

  it('apply and status log in with the user certificate and trust the host through its CA; no ControlPath directory is left', () => {
    const inv = inventory(`port: ${s.port}, user: ${s.user}, transport: openssh, identityFile: ${key}, certificateFile: ${cert}, `);
    const apply = run(inv, 'apply', '--only', 'files');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal(readFileSync(join(target, 'vrio.conf'), 'utf8'), 'ca-signed\n');
    assert.equal((statSync(join(target, 'vrio.conf')).mode & 0o777).toString(8), '640');
    const status = run(inv, 'status');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    const connected = status.ev.find((e) => e.type === 'connected' && e.host === 'a');
    assert.equal(connected?.fingerprint, s.hostKeyFingerprint);
    assert.match(connected?.hostKey, /^certificate signed by CA SHA256:/);
    assert.match(s.log(), /Accepted publickey for \S+ .*ED25519-CERT/);
    assert.deepEqual(readdirSync(tmp), [], 'the master connections cleaned up after themselves');
  });

  it("the CA-signed example of docs/provision.md works as written, with this sshd's address, port, user and paths", () => {
    const md = readFileSync(dataPath('docs/provision.md'), 'utf8');
    const block = /## Certificates[\s\S]*?```yaml\n([\s\S]*?)```/.exec(md);
    assert.ok(block, 'docs/provision.md has the example');
    const inv = parse(block[1]) as Record<string, any>;
    assert.equal(inv.connection.transport, 'openssh');
    Object.assign(inv.connection, { port: s.port, user: s.user, identityFile: key, certificateFile: cert, agent: false });
    inv.hostKeys.knownHosts = knownHosts;
    const io = Object.values(inv.iohyps)[0] as Record<string, any>;
    Object.assign(io, { address: s.host, l2: { interface: 'lo' }, modules: [{ name: 'vrio_test' }] });
    const file = join(dir, 'docs-example.yaml');
    writeFileSync(file, stringify(inv));
    const r = run(file, 'status');
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it("-F FILE is OpenSSH's own: a setting only the ssh_config has (CertificateFile in the alias's Host block) applies", () => {
    const config = join(dir, 'ssh_config');
    writeFileSync(config, ['Host certhost', '  HostName 127.0.0.65', `  Port ${s.port}`, `  User ${s.user}`, `  CertificateFile ${cert}`, ''].join('\n'));
    const inv = inventory(`transport: openssh, identityFile: ${key}, `, 'certhost');
    const r = run(inv, 'status', '-F', config);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const without = run(inv, 'status', '-F', 'none');
    assert.notEqual(without.code, 0, 'without the config there is neither the address nor the certificate');
  });

  it('the ssh2 transport refuses the host with the known_hosts line and the openssh hint; a certificateFile with it is bad input', () => {
    const r = run(inventory(`port: ${s.port}, user: ${s.user}, identityFile: ${key}, `), 'status');
    assert.notEqual(r.code, 0);
    const err = JSON.stringify(r.ev.filter((e) => e.type === 'host-error' || e.type === 'status'));
    assert.ok(err.includes(`${knownHosts}:1`), err);
    assert.match(err, /connection\.transport: openssh/);
    const bad = vrio(['inventory', 'check', inventory(`port: ${s.port}, identityFile: ${key}, certificateFile: ${cert}, `)]);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stdout + bad.stderr, /\/iohyps\/a\/connection\/certificateFile/);
    assert.match(bad.stdout + bad.stderr, /certificate-needs-openssh/);
  });
});
