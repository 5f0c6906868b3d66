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

/** Parameter types as `modinfo` names them (an array: 'int[]', 'charp[]'). */
export type ParamType = 'bool' | 'int' | 'long' | 'charp' | 'int[]' | 'charp[]';

/** A module the fake kernel can load: the modules it uses (modinfo's depends) and its parameters. */
export interface FakeModule {
  deps?: string[];
  params?: Record<string, ParamType>;
}

/**
 * Modules of the 3.10 vRIO images as `modinfo` reports them for that build
 * (depends, parm types), for tests that want the real shapes. The behaviour
 * checks in kmod-checks.ts run on these names against both kernels.
 */
export const KERNEL_310_MODULES: Record<string, FakeModule> = {
  macvlan: {},
  macvtap: { deps: ['macvlan'] },
  tun: {},
  vrio_eth: {
    params: {
      l2_packet_size: 'int',
      l2_packet_list_size: 'int',
      large_packet_list_size: 'int',
      extensive_unit_test: 'int',
      debug_lp_min: 'int',
      is_using_rdtsc: 'int',
      l2p_rx_work_cycles: 'long',
      l2p_tx_work_cycles: 'long',
      rx_work_cycles: 'long',
      rx_dropped_packets: 'int',
    },
  },
  vrio_gen: {
    deps: ['vrio_eth'],
    params: {
      unit_test: 'int',
      work_queue_size: 'int',
      poll_budget: 'int',
      total_packets: 'int',
      contended_packets: 'int',
      is_using_rdtsc: 'int',
      iohyp_schedule_on_empty_loop: 'bool',
      h_eth_name: 'charp[]',
      g_eth_name: 'charp[]',
      g_cpu_affinity: 'int[]',
      h_cpu_affinity: 'int[]',
    },
  },
  vrio_hblk: {
    deps: ['vrio_gen', 'vrio_eth'],
    params: {
      debug_drop_response: 'int',
      debug_recv_zero_copy: 'int',
      debug_send_zero_copy: 'int',
      debug_batch_responses: 'int',
      debug_batch_max_size: 'int',
      num_outstanding_reqs: 'int',
    },
  },
  vrio_hnet: { deps: ['vrio_eth', 'vrio_gen', 'tun', 'macvtap'], params: { zcopytx: 'int', use_tap_bridge: 'int', VHOST_NET_WEIGHT: 'int' } },
  vrio_gblk: {
    deps: ['vrio_gen', 'vrio_eth'],
    params: { debug_drop_response: 'int', debug_retries: 'int', use_bio: 'bool', num_outstanding_reqs: 'int', initial_request_timeout: 'int' },
  },
  vrio_gnet: {
    deps: ['vrio_gen', 'vrio_eth'],
    params: { XMIT_WEIGHT: 'int', napi_weight: 'int', csum: 'bool', gso: 'bool', is_using_rdtsc: 'int', rx_work_cycles: 'long' },
  },
};

