// Reliability: no private key material, passphrase or token ever leaves a run.
//
// Real runs of every provisioning verb (plan, apply, status, teardown; text,
// --json, -v) against real sshd hosts, authenticating with a private key file
// and with an ssh-agent holding a passphrase-protected key, plus the mistakes
// that put secrets next to the tool: a rejected key, an encrypted key with no
// agent, a key file that is not a key, the key's CONTENT in the variable the
// inventory names as its path (a common CI mistake), the key pasted inline.
// Everything the runs produce is captured — stdout, stderr, every file written
// under HOME and the working directory, the state the hosts keep — and searched
// for each secret: every base64 line of both private keys, their PEM headers,
// the passphrase and a token from the environment. A control case plants a
// secret to show the search finds one.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, vrio, type CliResult } from '../support/cli.js';
import { startFakeKernelHost, type FakeKernelHost } from '../support/fake-kernel.js';
import { printFigures } from '../support/figures.js';
import { findLeaks, keyNeedles } from '../support/secrets-scan.js';
import { makeClientKey, netnsSupport, sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const skip = prerequisite(!sshdSupport().ok ? sshdSupport().reason : !netnsSupport().ok ? netnsSupport().reason : false);

const MODULES = ['vt_eth', 'vt_gen'];

/** Every regular file below dir, as text (binary files are searched too: secrets are ASCII). */
function filesBelow(dir: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 64 * 1024 * 1024) out.push([p, readFileSync(p).toString('latin1')]);
    }
  };
  walk(dir);
  return out;
}

