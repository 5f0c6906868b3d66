// `npm test`'s first step after compiling: build every image set the suites
// share, one after another, timed, before any suite runs. The suites would
// build them on demand too (content-addressed, so this makes their builds
// no-ops), but here each build shows as its own row in the timing table and a
// failing build stops the run with its log instead of failing many tests.
//   node dist/test/support/prepare.js TIMINGS_FILE
import { appendFileSync } from 'node:fs';
import { ciKernelUnavailable } from '../../bench/ci-kernel/manifest.js';
import { ciImages } from '../integration/smoke-support.js';
import { MissingPrerequisite, strictPrerequisites } from './prereq.js';
import { vrioImages } from './vrio-images.js';

const timings = process.argv[2];
const steps: [string, () => Promise<unknown>][] = [
  ['prepare: 6.1 CI kernel + images (builder tests)', async () => (ciKernelUnavailable() ? ciKernelUnavailable() : ciImages())],
  ['prepare: 3.10 vRIO images (default manifest)', () => vrioImages('default')],
  ['prepare: 3.10 vRIO images (kernel.fixes: false)', () => vrioImages('upstream')],
];
let failed = false;
for (const [name, step] of steps) {
  const t0 = Date.now();
  const r = await step();
  const seconds = (Date.now() - t0) / 1000;
  const missing = typeof r === 'string' ? r : undefined;
  console.log(`==> ${name}: ${missing ? `NOT BUILT: ${missing}` : 'ok'} (${seconds.toFixed(0)} s)`);
  if (timings) appendFileSync(timings, `${JSON.stringify({ file: name, seconds, pass: missing ? 0 : 1, fail: missing ? 1 : 0, skip: 0 })}\n`);
  if (missing && strictPrerequisites()) {
    console.error(new MissingPrerequisite(missing).message);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
