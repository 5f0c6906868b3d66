// The inventory side of the files operation: checks JSON Schema cannot express
// (semantic rules) and resolution into FileSpec (group entries first, host
// entries win per path; `source` read relative to the inventory, content hashed).
import { createHash } from 'node:crypto';
import { pointerOf } from '../lib/document.js';
import { readRegularFile, ReadRefused } from '../lib/regular-file.js';
import type { FileSpec, RawFile, RawInventory } from './inventory-types.js';
import { MAX_FILE_BYTES } from './ops/files.js';
import type { Issue } from './issue.js';

type Path = (string | number)[];

function hostEntries(inv: RawInventory): [string, 'iohyps' | 'guests', RawFile[] | undefined][] {
  return [
    ...Object.entries(inv.iohyps ?? {}).map(([n, h]) => [n, 'iohyps', h.files] as [string, 'iohyps', RawFile[] | undefined]),
    ...Object.entries(inv.guests ?? {}).map(([n, h]) => [n, 'guests', h.files] as [string, 'guests', RawFile[] | undefined]),
  ];
}

/** Semantic rules for `files:` lists on hosts and groups. */
export function fileIssues(inv: RawInventory, file: string): Issue[] {
  const issues: Issue[] = [];
  const add = (path: Path, rule: string, message: string, hint?: string) =>
    issues.push({ file, pointer: pointerOf(path), rule, message, ...(hint ? { hint } : {}) });
  const checkList = (list: RawFile[] | undefined, base: Path) => {
    const seen = new Map<string, number>();
    (list ?? []).forEach((f, i) => {
      const at = [...base, i];
      const type = f.type ?? 'file';
      const state = f.state ?? 'present';
      if (seen.has(f.path))
        add(
          [...at, 'path'],
          'unique-file',
          `${f.path} is already listed at ${pointerOf([...base, seen.get(f.path)!])}`,
          'one entry per path and host (a host entry overrides a group one)',
        );
      else seen.set(f.path, i);
      if (state === 'absent') {
        for (const k of ['content', 'source', 'mode'] as const)
          if (f[k] !== undefined) add([...at, k], 'file-absent', `state: absent takes no ${k}`, `drop ${k}, or make the entry state: present`);
        return;
      }
      if (type === 'directory') {
        for (const k of ['content', 'source'] as const) if (f[k] !== undefined) add([...at, k], 'file-directory', `a directory has no ${k}`);
        return;
      }
      if ((f.content === undefined) === (f.source === undefined))
        add(
          at,
          'file-content-or-source',
          f.content === undefined ? `file ${f.path} needs content or source` : `file ${f.path} has both content and source`,
          'give exactly one: content: "..." or source: local/file',
        );
    });
  };
  for (const [g, grp] of Object.entries(inv.groups ?? {})) checkList(grp.files, ['groups', g, 'files']);
  for (const [n, kind, list] of hostEntries(inv)) checkList(list, [kind, n, 'files']);

  // Per host, after merging: two groups that set one path differently, and a
  // file that would have to be a directory of another entry.
  // Only groups with files matter here; their members are looked up in a set, not scanned per host.
  const withFiles = Object.entries(inv.groups ?? {})
    .filter(([, grp]) => grp.files?.length)
    .map(([g, grp]) => ({ g, files: grp.files!, members: new Set(grp.hosts) }));
  for (const [n, kind, list] of hostEntries(inv)) {
    const own = new Set((list ?? []).map((f) => f.path));
    const fromGroup = new Map<string, { g: string; i: number; f: RawFile }>();
    for (const { g, files, members } of withFiles) {
      if (!members.has(n)) continue;
      files.forEach((f, i) => {
        if (own.has(f.path)) return;
        const prev = fromGroup.get(f.path);
        if (prev && JSON.stringify(prev.f) !== JSON.stringify(f))
          add(
            ['groups', g, 'files', i],
            'file-conflict',
            `host ${n} gets ${f.path} from groups ${prev.g} and ${g} with different settings`,
            `set it on /${kind}/${n}/files to decide`,
          );
        else if (!prev) fromGroup.set(f.path, { g, i, f });
      });
    }
    const present = [...(list ?? []), ...[...fromGroup.values()].map((x) => x.f)].filter((f) => (f.state ?? 'present') === 'present');
    for (const f of present) {
      if ((f.type ?? 'file') !== 'file') continue;
      const under = present.find((o) => o.path.startsWith(f.path + '/'));
      if (under) add([kind, n], 'file-parent', `${f.path} is a file on host ${n} but ${under.path} needs it to be a directory`);
    }
  }
  return issues;
}

export type Report = (pointer: string, rule: string, message: string, hint?: string) => void;

/**
 * A host's effective files. `groupLists` are the host's groups' lists in
 * group order; `resolveSource` turns a source (after ${NAME}) into an absolute path.
 */
export function resolveFiles(
  groupLists: { list: RawFile[]; base: Path }[],
  own: { list: RawFile[]; base: Path },
  resolveSource: (source: string, pointer: string) => string,
  report: Report,
): FileSpec[] {
  const byPath = new Map<string, FileSpec>();
  for (const { list, base } of [...groupLists, own]) {
    list.forEach((f, i) => {
      const pointer = pointerOf([...base, i]);
      const type = f.type ?? 'file';
      const state = f.state ?? 'present';
      const spec: FileSpec = { path: f.path, type, state, mode: parseInt(f.mode ?? (type === 'directory' ? '0755' : '0644'), 8), pointer };
      if (state === 'present' && type === 'file') {
        let content: Buffer | undefined;
        if (f.content !== undefined) content = Buffer.from(f.content, 'utf8');
        else if (f.source !== undefined) {
          const src = resolveSource(f.source, `${pointer}/source`);
          try {
            // A FIFO or a device (/dev/zero) would be read forever: refused unread.
            content = readRegularFile(src, MAX_FILE_BYTES);
          } catch (e) {
            if (!(e instanceof ReadRefused)) throw e;
            const x = e.failure;
            if (x.kind === 'too-large')
              report(
                `${pointer}/source`,
                'file-size',
                `${src} is ${x.size} bytes; files carry at most ${MAX_FILE_BYTES} bytes`,
                'put bigger files into the image (an overlay) or a package',
              );
            else if (x.kind === 'not-regular')
              report(
                `${pointer}/source`,
                'file-source',
                `${src} is ${x.what}, not a regular file`,
                'source names a regular file (its content is copied once, when the inventory is loaded)',
              );
            else report(`${pointer}/source`, 'file-source', `cannot read ${src} (${x.code})`, 'a path relative to the inventory file, or absolute');
          }
        }
        if (content && content.length > MAX_FILE_BYTES)
          report(`${pointer}/content`, 'file-size', `content is ${content.length} bytes; at most ${MAX_FILE_BYTES}`);
        if (content) {
          spec.content = content;
          spec.sha256 = createHash('sha256').update(content).digest('hex');
        }
      }
      byPath.set(f.path, spec);
    });
  }
  return [...byPath.values()];
}
