// ssh_config mapping onto inventory hosts (lib/ssh/config.ts, provision/inventory.ts):
// ProxyJump's first hop becomes the jump, itself looked up in the config;
// an inventory jump wins; a bad Port is bad input naming the file.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../lib/errors.js';
import { loadSshConfig } from '../../lib/ssh/config.js';
import { parseInventory } from '../../provision/inventory.js';
import { tempDir } from '../support/cli.js';

const tmp = tempDir('vrio-ssh-config-');
after(tmp.cleanup);

function config(text: string) {
  const f = join(tmp.dir, `cfg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, text);
  return loadSshConfig(f)!;
}
const inv = (conn = '') => `version: 1\niohyps:\n  a:\n    address: target\n    l2: { interface: lo }\n    connection: { agent: false${conn} }\n`;

describe('ssh_config', () => {
  const cfg = config(
    [
      'Host target',
      '  HostName 10.0.0.5',
      '  ProxyJump ops@bastion:2200,second',
      'Host bastion',
      '  HostName 192.0.2.1',
      '  User ignored',
      'Host *',
      '  User deploy',
    ].join('\n'),
  );

  it('ProxyJump: the first hop, with its own HostName; the user in the hop wins over the config', () => {
    const h = parseInventory(join(tmp.dir, 'i.yaml'), inv(), { env: {}, ssh: { config: cfg } }).hosts[0];
    assert.equal(h.connection.address, '10.0.0.5');
    assert.equal(h.connection.user, 'deploy');
    assert.deepEqual([h.connection.jump?.address, h.connection.jump?.port, h.connection.jump?.user], ['192.0.2.1', 2200, 'ops']);
  });

  it('an inventory jump wins over ProxyJump; ProxyJump none is no jump', () => {
    const h = parseInventory(join(tmp.dir, 'i.yaml'), inv(', jump: "j@198.51.100.1"'), { env: {}, ssh: { config: cfg } }).hosts[0];
    assert.equal(h.connection.jump?.address, '198.51.100.1');
    const none = config('Host *\n  ProxyJump none\n');
    assert.equal(parseInventory(join(tmp.dir, 'i.yaml'), inv(), { env: {}, ssh: { config: none } }).hosts[0].connection.jump, undefined);
  });

  it('a Port that is not 1..65535 is bad input naming the config file and the host', () => {
    const bad = config('Host target\n  Port 70000\n');
    assert.throws(
      () => parseInventory(join(tmp.dir, 'i.yaml'), inv(), { env: {}, ssh: { config: bad } }),
      (e: unknown) => e instanceof InputError && /cfg-.*/.test(e.message) && /Port 70000 \(for host target\) is not 1\.\.65535/.test(e.message),
    );
  });
});
