// The vRIO drivers rebuilt with sparse and the kernel's extra warnings
// (`make C=2 W=1`), as an external module against a prepared, built tree:
// issue #19 asks drivers/vrio to be W=1 and sparse clean on 6.1. The source
// is copied, so objects land beside the copy and the shared tree stays as it is.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';

/**
 * The distinct compiler and sparse warnings (and errors) in a kbuild log, as
 * `path:line:col: warning: text` with `root` (where the module copy sits)
 * cut off the paths, so they read `vrio/eth/eth.c:...` or
 * `include/linux/vrio/trace.h:...`. Notes and "In function" context lines
 * are not warnings.
 */
export function kbuildWarnings(log: string, roots: readonly string[]): string[] {
  const out = new Set<string>();
  for (const line of log.split('\n')) {
    const m = /^(\S+?):(\d+):(\d+): (warning|error): (.*)$/.exec(line.trim());
    if (!m) continue;
    let path = m[1];
    for (const r of roots) if (path.startsWith(`${r}/`)) path = path.slice(r.length + 1);
    out.add(`${path}:${m[2]}:${m[3]}: ${m[4]}: ${m[5]}`);
  }
  return [...out].sort();
}

/** Rebuild `<src>/drivers/vrio` with C=2 W=1 against the built `obj`; the warnings and the log. */
export async function vrioSparseW1(tree: { src: string; obj: string }): Promise<{ warnings: string[]; checked: number; code: number | null; log: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vrio-sparse-'));
  try {
    const ext = join(dir, 'vrio');
    cpSync(join(tree.src, 'drivers', 'vrio'), ext, { recursive: true });
    const r = await run('make', ['-C', tree.src, `O=${tree.obj}`, `M=${ext}`, 'C=2', 'W=1', '-j2', 'modules'], {
      timeoutMs: 20 * 60_000,
      allowFail: true,
      tailLines: 40,
    });
    const log = `${r.stdout}\n${r.stderr}`;
    // Every file went through sparse (CHECK), not only the compiler.
    const checked = log.split('\n').filter((l) => /^\s+CHECK\s/.test(l)).length;
    return { warnings: kbuildWarnings(log, [dir, tree.src]), checked, code: r.code, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
