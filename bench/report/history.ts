// Earlier runs for the report's trend charts: every saved report in a
// directory (bench/results in the project, the output directory of `vrio bench`,
// or --history DIR). Only files named like a report (<date>.json,
// <date>-quick.json) are read, since the directory may be any working
// directory; one that is not a readable report is named in the page, not fatal:
// a run of an hour must not lose its report over an old file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport } from '../model.js';

export const REPORT_FILE = /^\d{4}-\d{2}-\d{2}(-quick)?\.json$/;

export interface History {
  /** Where the reports were read from. */
  dir: string;
  reports: BenchReport[];
  /** "FILE: why it was left out", shown under the trend charts. */
  skipped: string[];
}

export function loadHistory(dir: string): History {
  const h: History = { dir, reports: [], skipped: [] };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => REPORT_FILE.test(n))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return h;
    throw e;
  }
  for (const n of names) {
    const file = join(dir, n);
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
      if (r?.format !== 1 || typeof r.startedAt !== 'string' || !r.machine) throw new Error('not a vrio bench report (format 1)');
      h.reports.push(r);
    } catch (e) {
      h.skipped.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return h;
}

/** The runs a trend shows: the same mode as this one (quick runs are not comparable to full ones), this run in place of its own saved copy, oldest first. */
export function runsFor(current: BenchReport, history: readonly BenchReport[]): BenchReport[] {
  const day = (r: BenchReport) => r.startedAt.slice(0, 10);
  const others = history.filter((r) => r.mode === current.mode && day(r) !== day(current));
  return [...others, current].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}