describe('secrets never leave a provisioning run', { skip }, () => {
  const tmp = tempDir('vrio-secrets-');
  const home = join(tmp.dir, 'home');
  const work = join(tmp.dir, 'work');
  const keys = join(tmp.dir, 'keys');
  const passphrase = `pp-${randomBytes(12).toString('hex')}`;
  const token = `tok-${randomBytes(12).toString('hex')}`;
  let io: FakeKernelHost, guest: FakeKernelHost;
  let plainKey: string, encKey: string, strangerKey: string;
  let agentPid: number | undefined;
  let agentSock = '';
  const captured = new Map<string, string>();
  const secrets = new Map<string, string[]>();
  const stats = { runs: 0, places: 0, bytes: 0, leaks: 0 };
  const env = (): NodeJS.ProcessEnv => ({ HOME: home, VRIO_TEST_TOKEN: token, SSH_AUTH_SOCK: '' });

  function inventory(conn: string, extra = ''): string {
    const host = (h: FakeKernelHost) =>
      `    address: ${h.ns.address}\n    hostKey: "${h.sshd.hostKeyFingerprint}"\n    mtu: 1500\n    modules: [ { name: vt_eth, params: { l2_packet_size: 1514 } }, { name: vt_gen } ]\n`;
    return [
      'version: 1',
      `connection: { user: root, connectTimeout: 20, retries: 0${conn ? `, ${conn}` : ''} }`,
      extra,
      'iohyps:',
      `  iohyp1:\n${host(io)}    l2: { interface: ${io.ns.interface}, address: 10.56.0.1/24 }`,
      'guests:',
      `  guest1:\n    iohyp: iohyp1\n${host(guest)}    l2: { interface: ${guest.ns.interface}, mac: "${guest.ns.mac}", ip: 10.56.0.2/24 }`,
      '',
    ].join('\n');
  }

  function cli(label: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliResult {
    stats.runs++;
    const r = vrio(args, { cwd: work, env: { ...env(), ...extraEnv }, timeoutMs: 180_000 });
    captured.set(`${label}: stdout`, r.stdout);
    captured.set(`${label}: stderr`, r.stderr);
    return r;
  }

  function write(name: string, text: string): string {
    const f = join(work, name);
    writeFileSync(f, text);
    return f;
  }

  before(async () => {
    for (const d of [home, work, keys]) mkdirSync(d, { recursive: true });
    plainKey = makeClientKey(keys, 'id_plain').privateKeyFile;
    strangerKey = makeClientKey(keys, 'id_stranger').privateKeyFile;
    encKey = join(keys, 'id_enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'vrio-test-enc', '-f', encKey], { stdio: 'ignore' });
    const authorized = [plainKey, encKey].map((k) => readFileSync(`${k}.pub`, 'utf8').trim());
    [io, guest] = await Promise.all(
      [0, 1].map(() =>
        startFakeKernelHost({ vt_eth: { params: { l2_packet_size: 'int' } }, vt_gen: { deps: ['vt_eth'] } }, { extraAuthorizedKeys: authorized }),
      ),
    );
    // An agent we start and stop by pid, holding the encrypted key (unlocked
    // with the passphrase through SSH_ASKPASS, as a desktop would).
    agentSock = join(tmp.dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    agentPid = agent.pid;
    for (let i = 0; i < 100; i++) {
      try {
        statSync(agentSock);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const askpass = join(keys, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\necho '${passphrase}'\n`);
    chmodSync(askpass, 0o700);
    execFileSync('ssh-add', [encKey], {
      env: { ...process.env, SSH_AUTH_SOCK: agentSock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    secrets.set('private key (file)', keyNeedles(readFileSync(plainKey, 'utf8')));
    secrets.set('private key (encrypted, in the agent)', keyNeedles(readFileSync(encKey, 'utf8')));
    secrets.set('private key (rejected)', keyNeedles(readFileSync(strangerKey, 'utf8')));
    secrets.set('passphrase', [passphrase]);
    secrets.set('token', [token]);
  });

  after(async () => {
    printFigures('secrets', {
      'CLI runs': stats.runs,
      'outputs and files searched': stats.places,
      'bytes searched': stats.bytes,
      'secret kinds': secrets.size,
      leaks: stats.leaks,
    });
    if (agentPid) process.kill(agentPid, 'SIGTERM');
    await Promise.all([io?.stop(), guest?.stop()]);
    tmp.cleanup();
  });

  it('every verb, text / --json / -v, with a key file: converges and tears down', () => {
    const inv = write('key.yaml', inventory(`identityFile: ${plainKey}`));
    cli('inventory check', ['inventory', 'check', inv]);
    cli('inventory check --json', ['--json', 'inventory', 'check', inv]);
    cli('plan', ['provision', 'plan', '-i', inv, '--diff']);
    cli('plan --json -v', ['--json', '-v', 'provision', 'plan', '-i', inv]);
    const a = cli('apply -v', ['-v', 'provision', 'apply', '-i', inv, '--diff']);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(Object.keys(guest.modules()), MODULES, 'the run really provisioned the host');
    // What the hosts keep between apply and teardown (teardown removes it).
    for (const h of [io, guest]) captured.set(`host state file ${h.ns.address}`, h.stateFile() ?? assert.fail('apply recorded no state'));
    cli('apply --json', ['--json', 'provision', 'apply', '-i', inv]);
    cli('status', ['provision', 'status', '-i', inv]);
    cli('status --json -v', ['--json', '-v', 'provision', 'status', '-i', inv]);
    const t = cli('teardown -v', ['-v', 'provision', 'teardown', '-i', inv]);
    assert.equal(t.code, 0, t.stderr);
    cli('teardown --json', ['--json', 'provision', 'teardown', '-i', inv]);
  });

  it('with an agent holding a passphrase-protected key, and with known_hosts learnt by --accept-new', () => {
    // No pins: --accept-new records the host keys in HOME's known_hosts (a file the tool writes).
    const inv = write('agent.yaml', inventory('agent: true').replace(/    hostKey: .*\n/g, ''));
    const a = cli('apply --accept-new -v (agent)', ['-v', 'provision', 'apply', '-i', inv, '--accept-new'], { SSH_AUTH_SOCK: agentSock });
    assert.equal(a.code, 0, a.stderr);
    assert.match(readFileSync(join(home, '.ssh/known_hosts'), 'utf8'), /ssh-ed25519 /, 'known_hosts written');
    const t = cli('teardown --json (agent)', ['--json', 'provision', 'teardown', '-i', inv], { SSH_AUTH_SOCK: agentSock });
    assert.equal(t.code, 0, t.stderr);
  });

  it('mistakes fail clearly without echoing the secret', () => {
    // A key the hosts do not accept.
    const rejected = cli('rejected key', ['-v', 'provision', 'plan', '-i', write('stranger.yaml', inventory(`identityFile: ${strangerKey}`))]);
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.stderr + rejected.stdout, /authentication|auth/i);
    // The passphrase-protected key with no agent: the inventory has no place for a passphrase.
    const enc = cli('encrypted key, no agent', ['provision', 'plan', '-i', write('enc.yaml', inventory(`identityFile: ${encKey}, agent: false`))]);
    assert.notEqual(enc.code, 0);
    assert.match(enc.stderr, /identity file \S+id_enc is passphrase-protected, and inventories hold no passphrases/);
    assert.match(enc.stderr, /hint: load it into an agent once \(ssh-add \S+id_enc\) and set connection\.agent: true/);
    // A "key" file that holds a token instead.
    const tokenFile = join(keys, 'token.txt');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 }); // a loose mode is refused first (below)
    const notKey = cli('token file as key', ['--json', 'provision', 'plan', '-i', write('tokenkey.yaml', inventory(`identityFile: ${tokenFile}`))]);
    assert.notEqual(notKey.code, 0);
    assert.match(notKey.stdout, /identity file \S+token\.txt is not a private key ssh2 can use/);
    // A private key group and others may read: refused as ssh refuses it (before any connection).
    const loose = join(keys, 'id_loose');
    copyFileSync(plainKey, loose);
    chmodSync(loose, 0o644);
    const looseRun = cli('key readable by others', ['-v', 'provision', 'plan', '-i', write('loose.yaml', inventory(`identityFile: ${loose}`))]);
    assert.notEqual(looseRun.code, 0);
    assert.match(looseRun.stderr, /UNPROTECTED PRIVATE KEY FILE: permissions 0644 of \S+id_loose are too open/);
    assert.match(looseRun.stderr, /hint: chmod 600 \S+id_loose/);
    // The key's content in the variable the inventory names as its path.
    const viaEnv = cli('key content in ${VAR}', ['provision', 'plan', '-i', write('envkey.yaml', inventory('identityFile: "${VRIO_SSH_KEY}"'))], {
      VRIO_SSH_KEY: readFileSync(plainKey, 'utf8'),
    });
    assert.equal(viaEnv.code, 2, 'bad input: nothing runs');
    assert.match(viaEnv.stderr, /envkey\.yaml:2:\d+: \/connection\/identityFile: identityFile resolves to a private key itself.*\[identity-file-path\]/);
    const viaEnvJson = cli('key content in ${VAR} --json -v', ['--json', '-v', 'provision', 'apply', '-i', join(work, 'envkey.yaml')], {
      VRIO_SSH_KEY: readFileSync(plainKey, 'utf8'),
    });
    assert.equal(viaEnvJson.code, 2);
    // The key pasted into the inventory.
    const pasted = JSON.stringify(readFileSync(plainKey, 'utf8'));
    const inline = cli('key inline', ['-v', 'inventory', 'check', write('inline.yaml', inventory(`identityFile: ${pasted}`))]);
    assert.equal(inline.code, 2);
    assert.match(inline.stderr, /\/connection\/identityFile: \(a value that looks like private key material, not shown\)/);
    // A private key given where the image wants a public one.
    for (const json of [[], ['--json']]) {
      const img = cli(`private key as --ssh-key ${json.join('')}`, [
        ...json,
        'image',
        '--ssh-key',
        plainKey,
        '--output-dir',
        join(work, 'out'),
        '--cache-dir',
        join(work, 'cache'),
      ]);
      assert.equal(img.code, 2, 'refused before building');
      assert.match(img.stderr + img.stdout, /not an OpenSSH public key line/);
    }
    // An Ansible inventory with passwords: import drops them, says so, and writes none.
    const ini = join(keys, 'ansible.ini');
    writeFileSync(ini, `[iohyps]\nio1 ansible_host=10.0.0.1 ansible_password=${passphrase} ansible_become_pass=${token} vrio_interface=eth1\n`);
    const imp = cli('inventory import', ['-v', 'inventory', 'import', ini, '--output', join(work, 'imported.yaml')]);
    assert.match(imp.stderr, /ansible_password \(host io1\): not imported: a secret: inventories hold no secrets/);
    cli('inventory import --json', ['--json', 'inventory', 'import', ini]);
    // Inline inventories are the user's own file: only what the TOOL writes counts.
    for (const f of ['inline.yaml']) captured.delete(`file ${join(work, f)}`);
  });

  it('no secret in any output, any file the runs wrote, or the state kept on the hosts', () => {
    for (const [f, text] of filesBelow(home)) captured.set(`file ${f}`, text);
    // The working directory holds our inventories (and anything the tool dropped there).
    for (const [f, text] of filesBelow(work)) if (!f.endsWith('inline.yaml')) captured.set(`file ${f}`, text);
    for (const h of [io, guest]) for (const [f, text] of filesBelow(join(h.root, 'run'))) captured.set(`host file ${f}`, text);
    stats.places = captured.size;
    stats.bytes = [...captured.values()].reduce((n, t) => n + t.length, 0);
    const leaks = findLeaks(captured, secrets);
    stats.leaks = leaks.length;
    assert.deepEqual(leaks, []);
    assert.ok(stats.places >= 30, `searched ${stats.places} places`);
  });

  it('control: the search finds a planted secret in an output and in a file', () => {
    const planted = new Map<string, string>([
      ['stdout', `ok\n${keyNeedles(readFileSync(plainKey, 'utf8'))[1]}\n`],
      ['file', `passphrase was ${passphrase}`],
      ['clean', 'nothing here'],
    ]);
    const found = findLeaks(planted, secrets);
    assert.deepEqual(found.map((l) => l.where).sort(), ['file', 'stdout']);
    assert.ok(keyNeedles(readFileSync(plainKey, 'utf8')).length >= 4, 'a key body has several base64 lines to look for');
  });
});
