// The files operation: files and directories a host must have (or not), as
// pure functions from (facts, desired files) to changes, like ops/vrio.ts.
// Idempotent the way Ansible's copy/file modules are: content compared by
// sha256 (the facts round trip hashes each file on the host), then the mode;
// only what differs is written. Writes go to a temp file beside the target and
// are renamed over it, so a reader never sees half a file.
import type { Facts, FileFact } from '../facts.js';
import type { Host } from '../inventory-types.js';
import type { Change } from './change.js';
import { Payload } from '../payload.js';
import { shScript } from '../../lib/shell.js';

/**
 * Largest file content the operation carries. The content travels on the
 * command's stdin, so this is no command-line limit: it keeps the inventory a
 * list of small configuration files (bigger ones belong in the image).
 */
export const MAX_FILE_BYTES = 64 * 1024;

export const modeText = (m: number): string => '0' + m.toString(8).padStart(3, '0');

// $1 path, $2 mode; the content on stdin (provision/payload.ts), never in an
// argument. The temp file comes from mktemp in the target's directory: created
// O_EXCL with a random name and mode 0600, so a symlink planted at a guessable
// name (the old "$1.vrio-tmp.$$") cannot redirect the write, and nobody reads
// the content before the final mode is set. Parents get mode 0755; the temp
// file is removed on failure.
const WRITE = [
  'd=${1%/*}; [ -z "$d" ] || [ -d "$d" ] || (umask 022 && mkdir -p -- "$d") || exit 1',
  't=$(mktemp "$1.vrio-XXXXXX") || exit 1',
  'trap \'rm -f -- "$t"\' EXIT',
  'cat > "$t" && chmod "$2" "$t" && mv -f -- "$t" "$1" || exit 1',
  't=',
].join('\n');

const change = (host: Host, kind: Change['kind'], summary: string, argv: string[], data: Record<string, unknown>, diff: Change['diff']): Change => ({
  host: host.name,
  kind,
  summary,
  data: { kind, ...data },
  argv,
  diff,
  // Independent of each other and without recovery: one remote command for all.
  batch: true,
});

/** A chmod of what is there already (file or directory), its content left alone. */
const modeChange = (host: Host, p: string, current: number, mode: string, before: string | null, after: string): Change =>
  change(host, 'file-mode', `set mode of ${p} ${modeText(current)} -> ${mode}`, ['chmod', mode, '--', p], { path: p, mode }, { path: p, before, after });

function describe(f: FileFact | undefined): string | null {
  if (!f || f.type === 'missing') return null;
  if (f.type === 'file') return `file ${modeText(f.mode)} sha256:${(f.sha256 ?? '?').slice(0, 12)}`;
  return `${f.type} ${modeText(f.mode)}`;
}

/** The changes that bring a host's files to its inventory entries; errors for what it will not touch. */
export function planFiles(host: Host, facts: Facts): { changes: Change[]; errors: string[] } {
  const changes: Change[] = [];
  const errors: string[] = [];
  for (const spec of host.files) {
    const cur = facts.files?.[spec.path];
    const have = cur?.type ?? 'missing';
    const before = describe(cur);
    const p = spec.path;
    if (spec.state === 'absent') {
      if (have === 'missing') continue;
      if (have === 'directory' && spec.type !== 'directory') {
        errors.push(`${p} is a directory: give type: directory to remove it with everything in it`);
        continue;
      }
      const argv = have === 'directory' ? ['rm', '-rf', '--', p] : ['rm', '-f', '--', p];
      changes.push(
        change(host, 'file-remove', `remove ${have === 'directory' ? 'directory' : have} ${p}`, argv, { path: p, was: have }, { path: p, before, after: null }),
      );
      continue;
    }
    const mode = modeText(spec.mode);
    if (spec.type === 'directory') {
      if (have === 'missing') {
        // -m sets the new directory's own mode exactly; parents get the default.
        changes.push(
          change(
            host,
            'dir-create',
            `create directory ${p} (${mode})`,
            ['mkdir', '-p', '-m', mode, '--', p],
            { path: p, type: 'directory', mode },
            { path: p, before, after: `directory ${mode}` },
          ),
        );
      } else if (have !== 'directory') {
        errors.push(`${p} exists as a ${have}, not a directory (remove it first, e.g. an entry with state: absent)`);
      } else if (cur!.mode !== spec.mode) {
        changes.push(modeChange(host, p, cur!.mode, mode, before, `directory ${mode}`));
      }
      continue;
    }
    if (have !== 'missing' && have !== 'file') {
      const what = have === 'other' ? 'FIFO, device or socket' : have;
      errors.push(`${p} exists as a ${what}, not a regular file (vrio does not write through links, over directories or into special files)`);
      continue;
    }
    const after = `file ${mode} sha256:${spec.sha256!.slice(0, 12)}`;
    if (have === 'missing' || cur!.sha256 !== spec.sha256) {
      const content = new Payload(spec.content!);
      const c = change(
        host,
        'file-write',
        `${have === 'missing' ? 'create' : 'rewrite'} ${p} (${content.size} bytes, sha256:${content.sha256.slice(0, 12)}, ${mode})`,
        shScript(WRITE, [p, mode]),
        { path: p, type: 'file', mode, sha256: content.sha256, bytes: content.size },
        { path: p, before, after },
      );
      changes.push({ ...c, stdin: content });
    } else if (cur!.mode !== spec.mode) {
      changes.push(modeChange(host, p, cur!.mode, mode, before, after));
    }
  }
  return { changes, errors };
}

/** What a file change does to the facts (for plan's projection and idempotence checks). */
export function projectFileChange(facts: Facts, c: Change): void {
  const x = c.data as { path: string; mode?: string; sha256?: string; type?: 'file' | 'directory' };
  const files = (facts.files ??= {});
  const mode = x.mode !== undefined ? parseInt(x.mode, 8) : undefined;
  switch (c.kind) {
    case 'file-write':
      files[x.path] = { type: 'file', mode: mode!, sha256: x.sha256 };
      break;
    case 'dir-create':
      files[x.path] = { type: 'directory', mode: mode! };
      break;
    case 'file-mode':
      if (files[x.path]) files[x.path].mode = mode!;
      break;
    case 'file-remove':
      for (const k of Object.keys(files)) if (k === x.path || k.startsWith(x.path + '/')) files[k] = { type: 'missing', mode: 0 };
      break;
  }
}
