// Shared fixtures for the inventory tests: one valid inventory to mutate, and
// a helper returning the issues a document produces.
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { InputError } from '../../lib/errors.js';
import { parseInventory } from '../../provision/inventory.js';

export function baseInventory(): Record<string, any> {
  return {
    version: 1,
    connection: { user: 'root', identityFile: '~/.ssh/id_ed25519', connectTimeout: 5 },
    hostKeys: { knownHosts: './known_hosts' },
    vars: { site: 'lab' },
    groups: { lab: { hosts: ['io1', 'g1', 'g2'], vars: { rack: 3 } } },
    iohyps: {
      io1: {
        address: '192.0.2.10',
        l2: { interface: 'eth0', address: '10.55.0.1/24', segment: 'seg1' },
        mtu: 8100,
        cpuAffinity: 1,
        hostKey: 'SHA256:' + 'A'.repeat(43),
      },
    },
    guests: {
      g1: {
        iohyp: 'io1',
        address: '192.0.2.11',
        l2: { interface: 'eth0', mac: '52:54:00:00:00:02', ip: '10.55.0.2/24', segment: 'seg1' },
        devices: [{ type: 'blk', name: 'vdb', backing: '/dev/ram1', writeCache: true, segMax: 13 }],
      },
      g2: {
        iohyp: 'io1',
        address: '192.0.2.12',
        l2: { interface: 'eth0', mac: '52:54:00:00:00:03', ip: '10.55.0.3' },
        devices: [{ type: 'net', lower: 'eth1', mac: '52:54:00:aa:00:03' }],
      },
    },
  };
}

export type Mut = (inv: Record<string, any>) => void;
export const DEL = Symbol('delete');

export function set(path: string, value: unknown): Mut {
  return (inv) => {
    const segs = path.split('/').slice(1);
    let o = inv;
    for (const s of segs.slice(0, -1)) o = o[s];
    const last = segs[segs.length - 1];
    if (value === DEL) delete o[last];
    else o[last] = value;
  };
}

export function issuesOf(inv: unknown, file = 'inv.yaml', env: NodeJS.ProcessEnv = {}): InputError['issues'] {
  try {
    parseInventory(file, file.endsWith('.json') ? JSON.stringify(inv, null, 2) : stringify(inv), { env });
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
  return [];
}

/** One expected issue: [JSON pointer, rule]. */
export type Expected = [pointer: string, rule: string];

/**
 * Assert that an inventory gives EXACTLY these issues (any order, repeats
 * counted): a missing one is a check that stopped working, an extra one is a
 * false error a user would have to argue with. Returns the issues.
 */
export function assertIssues(inv: unknown, expected: Expected[], env: NodeJS.ProcessEnv = {}): InputError['issues'] {
  const issues = issuesOf(inv, 'inv.yaml', env);
  const key = ([p, r]: Expected) => `${p} [${r}]`;
  assert.deepEqual(
    issues.map((i) => key([i.pointer, i.rule])).sort(),
    expected.map(key).sort(),
    `issues:\n${issues.map((i) => `  ${i.pointer} [${i.rule}] ${i.message}`).join('\n') || '  (none)'}`,
  );
  for (const i of issues) assert.ok(i.line, `${i.pointer} [${i.rule}] has a line`);
  return issues;
}
