// A fleet of N real OpenSSH servers for the provisioning benchmark: each host
// is an sshd on its own address, inside its own network namespace (as root) or
// on its own 127.0.0.0/8 address otherwise. Everything is created here and
// removed by destroy(): namespaces, veth pairs, sshd processes (by pid), and
// the per-host scratch roots under the fleet's temp directory.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pinned } from './pin.js';
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
  /**
   * An ssh_config naming every host (Host hNNN: address, port, user, key,
   * known_hosts, strict checking), for the tools that take host names only
   * (clush, parallel-ssh): `ssh -F sshConfigFile h001`.
   */
  sshConfigFile: string;
  /** The CPUs the sshds (and so every session) run on, when pinned. */
  cpus?: string;
  /** Remove every host's scratch root (the "cold" state of the write workload). */
  resetScratch(): void;
  destroy(): Promise<void>;
}

export interface FleetOptions {
  network?: FleetNetwork;
  /** Concurrent sshd start-ups (default 8): bounded so 50 hosts don't stampede 2 cores. */
  parallel?: number;
  /** Run every sshd (and so its sessions) on these CPUs (a taskset list, e.g. '1'). */
  cpus?: string;
  log?: (msg: string) => void;
}

/** The NIC of every namespaced host, as the host sees it. */
export const HOST_NIC = 'eth0';

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
    // One NIC name on every host, as on a fleet of like machines: the peers
    // that send one command to all hosts (clush, parallel-ssh) can then run
    // exactly the command vrio sends.
    ip('-n', name, 'link', 'set', inner, 'name', HOST_NIC);
    ip('addr', 'add', `${a.ours}/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('-n', name, 'addr', 'add', `${a.theirs}/30`, 'dev', HOST_NIC);
    ip('-n', name, 'link', 'set', HOST_NIC, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return { name, address: a.theirs, peerAddress: a.ours, inner: HOST_NIC, destroy };
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

/**
 * The login the fleet's hosts are driven as. As root: a user made for this
 * fleet, whose shell is /bin/sh with no rc files (root's ~/.bashrc on this
 * machine runs pyenv's hooks, which bash sources for every SSH command: a cost
 * per session that would weigh on the tool opening the most sessions, not the
 * tool itself); removed with the fleet. Otherwise: the current user.
 */
function fleetUser(): { name: string; uid?: number; gid?: number; remove(): void } {
  if (process.getuid?.() !== 0) return { name: userInfo().username, remove: () => {} };
  const name = `vrbench${process.pid % 100000}`;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  // '*': no password, but not a locked account (sshd refuses those).
  execFileSync('usermod', ['-p', '*', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid: id('-u'),
    gid: id('-g'),
    remove: () => {
      try {
        execFileSync('userdel', ['--remove', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
}

/** Every line of the fleet's ssh_config (see Fleet.sshConfigFile). */
export function sshConfigText(
  hosts: readonly Pick<BenchHost, 'name' | 'address' | 'port'>[],
  user: string,
  identityFile: string,
  knownHostsFile: string,
): string {
  const out: string[] = ['# Generated by the vrio-appliance benchmark for its temporary sshd fleet.'];
  for (const h of hosts) out.push(`Host ${h.name}`, `  HostName ${h.address}`, `  Port ${h.port}`);
  out.push(
    'Host *',
    `  User ${user}`,
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHostsFile}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 30',
    '',
  );
  return out.join('\n');
}

export async function createFleet(count: number, opts: FleetOptions = {}): Promise<Fleet> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`fleet size must be 1..1000, got ${count}`);
  const network: FleetNetwork = opts.network ?? (netnsSupport().ok ? 'netns' : 'loopback');
  const dir = mkdtempSync(join(tmpdir(), 'vrio-bench-fleet-'));
  const key = makeClientKey(join(dir, 'client'), 'id_ed25519');
  const block = network === 'netns' ? freeBlock() : 0;
  const namespaces: Netns[] = [];
  const hosts: BenchHost[] = [];
  let user: ReturnType<typeof fleetUser> | undefined;
  const destroy = async () => {
    await mapLimit(hosts, 8, (h) => h.sshd.stop());
    await mapLimit(namespaces, 8, (n) => n.destroy());
    rmSync(dir, { recursive: true, force: true });
    user?.remove();
  };
  try {
    user = fleetUser();
    // The login user must reach its authorized keys and its scratch roots
    // (the fleet dir is mkdtemp's 0700): traverse only, except scratch/.
    chmodSync(dir, 0o711);
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, key.publicKey + '\n', { mode: 0o644 });
    const scratchRoot = join(dir, 'scratch');
    mkdirSync(scratchRoot, { mode: 0o755 });
    if (user.uid !== undefined) chownSync(scratchRoot, user.uid, user.gid!);
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
        const sshd = await startSshd({
          netns: ns,
          address,
          // sshd reads authorized keys as the user: a file it can read, not the instance's 0700 dir.
          extraConfig: [`Match User ${user!.name}`, `  AuthorizedKeysFile ${authorizedKeys}`],
          wrapper: opts.cpus ? pinned([], opts.cpus) : undefined,
        });
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
    writeFileSync(knownHostsFile, hosts.map((h) => h.sshd.knownHostsLine).join('\n') + '\n', { mode: 0o644 });
    const sshConfigFile = join(dir, 'ssh_config');
    writeFileSync(sshConfigFile, sshConfigText(hosts, user.name, key.privateKeyFile, knownHostsFile));
    opts.log?.(
      `fleet: ${count} sshd host(s) on ${network === 'netns' ? `network namespaces (10.${block}.0.0/16)` : 'loopback addresses'}, login ${user.name}${opts.cpus ? `, CPUs ${opts.cpus}` : ''}, files in ${dir}`,
    );
    return {
      network,
      dir,
      user: user.name,
      hosts,
      identityFile: key.privateKeyFile,
      knownHostsFile,
      sshConfigFile,
      cpus: opts.cpus,
      // The scratch root stays (the login user's, in a root-owned dir); each host's tree goes.
      resetScratch: () => {
        if (!existsSync(scratchRoot)) return;
        for (const e of readdirSync(scratchRoot)) rmSync(join(scratchRoot, e), { recursive: true, force: true });
      },
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
