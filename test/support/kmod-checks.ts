// What the provisioner relies on from the module tools and the kernel, as
// steps (a shell snippet and its exact output) that run in order on a host
// where none of these modules is loaded, and leave it so. The same steps run
// against the real 3.10 kernel with the image's kmod 30 (the images carry
// Debian's kmod: /sbin/modprobe and /sbin/rmmod -> /bin/kmod, not busybox) in
// test/integration/provision-qemu.test.ts, and against the fake kernel
// (test/support/fake-kernel.ts) in test/reliability/fake-kernel.test.ts: the
// fake cannot drift from the kernel it stands in for.
//
// Module names are the images' own (KERNEL_310_MODULES in fake-kernel.ts):
// macvtap uses macvlan, vrio_gen uses vrio_eth; vrio_gen's
// iohyp_schedule_on_empty_loop is a bool. vrio_gen is loaded without
// interfaces (no sockets, no threads), vrio_eth with small lists (fits 512 MiB).
import assert from 'node:assert/strict';
import { connect, type Connection } from '../../lib/ssh/client.js';

export interface KmodStep {
  what: string;
  sh: string;
  out: string;
}

/** Prints "name users-count users" of each module that is loaded, from /proc/modules, in argument order. */
const MODS = `mods() { for m in "$@"; do awk -v m="$m" '$1 == m { print $1, $3, $4 }' /proc/modules; done; }`;
const ETH = 'modprobe vrio_eth l2_packet_size=8100 l2_packet_list_size=64 large_packet_list_size=64 2>&1';
const P = '/sys/module/vrio_gen/parameters/iohyp_schedule_on_empty_loop';

export const KMOD_STEPS: KmodStep[] = [
  {
    what: 'a parameter the module does not have fails the load (EINVAL on this kernel) and nothing is loaded',
    sh: `modprobe vrio_eth no_such_param=1 2>&1; echo "exit $?"; mods vrio_eth`,
    out: "modprobe: ERROR: could not insert 'vrio_eth': Invalid argument\nexit 1",
  },
  {
    what: 'modprobe loads the module a module uses first; /proc/modules counts and names the users',
    sh: 'modprobe macvtap 2>&1; echo "exit $?"; mods macvlan macvtap',
    out: 'exit 0\nmacvlan 1 macvtap,\nmacvtap 0 -',
  },
  {
    what: 'rmmod of a module in use fails, naming its users, and leaves it loaded',
    sh: 'rmmod macvlan 2>&1; echo "exit $?"; mods macvlan macvtap',
    out: 'rmmod: ERROR: Module macvlan is in use by: macvtap\nexit 1\nmacvlan 1 macvtap,\nmacvtap 0 -',
  },
  {
    what: 'the user unloaded first, the used module unloads',
    sh: 'rmmod macvtap 2>&1 && rmmod macvlan 2>&1; echo "exit $?"; mods macvlan macvtap',
    out: 'exit 0',
  },
  {
    what: 'a bool given as 1 reads back as Y, an int as its decimal value',
    sh: `${ETH} && modprobe vrio_gen iohyp_schedule_on_empty_loop=1 2>&1; echo "exit $?"; cat /sys/module/vrio_eth/parameters/l2_packet_list_size ${P}; mods vrio_eth vrio_gen`,
    out: 'exit 0\n64\nY\nvrio_eth 1 vrio_gen,\nvrio_gen 0 -',
  },
  {
    what: 'modprobe of a loaded module succeeds and keeps its old parameters (a change needs rmmod first)',
    sh: 'modprobe vrio_eth l2_packet_list_size=128 2>&1; echo "exit $?"; cat /sys/module/vrio_eth/parameters/l2_packet_list_size',
    out: 'exit 0\n64',
  },
  {
    what: 'rmmod of vrio_eth while vrio_gen uses it fails',
    sh: 'rmmod vrio_eth 2>&1; echo "exit $?"; mods vrio_eth',
    out: 'rmmod: ERROR: Module vrio_eth is in use by: vrio_gen\nexit 1\nvrio_eth 1 vrio_gen,',
  },
  {
    what: 'a bool given as 0 reads back as N',
    sh: `rmmod vrio_gen 2>&1 && modprobe vrio_gen iohyp_schedule_on_empty_loop=0 2>&1; echo "exit $?"; cat ${P}`,
    out: 'exit 0\nN',
  },
  {
    what: 'a bool given as "true" is refused (3.10 takes y/Y/1/n/N/0 only)',
    sh: `rmmod vrio_gen 2>&1 && modprobe vrio_gen iohyp_schedule_on_empty_loop=true 2>&1; echo "exit $?"; mods vrio_gen; cat ${P} 2>/dev/null`,
    out: "modprobe: ERROR: could not insert 'vrio_gen': Invalid argument\nexit 1",
  },
  {
    what: 'an unused module unloads; once more, it is not loaded',
    sh: 'rmmod vrio_eth 2>&1; echo "exit $?"; rmmod vrio_eth 2>&1; echo "exit $?"; mods vrio_eth vrio_gen macvlan macvtap',
    out: 'exit 0\nrmmod: ERROR: Module vrio_eth is not currently loaded\nexit 1',
  },
];

/**
 * Run every step through `sh` (one remote command each: what the host prints)
 * and compare. All steps run even after a mismatch, so one run shows every
 * difference; the assertion lists them with the host's whole output.
 */
/** The steps over one SSH connection to a host (the real kernel in QEMU, or the fake one). */
export async function checkKmodStepsOn(conn: Connection, diagnostic: (line: string) => void): Promise<void> {
  const session = await connect(conn);
  try {
    await checkKmodSteps(async (script) => (await session.exec(['sh', '-c', script])).stdout, diagnostic);
  } finally {
    session.close();
  }
}

export async function checkKmodSteps(sh: (script: string) => Promise<string>, diagnostic: (line: string) => void): Promise<void> {
  const diffs: string[] = [];
  for (const s of KMOD_STEPS) {
    const got = (await sh(`${MODS}\n${s.sh}`)).replace(/\s+$/, '');
    diagnostic(`${got === s.out ? 'same' : 'DIFFERENT'}: ${s.what}`);
    if (got !== s.out) diffs.push(`${s.what}\n  $ ${s.sh}\n  expected:\n${indent(s.out)}\n  got:\n${indent(got)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n\n'));
}

const indent = (t: string) =>
  t
    .split('\n')
    .map((l) => `    | ${l}`)
    .join('\n');
