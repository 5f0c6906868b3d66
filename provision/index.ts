// The provisioner as a library (the CLI verbs and the lab/smoke code use this).
export { planInventory, applyInventory, teardownInventory, statusInventory, pool, MAX_FORKS, type RunOptions, type StatusResult } from './runner.js';
export { loadInventory, parseInventory, validateInventory } from './inventory.js';
export { requireHosts, selectHosts } from './host-patterns.js';
export { logReporter, silentReporter, recapText, type Reporter } from './reporter.js';
export { exitCodeFor, hostStatus, type HostResult, type RunResult, type ChangeResult, type Verb } from './results.js';
export { inventorySchema, provisionDefaults } from './defaults.js';
export { importAnsible } from './ansible/index.js';
export type { Inventory, Host, RawInventory } from './inventory-types.js';
export type { Facts } from './facts.js';
export type { Change, HostPlan } from './ops/change.js';
