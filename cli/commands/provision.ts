// vrio provision plan|apply|teardown|status: thin wrappers over provision/index.ts.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { loadSshConfig } from '../../lib/ssh/config.js';
import { formatBytes, table } from '../../lib/log.js';
import {
  applyInventory,
  logReporter,
  MAX_FORKS,
  planInventory,
  requireHosts,
  statusInventory,
  teardownInventory,
  type Inventory,
  type RunOptions,
} from '../../provision/index.js';
import { parseSerial } from '../../provision/serial.js';
import type { Command, CommandContext, OptionSpec, ParsedValues } from '../command.js';
import { loadInventoryArg } from '../inventory-input.js';
import type { SshSettings } from '../../provision/inventory.js';

const common: Record<string, OptionSpec> = {
  inventory: { type: 'string', short: 'i', arg: 'FILE', complete: 'file', description: "the inventory (YAML or JSON); '-' reads it from standard input" },
  limit: {
    type: 'string',
    short: 'l',
    list: true,
    arg: 'PATTERNS',
    description: "only these hosts, Ansible's patterns: names, groups, 'iohyps'/'guests', globs, ~regex, &and, !not (',' or ':' between)",
  },
  'list-hosts': { type: 'boolean', description: 'print the hosts the inventory and --limit select, then exit (connects to nothing)' },
  forks: { type: 'string', short: 'f', arg: 'N', description: `hosts worked on at once (default: all, at most ${MAX_FORKS})` },
  user: { type: 'string', short: 'u', arg: 'USER', description: "log in as USER on every selected host (wins over the inventory's connection.user)" },
  key: {
    type: 'string',
    arg: 'FILE',
    complete: 'file',
    description: "the private key for every selected host (wins over the inventory's connection.identityFile)",
  },
  'ssh-config': {
    type: 'string',
    short: 'F',
    arg: 'FILE',
    complete: 'file',
    description: "OpenSSH client config for host aliases, users, ports, keys, ProxyJump (default: ~/.ssh/config; 'none': none)",
  },
  'accept-new': { type: 'boolean', description: 'record unknown host keys (changed keys are still refused), like OpenSSH accept-new' },
};
const diff = { diff: { type: 'boolean', short: 'd', description: 'show before -> after for every change' } } satisfies Record<string, OptionSpec>;
const rolling = {
  serial: { type: 'string', arg: 'N|P%', description: 'rolling change: N hosts (or P% of them) at a time, each IOhyp in the batch of its guests, before them' },
  'max-fail-percent': {
    type: 'string',
    arg: 'P',
    description: 'stop starting batches once more than P% of a batch failed (default: a batch fails only when all its hosts do)',
  },
} satisfies Record<string, OptionSpec>;
const only = {
  only: { type: 'string', choices: ['files'], arg: 'PART', description: "'files': only the inventory's files: entries (no links, modules or devices)" },
} satisfies Record<string, OptionSpec>;

/** -u, --key and -F, checked before anything connects. */
function sshSettings(ctx: CommandContext, values: ParsedValues): SshSettings {
  const user = values.user as string | undefined;
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(user))
    throw new UsageError(`-u ${JSON.stringify(user)}: not a user name`, 'letters, digits, _ . - (as useradd allows)');
  let identityFile: string | undefined;
  if (values.key !== undefined) {
    identityFile = resolve(ctx.cwd, values.key as string);
    try {
      accessSync(identityFile, constants.R_OK);
    } catch (e) {
      throw new UsageError(
        `--key ${values.key as string}: cannot read ${identityFile} (${(e as NodeJS.ErrnoException).code})`,
        'give the path of a private key file',
      );
    }
  }
  return { user, identityFile, config: loadSshConfig(values['ssh-config'] as string | undefined, ctx.cwd) };
}

interface Invocation {
  inventory: Inventory;
  run: RunOptions;
}

/**
 * The inventory, the hosts the limit selects and the run options; undefined
 * when --list-hosts printed the hosts and the verb has nothing more to do.
 */
