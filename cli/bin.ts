#!/usr/bin/env node
import { ExitCode } from '../lib/errors.js';
import { main } from './main.js';

/**
 * Exit only after stdout and stderr have flushed: process.exit() right after a
 * write to a pipe drops whatever is still queued (seen as missing --json
 * events at the end of a 50-host plan).
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exitAfterFlush, (e) => {
  process.stderr.write(`internal error: ${(e as Error).stack}\n`);
  exitAfterFlush(ExitCode.FAILED);
});
