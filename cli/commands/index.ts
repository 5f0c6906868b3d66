// Every verb, one module each. A verb is listed here by the change that
// implements it: there are no placeholder verbs.
//
// Verbs load lazily: importing every verb module (and through them zx, ssh2,
// ajv, the builder and the provisioner) cost ~0.3 s on a quiet machine and
// ~2 s under load on every start, even for `vrio --version`. Only the name and
// summary live here; a verb's module is imported when that verb runs or shows
// its --help. test/unit/cli.test.ts checks each summary against its module.
import type { Command, CommandEntry } from '../command.js';

export const commands: CommandEntry[] = [
  {
    name: 'build',
    group: 'Build',
    summary: 'build kernels and images for every enabled role (= kernel build + image)',
    load: async () => (await import('./build.js')).buildCommand,
  },
  {
    name: 'fetch',
    group: 'Build',
    summary: 'download and verify every pinned source the build needs into the cache',
    load: async () => (await import('./fetch.js')).fetchCommand,
  },
  {
    name: 'kernel build',
    group: 'Build',
    summary: 'fetch, patch, configure and compile the kernel and modules of each role',
    load: async () => (await import('./kernel.js')).kernelBuildCommand,
  },
  {
    name: 'kernel config',
    group: 'Build',
    summary: "print a role's effective kernel config delta (what the fragments set, and the result)",
    load: async () => (await import('./kernel.js')).kernelConfigCommand,
  },
  {
    name: 'kernel menuconfig',
    group: 'Build',
    summary: "edit a role's kernel config with menuconfig and save the change as a fragment",
    load: async () => (await import('./kernel.js')).kernelMenuconfigCommand,
  },
  {
    name: 'image',
    group: 'Build',
    summary: 'build the appliance images (ISO, kernel + initramfs, rootfs tar) of each role',
    load: async () => (await import('./image.js')).imageCommand,
  },
  {
    name: 'inspect',
    group: 'Build',
    summary: 'show what an image holds: role, kernel, packages, host keys, boot entries, modules, files',
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    name: 'clean',
    group: 'Build',
    summary: 'remove build outputs (prepared trees, kernel builds, images, logs); --all also empties the download cache',
    load: async () => (await import('./clean.js')).cleanCommand,
  },
  {
    name: 'config show',
    group: 'Build',
    summary: 'print the effective build manifest and where each value came from',
    load: async () => (await import('./config.js')).configShowCommand,
  },
  {
    name: 'config schema',
    group: 'Build',
    summary: 'print the JSON Schema of the build manifest (for editors: "$schema")',
    load: async () => (await import('./config.js')).configSchemaCommand,
  },
  {
    name: 'smoke',
    group: 'Test under QEMU',
    summary: 'boot images under QEMU (BIOS/UEFI, CD/disk), log in over SSH and check them',
    load: async () => (await import('./smoke.js')).smokeCommand,
  },
  {
    name: 'run',
    group: 'Test under QEMU',
    summary: 'boot an image with its serial console on this terminal and SSH forwarded (Ctrl-A X quits)',
    load: async () => (await import('./run.js')).runCommand,
  },
  {
    name: 'lab up',
    group: 'Test under QEMU',
    summary: 'boot an IOhyp and N guests on a private L2 segment, provision them, verify the vRIO path',
    load: async () => (await import('./lab.js')).labUpCommand,
  },
  {
    name: 'lab down',
    group: 'Test under QEMU',
    summary: "tear down the lab's vRIO devices and modules, stop exactly its processes, remove its state",
    load: async () => (await import('./lab.js')).labDownCommand,
  },
  {
    name: 'lab status',
    group: 'Test under QEMU',
    summary: 'show the lab VMs, their ports and state, and vRIO devices/metrics on the IOhyp',
    load: async () => (await import('./lab.js')).labStatusCommand,
  },
  {
    name: 'lab ssh',
    group: 'Test under QEMU',
    summary: 'open an SSH session (or run a command) on a lab VM, host key pinned',
    load: async () => (await import('./lab.js')).labSshCommand,
  },
  {
    name: 'inventory check',
    group: 'Provision',
    summary: 'validate an inventory (JSON Schema + semantic checks) and show its hosts',
    load: async () => (await import('./inventory.js')).inventoryCheckCommand,
  },
  {
    name: 'inventory schema',
    group: 'Provision',
    summary: 'print the inventory JSON Schema (draft 2020-12; for editors: "$schema")',
    load: async () => (await import('./inventory.js')).inventorySchemaCommand,
  },
  {
    name: 'inventory import',
    group: 'Provision',
    summary: 'convert an Ansible inventory (INI, YAML, ansible-inventory --list JSON, or a directory) into a vrio inventory',
    load: async () => (await import('./inventory.js')).inventoryImportCommand,
  },
  {
    name: 'provision plan',
    group: 'Provision',
    summary: 'show what apply would change on each host (read-only, never changes a host)',
    load: async () => (await import('./provision.js')).provisionPlanCommand,
  },
  {
    name: 'provision apply',
    group: 'Provision',
    summary: 'bring hosts to the inventory: IOhyp back ends, guest front ends, then devices; verify',
    load: async () => (await import('./provision.js')).provisionApplyCommand,
  },
  {
    name: 'provision teardown',
    group: 'Provision',
    summary: 'remove devices, unload modules in reverse order and restore the recorded settings',
    load: async () => (await import('./provision.js')).provisionTeardownCommand,
  },
  {
    name: 'provision status',
    group: 'Provision',
    summary: 'facts and vRIO metrics of each host (read-only)',
    load: async () => (await import('./provision.js')).provisionStatusCommand,
  },
  {
    name: 'doctor',
    group: 'Other',
    summary: 'check the host tools that build, image, smoke and provision need',
    load: async () => (await import('./doctor.js')).doctorCommand,
  },
  {
    name: 'schema events',
    group: 'Other',
    summary: 'print the JSON Schema of the --json event stream (every line of every verb validates against it)',
    load: async () => (await import('./schema.js')).schemaEventsCommand,
  },
  {
    name: 'bench',
    group: 'Other',
    summary: 'benchmark provisioning (vs Ansible), builds and boots; write JSON, HTML and Markdown reports',
    load: async () => (await import('./bench.js')).benchCommand,
  },
  {
    name: 'completion',
    group: 'Other',
    summary: 'print the shell completion script for bash, zsh or fish',
    load: async () => (await import('./completion.js')).completionCommand(loadAllCommands),
  },
  {
    name: 'man',
    group: 'Other',
    summary: 'print the vrio(1) man page (roff), generated from the option tables',
    load: async () => (await import('./completion.js')).manCommand(loadAllCommands),
  },
];

/** Every verb's full definition (loads every verb module: for `vrio completion` and `vrio man` only). */
export async function loadAllCommands(): Promise<Command[]> {
  return Promise.all(commands.map((e) => e.load()));
}