async function invocation(ctx: CommandContext, values: ParsedValues): Promise<Invocation | undefined> {
  const file = values.inventory as string | undefined;
  if (!file) throw new UsageError('no inventory given', "use -i FILE, or -i - to read it from standard input (see 'vrio inventory check')");
  let forks: number | undefined;
  if (values.forks !== undefined) {
    forks = Number(values.forks);
    if (!Number.isInteger(forks) || forks < 1 || forks > MAX_FORKS) throw new UsageError(`--forks ${values.forks}: must be an integer 1..${MAX_FORKS}`);
  }
  const serial = values.serial === undefined ? undefined : parseSerial('--serial', values.serial as string);
  let maxFailPercent: number | undefined;
  if (values['max-fail-percent'] !== undefined) {
    maxFailPercent = Number(values['max-fail-percent']);
    if (!Number.isInteger(maxFailPercent) || maxFailPercent < 0 || maxFailPercent > 100)
      throw new UsageError(`--max-fail-percent ${values['max-fail-percent']}: must be a whole number from 0 to 100`);
  }
  const inventory = await loadInventoryArg(ctx, file, process.stdin, sshSettings(ctx, values));
  const limit = values.limit as string[] | undefined;
  // Before any connection: a limit that selects nothing is bad input.
  const sel = requireHosts(inventory, limit);
  for (const u of sel.unmatched) ctx.log.warn(`--limit: '${u.word}' matches no host or group${u.suggestion ? ` (did you mean '${u.suggestion}'?)` : ''}`);
  if (values['list-hosts']) {
    if (ctx.global.json) for (const h of sel.hosts) ctx.log.event('host', { host: h.name, role: h.role, ...(h.iohyp ? { iohyp: h.iohyp } : {}) });
    else {
      ctx.log.print(`  hosts (${sel.hosts.length}):`);
      for (const h of sel.hosts) ctx.log.print(`    ${h.name}`);
    }
    return undefined;
  }
  return {
    inventory,
    run: {
      only: values.only === 'files' ? 'files' : undefined,
      forks,
      limit,
      serial,
      maxFailPercent,
      diff: Boolean(values.diff),
      acceptNew: Boolean(values['accept-new']),
      signal: ctx.signal,
      reporter: logReporter(ctx.log, { diff: Boolean(values.diff) }),
    },
  };
}

const exitNote = 'Exit codes: 0 all hosts ok, 1 some host failed, 2 bad inventory or usage, 4 some host unreachable.';

export const provisionPlanCommand: Command = {
  name: 'provision plan',
  summary: 'show what apply would change on each host (read-only, never changes a host)',
  usage: '-i INVENTORY [--limit P] [--diff] [--json]',
  description: `Connects, gathers facts in one round trip per host and prints every change apply would make: modules and parameters, MTU/queues/sysctls, macvtaps, vRIO devices. Unlike a check mode, nothing is skipped. ${exitNote}`,
  examples: ['vrio provision plan -i lab.yaml', 'vrio provision plan -i lab.yaml --limit guests --diff', 'vrio provision plan -i lab.yaml --json'],
  options: { ...common, ...diff, ...only },
  async run(ctx, values) {
    const o = await invocation(ctx, values);
    return o ? (await planInventory(o.inventory, o.run)).exitCode : 0;
  },
};

export const provisionApplyCommand: Command = {
  name: 'provision apply',
  summary: 'bring hosts to the inventory: IOhyp back ends, guest front ends, then devices; verify',
  usage: '-i INVENTORY [--limit P] [--forks N] [--serial N|P%] [--max-fail-percent P] [--only files] [--diff] [--json]',
  description: `Applies only the difference, then re-gathers facts to verify (files by sha256 and mode, modules with the right parameters, devices in sysfs on the IOhyp and visible in the guest). A second apply changes nothing. ${exitNote}`,
  examples: [
    'vrio provision apply -i lab.yaml',
    'vrio provision apply -i lab.yaml --limit iohyp1,guest1',
    "vrio provision apply -i lab.yaml --limit 'guests:!guest2' --list-hosts",
    'vrio provision apply -i lab.yaml --serial 25% --max-fail-percent 10',
    'vrio provision apply -i lab.yaml --only files',
    'vrio provision apply -i lab.yaml --json > events.jsonl',
  ],
  options: { ...common, ...rolling, ...diff, ...only },
  async run(ctx, values) {
    const o = await invocation(ctx, values);
    return o ? (await applyInventory(o.inventory, o.run)).exitCode : 0;
  },
};

