// One summary line per reliability suite, in one format, so CI logs and the
// README's "Reliability figures" can be read side by side:
//   # figures <suite>: name=value, name=value, ...
// Written as a TAP comment (a '#' line) so `node --test` passes it through, and
// appended to $VRIO_FIGURES_FILE when set, so a runner can print every suite's
// figures together at the end of `npm test`.
import { appendFileSync } from 'node:fs';

export type Figures = Record<string, number | string>;

export function formatFigures(suite: string, figures: Figures): string {
  return `# figures ${suite}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
}

export function printFigures(suite: string, figures: Figures): void {
  const line = formatFigures(suite, figures);
  process.stdout.write(line + '\n');
  const file = process.env.VRIO_FIGURES_FILE;
  if (file) appendFileSync(file, line + '\n');
}
