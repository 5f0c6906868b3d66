// group_vars/ and host_vars/ beside the inventory (Ansible's host_group_vars
// vars plugin and DataLoader.find_vars_files): for a name N, the first of
// N (a file, or a directory read recursively in sorted order), N.yml, N.yaml,
// N.json. Vault-encrypted files cannot be read without the password: they are
// named in a warning, never silently skipped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { PyValue } from './literal.js';
import { AnsibleParseError, type Inventory, type Vars } from './model.js';
import { loadYaml } from './yaml.js';

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

function dirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const full = join(dir, name);
    const ext = extname(name);
    const st = statSync(full);
    if (st.isDirectory() && !ext) out.push(...dirFiles(full));
    else if (st.isFile() && EXTENSIONS.includes(ext)) out.push(full);
  }
  return out;
}

function findVarsFiles(dir: string, name: string): string[] {
  for (const ext of EXTENSIONS) {
    const p = join(dir, name + ext);
    if (!existsSync(p)) continue;
    return statSync(p).isDirectory() ? dirFiles(p) : [p];
  }
  return [];
}

export class VarsFileError extends AnsibleParseError {
  constructor(
    readonly file: string,
    message: string,
    line?: number,
  ) {
    super(message, line, 'vars-file');
  }
}

function readVarsFile(file: string, warn: (w: string) => void): Vars {
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('$ANSIBLE_VAULT')) {
    warn(`${file}: vault-encrypted, not read (decrypt it, or import 'ansible-inventory --list' output instead)`);
    return {};
  }
  let data: unknown;
  try {
    data = loadYaml(text, 100_000);
  } catch (e) {
    if (e instanceof AnsibleParseError) throw new VarsFileError(file, e.message, e.line);
    throw e;
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new VarsFileError(file, `variables file must hold a mapping, got ${Array.isArray(data) ? 'a list' : typeof data}`);
  return data as Record<string, PyValue>;
}

/** Fills group.fileVars and host.fileVars from the directories beside the inventory. Returns the files read. */
export function readVarsDirs(inv: Inventory, baseDir: string, warn: (w: string) => void): string[] {
  const read: string[] = [];
  for (const [sub, entities] of [
    ['group_vars', [...inv.groups.values()]],
    ['host_vars', [...inv.hosts.values()]],
  ] as const) {
    const dir = join(baseDir, sub);
    if (!existsSync(dir)) continue;
    if (!statSync(dir).isDirectory()) {
      warn(`${dir} is not a directory, skipped (Ansible skips it too)`);
      continue;
    }
    for (const e of entities) {
      if (e.name.startsWith('/')) continue;
      for (const f of findVarsFiles(dir, e.name)) {
        Object.assign(e.fileVars, readVarsFile(f, warn));
        read.push(f);
      }
    }
  }
  return read;
}
