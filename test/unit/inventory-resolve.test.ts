// What provisioning works from: an inventory resolved to hosts, exactly. Every
// layer (built-in defaults < inventory < groups in order < host), ${NAME} from
// vars then the environment, paths against the inventory's directory, jump
// hosts from the inventory or as user@host:port, module parameters as the
// kernel shows them; and the problems only resolution can find, each with the
// message a user reads.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir as tmpdirOf } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { InputError } from '../../lib/errors.js';
import { checkBuiltInventory, parseInventory } from '../../provision/inventory.js';
import { baseInventory, issuesOf } from './inventory-fixtures.js';

type Inv = Record<string, any>;
const load = (inv: Inv, env: NodeJS.ProcessEnv = {}) => parseInventory('/srv/inv/lab.yaml', stringify(inv), { env });
const home = (p: string) => join(homedir(), p);

/** The base inventory with every layer used. */
function layered(): Inv {
  const inv = baseInventory();
  inv.connection = { user: 'admin', identityFile: '~/.ssh/id_${site}', port: 2200, connectTimeout: 4, commandTimeout: 60, keepaliveInterval: 5, retries: 1 };
  inv.groups.lab.connection = { port: 2222 };
  inv.groups.lab.vars = { rack: 3, site: 'lab2' };
  inv.groups.fast = { hosts: ['g2'], vars: { rack: 4 }, connection: { become: 'sudo' } };
  inv.iohyps.io1.queues = 4;
  inv.iohyps.io1.socketMemory = 1048576;
  inv.iohyps.io1.params = { vrio_eth: { l2_packet_list_size: 512 }, vrio_gen: { poll_budget: 64 }, vrio_hblk: { num_outstanding_reqs: 64 } };
  inv.iohyps.io1.vars = { site: 'own' };
  inv.guests.g1.address = '${G1ADDR}';
  inv.guests.g1.connection = { jump: 'io1', user: '${LOGIN}' };
  inv.guests.g2.connection = { jump: 'ops@bastion:2022', agent: true };
  inv.guests.g2.devices.push({ type: 'net', lower: 'eth2', mac: '52:54:00:AA:00:04', macvtap: 'mtap9', features: '0x1' });
  inv.guests.g1.devices.push({ type: 'blk', name: 'vdc', backing: '/dev/ram2', writeCache: false, segMax: 7, capacity: 1024 });
  return inv;
}

