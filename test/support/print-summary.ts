// The end of `npm test`: the per-suite timing table (prepare steps, then each
// test file), the list of skipped tests, and under CI=true a failure when any
// test was skipped (a skip in CI means a prerequisite CI should provide is missing).
//   node dist/test/support/print-summary.js PREPARE_TIMINGS REPORTER_SUMMARY...
import { existsSync, readFileSync } from 'node:fs';
import { strictPrerequisites } from './prereq.js';

interface Row {
  file: string;
  seconds: number;
  pass: number;
  fail: number;
  skip: number;
}

const [prepFile, ...summaryFiles] = process.argv.slice(2);
const prep: Row[] = existsSync(prepFile)
  ? readFileSync(prepFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row)
  : [];
const summary: { rows: Row[]; skipped: string[] } = { rows: [], skipped: [] };
for (const f of summaryFiles) {
  if (!existsSync(f) || !readFileSync(f, 'utf8').trim()) continue;
  const s = JSON.parse(readFileSync(f, 'utf8')) as { rows: Row[]; skipped: string[] };
  summary.rows.push(...s.rows);
  summary.skipped.push(...s.skipped);
}

const rows = [...prep, ...summary.rows];
const fmt = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`);
const width = Math.max(10, ...rows.map((r) => r.file.length));
console.log('== timing per suite');
console.log(`${'suite'.padEnd(width)}  ${'time'.padStart(8)}  pass  fail  skip`);
for (const r of rows)
  console.log(
    `${r.file.padEnd(width)}  ${fmt(r.seconds).padStart(8)}  ${String(r.pass).padStart(4)}  ${String(r.fail).padStart(4)}  ${String(r.skip).padStart(4)}`,
  );
const sum = (k: 'seconds' | 'pass' | 'fail' | 'skip') => rows.reduce((a, r) => a + r[k], 0);
console.log(
  `${'total'.padEnd(width)}  ${fmt(sum('seconds')).padStart(8)}  ${String(sum('pass')).padStart(4)}  ${String(sum('fail')).padStart(4)}  ${String(sum('skip')).padStart(4)}`,
);
console.log(`== skipped tests: ${summary.skipped.length}`);
for (const s of summary.skipped) console.log(`  ${s}`);
if (summary.skipped.length && strictPrerequisites()) {
  console.error(`error: ${summary.skipped.length} test(s) skipped under CI=true; CI must provide every prerequisite`);
  process.exit(1);
}
