// Facts about the machine a run was measured on, so a reader can judge the
// numbers: CPU, memory, kernel, load, and the versions of every tool compared.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { qemuVersion } from '../vm/vm.js';
import type { MachineFacts } from './model.js';

export function loadAverage(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/** First line of a tool's version output, or "missing". */
export function toolVersion(cmd: string, args: string[], pick: (out: string) => string = firstLine): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    return pick(out) || 'unknown';
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') return 'missing';
    // A non-zero exit may still have printed a version.
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    return pick(text) || 'unknown';
  }
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `ssh -V` prints its version on stderr. */
function sshVersion(): string {
  const r = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  if (r.error) return 'missing';
  return firstLine(`${r.stderr}${r.stdout}`) || 'unknown';
}

export function machineFacts(): MachineFacts {
  const cpuList = cpus();
  return {
    hostname: hostname(),
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: osName(),
    kvm: existsSync('/dev/kvm'),
    loadBefore: loadAverage(),
    tools: {
      node: process.version,
      ansible: toolVersion('ansible-playbook', ['--version'], (o) => /core ([\d.]+)/.exec(o)?.[1] ?? firstLine(o)),
      'ansible-mitogen': toolVersion('dpkg-query', ['-W', '-f', '${Version}', 'ansible-mitogen'], (o) => o.trim() || 'missing'),
      clush: toolVersion('clush', ['--version']),
      'parallel-ssh': toolVersion('parallel-ssh', ['--version']),
      python3: toolVersion('/usr/bin/python3', ['--version']),
      openssh: sshVersion(),
      gcc: toolVersion('gcc', ['--version']),
      make: toolVersion('make', ['--version']),
      qemu: qemuVersion(),
      xorriso: toolVersion('xorriso', ['-version'], (o) => /xorriso ([\d.]+)/.exec(o)?.[0] ?? firstLine(o)),
    },
  };
}
