// What `--offline` (or an unreachable upstream) could not provide, collected
// over every source so the user gets one complete list of what to supply.
import { VrioError } from '../../lib/errors.js';

export interface MissingInput {
  source: string;
  /** What is missing, e.g. "commit b2b67883..." or "linux-6.1.tar.xz (sha256 ...)". */
  what: string;
  /** How to provide it, e.g. "--mirror splitio-kernel=/path/to/clone". */
  how: string;
}

export class MissingInputsError extends VrioError {
  readonly missing: MissingInput[];
  constructor(missing: MissingInput[], offline: boolean) {
    const head = offline ? 'offline, and these inputs are not in the cache' : 'these inputs could not be obtained';
    super(`${head}:\n${missing.map((m) => `  - ${m.source}: ${m.what}\n      provide it: ${m.how}`).join('\n')}`, {
      hint: offline
        ? 'give a mirror with --mirror NAME=PATH, fill the cache with `vrio fetch` on a connected machine (same --cache-dir), or drop --offline'
        : undefined,
    });
    this.name = 'MissingInputsError';
    this.missing = missing;
  }
}

/** A URL that would need the network (anything but file:// and plain paths). */
export function isRemote(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url);
}