describe('inventory resolution, whole', () => {
  it('gives exactly these hosts: settings layered, ${NAME} resolved, jump hosts and modules built', () => {
    const r = load(layered(), { G1ADDR: '192.0.2.11', LOGIN: 'ops', SSH_AUTH_SOCK: '/run/agent.sock' });
    const knownHostsFiles = ['/srv/inv/known_hosts'];
    const pins = ['SHA256:' + 'A'.repeat(43)];
    // transport, sshConfigFile: the default ssh2 client, and this test's loader reads no ssh_config (-F none).
    const timing = { connectTimeoutMs: 4000, keepaliveMs: 5000, retries: 1, transport: 'ssh2', sshConfigFile: 'none' };
    const io1Endpoint = {
      name: 'io1',
      address: '192.0.2.10',
      alias: '192.0.2.10',
      port: 2222,
      user: 'admin',
      identityFile: home('.ssh/id_own'),
      hostKeys: { knownHostsFiles, pins },
      ...timing,
    };
    const guestModules = (mac: string) => {
      void mac;
      return [
        { name: 'vrio_eth', params: { l2_packet_size: '8100', l2_packet_list_size: '256', large_packet_list_size: '256' }, support: false },
        { name: 'vrio_gen', params: { g_eth_name: 'eth0', g_cpu_affinity: '1' }, support: false },
        { name: 'vrio_gblk', params: {}, support: false },
        { name: 'vrio_gnet', params: {}, support: false },
      ];
    };
    assert.equal(r.file, '/srv/inv/lab.yaml');
    assert.deepEqual(r.groups, { lab: ['io1', 'g1', 'g2'], fast: ['g2'] });
    assert.deepEqual(JSON.parse(JSON.stringify(r.hosts)), [
      {
        name: 'io1',
        role: 'iohyp',
        pointer: '/iohyps/io1',
        groups: ['lab'],
        vars: { site: 'own', rack: 3 },
        connection: { ...io1Endpoint, commandTimeoutMs: 60000 },
        mtu: 8100,
        queues: 4,
        socketMemory: 1048576,
        modules: [
          { name: 'macvlan', params: {}, support: true },
          { name: 'macvtap', params: {}, support: true },
          { name: 'tun', params: {}, support: true },
          { name: 'vrio_eth', params: { l2_packet_size: '8100', l2_packet_list_size: '512', large_packet_list_size: '256' }, support: false },
          { name: 'vrio_gen', params: { h_eth_name: 'eth0', h_cpu_affinity: '1', poll_budget: '64' }, support: false },
          { name: 'vrio_hblk', params: { num_outstanding_reqs: '64' }, support: false },
          { name: 'vrio_hnet', params: {}, support: false },
        ],
        customModules: false,
        files: [],
        l2: { interface: 'eth0', address: '10.55.0.1/24', ip: '10.55.0.1', prefix: 24, segment: 'seg1' },
        devices: [],
      },
      {
        name: 'g1',
        role: 'guest',
        pointer: '/guests/g1',
        groups: ['lab'],
        vars: { site: 'lab2', rack: 3 },
        connection: {
          name: 'g1',
          address: '192.0.2.11',
          alias: '192.0.2.11',
          port: 2222,
          user: 'ops',
          identityFile: home('.ssh/id_lab2'),
          hostKeys: { knownHostsFiles, pins: [] },
          ...timing,
          commandTimeoutMs: 60000,
          // An inventory host as jump: its own address, user, key and pins.
          jump: io1Endpoint,
        },
        mtu: 8100,
        queues: 1,
        socketMemory: 3407872,
        modules: guestModules('52:54:00:00:00:02'),
        customModules: false,
        files: [],
        iohyp: 'io1',
        l2: { interface: 'eth0', mac: '52:54:00:00:00:02', ip: '10.55.0.2', prefix: 24, segment: 'seg1' },
        devices: [
          { type: 'blk', name: 'vdb', backing: '/dev/ram1', writeCache: true, segMax: 13 },
          { type: 'blk', name: 'vdc', backing: '/dev/ram2', writeCache: false, segMax: 7, capacity: 1024 },
        ],
      },
      {
        name: 'g2',
        role: 'guest',
        pointer: '/guests/g2',
        groups: ['lab', 'fast'],
        vars: { site: 'lab2', rack: 4 },
        connection: {
          name: 'g2',
          address: '192.0.2.12',
          alias: '192.0.2.12',
          port: 2222,
          user: 'admin',
          identityFile: home('.ssh/id_lab2'),
          agent: '/run/agent.sock',
          hostKeys: { knownHostsFiles, pins: [] },
          ...timing,
          commandTimeoutMs: 60000,
          become: 'sudo',
          // user@host:port: the guest's own settings, with that user, host and port.
          jump: {
            name: 'ops@bastion:2022',
            address: 'bastion',
            alias: 'bastion',
            port: 2022,
            user: 'ops',
            identityFile: home('.ssh/id_lab2'),
            agent: '/run/agent.sock',
            hostKeys: { knownHostsFiles, pins: [] },
            ...timing,
          },
        },
        mtu: 8100,
        queues: 1,
        socketMemory: 3407872,
        modules: guestModules('52:54:00:00:00:03'),
        customModules: false,
        files: [],
        iohyp: 'io1',
        l2: { interface: 'eth0', mac: '52:54:00:00:00:03', ip: '10.55.0.3' },
        devices: [
          { type: 'net', lower: 'eth1', mac: '52:54:00:aa:00:03', macvtap: 'mvt00aa0003', features: '0x7BE1' },
          { type: 'net', lower: 'eth2', mac: '52:54:00:aa:00:04', macvtap: 'mtap9', features: '0x1' },
        ],
      },
    ]);
  });

  it('built-in connection defaults: root, port 22, 10 s connect, 120 s commands, 15 s keepalive, 2 retries', () => {
    const inv = baseInventory();
    inv.connection = {};
    delete inv.hostKeys;
    inv.hostKeys = { knownHosts: ['kh1', '/etc/ssh/kh2', '~/kh3'] };
    const c = load(inv).hosts[0].connection;
    assert.deepEqual(JSON.parse(JSON.stringify(c)), {
      name: 'io1',
      address: '192.0.2.10',
      alias: '192.0.2.10',
      port: 22,
      user: 'root',
      transport: 'ssh2',
      sshConfigFile: 'none',
      hostKeys: { knownHostsFiles: ['/srv/inv/kh1', '/etc/ssh/kh2', home('kh3')], pins: ['SHA256:' + 'A'.repeat(43)] },
      connectTimeoutMs: 10000,
      commandTimeoutMs: 120000,
      keepaliveMs: 15000,
      retries: 2,
    });
  });

  it('the agent: SSH_AUTH_SOCK when no key is given (unless agent: false), a socket path, or none', () => {
    const conn = (set: (i: Inv) => void, env: NodeJS.ProcessEnv) => {
      const inv = baseInventory();
      set(inv);
      const c = load(inv, env).hosts[0].connection;
      return [c.identityFile, c.agent];
    };
    const sock = { SSH_AUTH_SOCK: '/run/a.sock' };
    assert.deepEqual(
      conn((i) => delete i.connection.identityFile, sock),
      [undefined, '/run/a.sock'],
    );
    assert.deepEqual(
      conn((i) => (delete i.connection.identityFile, (i.connection.agent = false)), sock),
      [undefined, undefined],
    );
    assert.deepEqual(
      conn((i) => (delete i.connection.identityFile, (i.connection.agent = 'agent.sock')), sock),
      [undefined, '/srv/inv/agent.sock'],
    );
    assert.deepEqual(
      conn((i) => (i.connection.identityFile = '~'), {}),
      [homedir(), undefined],
    );
    assert.deepEqual(
      conn(() => {}, sock),
      [home('.ssh/id_ed25519'), undefined],
    );
  });

  it('module parameters as /sys/module shows them: booleans Y/N, numbers as text', () => {
    const inv = baseInventory();
    delete inv.guests;
    inv.groups.lab.hosts = ['io1'];
    inv.iohyps.io1.modules = [{ name: 'vrio_test', params: { on: true, off: false, n: 0 } }, { name: 'plain' }];
    assert.deepEqual(load(inv).hosts[0].modules, [
      { name: 'vrio_test', params: { on: 'Y', off: 'N', n: '0' }, support: false },
      { name: 'plain', params: {}, support: false },
    ]);
  });

  it('a guest without its own vMTU takes its IOhyp one, and the default when neither sets one', () => {
    const inv = baseInventory();
    inv.iohyps.io1.mtu = 1500;
    assert.deepEqual(
      load(inv).hosts.map((h) => h.mtu),
      [1500, 1500, 1500],
    );
    delete inv.iohyps.io1.mtu;
    assert.deepEqual(
      load(inv).hosts.map((h) => h.mtu),
      [8100, 8100, 8100],
    );
    inv.guests.g2.mtu = 8100;
    inv.iohyps.io1.mtu = 8100;
    inv.guests.g1.mtu = 8100;
    assert.deepEqual(
      load(inv).hosts.map((h) => [h.mtu, h.modules.find((m) => m.name === 'vrio_eth')!.params.l2_packet_size]),
      [
        [8100, '8100'],
        [8100, '8100'],
        [8100, '8100'],
      ],
    );
  });
});

