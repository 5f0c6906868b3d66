// The basic vRIO path checks `vrio lab up` must run for every guest, on every
// kernel (3.10 in lab.test.ts, 6.1 in lab-61.test.ts): named here once, so a
// check the lab drops or renames fails both suites alike.
export const BASIC_GUEST_CHECKS = [
  'O_DIRECT write/read',
  'holds the data encrypted',
  'survives a remount',
  'blk counters grew',
  'ping through the vRIO NIC',
  'TCP transfer',
  'net counters grew',
] as const;

/**
 * The bug checks of our fix series (`vrio lab up --checks fixes`), which the
 * fixed images must pass on both kernels (lab.test.ts on 3.10, lab-61.test.ts
 * on 6.1) and the upstream 3.10 images must fail.
 */
export const FIX_CHECKS = [
  'short frames',
  'MiB TCP through the vRIO NIC',
  'CREATE_NET on a missing macvtap',
  'CREATE_BLK on a missing block device',
  'correct CREATE_BLK right after',
  'cycles of a vRIO block device',
  'cycles of a vRIO NIC',
  'tun/tap back end',
  'no kernel warning',
] as const;
