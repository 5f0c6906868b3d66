// One output contract for every verb (issue #17): with --json, stdout is JSON
// lines, each valid against the published cli/events.schema.json, ending in
// exactly one `result` line whose exitCode is the process exit code. The verb
// table is walked, so a new verb without a case here fails this test; every
// verb that can run without QEMU or the network runs for real, the others at
// least reach their own argument checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { commands } from '../../cli/commands/index.js';
import { parseDocumentText, validateDocument } from '../../lib/document.js';
import { formatIssue, InputError } from '../../lib/errors.js';
import { dataPath } from '../../lib/paths.js';
import { tempDir, vrio, vrioSpawn } from '../support/cli.js';

const schema = JSON.parse(readFileSync(dataPath('cli/events.schema.json'), 'utf8')) as object;
const t = tempDir('vrio-json-events-');
after(t.cleanup);
const dir = t.dir;
// A tiny build manifest: a `dir` kernel source, so --dry-run, fetch and clean run without a download.
mkdirSync(join(dir, 'linux/drivers/vrio'), { recursive: true });
writeFileSync(join(dir, 'linux/Makefile'), '# not a real kernel\n');
writeFileSync(
  join(dir, 'vrio.yaml'),
  'sources:\n  tiny: {kind: dir, path: linux}\nkernel: {source: tiny, series: null, compat: false, fixes: false}\noutputDir: out\ncacheDir: cache\n',
);
writeFileSync(
  join(dir, 'bad.yaml'),
  'version: 1\niohyps:\n  io1:\n    l2: { interface: eth0 }\n    cpuAffinity: 0\nguests:\n  g1:\n    iohyp: io9\n    l2: { interface: eth0, mac: "52:54:00:00:00:02", ip: 10.0.0.2 }\n',
);
writeFileSync(join(dir, 'hosts.ini'), '[iohyps]\nio1 ansible_host=10.0.0.1 vrio_interface=eth0\n');
writeFileSync(join(dir, 'empty.ini'), '# nothing\n');
mkdirSync(join(dir, 'nolab'));
mkdirSync(join(dir, 'nopath'));
const lab = dataPath('provision/examples/lab.yaml');

interface Case {
  args: string[];
  exit: number;
  env?: NodeJS.ProcessEnv;
}
const c = (exit: number, ...args: string[]): Case => ({ args, exit });

// Per verb: invocations with the exit code each must end with.
const cases: Record<string, Case[]> = {
  build: [c(0, 'build', '--dry-run', '--role', 'guest'), c(2, 'build', '--dry-run', '--role', 'nosuch'), c(2, 'build', '--nosuch')],
  fetch: [c(0, 'fetch'), c(2, 'fetch', '-m', 'nosuch.yaml')],
  'kernel build': [c(2, 'kernel', 'build', '--role', 'nosuch')],
  'kernel config': [c(2, 'kernel', 'config', '--role', 'nosuch')],
  'kernel menuconfig': [c(2, 'kernel', 'menuconfig', '--role', 'nosuch')],
  image: [c(2, 'image', '--role', 'nosuch')],
  inspect: [c(2, 'inspect', 'nosuch.iso')],
  clean: [c(0, 'clean')],
  'config show': [c(0, 'config', 'show'), c(2, 'config', 'show', '--role', 'nosuch')],
  'config schema': [c(0, 'config', 'schema')],
  smoke: [c(2, 'smoke', 'nosuch.iso'), c(2, 'smoke')],
  run: [c(2, 'run', 'nosuch.iso')],
  'lab up': [c(2, 'lab', 'up', '--nosuch')],
  'lab down': [c(0, 'lab', 'down', '--state-dir', 'nolab')],
  'lab status': [c(1, 'lab', 'status', '--state-dir', 'nolab')],
  'lab ssh': [c(1, 'lab', 'ssh', '--state-dir', 'nolab', 'guest1', 'uname'), c(2, 'lab', 'ssh', '--state-dir', 'nolab', 'guest1')],
  'inventory check': [c(0, 'inventory', 'check', lab), c(2, 'inventory', 'check', 'bad.yaml'), c(2, 'inventory', 'check')],
  'inventory schema': [c(0, 'inventory', 'schema')],
  'inventory import': [c(0, 'inventory', 'import', 'hosts.ini'), c(2, 'inventory', 'import', 'empty.ini')],
  'provision plan': [c(0, 'provision', 'plan', '-i', lab, '--list-hosts'), c(2, 'provision', 'plan', '-i', lab, '--limit', 'nosuch')],
  'provision apply': [c(0, 'provision', 'apply', '-i', lab, '--list-hosts'), c(2, 'provision', 'apply', '-i', 'bad.yaml')],
  'provision teardown': [c(0, 'provision', 'teardown', '-i', lab, '--list-hosts')],
  'provision status': [c(0, 'provision', 'status', '-i', lab, '--list-hosts')],
  // An empty PATH: every tool is missing, so doctor's exit code (3) does not depend on this machine.
  doctor: [{ args: ['doctor'], exit: 3, env: { PATH: join(dir, 'nopath') } }],
  'schema events': [c(0, 'schema', 'events')],
  bench: [c(2, 'bench', '--nosuch')],
  completion: [c(0, 'completion', 'bash'), c(2, 'completion', 'nosuch')],
  man: [c(0, 'man')],
};
// Outcomes that never reach a verb.
const topLevel: Case[] = [c(2), c(0, '--version'), c(0, '--help'), c(2, 'nosuch'), c(2, 'kernel'), c(0, 'config', 'show', '--help')];

