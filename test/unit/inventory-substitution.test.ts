// ${NAME} substitution in inventory values: only the inventory's own vars and
// real environment variables resolve (never members every JS object has, like
// ${constructor}), and what a substitution produces is held to the same schema
// as a value written out: a bad result is bad input (exit 2) naming the file and
// the pointer of the value, never a string that slips through to SSH.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ExitCode, InputError } from '../../lib/errors.js';
import { parseInventory } from '../../provision/inventory.js';
import { baseInventory, issuesOf } from './inventory-fixtures.js';

type Inv = Record<string, any>;
const OBJECT_MEMBERS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', 'toLocaleString'];

describe('inventory ${NAME} substitution', () => {
  for (const name of OBJECT_MEMBERS) {
    it(`\${${name}} does not resolve to an Object member (vars and the real process.env)`, () => {
      const inv: Inv = baseInventory();
      inv.guests.g1.address = `\${${name}}`;
      inv.connection.user = `\${${name}}`;
      for (const env of [{}, process.env]) {
        const issues = issuesOf(inv, 'inv.yaml', env);
        for (const p of ['/guests/g1/address', '/connection/user']) {
          const hit = issues.find((i) => i.pointer === p && i.rule === 'unresolved-variable');
          assert.ok(hit, `${p}: expected unresolved-variable, got:\n${issues.map((i) => `${i.pointer} [${i.rule}] ${i.message}`).join('\n')}`);
        }
        assert.ok(!issues.some((i) => /native code|\[object/.test(i.message)));
      }
    });
  }

  it('a variable the inventory defines under such a name still resolves', () => {
    const inv: Inv = baseInventory();
    inv.vars = { constructor: 'deploy' };
    inv.connection.user = '${constructor}';
    const r = parseInventory('inv.yaml', stringify(inv), { env: {} });
    assert.equal(r.hosts[0].connection.user, 'deploy');
  });

  const bad: [string, (i: Inv) => void, NodeJS.ProcessEnv, string][] = [
    ['an address from the environment with a space and ;', (i) => (i.guests.g1.address = '${ADDR}'), { ADDR: 'evil host;id' }, '/guests/g1/address'],
    ['an address from vars starting with -', (i) => ((i.vars.a = '-oProxyCommand=x'), (i.guests.g1.address = '${a}')), {}, '/guests/g1/address'],
    [
      'a user from group vars with upper case and a space',
      (i) => ((i.groups.lab.vars = { u: 'Root Admin' }), (i.connection.user = '${u}')),
      {},
      '/connection/user',
    ],
    [
      'a user from host vars',
      (i) => ((i.guests.g2.vars = { u: 'x'.repeat(40) }), (i.guests.g2.connection = { user: '${u}' })),
      {},
      '/guests/g2/connection/user',
    ],
    ['a known_hosts path with a newline', (i) => (i.hostKeys.knownHosts = '${KH}'), { KH: '/tmp/a\nb' }, '/hostKeys/knownHosts'],
    ['an agent socket with a control character', (i) => (i.connection.agent = '${SOCK}'), { SOCK: '/run/a\u0007b' }, '/connection/agent'],
  ];
  for (const [what, mut, env, pointer] of bad) {
    it(`re-validates after substitution: ${what} -> exit 2 at ${pointer}`, () => {
      const inv: Inv = baseInventory();
      mut(inv);
      try {
        parseInventory('site/inv.yaml', stringify(inv), { env });
        assert.fail('accepted');
      } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        assert.equal(e.exitCode, ExitCode.USAGE);
        const hit = e.issues.find((i) => i.pointer === pointer && /^(pattern|maxLength)$/.test(i.rule));
        assert.ok(hit, `expected an issue at ${pointer}, got:\n${e.message}`);
        assert.equal(hit.file, 'site/inv.yaml');
        assert.ok(hit.line && hit.line > 0, 'with a line');
        assert.match(hit.message, /after \$\{NAME\} substitution/);
      }
    });
  }

  it('good substituted values still pass', () => {
    const inv: Inv = baseInventory();
    inv.vars.u = 'deploy';
    inv.connection.user = '${u}';
    inv.guests.g1.address = '${ADDR}';
    const r = parseInventory('inv.yaml', stringify(inv), { env: { ADDR: 'g1.example.org' } });
    const g1 = r.hosts.find((h) => h.name === 'g1')!;
    assert.equal(g1.connection.address, 'g1.example.org');
    assert.equal(g1.connection.user, 'deploy');
  });

  it('a private key pasted into a variable is reported as such (not also as a schema error), without its text', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const inv: Inv = baseInventory();
    inv.connection.identityFile = '${KEY}';
    const issues = issuesOf(inv, 'inv.yaml', { KEY: key });
    const at = issues.filter((i) => i.pointer === '/connection/identityFile');
    assert.deepEqual([...new Set(at.map((i) => i.rule))], ['identity-file-path'], 'not also a schema error');
    assert.ok(!JSON.stringify(issues).includes('b3BlbnNzaC1rZXktdjEAAAAA'));
  });
});
