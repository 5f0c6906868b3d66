// `vrio inventory check` on a big inventory: N hosts (one IOhyp, the rest its
// guests) and G groups that each list every host. Group membership used to be
// looked up by scanning every group's host list for every host, several times
// per host: 10,000 hosts x 30 groups took over 300 s. Timed from outside as a
// whole process (start-up included), with its peak memory.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import type { BuildResult, Figure } from '../model.js';
import { summarize } from '../stats.js';

/** The inventory as YAML text: hosts io0, g1..g(N-1) on 10.0.0.0/8; groups grp00.. each listing every host. */
export function bigInventory(hosts: number, groups: number): string {
  const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const mac = (i: number) => `52:54:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const names = ['io0', ...Array.from({ length: hosts - 1 }, (_, i) => `g${i + 1}`)];
  const out = ['version: 1', 'connection: { user: root }', 'iohyps:', '  io0: { address: 192.0.2.1, l2: { interface: eth0, address: 10.0.0.1/8 } }', 'guests:'];
  for (let i = 1; i < hosts; i++)
    out.push(
      `  g${i}: { address: 192.0.2.${(i % 250) + 2}, connection: { port: ${10000 + i} }, iohyp: io0, l2: { interface: eth0, mac: "${mac(i + 1)}", ip: ${ip(i + 1)} } }`,
    );
  out.push('groups:');
  const list = `[${names.join(', ')}]`;
  for (let g = 0; g < groups; g++) out.push(`  grp${String(g).padStart(2, '0')}: { hosts: ${list}, vars: { rack: r${g} } }`);
  return out.join('\n') + '\n';
}

/** Wall seconds and peak RSS (bytes) of one `vrio inventory check FILE` run (GNU time's rusage). */
function timedCheck(file: string, timeoutMs: number): Promise<{ seconds: number; peakBytes: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // /usr/bin/time -f %M: the child's own max RSS in KiB, as the kernel accounts it.
    const child = spawn('/usr/bin/time', ['-f', '@peak %M', process.execPath, join(packageRoot(), 'dist/cli/bin.js'), 'inventory', 'check', '--quiet', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const peak = /@peak (\d+)/.exec(err);
      resolve({ seconds, peakBytes: peak ? Number(peak[1]) * 1024 : 0, code });
    });
  });
}

export interface InventoryBenchOptions {
  runs: number;
  workDir: string;
  log: (msg: string) => void;
  /** Host and group counts (default 10,000 x 30). */
  hosts?: number;
  groups?: number;
}

/** The figures: median wall time (goal under 5 s) and peak memory of the check. */
export async function benchInventoryCheck(o: InventoryBenchOptions): Promise<BuildResult> {
  const hosts = o.hosts ?? 10_000;
  const groups = o.groups ?? 30;
  mkdirSync(o.workDir, { recursive: true });
  const file = join(o.workDir, `inventory-${hosts}x${groups}.yaml`);
  writeFileSync(file, bigInventory(hosts, groups));
  const times: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await timedCheck(file, 600_000);
    if (r.code !== 0) return { status: 'failed', reason: `inventory check exited ${r.code ?? 'killed after 600 s'}`, figures: [], timelines: [] };
    times.push(r.seconds);
    peaks.push(r.peakBytes);
    o.log(`  inventory check ${hosts} hosts x ${groups} groups: ${r.seconds.toFixed(2)} s, ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB`);
  }
  const t = summarize(times);
  const m = summarize(peaks);
  const label = `inventory check, ${hosts.toLocaleString('en')} hosts x ${groups} groups listing every host`;
  const figures: Figure[] = [
    { id: 'inventory-check-time', label, value: t.median, unit: 's', samples: t, goal: '< 5 s', goalMet: t.median < 5 },
    { id: 'inventory-check-peak', label: `${label}: peak memory`, value: m.median, unit: 'bytes', samples: m },
  ];
  return { status: 'ok', figures, timelines: [] };
}
