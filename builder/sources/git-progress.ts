// `git fetch --progress` lines -> the logger's progress (a bar on a terminal,
// a line every 15 s in a CI log, throttled `progress` events with --json), so
// the minutes-long fetch of a kernel tree is not silent.
import { log, type Progress } from '../../lib/log.js';

/** "Receiving objects:  45% (123/456), 1.20 MiB | 300.00 KiB/s", "remote: Counting objects: 100% (5/5), done." */
const PHASE = /^(?:remote: )?([A-Z][a-z]+(?: [a-z]+)*):\s+(\d+)% \((\d+)\/(\d+)\)(?:, (.*?))?\s*$/;

export function gitProgress(what: string): { line(l: string): void; end(): void } {
  let phase: string | undefined;
  let bar: Progress | undefined;
  const finish = () => {
    bar?.done();
    bar = undefined;
    phase = undefined;
  };
  return {
    line(l) {
      const m = PHASE.exec(l.trim());
      if (!m) return;
      const [, name, , done, total, rest = ''] = m;
      if (name !== phase) {
        finish();
        phase = name;
        bar = log().progress(`${what}: ${name.toLowerCase()}`);
      }
      const detail = rest.replace(/,?\s*done\.$/, '').trim();
      bar!.update(Number(done), Number(total), detail || undefined);
      if (/done\.$/.test(rest)) finish();
    },
    end: finish,
  };
}