describe('inventory resolution: the problems it finds, as a user reads them', () => {
  const problems = (set: (i: Inv) => void, env: NodeJS.ProcessEnv = {}) => {
    const inv = baseInventory();
    set(inv);
    return issuesOf(inv, 'inv.yaml', env).map((i) => [i.pointer, i.rule, i.message, i.hint]);
  };

  it('a ${NAME} set nowhere (or set empty) is reported once, at the setting', () => {
    const unresolved = [
      '/connection/user',
      'unresolved-variable',
      '${WHO} is not a variable here and not set in the environment',
      'define it under vars: or export WHO=...',
    ];
    assert.deepEqual(
      problems((i) => (i.connection.user = '${WHO}')),
      [unresolved],
    );
    assert.deepEqual(
      problems((i) => (i.connection.user = '${WHO}'), { WHO: '' }),
      [unresolved],
    );
    assert.deepEqual(
      problems((i) => (i.connection.user = '${WHO}'), { WHO: 'ops' }),
      [],
    );
  });

  it('agent: true without SSH_AUTH_SOCK', () => {
    assert.deepEqual(
      problems((i) => (i.guests.g1.connection = { agent: true })),
      [['/guests/g1/connection/agent', 'agent-available', 'agent: true but SSH_AUTH_SOCK is not set', 'start ssh-agent, or use identityFile']],
    );
  });

  it('an identityFile that resolves to a key or to text, never shown', () => {
    const hint = 'write the key to a file (mode 0600) and give its path, e.g. identityFile: ~/.ssh/id_ed25519';
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    assert.deepEqual(
      problems((i) => (i.connection.identityFile = '${KEY}'), { KEY: key }),
      [
        [
          '/connection/identityFile',
          'identity-file-path',
          'identityFile resolves to a private key itself, not to the path of a key file (value not shown)',
          hint,
        ],
      ],
    );
    for (const text of ['line one\nline two', 'tab\there', 'x'.repeat(4097)]) {
      assert.deepEqual(
        problems((i) => (i.connection.identityFile = '${KEY}'), { KEY: text }),
        [
          [
            '/connection/identityFile',
            'identity-file-path',
            'identityFile resolves to text that is not a file path, not to the path of a key file (value not shown)',
            hint,
          ],
        ],
        JSON.stringify(text.slice(0, 20)),
      );
    }
    assert.deepEqual(
      problems((i) => (i.connection.identityFile = '${KEY}'), { KEY: '/keys/' + 'x'.repeat(1000) }),
      [],
    );
  });

  it('a jump host port out of range (the schema checks the rest of [user@]host[:port])', () => {
    assert.deepEqual(
      problems((i) => (i.guests.g1.connection = { jump: 'bastion:0' })),
      [['/guests/g1/connection/jump', 'port-range', 'jump port 0 is not 1..65535', undefined]],
    );
    assert.deepEqual(
      problems((i) => (i.guests.g1.connection = { jump: 'bastion:65536' })),
      [['/guests/g1/connection/jump', 'port-range', 'jump port 65536 is not 1..65535', undefined]],
    );
    assert.deepEqual(
      problems((i) => (i.guests.g1.connection = { jump: 'bastion:65535' })),
      [],
    );
    const j = load({ ...baseInventory(), connection: { jump: 'ops@[2001:db8::1]:2022' } }).hosts[1].connection.jump!;
    assert.deepEqual([j.user, j.address, j.port], ['ops', '2001:db8::1', 2022]);
    const k = load({ ...baseInventory(), connection: { user: 'me', jump: 'bastion' } }).hosts[1].connection.jump!;
    assert.deepEqual([k.user, k.address, k.port], ['me', 'bastion', 22]);
  });

  it('a host that names itself as its jump connects directly', () => {
    const inv = baseInventory();
    inv.iohyps.io1.connection = { jump: 'io1' };
    assert.equal(load(inv).hosts[0].connection.jump, undefined);
  });
});

