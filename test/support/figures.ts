// One summary line per reliability suite, in one format, so CI logs and the
// README's "Reliability figures" can be read side by side:
//   # figures <suite>: name=value, name=value, ...
// Written as a TAP comment (a '#' line) so `node --test` passes it through.
export type Figures = Record<string, number | string>;

export function formatFigures(suite: string, figures: Figures): string {
  return `# figures ${suite}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
}

export function printFigures(suite: string, figures: Figures): void {
  process.stdout.write(formatFigures(suite, figures) + '\n');
}
