// The provisioning bench's fair-comparison pieces: the parallel-shell peers
// (clush, parallel-ssh) run for real against a real two-host fleet with vrio's
// facts command; the fleet logs in as a /bin/sh user and its sshds run on the
// fleet's CPUs; the controller's CPU pinning, the peak-memory figures, the
// time bound on a cell, the per-peer ratios and how the report names a peer
// that wins.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createFleet, sshConfigText } from '../../bench/fleet.js';
import { parseTools, parseWorkloads } from '../../bench/harness.js';
import { optionsFromArgs } from '../../bench/run.js';
import { childrenOf, parseMaxRss, sampleTreePeak, withMaxRss } from '../../bench/memory.js';
import type { ProvisioningResult, ProvisionRow, Samples } from '../../bench/model.js';
import { checkPeerOutput, clushInvocation, factsCommandLine, psshInvocation } from '../../bench/peers.js';
import { allowedCpus, cpuSplit, parseCpuList, pinned } from '../../bench/pin.js';
import { peerWins, ratioCell } from '../../bench/report/format.js';
import { ratioTable } from '../../bench/report/markdown.js';
import { projectedCell, ratiosOf, roundOrder } from '../../bench/workloads/provisioning.js';
import { which } from '../../lib/exec.js';
import { sshdSupport } from '../support/sshd.js';
import { prerequisite } from '../support/prereq.js';

const s = (median: number): Samples => ({ runs: [median], median, min: median, max: median });

describe('bench peers: clush and parallel-ssh against a real fleet', () => {
  const missing = !sshdSupport().ok
    ? sshdSupport().reason!
    : !which('clush')
      ? 'clush not installed (apt-get install clustershell)'
      : !which('parallel-ssh')
        ? 'parallel-ssh not installed (apt-get install pssh)'
        : !which('taskset')
          ? 'taskset not installed (util-linux)'
          : false;
  it(
    'run vrio facts command on every host, as the /bin/sh login, with the sshds on the fleet CPUs',
    { skip: prerequisite(missing), timeout: 120_000 },
    async () => {
      const split = cpuSplit();
      const fleet = await createFleet(2, { cpus: split?.fleet });
      try {
        const names = fleet.hosts.map((h) => h.name);
        const cmd = factsCommandLine(fleet.hosts[0].iface);
        const c = clushInvocation(names, fleet.sshConfigFile, cmd);
        const cr = execFileSync(c.cmd, c.args, { encoding: 'utf8', timeout: 60_000 });
        checkPeerOutput('clush', cr, 0, names);
        // Each host reports its own NIC (the namespaced hosts all call it the same).
        for (const n of names) assert.match(cr, new RegExp(`^${n}: @nic ${fleet.hosts[0].iface} `, 'm'));
        const hostsFile = join(fleet.dir, 'pssh-hosts');
        writeFileSync(hostsFile, names.join('\n') + '\n');
        const p = psshInvocation(hostsFile, names.length, fleet.sshConfigFile, cmd);
        const pr = execFileSync(p.cmd, p.args, { encoding: 'utf8', timeout: 60_000 });
        checkPeerOutput('pssh', pr, 0, names);

        // The login: a shell with no rc files (root's bash would source ~/.bashrc per SSH command).
        const who = execFileSync('ssh', ['-F', fleet.sshConfigFile, names[0], 'echo "$(id -un) $0 $SHELL"'], { encoding: 'utf8', timeout: 30_000 }).trim();
        if (process.getuid?.() === 0) {
          assert.match(who, /^vrbench\d+ /);
          assert.ok(who.endsWith(' /bin/sh'), who);
        }
        if (split) {
          for (const h of fleet.hosts) assert.deepEqual(allowedCpus(h.sshd.pid!), parseCpuList(split.fleet), `sshd of ${h.name} on the fleet CPUs`);
        }
      } finally {
        await fleet.destroy();
      }
      if (process.getuid?.() === 0) {
        const users = readFileSync('/etc/passwd', 'utf8');
        assert.ok(!users.includes(`vrbench${process.pid % 100000}:`), 'the fleet user is removed with the fleet');
      }
    },
  );
});

