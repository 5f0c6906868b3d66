// Rolling changes (--serial, --max-fail-percent), as Ansible's `serial` and
// `max_fail_percentage` do for a play: the selected hosts are worked on in
// batches, and a batch that fails beyond the budget stops the run before the
// next batch starts. vRIO adds one rule: an IOhyp and its selected guests form
// a cell that is never split, so the IOhyp's back end and the guests' devices
// change together, the IOhyp first (the phases inside a batch keep that order).
import { UsageError } from '../lib/errors.js';
import type { Host } from './inventory-types.js';

export type Serial = { count: number } | { percent: number };

/** `--serial 3` or `--serial 25%`. */
export function parseSerial(flag: string, value: string): Serial {
  const m = /^(\d{1,6})(%?)$/.exec(value.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || n < 1 || (m[2] && n > 100))
    throw new UsageError(`${flag} ${value}: must be a number of hosts (1 or more) or a percentage (1% to 100%)`, `e.g. ${flag} 5 or ${flag} 20%`);
  return m[2] ? { percent: n } : { count: n };
}

/** Hosts per batch for `total` selected hosts: a percentage rounds down, but at least one host. */
export function batchSize(serial: Serial, total: number): number {
  return 'count' in serial ? serial.count : Math.max(1, Math.floor((serial.percent * total) / 100));
}

/** Each IOhyp with its selected guests (IOhyp first), and guests whose IOhyp is not selected, alone; inventory order. */
export function cells(hosts: readonly Host[]): Host[][] {
  const byIohyp = new Map<string, Host[]>();
  const out: Host[][] = [];
  for (const h of hosts) {
    if (h.role !== 'iohyp') continue;
    const cell = [h];
    byIohyp.set(h.name, cell);
  }
  for (const h of hosts) {
    if (h.role === 'iohyp') out.push(byIohyp.get(h.name)!);
    else if (h.iohyp && byIohyp.has(h.iohyp)) byIohyp.get(h.iohyp)!.push(h);
    else out.push([h]);
  }
  return out;
}

/** The batches of a rolling run: whole cells, at most `size` hosts each unless one cell alone is larger. */
export function rollingBatches(hosts: readonly Host[], serial: Serial | undefined): Host[][] {
  if (!serial) return hosts.length ? [[...hosts]] : [];
  const size = batchSize(serial, hosts.length);
  const out: Host[][] = [];
  let cur: Host[] = [];
  for (const cell of cells(hosts)) {
    if (cur.length && cur.length + cell.length > size) {
      out.push(cur);
      cur = [];
    }
    cur.push(...cell);
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Whether a finished batch stops the run: more than `maxFailPercent` of its
 * hosts failed, or, without a budget, every host of it failed (Ansible's rule).
 */
export function batchStops(failed: number, size: number, maxFailPercent: number | undefined): boolean {
  if (size === 0 || failed === 0) return false;
  if (maxFailPercent === undefined) return failed === size;
  return (failed * 100) / size > maxFailPercent;
}