export const provisionTeardownCommand: Command = {
  name: 'provision teardown',
  summary: 'remove devices, unload modules in reverse order and restore the recorded settings',
  usage: '-i INVENTORY [--limit P] [--forks N] [--serial N|P%] [--max-fail-percent P] [--json]',
  description: exitNote,
  examples: ['vrio provision teardown -i lab.yaml', 'vrio provision teardown -i lab.yaml --serial 2'],
  options: { ...common, ...rolling, ...diff },
  async run(ctx, values) {
    const o = await invocation(ctx, values);
    return o ? (await teardownInventory(o.inventory, o.run)).exitCode : 0;
  },
};

export const provisionStatusCommand: Command = {
  name: 'provision status',
  summary: 'facts and vRIO metrics of each host (read-only)',
  usage: '-i INVENTORY [--limit P] [--json]',
  description: exitNote,
  examples: ['vrio provision status -i lab.yaml', 'vrio provision status -i lab.yaml --json'],
  options: common,
  async run(ctx, values) {
    const o = await invocation(ctx, values);
    if (!o) return 0;
    const inv = o.inventory;
    const res = await statusInventory(inv, o.run);
    if (ctx.global.json) {
      for (const h of res.hosts)
        ctx.log.event('status', { host: h.host, role: h.role, unreachable: h.unreachable, errors: h.errors, facts: res.facts[h.host] ?? null });
      return res.exitCode;
    }
    const rows = res.hosts.map((h) => {
      const f = res.facts[h.host];
      const host = inv.hosts.find((x) => x.name === h.host)!;
      if (!f) return [h.host, h.role, h.unreachable ? 'UNREACHABLE' : 'FAILED', '-', '-', '-', h.errors[0] ?? ''];
      const want = host.modules.filter((m) => !m.support);
      const loaded = want.filter((m) => f.modules[m.name]).length;
      const nic = f.nics[host.l2.interface];
      return [
        h.host,
        h.role,
        f.kernel,
        `${loaded}/${want.length}`,
        nic ? `${host.l2.interface} mtu ${nic.mtu}` : `${host.l2.interface} missing`,
        formatBytes(f.memAvailableKiB * 1024),
        h.role === 'iohyp'
          ? `${f.vrio.blk.length} blk, ${f.vrio.net.length} net`
          : host.devices.map((d) => (d.type === 'blk' ? (f.blockDevices.includes(d.name) ? d.name : `${d.name}(missing)`) : d.mac)).join(' ') || '-',
      ];
    });
    ctx.log.print(table(['HOST', 'ROLE', 'KERNEL', 'MODULES', 'L2', 'MEM AVAIL', 'DEVICES'], rows));
    const metrics = Object.entries(res.facts).flatMap(([host, f]) => [
      ...f.vrio.blk.map((b) => [host, b.file, `${b.guestDevice} <- ${b.backing}`, b.guestIp, formatBytes(b.bytesWritten), formatBytes(b.bytesRead), b.ioOps]),
      ...f.vrio.net.map((n) => [host, n.file, n.backing, n.guestIp, formatBytes(n.bytesSent), formatBytes(n.bytesReceived), n.ioOps]),
    ]);
    if (metrics.length) ctx.log.print('\n' + table(['IOHYP', 'DEVICE', 'WHAT', 'GUEST', 'WRITTEN/SENT', 'READ/RECEIVED', 'IO OPS'], metrics));
    return res.exitCode;
  },
};