describe('bench peers: command lines and output checks', () => {
  it('send one command to all hosts at once, through the fleet ssh_config', () => {
    const c = clushInvocation(['h001', 'h002', 'h003'], '/f/ssh_config', 'echo hi');
    assert.deepEqual(c.args.slice(0, 2), ['-f', '3']);
    assert.ok(c.args.includes('-S'), 'largest exit status returned');
    assert.equal(c.args[c.args.indexOf('-o') + 1], '-F /f/ssh_config');
    assert.equal(c.args[c.args.indexOf('-w') + 1], 'h001,h002,h003');
    assert.equal(c.args.at(-1), 'echo hi');
    const p = psshInvocation('/f/hosts', 3, '/f/ssh_config', 'echo hi');
    assert.equal(p.args[p.args.indexOf('-p') + 1], '3');
    assert.equal(p.args[p.args.indexOf('-x') + 1], '-F /f/ssh_config');
    assert.equal(p.args.at(-1), 'echo hi');
    assert.throws(() => clushInvocation([], '/f', 'x'), /no hosts/);
  });

  it("is vrio's facts script, runnable by sh, ending in @done", () => {
    const out = execFileSync('sh', ['-c', factsCommandLine('lo')], { encoding: 'utf8' });
    assert.match(out, /^@nic lo /m);
    assert.match(out.trim(), /@done$/);
  });

  it('refuse a run where a host gave no complete output, or a failed exit', () => {
    const hosts = ['h001', 'h002'];
    assert.doesNotThrow(() => checkPeerOutput('clush', 'h001: @kernel 6\nh001: @done\nh002: @done\n', 0, hosts));
    assert.throws(() => checkPeerOutput('clush', 'h001: @done\nh002: @kernel 6\n', 0, hosts), /no complete facts from 1 of 2 hosts \(h002\)/);
    assert.throws(() => checkPeerOutput('clush', 'h001: @done\nh002: @done\n', 1, hosts), /exited with 1/);
    const ok = '[1] 06:00:00 [SUCCESS] h002\n@x\n@done\n[2] 06:00:00 [SUCCESS] h001\n@done\n';
    assert.doesNotThrow(() => checkPeerOutput('pssh', ok, 0, hosts));
    const bad = '[1] 06:00:00 [FAILURE] h002 Exited with error code 255\n@done\n[2] 06:00:00 [SUCCESS] h001\n@done\n';
    assert.throws(() => checkPeerOutput('pssh', bad, 0, hosts), /\(h002\)/);
  });

  it('the fleet ssh_config names every host with its address and port, strict checking for all', () => {
    const t = sshConfigText(
      [
        { name: 'h001', address: '10.0.0.2', port: 22 },
        { name: 'h002', address: '127.0.0.3', port: 2222 },
      ],
      'u',
      '/k',
      '/kh',
    );
    assert.match(t, /Host h002\n {2}HostName 127\.0\.0\.3\n {2}Port 2222/);
    assert.match(t, /Host \*\n {2}User u\n {2}IdentityFile \/k\n {2}IdentitiesOnly yes\n {2}UserKnownHostsFile \/kh\n {2}StrictHostKeyChecking yes/);
  });

  it('--tools keeps vrio first and rejects an unknown tool', () => {
    assert.deepEqual(parseTools('clush,ansible,clush'), ['vrio', 'clush', 'ansible']);
    assert.throws(() => parseTools('pyinfra'), /--tools 'pyinfra': unknown tool/);
  });

  it('parses --workloads: the workloads asked, in order, each once; an unknown one names itself', () => {
    assert.deepEqual(parseWorkloads('write,facts,write'), ['write', 'facts']);
    assert.throws(() => parseWorkloads('facts,deploy'), /--workloads 'deploy': unknown workload/);
    assert.deepEqual(optionsFromArgs(['--workloads', 'facts'], () => {}).workloads, ['facts']);
    assert.deepEqual(optionsFromArgs([], () => {}).workloads, ['facts', 'write']);
  });
});

describe('bench CPU split', () => {
  it('parses kernel CPU lists and puts the controller on the first CPU, the fleet on the rest', () => {
    assert.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
    assert.throws(() => parseCpuList('2-1'), /not a CPU list/);
    assert.deepEqual(cpuSplit([1, 0]), { controller: '0', fleet: '1' });
    assert.deepEqual(cpuSplit([0, 1, 2, 3]), { controller: '0', fleet: '1,2,3' });
    assert.equal(cpuSplit([3]), undefined, 'one CPU: nothing to split');
    assert.deepEqual(pinned(['true'], undefined), ['true']);
  });

  it(
    'runs a pinned command on the controller CPU only',
    { skip: prerequisite(!which('taskset') ? 'taskset not installed' : cpuSplit() ? false : 'one CPU') },
    () => {
      const split = cpuSplit()!;
      const argv = pinned(['grep', 'Cpus_allowed_list', '/proc/self/status'], split.controller);
      const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
      assert.equal(out.split(':')[1].trim(), split.controller);
    },
  );
});

