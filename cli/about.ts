// What `vrio --help`, `vrio -V` and the man page say about vrio itself. Its own
// module, below main.ts and the verbs, so `vrio man` can use it without
// importing the entry point (which imports the verb table, which loads `man`).
import { readFileSync } from 'node:fs';
import { dataPath } from '../lib/paths.js';

export const exitCodesHelp = `Exit codes:
  0  success
  1  failed (a build step, a check, a host)
  2  bad input: usage, manifest, inventory
  3  a required host tool is missing (see: vrio doctor)
  4  some hosts were unreachable
  130 interrupted`;

export function version(): string {
  return (JSON.parse(readFileSync(dataPath('package.json'), 'utf8')) as { version: string }).version;
}
