// Reliability: hundreds of generated invalid inventories against REAL sshd hosts.
// Each must be rejected as bad input (exit 2) with file, JSON pointer and line,
// and not one SSH connection may be opened: the three sshd instances log every
// TCP connection (LogLevel VERBOSE "Connection from"), and the suite counts them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../lib/errors.js';
import { loadInventory } from '../../provision/index.js';
import { printFigures } from '../support/figures.js';
import { leaves, objects, rng, setAt, shellNasties, structuralCases, toYaml, wrongTypeFor, type BadCase, type Json } from '../support/bad-inputs.js';
import { tempDir, vrio } from '../support/cli.js';
import { sshdSupport, startSshd, type SshdInstance } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const SEED = 4242;
const tmp = tempDir('vrio-badinv-');
const support = sshdSupport();
let hosts: SshdInstance[] = [];

function tcpConnections(): number {
  return hosts.reduce((n, h) => n + (h.log().match(/Connection from /g) ?? []).length, 0);
}

function baseInventory(): Json {
  const [a, b, c] = hosts;
  const conn = (h: SshdInstance) => ({ port: h.port, user: h.user, identityFile: h.identityFile });
  return {
    version: 1,
    connection: { connectTimeout: 5, commandTimeout: 30 },
    iohyps: {
      iohyp1: {
        address: a.host,
        connection: conn(a),
        hostKey: a.hostKeyFingerprint,
        l2: { interface: 'eth0', address: '10.55.0.1/24', segment: 'lab' },
        mtu: 8100,
        cpuAffinity: 1,
      },
    },
    guests: {
      guest1: {
        iohyp: 'iohyp1',
        address: b.host,
        connection: conn(b),
        hostKey: b.hostKeyFingerprint,
        l2: { interface: 'eth0', mac: '52:54:00:55:00:02', ip: '10.55.0.2/24', segment: 'lab' },
        devices: [{ type: 'blk', name: 'vdb', backing: '/dev/ram1', writeCache: true, segMax: 13 }],
      },
      guest2: {
        iohyp: 'iohyp1',
        address: c.host,
        connection: conn(c),
        hostKey: c.hostKeyFingerprint,
        l2: { interface: 'eth0', mac: '52:54:00:55:00:03', ip: '10.55.0.3/24', segment: 'lab' },
        devices: [
          { type: 'blk', name: 'vdb', backing: '/dev/ram2' },
          { type: 'net', lower: 'eth1', mac: '52:54:00:aa:00:03' },
        ],
      },
    },
  };
}

/** Values each kind of field must refuse (they would reach a remote shell or a kernel). */
const badValues: [RegExp, Json[]][] = [
  [
    /\/mac$/,
    [
      '52:54:00:55:00',
      '52:54:00:55:00:0g',
      '52-54-00-55-00-02',
      '52:54:00:55:00:02:01',
      'ff:ff:ff:ff:ff:ff',
      '01:00:5e:00:00:01',
      '',
      ...shellNasties.slice(0, 3),
    ],
  ],
  [/\/l2\/ip$/, ['10.55.0.256/24', '10.55.0.2/33', '10.55.0/24', 'fe80::1/64', '', '10.55.0.2/24; id']],
  [/\/l2\/address$/, ['10.55.0.1', '300.1.1.1/24', '10.55.0.1/0', 'x']],
  [/\/interface$/, ['', 'eth0; reboot', 'a'.repeat(16), 'eth 0', '../eth0', '$(id)', 'eth0\n']],
  [/\/lower$/, ['', 'eth1;id', 'a'.repeat(16), 'e th']],
  [/\/backing$/, ['', 'ram1', '/dev/ram1; rm -rf /', '/dev/../etc/passwd', '/dev/ram1\n', `/dev/${'a'.repeat(300)}`]],
  [/\/devices\/\d+\/name$/, ['', 'VDB', 'vd b', 'vdb;id', 'a'.repeat(64)]],
  [/\/(mtu)$/, [0, 67, 65536, -1, 1500.5]],
  [/\/cpuAffinity$/, [1.5, 'one', 100000]],
  [/\/segMax$/, [0, -1, 1e9]],
  [/\/port$/, [0, 65536, -22, 22.5, '22']],
  [/\/(connectTimeout|commandTimeout)$/, [0, -5, 1e9]],
  [/\/hostKey$/, ['SHA256:short', 'MD5:aa:bb', 'ssh-ed25519', '', 'SHA256:' + 'A'.repeat(43) + ';']],
  [/\/user$/, ['', 'ro ot', 'root;id', '-oProxyCommand=x', 'a'.repeat(64)]],
  [/\/identityFile$/, ['', 'a\nb']],
  [/\/address$/, ['', 'host name', 'a;b', '-oProxyCommand=id', 'x'.repeat(300)]],
  [/\/iohyp$/, ['nosuch', '', 'IOHYP1']],
  [/\/version$/, [2, 0, '1']],
  [/\/segment$/, ['', 'a b', 'x;y']],
];

