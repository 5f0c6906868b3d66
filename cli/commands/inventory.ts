// vrio inventory check|schema|import: validate, publish the schema, convert Ansible inventories.
import { existsSync } from 'node:fs';
import { stringify } from 'yaml';
import { parseDocumentText, validateDocument } from '../../lib/document.js';
import { ExitCode, InputError, VrioError, formatIssue } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fsx.js';
import { table } from '../../lib/log.js';
import { importAnsibleFile } from '../../provision/ansible/index.js';
import { inventorySchema } from '../../provision/defaults.js';
import { loadInventory } from '../../provision/inventory.js';
import { semanticIssues } from '../../provision/semantic.js';
import type { Command, CommandContext } from '../command.js';
import type { Host } from '../../provision/inventory-types.js';
import { resolve } from 'node:path';

export const inventoryCheckCommand: Command = {
  name: 'inventory check',
  summary: 'validate an inventory (JSON Schema + semantic checks) and show its hosts',
  usage: 'FILE',
  description: 'Every problem is reported with file:line:column, JSON pointer and the rule that failed. Exit 0 when valid, 2 when not.',
  examples: ['vrio inventory check lab.yaml', 'vrio inventory check lab.yaml --json'],
  positionals: { name: 'FILE', min: 1, max: 1, complete: 'file' },
  async run(ctx, _values, [file]) {
    const inv = loadInventory(resolve(ctx.cwd, file), { env: ctx.env });
    if (ctx.global.json) {
      ctx.log.event('inventory', {
        valid: true,
        file,
        hosts: inv.hosts.map((h) => ({
          name: h.name,
          role: h.role,
          address: h.connection.address,
          port: h.connection.port,
          iohyp: h.iohyp,
          devices: h.devices.length,
        })),
      });
      warnUnpinned(ctx, inv.hosts);
      return 0;
    }
    ctx.log.print(
      table(
        ['HOST', 'ROLE', 'SSH', 'L2', 'VMTU', 'MODULES', 'DEVICES'],
        inv.hosts.map((h) => [
          h.name,
          h.role === 'guest' ? `guest of ${h.iohyp}` : 'iohyp',
          `${h.connection.user}@${h.connection.address}:${h.connection.port}${h.connection.jump ? ` via ${h.connection.jump.name}` : ''}`,
          `${h.l2.interface}${h.l2.ip ? ` ${h.l2.ip}` : ''}${h.l2.mac ? ` ${h.l2.mac}` : ''}`,
          h.mtu,
          h.customModules ? h.modules.map((m) => m.name).join(',') : 'vRIO',
          h.devices.map((d) => (d.type === 'blk' ? `blk:${d.name}` : `net:${d.mac}`)).join(' ') || '-',
        ]),
      ),
    );
    warnUnpinned(ctx, inv.hosts);
    ctx.log.info(`${file}: valid (${inv.hosts.length} host${inv.hosts.length === 1 ? '' : 's'})`);
    return 0;
  },
};

/** Strict host keys: a host with neither a pin nor a known_hosts file will be refused. */
function warnUnpinned(ctx: CommandContext, hosts: Host[]): void {
  for (const h of hosts)
    if (!h.connection.hostKeys.pins.length && !h.connection.hostKeys.knownHostsFiles.some((f) => existsSync(f)))
      ctx.log.warn(`${h.name}: no hostKey pin and no known_hosts file: provision will refuse its key (pin it, or use --accept-new once)`);
}

export const inventorySchemaCommand: Command = {
  name: 'inventory schema',
  summary: 'print the inventory JSON Schema (draft 2020-12; for editors: "$schema")',
  examples: ['vrio inventory schema > inventory.schema.json'],
  async run(ctx) {
    if (ctx.global.json) ctx.log.event('schema', { name: 'inventory', schema: inventorySchema() });
    else ctx.log.print(JSON.stringify(inventorySchema(), null, 2));
    return 0;
  },
};

