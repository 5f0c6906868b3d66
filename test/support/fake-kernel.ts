// A real sshd host whose KERNEL MODULES are simulated, for apply/teardown runs
// against plain sshd hosts (the failure matrix, the secrets suite).
//
// Why a fake here, and only here: `apply` loads kernel modules. This machine's
// kernel has no module support at all (/proc/modules is absent), and on a CI
// machine that has it, loading modules for a test would change the machine.
// Everything else stays real: OpenSSH, the network namespace, the veth NIC whose
// MTU and addresses apply really changes, the shell, sysfs for /sys/class/net.
//
// How: sshd starts inside its own mount namespace (unshare -m) where
//   - /proc is a tmpfs of links to the real procfs, except /proc/modules, which
//     links to a file in the host's directory (the "kernel's" module list);
//   - /sys/module, /run and the kmod binary (modprobe, rmmod) are bind mounts
//     of files in the host's directory.
// The state lives in that directory, not in the namespace, so it survives an
// sshd kill/restart like a real kernel's would, and the test reads it directly
// (host-side verification that never goes through our SSH client).
//
// Faults: hold(module[, 'rmmod']) makes the next `modprobe module` (or rmmod)
// announce itself (held() turns true) and wait until release() — so a test can
// kill sshd while a change is in flight, on observed progress, not a sleep.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns, startSshd, type Netns, type SshdInstance, type SshdOptions } from './sshd.js';

export type KmodOp = 'modprobe' | 'rmmod';

export interface FakeKernelHost {
  ns: Netns;
  sshd: SshdInstance;
  /** The host's state directory (modules, /run, /sys/module). */
  root: string;
  /** Loaded modules and their parameters, read from the host's state (not over SSH). */
  modules(): Record<string, Record<string, string>>;
  /** The provisioner's state file as the host has it, or null. */
  stateFile(): string | null;
  /** MTU, up/down and IPv4 addresses of the host's NIC (ip -n, not over SSH). */
  nic(): { mtu: number; up: boolean; ipv4: string[] };
  /** The next `modprobe module` (or `rmmod module`) waits, and says so through held(). */
  hold(module: string, op?: KmodOp): void;
  held(module: string, op?: KmodOp): boolean;
  /** SIGKILL sshd (listener and sessions) and any held modprobe: the host dies mid-change. */
  crash(): void;
  release(module: string, op?: KmodOp): void;
  stop(): Promise<void>;
}

// The kmod stand-in: dispatches on the name it is called by, like kmod does.
// Paths are substituted at write time; POSIX sh only.
const KMOD = `#!/bin/sh
# vrio test fake kmod (see test/support/fake-kernel.ts)
R=@ROOT@
mods=$R/kernel/modules
me=\${0##*/}
name=$1
[ $# -ge 1 ] || { echo "$me: no module given" >&2; exit 1; }
shift
loaded() { grep -q "^$name " "$mods"; }
# A held operation announces itself and waits. Bounded; gives up when the
# session that started it is gone (sshd killed: the parent exits or is
# orphaned to init), like a load or unload that never finished.
gate() {
  [ -e "$R/fault/hold-$me-$name" ] || return 0
  echo $$ > "$R/fault/held-$me-$name"
  i=0
  while [ -e "$R/fault/hold-$me-$name" ] && [ $i -lt 600 ]; do
    kill -0 $PPID 2>/dev/null || exit 1
    pp=$(cut -d' ' -f4 "$R/realproc/$PPID/stat" 2>/dev/null || echo 1)
    [ "$pp" != 1 ] || exit 1
    sleep 0.1; i=$((i+1))
  done
}
case $me in
modprobe)
  grep -qx "$name" "$R/kernel/available" || { echo "modprobe: FATAL: Module $name not found in directory /lib/modules/fake" >&2; exit 1; }
  loaded && exit 0
  gate
  mkdir -p "$R/sysmodule/$name/parameters"
  for kv in "$@"; do
    case $kv in *=*) printf '%s\\n' "\${kv#*=}" > "$R/sysmodule/$name/parameters/\${kv%%=*}";; esac
  done
  echo "$name 16384 0 - Live 0x0000000000000000" >> "$mods"
  ;;
rmmod)
  loaded || { echo "rmmod: ERROR: Module $name is not currently loaded" >&2; exit 1; }
  gate
  grep -v "^$name " "$mods" > "$mods.new"; cat "$mods.new" > "$mods"; rm -f "$mods.new"
  rm -rf "$R/sysmodule/$name"
  ;;
*) echo "$me: not simulated" >&2; exit 1 ;;
esac
`;