function cases(): BadCase[] {
  const r = rng(SEED);
  const base = baseInventory();
  const out: BadCase[] = [];
  const add = (name: string, doc: Json, pointer: string, match: BadCase['match'] = 'prefix') => {
    const json = r() < 0.3;
    out.push({ name, text: json ? JSON.stringify(doc, null, 1) : toYaml(doc), ext: json ? 'json' : 'yaml', pointer, match });
  };
  for (const [ptr, v] of leaves(base)) {
    for (let k = 0; k < 2; k++) {
      const w = wrongTypeFor(v, r);
      if (ptr.endsWith('/writeCache') && w === null) continue;
      add(`wrong type at ${ptr}: ${JSON.stringify(w)}`, setAt(base, ptr, w), ptr);
    }
    for (const [re, vals] of badValues)
      if (re.test(ptr)) for (const bad of vals) add(`bad value at ${ptr}: ${JSON.stringify(bad).slice(0, 40)}`, setAt(base, ptr, bad), ptr);
  }
  for (const obj of objects(base)) {
    if (/^\/(iohyps|guests)$/.test(obj)) continue; // open maps of host names
    for (const key of ['bogus', 'passwd', 'password', 'Address', `k${Math.floor(r() * 1e6)}`])
      add(`unknown key '${key}' in ${obj || '(root)'}`, setAt(base, `${obj}/${key}`, 'x'), `${obj}/${key}`);
  }
  // Relations the schema alone cannot see.
  add('duplicate guest MAC', setAt(base, '/guests/guest2/l2/mac', '52:54:00:55:00:02'), '/guests/guest2/l2/mac', 'any');
  add('duplicate guest IP', setAt(base, '/guests/guest2/l2/ip', '10.55.0.2/24'), '/guests/guest2/l2/ip', 'any');
  add('guest IP equals the IOhyp IP', setAt(base, '/guests/guest1/l2/ip', '10.55.0.1/24'), '/guests/guest1/l2/ip', 'any');
  add('guest on another subnet', setAt(base, '/guests/guest1/l2/ip', '10.66.0.2/24'), '/guests/guest1/l2/ip', 'any');
  add('guest on another segment', setAt(base, '/guests/guest1/l2/segment', 'other'), '/guests/guest1', 'any');
  add('dangling iohyp reference', setAt(base, '/guests/guest1/iohyp', 'iohyp9'), '/guests/guest1/iohyp');
  add(
    'duplicate device name in a guest',
    setAt(base, '/guests/guest2/devices/1', { type: 'blk', name: 'vdb', backing: '/dev/ram3' }),
    '/guests/guest2/devices',
    'any',
  );
  add('two guests on one backing device', setAt(base, '/guests/guest2/devices/0/backing', '/dev/ram1'), '/guests/guest2/devices', 'any');
  add('net device MAC equals a guest MAC', setAt(base, '/guests/guest2/devices/1/mac', '52:54:00:55:00:02'), '/guests', 'any');
  add(
    'same SSH endpoint twice',
    setAt(setAt(base, '/guests/guest2/connection/port', hosts[1].port), '/guests/guest2/address', hosts[1].host),
    '/guests',
    'any',
  );
  add('host both iohyp and guest', setAt(base, '/guests/iohyp1', (base as { guests: Record<string, Json> }).guests.guest1), '/guests/iohyp1', 'any');
  add('group naming an unknown host', setAt(base, '/groups', { lab: { hosts: ['iohyp1', 'ghost'] } }), '/groups/lab/hosts/1', 'any');
  add(
    'undefined ${VAR} reference',
    setAt(base, '/guests/guest1/connection/identityFile', '${NO_SUCH_VAR_XYZ}'),
    '/guests/guest1/connection/identityFile',
    'any',
  );
  add('a secret in the inventory', setAt(base, '/connection/password', 'hunter2'), '/connection/password');
  add(
    'private key inline',
    setAt(base, '/connection/identityFile', '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'),
    '/connection/identityFile',
    'any',
  );
  add('macvtap name the back end would open as a tun/tap', setAt(base, '/guests/guest2/devices/1/macvtap', 'tap1'), '/guests/guest2/devices/1/macvtap');
  add('no hosts at all', { version: 1 }, '', 'any');
  for (const n of ['Guest1', 'guest 1', 'g;id', '-oProxyCommand', ''])
    add(`bad host name '${n}'`, setAt(base, `/guests/${n}`, (base as { guests: Record<string, Json> }).guests.guest1), `/guests/${n}`, 'any');
  for (const s of structuralCases(base, 'guests')) out.push(s);
  return out;
}