describe('bench controller memory', () => {
  it(
    'GNU time gives the peak of a process that holds 64 MiB',
    { skip: prerequisite(existsSync('/usr/bin/time') ? false : 'GNU time not installed (apt-get install time)') },
    () => {
      const file = join(execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim(), 'rss');
      const argv = withMaxRss(['python3', '-c', 'x = bytearray(64 << 20); x[::4096] = b"1" * len(x[::4096])'], file);
      execFileSync(argv[0], argv.slice(1));
      const kib = parseMaxRss(readFileSync(file, 'utf8'))!;
      assert.ok(kib > 64 * 1024 && kib < 512 * 1024, `${kib} KiB`);
      assert.equal(parseMaxRss('Command exited with non-zero status 1\n2048\n'), 2048);
      assert.equal(parseMaxRss(''), undefined);
    },
  );

  it('sampling sees the summed RSS of a child process tree, not the excluded pids', async () => {
    const { spawn } = await import('node:child_process');
    const script =
      'import os, time\nx = bytearray(48 << 20); x[::4096] = b"1" * len(x[::4096])\nif os.fork() == 0:\n    y = bytearray(48 << 20); y[::4096] = b"1" * len(y[::4096]); time.sleep(1.5); os._exit(0)\ntime.sleep(1.5); os.wait()';
    const idle = spawn('sleep', ['5']);
    const before = childrenOf('self');
    assert.ok(before.includes(idle.pid!));
    const mem = sampleTreePeak([idle.pid], 50);
    const child = spawn('python3', ['-c', script]);
    await new Promise((r) => child.on('exit', r));
    const peakKiB = mem.stop();
    idle.kill();
    // Both processes' 48 MiB, plus their interpreters; the idle sleep is excluded.
    assert.ok(peakKiB > 96 * 1024, `${peakKiB} KiB`);
  });
});

describe('bench cell bound and ratios', () => {
  it('leaves out a tool whose runs project past the bound, saying why, and keeps one that fits', () => {
    assert.equal(projectedCell({ hosts: 10, median: 5 }, 50, 5, 300), undefined, '25 s x 5 = 125 s fits');
    const why = projectedCell({ hosts: 10, median: 20 }, 50, 5, 300)!;
    assert.match(why, /not run at 50 hosts/);
    assert.match(why, /20\.0 s per run at 10 hosts projects to ~100 s per run, ~8 min for 5 runs \(bound 5 min per cell\)/);
    assert.equal(projectedCell(undefined, 50, 5, 300), undefined, 'nothing measured yet: run it');
    assert.equal(projectedCell({ hosts: 1, median: 8 }, 10, 5, 300), undefined, 'one host is start-up: no projection from it');
    assert.equal(projectedCell({ hosts: 10, median: 500 }, 50, 5, undefined), undefined, 'no bound');
  });

  it('rotates the order each round so every tool goes first in turn', () => {
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
    assert.deepEqual(roundOrder(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  });

  it('gives every peer its ratio over vrio, wall and CPU, and names a peer that wins', () => {
    const row: ProvisionRow = {
      hosts: 200,
      workload: 'facts',
      phase: 'cold',
      vrio: s(10),
      ansible: s(120),
      pssh: s(8),
      cpu: { vrio: { controller: s(2), hosts: s(8) }, pssh: { controller: s(6), hosts: s(9) } },
      notRun: { 'ansible-mitogen': 'projected too long' },
    };
    Object.assign(row, ratiosOf(row));
    assert.equal(row.ratio, 12);
    assert.equal(row.ratios?.pssh, 0.8);
    assert.equal(row.cpuRatios?.pssh, 1.5);
    assert.equal(row.cpuRatio, undefined, 'no Ansible CPU figure, no CPU ratio');
    assert.equal(ratioCell(row, 'pssh'), '0.80× (parallel-ssh wins)');
    assert.equal(ratioCell(row, 'ansible-mitogen'), 'not run');
    assert.equal(ratioCell(row, 'clush'), 'failed');
    const p = { status: 'ok', settings: {}, hostCounts: [200], runsPerCell: 1, rows: [row] } as ProvisioningResult;
    assert.deepEqual(peerWins(p), ['parallel-ssh at 200 host(s), facts + plan (read-only) cold: 0.80× (vrio 10.0 s, parallel-ssh 8.00 s)']);
    assert.match(ratioTable(p).join('\n'), /\| 200 \| facts \+ plan \(read-only\) \| cold \| 12× \|/);
  });
});
