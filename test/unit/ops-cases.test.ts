// Operation tests as data: test/fixtures/provision/ops-cases.yaml holds each
// case as a host, its facts and the exact commands apply must run. One harness
// runs them all and checks every case for idempotence (pyinfra's operation
// tests, with the idempotence check made part of every case, not an option).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { dataPath } from '../../lib/paths.js';
import type { Facts, NicFact } from '../../provision/facts.js';
import type { Change } from '../../provision/ops/change.js';
import { planHost } from '../../provision/ops/plan.js';
import { projectFacts } from '../../provision/ops/projection.js';
import { freshFacts, guestFacts, lab } from './ops-fixtures.js';

interface Case {
  name: string;
  host: 'io1' | 'g1' | 'g2';
  facts?: {
    modules?: Record<string, Record<string, string | number>>;
    nics?: Record<string, Partial<NicFact>>;
    sysctls?: Record<string, string>;
    saved?: boolean;
  };
  commands: string[];
}

const cases = (parse(readFileSync(dataPath('test/fixtures/provision/ops-cases.yaml'), 'utf8')) as { cases: Case[] }).cases;
const { io, g1, g2 } = lab();
const hosts = { io1: io, g1, g2 };

/** The case's facts: a fresh boot of the host's role with what the case sets. */
function factsOf(c: Case): Facts {
  const host = hosts[c.host];
  const base = host.role === 'iohyp' ? freshFacts() : guestFacts(host.l2.mac!);
  const f = c.facts ?? {};
  for (const [n, p] of Object.entries(f.modules ?? {}))
    base.modules[n] = { refcount: 0, usedBy: [], params: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)])) };
  for (const [n, nic] of Object.entries(f.nics ?? {})) base.nics[n] = { ...base.nics[n], ...nic };
  Object.assign(base.sysctls, f.sysctls ?? {});
  // A recorded state is what apply wrote on its first run; its contents do not steer the plan.
  if (f.saved) base.saved = { [`mtu.${host.l2.interface}`]: '1500' };
  return base;
}

/** `KIND argv`, or the recorded lines for save-state (its argv is a fixed shell script). */
function commandOf(c: Change): string {
  return c.kind === 'save-state' ? `save-state ${(c.data.lines as string[]).join(' ')}` : `${c.kind} ${c.argv.join(' ')}`;
}

describe('operations as data (test/fixtures/provision/ops-cases.yaml)', () => {
  it('has cases, each with a known host and a list of commands', () => {
    assert.ok(cases.length >= 5);
    for (const c of cases) assert.ok(hosts[c.host] && Array.isArray(c.commands), c.name);
  });
  for (const c of cases) {
    it(c.name, () => {
      const facts = factsOf(c);
      const plan = planHost(hosts[c.host], facts);
      assert.deepEqual(plan.errors, []);
      assert.deepEqual(plan.changes.map(commandOf), c.commands);
      // Idempotence: once these changes are made, a second apply plans nothing.
      const again = planHost(hosts[c.host], projectFacts(facts, plan.changes));
      assert.deepEqual(again.changes.map(commandOf), [], 'a second apply changes nothing');
    });
  }
});