describe(`generated invalid inventories against real sshd hosts (seed ${SEED})`, { skip: prerequisite(support.ok ? false : support.reason) }, () => {
  let all: BadCase[] = [];
  const stats = { tried: 0, rejected: 0, precise: 0, connections: -1 };
  before(async () => {
    hosts = await Promise.all(['127.0.0.11', '127.0.0.12', '127.0.0.13'].map((address) => startSshd({ address })));
    all = cases();
  });
  after(async () => {
    printFigures('bad inventories', {
      'cases tried': stats.tried,
      'rejected as bad input': stats.rejected,
      'with exact pointer and position': stats.precise,
      'SSH connections opened for them': stats.connections,
    });
    await Promise.all(hosts.map((h) => h.stop()));
    tmp.cleanup();
  });

  it('the base inventory is valid (so every case is invalid because of its mutation)', () => {
    const f = join(tmp.dir, 'base.yaml');
    writeFileSync(f, toYaml(baseInventory()));
    const inv = loadInventory(f);
    assert.equal(Object.keys(inv.hosts ?? {}).length || (inv as unknown as { hostList?: unknown[] }).hostList?.length || 3, 3);
  });

  it('generates at least 250 distinct cases', () => {
    assert.ok(all.length >= 250, `only ${all.length}`);
  });

  it('rejects every case with the file, the pointer and a position', () => {
    const failures: string[] = [];
    for (const [i, c] of all.entries()) {
      stats.tried++;
      const f = join(tmp.dir, `case${i}.${c.ext}`);
      writeFileSync(f, c.text);
      let err: unknown;
      try {
        loadInventory(f, { env: {} });
      } catch (e) {
        err = e;
      }
      if (!(err instanceof InputError)) {
        failures.push(`#${i} ${c.name}: not rejected as bad input (${err instanceof Error ? err.message.split('\n')[0] : 'accepted'})`);
        continue;
      }
      stats.rejected++;
      const hit =
        c.match === 'any'
          ? err.issues[0]
          : err.issues.find(
              (x) => x.pointer === c.pointer || x.pointer.startsWith(c.pointer + '/') || (x.pointer !== '' && c.pointer.startsWith(x.pointer + '/')),
            );
      if (!hit) {
        failures.push(`#${i} ${c.name}: no issue at ${c.pointer}: ${JSON.stringify(err.issues.map((x) => [x.pointer, x.rule]))}`);
        continue;
      }
      if (hit.file !== f || !hit.rule || !hit.message || (hit.line === undefined && !['max-size', 'max-depth', 'yaml-aliases'].includes(hit.rule))) {
        failures.push(`#${i} ${c.name}: imprecise issue ${JSON.stringify(hit)}`);
        continue;
      }
      stats.precise++;
    }
    assert.deepEqual(failures, []);
  });

  it('exits 2 through `vrio provision plan` and opens no SSH connection', () => {
    const r = rng(SEED + 7);
    for (let k = 0; k < 25; k++) {
      const i = Math.floor(r() * all.length);
      const c = all[i];
      const f = join(tmp.dir, `cli${k}.${c.ext}`);
      writeFileSync(f, c.text);
      const res = vrio(['provision', 'plan', '-i', f]);
      assert.equal(res.code, 2, `#${i} ${c.name}: ${res.stderr}`);
      assert.ok(res.stderr.includes(f), `#${i}: the message names the file`);
    }
    stats.connections = tcpConnections();
    assert.equal(stats.connections, 0, 'no SSH connection was opened for any bad inventory');
  });

  it('control: the valid inventory does connect (the connection counter works)', () => {
    const f = join(tmp.dir, 'base-cli.yaml');
    writeFileSync(f, toYaml(baseInventory()));
    const before = tcpConnections();
    vrio(['provision', 'plan', '-i', f]);
    assert.ok(tcpConnections() > before, 'a valid inventory reaches the sshd hosts');
  });
});