describe('settings from outside the inventory', () => {
  it('-u and --key apply to every host, not to an inventory host used as a jump', () => {
    const inv = baseInventory();
    inv.guests.g1.connection = { jump: 'io1' };
    const r = parseInventory('/srv/inv/lab.yaml', stringify(inv), { env: {}, ssh: { user: 'deploy', identityFile: '/keys/ci' } });
    const g1 = r.hosts.find((h) => h.name === 'g1')!.connection;
    assert.deepEqual([g1.user, g1.identityFile], ['deploy', '/keys/ci']);
    assert.deepEqual([g1.jump!.user, g1.jump!.identityFile], ['root', home('.ssh/id_ed25519')]);
    const io1 = r.hosts[0]!.connection;
    assert.deepEqual([io1.user, io1.identityFile], ['deploy', '/keys/ci']);
  });

  it('an inventory built in code is held to the same checks, named as the caller says', () => {
    const inv = baseInventory();
    assert.equal(checkBuiltInventory(inv as never, 'the lab inventory'), inv);
    inv.guests.g1.iohyp = 'io9';
    assert.throws(
      () => checkBuiltInventory(inv as never, 'the lab inventory'),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.deepEqual(
          e.issues.map((i) => [i.file, i.pointer, i.rule]),
          [['the lab inventory', '/guests/g1/iohyp', 'iohyp-exists']],
        );
        return true;
      },
    );
  });

  it('known_hosts: ~/.ssh/known_hosts when the inventory names none and it exists, else none', () => {
    const saved = process.env.HOME;
    const fakeHome = join(tmpdirOf(), `home${Date.now()}`);
    try {
      process.env.HOME = fakeHome;
      const inv = baseInventory();
      delete inv.hostKeys;
      assert.deepEqual(load(inv).hosts[0]!.connection.hostKeys.knownHostsFiles, []);
      mkdirSync(join(fakeHome, '.ssh'), { recursive: true });
      writeFileSync(join(fakeHome, '.ssh', 'known_hosts'), '');
      assert.deepEqual(load(inv).hosts[0]!.connection.hostKeys.knownHostsFiles, [join(fakeHome, '.ssh', 'known_hosts')]);
      inv.hostKeys = { knownHosts: '${KH}' };
      assert.deepEqual(load(inv, { KH: '/etc/kh' }).hosts[0]!.connection.hostKeys.knownHostsFiles, ['/etc/kh']);
    } finally {
      process.env.HOME = saved;
      rmSync(fakeHome, { recursive: true, force: true });
    }
  });

  it('the variables a host sees: the inventory, then its groups in order, then its own', () => {
    const inv = baseInventory();
    inv.vars = { a: 'inv', b: 'inv', c: 'inv' };
    inv.groups.lab.vars = { b: 'lab', c: 'lab' };
    inv.groups.more = { hosts: ['g1'], vars: { c: 'more' } };
    inv.guests.g1.vars = { d: 'own' };
    assert.deepEqual(load(inv).hosts.find((h) => h.name === 'g1')!.vars, { a: 'inv', b: 'lab', c: 'more', d: 'own' });
    assert.deepEqual(load(inv).hosts.find((h) => h.name === 'g2')!.vars, { a: 'inv', b: 'lab', c: 'lab' });
  });
});
