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