// Runs as the sshd wrapper inside the new mount namespace, then execs sshd.
const SETUP = `set -eu
R=$1; kmod=$2; shift 2
mkdir -p "$R/realproc"
mount -n --bind /proc "$R/realproc"
mount -n -t tmpfs -o mode=0555 vrio-fake-proc /proc
for e in "$R"/realproc/*; do
  n=\${e##*/}
  case $n in [0-9]*|modules) ;; *) ln -s "$e" "/proc/$n" ;; esac
done
ln -s "$R/kernel/modules" /proc/modules
mount -n --bind "$R/sysmodule" /sys/module
mount -n --bind "$R/run" /run
mkdir -p /run/sshd
mount -n --bind "$R/kmod" "$kmod"
exec "$@"
`;

const ip = (...a: string[]) => execFileSync('ip', a, { encoding: 'utf8' });

/** The kmod binary modprobe/rmmod resolve to on this machine (bind-mounted over in the host's namespace). */
function kmodPath(): string {
  for (const p of ['/usr/sbin/modprobe', '/sbin/modprobe', '/usr/bin/kmod', '/bin/kmod']) if (existsSync(p)) return realpathSync(p);
  throw new Error('no modprobe/kmod on this machine (apt-get install kmod): the fake kernel replaces it inside the test host');
}

/** A real sshd in its own netns and mount namespace with a module-capable fake kernel offering `available` modules. */
export async function startFakeKernelHost(available: string[], opts: Omit<SshdOptions, 'netns' | 'wrapper'> & { ns?: Netns } = {}): Promise<FakeKernelHost> {
  const ns = opts.ns ?? (await createNetns());
  // sshd's temp dir is made by startSshd; the kernel state needs its own dir first.
  const root = execFileSync('mktemp', ['-d', '/tmp/vrio-fakekernel-XXXXXX'], { encoding: 'utf8' }).trim();
  for (const d of ['kernel', 'sysmodule', 'run', 'fault', 'realproc']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'kernel/modules'), '');
  writeFileSync(join(root, 'kernel/available'), available.join('\n') + '\n');
  writeFileSync(join(root, 'kmod'), KMOD.replace('@ROOT@', root));
  chmodSync(join(root, 'kmod'), 0o755);
  let sshd: SshdInstance;
  try {
    sshd = await startSshd({ ...opts, netns: ns, wrapper: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', SETUP, 'sh', root, kmodPath()] });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    if (!opts.ns) await ns.destroy();
    throw e;
  }
  const iface = ns.interface!;
  return {
    ns,
    sshd,
    root,
    modules() {
      const out: Record<string, Record<string, string>> = {};
      for (const l of readFileSync(join(root, 'kernel/modules'), 'utf8').split('\n')) {
        const name = l.split(' ')[0];
        if (!name) continue;
        const pdir = join(root, 'sysmodule', name, 'parameters');
        out[name] = {};
        if (existsSync(pdir)) for (const p of readdirSync(pdir)) out[name][p] = readFileSync(join(pdir, p), 'utf8').trim();
      }
      return out;
    },
    stateFile() {
      const f = join(root, 'run/vrio-provision/state');
      return existsSync(f) ? readFileSync(f, 'utf8') : null;
    },
    nic() {
      const link = JSON.parse(ip('-j', '-n', ns.name, 'link', 'show', 'dev', iface))[0] as { mtu: number; flags: string[] };
      const addr = JSON.parse(ip('-j', '-4', '-n', ns.name, 'addr', 'show', 'dev', iface))[0] as { addr_info?: { local: string; prefixlen: number }[] } | undefined;
      return { mtu: link.mtu, up: link.flags.includes('UP'), ipv4: (addr?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`) };
    },
    hold: (m, op = 'modprobe') => writeFileSync(join(root, 'fault', `hold-${op}-${m}`), ''),
    crash() {
      sshd.kill('SIGKILL');
      for (const f of readdirSync(join(root, 'fault')).filter((x) => x.startsWith('held-'))) {
        const pid = Number(readFileSync(join(root, 'fault', f), 'utf8').trim());
        try {
          if (pid > 1) process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
    held: (m, op = 'modprobe') => existsSync(join(root, 'fault', `held-${op}-${m}`)),
    release(m, op = 'modprobe') {
      rmSync(join(root, 'fault', `hold-${op}-${m}`), { force: true });
      rmSync(join(root, 'fault', `held-${op}-${m}`), { force: true });
    },
    async stop() {
      await sshd.stop();
      rmSync(root, { recursive: true, force: true });
      if (!opts.ns) await ns.destroy();
    },
  };
}
