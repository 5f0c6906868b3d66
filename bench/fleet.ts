// A fleet of N real OpenSSH servers for the provisioning benchmark: each host
// is an sshd on its own address, inside its own network namespace (as root) or
// on its own 127.0.0.0/8 address otherwise. Everything is created here and
// removed by destroy(): namespaces, veth pairs, sshd processes (by pid), and
// the per-host scratch roots under the fleet's temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeClientKey, netnsSupport, removeNetns, startSshd, type Netns, type SshdInstance } from './sshd.js';

export type FleetNetwork = 'netns' | 'loopback';

export interface BenchHost {
  name: string;
  address: string;
  port: number;
  /** The host's NIC as the host itself sees it (veth inside the namespace, or lo). */
  iface: string;
  /** That NIC's MAC address. */
  mac: string;
  /** Per-host directory the write workload may use (absolute, under the fleet dir). */
  scratch: string;
  sshd: SshdInstance;
}

export interface Fleet {
  network: FleetNetwork;
  dir: string;
  user: string;
  hosts: BenchHost[];
  identityFile: string;
  knownHostsFile: string;
  /** Remove every host's scratch root (the "cold" state of the write workload). */
  resetScratch(): void;
  destroy(): Promise<void>;
}

export interface FleetOptions {
  network?: FleetNetwork;
  /** Concurrent sshd start-ups (default 8): bounded so 50 hosts don't stampede 2 cores. */
  parallel?: number;
  log?: (msg: string) => void;
}

const ip = (...a: string[]) => execFileSync('ip', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * A 10.B.0.0/16 block that no interface on this machine uses, so the fleet's
 * /30 links never collide with the test suite's namespaces (10.201/16) or
 * anything else.
 */
function freeBlock(): number {
  const used = ip('-4', '-o', 'addr', 'show');
  for (let b = 213; b < 250; b++) if (!used.includes(` 10.${b}.`)) return b;
  throw new Error('no free 10.x.0.0/16 block for the benchmark fleet (10.213-10.249 all in use)');
}

/** Host i's /30: 10.B.(i/64).(i%64*4) + 1 (ours) and + 2 (the host's). */
function linkAddresses(block: number, i: number): { ours: string; theirs: string } {
  const third = Math.floor(i / 64);
  const base = (i % 64) * 4;
  return { ours: `10.${block}.${third}.${base + 1}`, theirs: `10.${block}.${third}.${base + 2}` };
}

async function createBenchNetns(block: number, i: number): Promise<Netns & { inner: string }> {
  const tag = `${process.pid % 100000}`;
  const name = `vrio-bench-${tag}-${i}`;
  const outer = `vb${tag}o${i}`.slice(0, 15);
  const inner = `vb${tag}i${i}`.slice(0, 15);
  const a = linkAddresses(block, i);
  ip('netns', 'add', name);
  const destroy = async () => removeNetns(name, outer);
  try {
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', name);
    ip('addr', 'add', `${a.ours}/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('-n', name, 'addr', 'add', `${a.theirs}/30`, 'dev', inner);
    ip('-n', name, 'link', 'set', inner, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return { name, address: a.theirs, peerAddress: a.ours, inner, destroy };
}

function macOf(netns: string | undefined, iface: string): string {
  const out = netns ? ip('-n', netns, '-o', 'link', 'show', iface) : ip('-o', 'link', 'show', iface);
  return /link\/\w+ ([0-9a-f:]{17})/.exec(out)?.[1] ?? '00:00:00:00:00:00';
}

/** Run `fn` over `items` with at most `limit` in flight; keeps input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function createFleet(count: number, opts: FleetOptions = {}): Promise<Fleet> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`fleet size must be 1..1000, got ${count}`);
  const network: FleetNetwork = opts.network ?? (netnsSupport().ok ? 'netns' : 'loopback');
  const dir = mkdtempSync(join(tmpdir(), 'vrio-bench-fleet-'));
  const key = makeClientKey(join(dir, 'client'), 'id_ed25519');
  const block = network === 'netns' ? freeBlock() : 0;
  const namespaces: Netns[] = [];
  const hosts: BenchHost[] = [];
  const destroy = async () => {
    await mapLimit(hosts, 8, (h) => h.sshd.stop());
    await mapLimit(namespaces, 8, (n) => n.destroy());
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      opts.parallel ?? 8,
      async (i) => {
        const name = `h${String(i + 1).padStart(3, '0')}`;
        let ns: (Netns & { inner: string }) | undefined;
        if (network === 'netns') {
          ns = await createBenchNetns(block, i);
          namespaces.push(ns);
        }
        // Loopback hosts each get their own 127.0.x.y address, as distinct machines would.
        const address = ns ? undefined : `127.0.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 2}`;
        const sshd = await startSshd({ netns: ns, address, extraAuthorizedKeys: [key.publicKey] });
        const host: BenchHost = {
          name,
          address: sshd.host,
          port: sshd.port,
          iface: ns ? ns.inner : 'lo',
          mac: ns ? macOf(ns.name, ns.inner) : '00:00:00:00:00:00',
          scratch: join(dir, 'scratch', name),
          sshd,
        };
        hosts.push(host);
        return host;
      },
    );
    hosts.splice(0, hosts.length, ...started);
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, hosts.map((h) => h.sshd.knownHostsLine).join('\n') + '\n');
    opts.log?.(`fleet: ${count} sshd host(s) on ${network === 'netns' ? `network namespaces (10.${block}.0.0/16)` : 'loopback addresses'}, files in ${dir}`);
    return {
      network,
      dir,
      user: hosts[0].sshd.user,
      hosts,
      identityFile: key.privateKeyFile,
      knownHostsFile,
      resetScratch: () => rmSync(join(dir, 'scratch'), { recursive: true, force: true }),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
