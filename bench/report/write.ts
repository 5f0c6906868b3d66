// Writing one run's reports: <date>.json, .html and .md in the output directory
// (`vrio bench`: the working directory; `npm run bench`: bench/results). Each
// file is written atomically, so an interrupted run never leaves a truncated
// report. The HTML's trend charts read every earlier report in the same
// directory, or in `history` when given.
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/fsx.js';
import type { BenchReport } from '../model.js';
import { loadHistory } from './history.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export interface WrittenReports {
  json: string;
  html: string;
  markdown: string;
}

/** The results file stem: the run's date, plus "-quick" for quick runs so they never overwrite a full one. */
export function reportStem(r: BenchReport): string {
  return `${r.startedAt.slice(0, 10)}${r.mode === 'quick' ? '-quick' : ''}`;
}

export function writeReports(r: BenchReport, dir: string, opts: { json?: boolean; history?: string } = {}): WrittenReports {
  const stem = reportStem(r);
  const out = { json: join(dir, `${stem}.json`), html: join(dir, `${stem}.html`), markdown: join(dir, `${stem}.md`) };
  if (opts.json !== false) writeFileAtomic(out.json, JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(out.html, renderHtml(r, { history: loadHistory(opts.history ?? dir) }));
  writeFileAtomic(out.markdown, renderMarkdown(r));
  return out;
}