export interface FakeKernelHost {
  ns: Netns;
  sshd: SshdInstance;
  /** The host's state directory (modules, /run, /sys/module). */
  root: string;
  /** Loaded modules in load order and their parameters as the kernel shows them, read from the host's state (not over SSH). */
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
// It behaves as kmod 30 on the images' Linux 3.10 where the provisioner
// depends on it, each behaviour pinned against the real kernel by the steps in
// kmod-checks.ts:
//   - modprobe loads the modules a module uses first (without parameters);
//     a loaded module is left as it is (exit 0, its parameters unchanged);
//   - a parameter the module does not have, or a value its type refuses, fails
//     the load with EINVAL (this kernel has no dynamic debug, whose hook would
//     turn an unknown parameter into ENOENT) and nothing is loaded;
//   - bools read back as Y/N (3.10 takes y/Y/1/n/N/0 by the first character,
//     no "true"), ints in decimal, strings and arrays as given;
//   - /proc/modules: newest first, "name size users-count user1,user2, Live
//     addr" ('-' without users); rmmod of a module in use fails naming its users.
// State: kernel/available ("name dep,dep"), kernel/params/NAME ("param type"),
// kernel/order (loaded, newest first), sysmodule/NAME/{parameters,holders,refcnt}.
// Paths are substituted at write time; POSIX sh only.
const KMOD = `#!/bin/sh
# vrio test fake kmod (see test/support/fake-kernel.ts)
R=@ROOT@
K=$R/kernel
me=\${0##*/}
[ $# -ge 1 ] || { echo "$me: no module given" >&2; exit 1; }
name=$1
shift
loaded() { grep -qx "$1" "$K/order"; }
depsof() { awk -v m="$1" '$1 == m && $2 != "-" { gsub(",", " ", $2); print $2 }' "$K/available"; }
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
# /proc/modules and refcnt from the state.
render() {
  : > "$K/modules.new"
  while read -r m; do
    users=$(ls "$R/sysmodule/$m/holders" | tr '\\n' ,)
    n=$(ls "$R/sysmodule/$m/holders" | wc -l)
    echo "$n" > "$R/sysmodule/$m/refcnt"
    echo "$m 16384 $n \${users:--} Live 0x0000000000000000" >> "$K/modules.new"
  done < "$K/order"
  cat "$K/modules.new" > "$K/modules"; rm -f "$K/modules.new"
}
# An int as strict_strtol(base 0) takes it (0x hex, 0 octal), printed in decimal.
int() {
  case $1 in
  0x*) case \${1#0x} in ''|*[!0-9a-fA-F]*) return 1;; esac;;
  -[0-9]*|[0-9]*) case \${1#-} in *[!0-9]*) return 1;; esac;;
  *) return 1;;
  esac
  echo $(($1))
}
# The value the kernel keeps for one parameter, or failure (EINVAL).
value() { # type, value, given-with-=
  case $1 in
  bool) if [ "$3" = n ]; then echo Y; return; fi
        case $2 in [yY1]*) echo Y;; [nN0]*) echo N;; *) return 1;; esac;;
  int|long) [ "$3" = y ] && int "$2";;
  charp|'charp[]') [ "$3" = y ] && printf '%s\\n' "$2";;
  'int[]') [ "$3" = y ] || return 1; out=; for e in $(echo "$2" | tr , ' '); do e=$(int "$e") || return 1; out=\${out:+$out,}$e; done; echo "$out";;
  *) return 1;;
  esac
}
case $me in
modprobe)
  grep -q "^$name " "$K/available" || { echo "modprobe: FATAL: Module $name not found in directory /lib/modules/$(uname -r)" >&2; exit 1; }
  loaded "$name" && exit 0
  gate
  for d in $(depsof "$name"); do "$0" "$d" || exit 1; done
  rm -rf "$K/new"; mkdir -p "$K/new"
  for kv in "$@"; do
    k=$(printf '%s' "\${kv%%=*}" | tr - _)
    case $kv in *=*) v=\${kv#*=}; eq=y;; *) v=; eq=n;; esac
    t=$(awk -v k="$k" '$1 == k { print $2 }' "$K/params/$name" 2>/dev/null)
    value "$t" "$v" $eq > "$K/new/$k" || { rm -rf "$K/new"; echo "modprobe: ERROR: could not insert '$name': Invalid argument" >&2; exit 1; }
  done
  mkdir -p "$R/sysmodule/$name/holders"
  mv "$K/new" "$R/sysmodule/$name/parameters"
  for d in $(depsof "$name"); do : > "$R/sysmodule/$d/holders/$name"; done
  { echo "$name"; cat "$K/order"; } > "$K/order.new"; mv "$K/order.new" "$K/order"
  render
  ;;
rmmod)
  loaded "$name" || { echo "rmmod: ERROR: Module $name is not currently loaded" >&2; exit 1; }
  users=$(ls "$R/sysmodule/$name/holders")
  [ -z "$users" ] || { echo "rmmod: ERROR: Module $name is in use by: $(echo $users)" >&2; exit 1; }
  gate
  for d in $(depsof "$name"); do rm -f "$R/sysmodule/$d/holders/$name"; done
  grep -vx "$name" "$K/order" > "$K/order.new"; mv "$K/order.new" "$K/order"
  rm -rf "$R/sysmodule/$name"
  render
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
export async function startFakeKernelHost(
  available: Record<string, FakeModule>,
  opts: Omit<SshdOptions, 'netns' | 'wrapper'> & { ns?: Netns } = {},
): Promise<FakeKernelHost> {
  const ns = opts.ns ?? (await createNetns());
  // sshd's temp dir is made by startSshd; the kernel state needs its own dir first.
  const root = execFileSync('mktemp', ['-d', '/tmp/vrio-fakekernel-XXXXXX'], { encoding: 'utf8' }).trim();
  for (const d of ['kernel/params', 'sysmodule', 'run', 'fault', 'realproc']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'kernel/modules'), '');
  writeFileSync(join(root, 'kernel/order'), '');
  writeFileSync(
    join(root, 'kernel/available'),
    Object.entries(available)
      .map(([n, m]) => `${n} ${m.deps?.join(',') || '-'}\n`)
      .join(''),
  );
  for (const [n, m] of Object.entries(available))
    writeFileSync(
      join(root, 'kernel/params', n),
      Object.entries(m.params ?? {})
        .map(([p, t]) => `${p} ${t}\n`)
        .join(''),
    );
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
      for (const name of readFileSync(join(root, 'kernel/order'), 'utf8').split('\n').filter(Boolean).reverse()) {
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
      const addr = JSON.parse(ip('-j', '-4', '-n', ns.name, 'addr', 'show', 'dev', iface))[0] as
        { addr_info?: { local: string; prefixlen: number }[] } | undefined;
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