/** Every line must be one event valid against the schema; the last, and only the last, a result. */
function checkStream(label: string, stdout: string, code: number | null): Record<string, unknown>[] {
  const lines = stdout.split('\n');
  assert.equal(lines.pop(), '', `${label}: stdout ends with a newline`);
  assert.ok(lines.length > 0, `${label}: no events on stdout`);
  const evs = lines.map((line, i) => {
    const file = `${label}: stdout line ${i + 1}`;
    assert.doesNotThrow(() => JSON.parse(line), `${file}: not JSON: ${line.slice(0, 300)}`);
    try {
      return validateDocument<Record<string, unknown>>(parseDocumentText(file, line), schema);
    } catch (e) {
      if (e instanceof InputError) assert.fail(`${e.issues.map((x) => formatIssue(x)).join('\n')}\n  line: ${line.slice(0, 300)}`);
      throw e;
    }
  });
  const results = evs.filter((e) => e.type === 'result');
  assert.equal(results.length, 1, `${label}: exactly one result line, got ${results.length}`);
  assert.equal(evs.at(-1)!.type, 'result', `${label}: the result line is the last`);
  assert.equal(results[0].exitCode, code, `${label}: result exitCode equals the process exit code`);
  return evs;
}

function runCase(k: Case): Record<string, unknown>[] {
  const r = vrio(['--json', ...k.args], { cwd: dir, env: { VRIO_CACHE_DIR: join(dir, 'cache'), ...k.env } });
  const label = `vrio --json ${k.args.join(' ')}`;
  assert.equal(r.code, k.exit, `${label}: exit code\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const evs = checkStream(label, r.stdout, r.code);
  if (k.exit !== 0) {
    const err = evs.find((e) => e.type === 'error');
    assert.ok(err, `${label}: a failure says why in an error event`);
    assert.equal(err.exitCode, k.exit, `${label}: the error event carries the exit code`);
  }
  // Warnings and hints are events in JSON mode: nothing of ours is left on stderr.
  assert.doesNotMatch(r.stderr, /^(warning|error|  hint):/m, `${label}: stderr`);
  return evs;
}

describe('--json: one event stream for every verb', () => {
  it('every verb in the verb table has a case here', () => {
    assert.deepEqual(
      commands.map((x) => x.name).filter((n) => !cases[n]),
      [],
    );
  });

  for (const cmd of commands)
    it(`vrio ${cmd.name}`, () => {
      for (const k of cases[cmd.name] ?? []) runCase(k);
    });

  it('usage errors, --help and --version before any verb', () => {
    for (const k of topLevel) runCase(k);
  });

  it('the cases cover success, failure, bad input and a missing tool', () => {
    const codes = new Set(Object.values(cases).flatMap((l) => l.map((k) => k.exit)));
    for (const code of [0, 1, 2, 3]) assert.ok(codes.has(code), `exit ${code}`);
  });

  it('Ctrl-C: exit 130, an error event, then the one result line', async () => {
    // A host that accepts the TCP connection and never says a word: provision
    // status waits on it (connectTimeout 60 s) until the SIGINT.
    const held: Socket[] = [];
    const server = createServer((s) => held.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const key = join(dir, 'id_ed25519');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0, 'ssh-keygen');
    writeFileSync(
      join(dir, 'silent.yaml'),
      `version: 1\nconnection: { user: root, identityFile: ${key}, connectTimeout: 60 }\nhostKeys: { knownHosts: ./known_hosts }\niohyps:\n  io1:\n    address: 127.0.0.1\n    connection: { port: ${port} }\n    l2: { interface: eth1 }\n`,
    );
    try {
      const run = vrioSpawn(['--json', 'provision', 'status', '-i', 'silent.yaml'], { cwd: dir });
      let out = '';
      await new Promise<void>((res) =>
        run.child.stdout!.on('data', (b: Buffer) => {
          out += b.toString('utf8');
          if (out.includes('"type":"start"')) res();
        }),
      );
      run.child.kill('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 130, r.stdout + r.stderr);
      const evs = checkStream('provision status, interrupted', r.stdout, r.code);
      assert.ok(
        evs.some((e) => e.type === 'error' && e.exitCode === 130 && /interrupted by SIGINT/.test(String(e.message))),
        r.stdout,
      );
    } finally {
      for (const s of held) s.destroy();
      server.close();
    }
  });

  it('inventory check --json keeps its warnings, as events', () => {
    const evs = runCase(c(0, 'inventory', 'check', lab));
    assert.ok(
      evs.some((e) => e.type === 'warning' && /no hostKey pin/.test(String(e.message))),
      JSON.stringify(evs),
    );
  });

  it('vrio schema events prints the schema the stream is checked against', () => {
    const r = vrio(['schema', 'events']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), schema);
  });
});
