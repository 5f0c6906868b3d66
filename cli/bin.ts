#!/usr/bin/env node
import { ExitCode } from '../lib/errors.js';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`internal error: ${(e as Error).stack}\n`);
    process.exit(ExitCode.FAILED);
  },
);