export const inventoryImportCommand: Command = {
  name: 'inventory import',
  summary: 'convert an Ansible inventory (INI, YAML, ansible-inventory --list JSON, or a directory) into a vrio inventory',
  usage: 'ANSIBLE_INVENTORY [--output FILE] [--iohyps GROUP,..] [--guests GROUP,..] [--draft]',
  description:
    "Reads the file as ansible-inventory does (INI or YAML by content, group_vars/ and host_vars/ beside it, Ansible's variable precedence); a directory is read as 'ansible-inventory -i DIR' reads it (every file in Ansible's order, skipping hidden names and its ignored extensions, '.ini' included, then DIR's group_vars/ and host_vars/) and maps hosts, groups, ansible_host/port/user/ssh_private_key_file and ProxyJump. Hosts get their vRIO role from an 'iohyps'/'guests' group, vrio_role, or --iohyps/--guests; vrio_interface, vrio_iohyp, vrio_mac, vrio_ip, vrio_l2_address, vrio_mtu fill in the rest. Every setting that is not imported is named in a warning. Exit 2 when nothing was imported or the result would not pass 'vrio inventory check' (--draft still writes it, to edit).",
  examples: [
    'vrio inventory import hosts.ini > inventory.yaml',
    'vrio inventory import inventory/hosts.yaml --output vrio-inventory.yaml',
    'vrio inventory import all.json --iohyps storage --guests compute --draft',
    'vrio inventory import inventories/production/ --output vrio-inventory.yaml',
  ],
  options: {
    output: { type: 'string', arg: 'FILE', complete: 'file', description: 'write here (atomically) instead of stdout' },
    iohyps: { type: 'string', arg: 'GROUP,..', description: 'Ansible groups (or hosts) whose hosts are IOhyps' },
    guests: { type: 'string', arg: 'GROUP,..', description: 'Ansible groups (or hosts) whose hosts are guests' },
    draft: { type: 'boolean', description: 'write the result even when it needs edits before use (the exit code is still 2)' },
  },
  positionals: { name: 'ANSIBLE_INVENTORY', min: 1, max: 1, complete: 'file' },
  async run(ctx, values, [file]) {
    const list = (v: unknown) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined;
    const { inventory, warnings } = importAnsibleFile(resolve(ctx.cwd, file), { iohyps: list(values.iohyps), guests: list(values.guests) }, file);
    const out = values.output as string | undefined;
    const target = out ?? 'imported.yaml';
    const yaml = `# Imported from ${file} by 'vrio inventory import'.\n` + stringify(inventory, { lineWidth: 0 });
    for (const w of warnings) ctx.log.warn(w);
    const hosts = Object.keys(inventory.iohyps ?? {}).length + Object.keys(inventory.guests ?? {}).length;
    let problems: string[] = [];
    if (hosts) {
      try {
        validateDocument(parseDocumentText(target, yaml), inventorySchema(), semanticIssues);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        problems = e.issues.map((i) => formatIssue(i));
      }
    }
    const usable = hosts > 0 && !problems.length;
    if (usable || values.draft) {
      if (out) writeFileAtomic(resolve(ctx.cwd, out), yaml);
      else ctx.log.print(yaml);
    }
    if (usable) {
      ctx.log.info(`${target}: valid (${hosts} host${hosts === 1 ? '' : 's'})`);
      return 0;
    }
    const why = hosts
      ? `the result needs edits before use:\n${problems.map((p) => '  ' + p).join('\n')}`
      : `${file}: no host was imported (see the warnings above)`;
    throw new VrioError(why, {
      exitCode: ExitCode.USAGE,
      hint: hosts
        ? `set the missing vrio_* variables in the Ansible inventory (or group_vars/), or rerun with --draft and edit the result${values.draft ? '' : ' (nothing was written)'}`
        : "give hosts a vRIO role: an 'iohyps' or 'guests' group, vrio_role, or --iohyps/--guests GROUP",
    });
  },
};
