// A node:test reporter (used beside `spec` by scripts/test.sh) that writes the
// end-of-run summary: wall time per test file, pass/fail/skip counts, and the
// list of every skipped test with its reason. Files run one at a time
// (--test-concurrency=1), so a file's time runs from the previous file's last
// event to its own last one: it includes its `before` hooks (image builds,
// VM boots), which no single test's duration does.
import { relative } from 'node:path';

interface TestEvent {
  type: string;
  data: { name: string; nesting: number; file?: string; skip?: string | boolean; todo?: string | boolean; details?: { duration_ms?: number } };
}

interface FileRow {
  file: string;
  seconds: number;
  pass: number;
  fail: number;
  skip: number;
}

export default async function* summaryReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const rows = new Map<string, FileRow>();
  const skipped: string[] = [];
  const started = Date.now();
  let mark = started;
  // Results arrive children first: an event one level above the previous
  // result of its file closes a suite, and counts nothing of its own.
  const lastNesting = new Map<string, number>();
  for await (const e of source) {
    const file = e.data?.file ? relative(process.cwd(), e.data.file) : undefined;
    if (!file) continue;
    const now = Date.now();
    let row = rows.get(file);
    if (!row) rows.set(file, (row = { file, seconds: 0, pass: 0, fail: 0, skip: 0 }));
    row.seconds += (now - mark) / 1000;
    mark = now;
    // Leaf results only: a suite's pass/fail repeats its tests'.
    if (e.type !== 'test:pass' && e.type !== 'test:fail') continue;
    const closesSuite = (lastNesting.get(file) ?? -1) > e.data.nesting;
    lastNesting.set(file, e.data.nesting);
    if (closesSuite && !e.data.skip) continue;
    if (e.data.skip !== undefined && e.data.skip !== false) {
      row.skip++;
      skipped.push(`${file}: ${e.data.name}: ${e.data.skip === true ? '(no reason given)' : e.data.skip}`);
    } else if (e.type === 'test:fail') row.fail++;
    else row.pass++;
  }
  const total = (Date.now() - started) / 1000;
  yield `${JSON.stringify({ total, rows: [...rows.values()], skipped })}\n`;
}
