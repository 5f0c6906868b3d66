// Reading unified/git patches: split into per-file sections (so the part of a
// series that touches only module directories can be told apart from the rest)
// and find which hunk sits at a given line (for "hunk #N failed" messages).
import { sha256 } from '../../lib/fsx.js';

export type PatchOrigin = 'upstream-series' | 'overlay' | 'compat' | 'fixes' | 'port' | 'user' | 'test';

export interface PatchFile {
  /** File name, unique in the series (shown in messages). */
  name: string;
  /** Where it was read from, when it is a file. */
  path?: string;
  text: string;
  sha256: string;
  origin: PatchOrigin;
}

export interface Hunk {
  /** 1-based index in its section. */
  index: number;
  oldStart: number;
  newStart: number;
}

export interface PatchSection {
  /** Path before (undefined for a new file) and after (undefined for a deletion), without a/ b/. */
  oldPath?: string;
  newPath?: string;
  /** The section's text: from its `diff --git`/`---` line to the next section. */
  text: string;
  hunks: Hunk[];
}

export function makePatch(name: string, text: string, origin: PatchOrigin, path?: string): PatchFile {
  return { name, text, path, origin, sha256: sha256(text) };
}

function stripPrefix(p: string): string | undefined {
  p = p.replace(/\t.*$/, '').trim();
  if (p === '/dev/null') return undefined;
  return p.replace(/^"?[ab]\//, '').replace(/"$/, '');
}

/** Split a patch into per-file sections; the mail header and stat are dropped. */
export function splitPatch(text: string): PatchSection[] {
  const lines = text.split('\n');
  const sections: PatchSection[] = [];
  let cur: { start: number; oldPath?: string; newPath?: string; hunks: Hunk[] } | undefined;
  const close = (end: number) => {
    if (!cur) return;
    let body = lines.slice(cur.start, end);
    // A git format-patch trailer ("-- \n2.39.2") is not part of the last section.
    const sig = body.lastIndexOf('-- ');
    if (sig > 0 && body.slice(sig + 1).every((l) => /^(\d[\w.-]*)?$/.test(l))) body = body.slice(0, sig);
    sections.push({ oldPath: cur.oldPath, newPath: cur.newPath, text: body.join('\n') + '\n', hunks: cur.hunks });
    cur = undefined;
  };
  let inHunk = { old: 0, new: 0 };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const remaining = inHunk.old > 0 || inHunk.new > 0;
    if (remaining) {
      if (l.startsWith('-')) inHunk.old--;
      else if (l.startsWith('+')) inHunk.new--;
      else if (l.startsWith(' ') || l === '') {
        inHunk.old--;
        inHunk.new--;
      }
      continue;
    }
    const git = /^diff --git (\S+) (\S+)$/.exec(l);
    if (git) {
      close(i);
      cur = { start: i, oldPath: stripPrefix(git[1]), newPath: stripPrefix(git[2]), hunks: [] };
      continue;
    }
    if (l.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const oldP = stripPrefix(l.slice(4));
      const newP = stripPrefix(lines[i + 1].slice(4));
      // Within a `diff --git` section these lines refine the paths (new/deleted files).
      if (cur && cur.hunks.length === 0 && lines.slice(cur.start, i).every((x) => !x.startsWith('@@'))) {
        cur.oldPath = oldP;
        cur.newPath = newP;
      } else {
        close(i);
        cur = { start: i, oldPath: oldP, newPath: newP, hunks: [] };
      }
      i++;
      continue;
    }
    const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l);
    if (h && cur) {
      cur.hunks.push({ index: cur.hunks.length + 1, oldStart: Number(h[1]), newStart: Number(h[3]) });
      inHunk = { old: h[2] === undefined ? 1 : Number(h[2]), new: h[4] === undefined ? 1 : Number(h[4]) };
    }
  }
  close(lines.length);
  return sections;
}

/** Every path a section touches. */
export function sectionPaths(s: PatchSection): string[] {
  return [s.oldPath, s.newPath].filter((p): p is string => p !== undefined);
}

export function isUnder(path: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => {
    const dd = d.replace(/\/+$/, '');
    return path === dd || path.startsWith(dd + '/');
  });
}

/** The hunk of `file` in `patch` that starts at `line` of the old file (git apply reports that line). */
export function hunkAt(patch: PatchFile, file: string, line: number): Hunk | undefined {
  for (const s of splitPatch(patch.text)) {
    if (!sectionPaths(s).includes(file)) continue;
    const exact = s.hunks.find((h) => h.oldStart === line);
    if (exact) return exact;
    // git apply may report the line after offsetting for earlier hunks; take the nearest.
    return [...s.hunks].sort((a, b) => Math.abs(a.oldStart - line) - Math.abs(b.oldStart - line))[0];
  }
  return undefined;
}

/**
 * Split a series into what shapes the core tree (everything outside the
 * module directories) and what touches only module directories. A section
 * touching both sides (a rename across) counts as core.
 */
export function partitionSeries(patches: readonly PatchFile[], moduleDirs: readonly string[]): { core: string[]; modules: { patch: string; text: string }[] } {
  const core: string[] = [];
  const modules: { patch: string; text: string }[] = [];
  for (const p of patches) {
    const sections = splitPatch(p.text);
    const mod: string[] = [];
    for (const s of sections) {
      const paths = sectionPaths(s);
      // Kconfig files shape the configuration, so they always count as core.
      if (paths.length && paths.every((x) => isUnder(x, moduleDirs) && !/(^|\/)Kconfig[^/]*$/.test(x))) mod.push(s.text);
      else core.push(`${p.name}\n${s.text}`);
    }
    if (mod.length) modules.push({ patch: p.name, text: mod.join('') });
  }
  return { core, modules };
}
