// Driving Ansible for the comparison, with its fastest honest settings:
// forks = number of hosts, SSH pipelining on, ControlMaster/ControlPersist
// (Ansible's default connection reuse), no fact gathering, a fixed Python
// interpreter (no discovery round trip), strict host key checking against the
// same known_hosts file our side uses.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { VrioError, MissingToolError } from '../lib/errors.js';
import { run, which } from '../lib/exec.js';
import { dataPath } from '../lib/paths.js';

export interface AnsibleRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

export interface AnsibleSetup {
  dir: string;
  configFile: string;
  inventoryFile: string;
  extraVarsFile: string;
  controlDir: string;
}

/** ansible-playbook, installed from Debian's ansible-core package when missing (root only). */
export async function ensureAnsible(log: (m: string) => void = () => {}): Promise<string> {
  const found = which('ansible-playbook');
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new MissingToolError([{ tool: 'ansible-playbook', debianPackage: 'ansible-core', why: 'the provisioning comparison' }]);
  }
  log('installing ansible-core from Debian (apt-get) for the comparison');
  const install = () =>
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'ansible-core'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      timeoutMs: 600_000,
      allowFail: true,
    });
  // A fresh machine may have empty package lists: update once, then try again.
  if ((await install()).code !== 0) {
    await run('apt-get', ['update', '-q'], { timeoutMs: 600_000 });
    const again = await install();
    if (again.code !== 0)
      throw new VrioError(`apt-get install ansible-core failed (exit ${again.code})`, { hint: 'install it by hand: apt-get install ansible-core' });
  }
  const now = which('ansible-playbook');
  if (!now) throw new VrioError('ansible-core was installed but ansible-playbook is not on PATH');
  return now;
}

export type PlaybookName = 'facts' | 'facts-batched' | 'write';

/** Debian's ansible-mitogen package puts its strategy plugins here. */
export const MITOGEN_STRATEGY_DIR = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';

export function playbook(name: PlaybookName): string {
  return dataPath('bench', 'ansible', `${name}.yml`);
}

export interface WriteSpec {
  dirs: string[];
  files: { path: string; mode: string; content: string }[];
}

export function writeSpec(): WriteSpec {
  return parse(readFileSync(dataPath('bench', 'workloads', 'write-spec.yaml'), 'utf8')) as WriteSpec;
}

export interface AnsibleSetupOptions {
  forks: number;
  knownHostsFile: string;
  /** The command the batched read-only playbook runs in its one shell task. */
  factsCommand?: string;
  /** Run with Mitogen's linear strategy (Debian's ansible-mitogen) instead of Ansible's own. */
  mitogen?: boolean;
}

/** Lay out ansible.cfg, the inventory and extra vars in `dir`. */
export function setupAnsible(dir: string, inventoryIni: string, opts: AnsibleSetupOptions): AnsibleSetup {
  mkdirSync(dir, { recursive: true });
  const controlDir = join(dir, 'cp');
  mkdirSync(controlDir, { recursive: true });
  const configFile = join(dir, 'ansible.cfg');
  const inventoryFile = join(dir, 'inventory.ini');
  const extraVarsFile = join(dir, 'extra-vars.json');
  writeFileSync(inventoryFile, inventoryIni);
  const spec = writeSpec();
  writeFileSync(
    extraVarsFile,
    JSON.stringify({ bench_dirs: spec.dirs, bench_files: spec.files, ...(opts.factsCommand ? { bench_facts_cmd: opts.factsCommand } : {}) }),
  );
  writeFileSync(
    configFile,
    [
      '[defaults]',
      `forks = ${opts.forks}`,
      'gathering = explicit',
      'host_key_checking = True',
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      ...(opts.mitogen ? [`strategy_plugins = ${MITOGEN_STRATEGY_DIR}`, 'strategy = mitogen_linear'] : []),
      'timeout = 30',
      `local_tmp = ${join(dir, 'tmp')}`,
      '',
      '[ssh_connection]',
      'pipelining = True',
      `ssh_args = -o ControlMaster=auto -o ControlPersist=300s -o UserKnownHostsFile=${opts.knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
      `control_path_dir = ${controlDir}`,
      '',
    ].join('\n'),
  );
  return { dir, configFile, inventoryFile, extraVarsFile, controlDir };
}

/** Totals of the PLAY RECAP lines. */
export function parseRecap(output: string): AnsibleRecap {
  const r: AnsibleRecap = { ok: 0, changed: 0, unreachable: 0, failed: 0 };
  const re = /^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm;
  let m: RegExpExecArray | null;
  let hosts = 0;
  while ((m = re.exec(output))) {
    hosts++;
    r.ok += Number(m[1]);
    r.changed += Number(m[2]);
    r.unreachable += Number(m[3]);
    r.failed += Number(m[4]);
  }
  if (hosts === 0) throw new VrioError('ansible-playbook printed no PLAY RECAP');
  return r;
}

/** The ansible-playbook command line and environment of one playbook over the inventory. */
export function playbookCommand(setup: AnsibleSetup, name: PlaybookName): { argv: string[]; env: Record<string, string> } {
  return {
    argv: ['ansible-playbook', '-i', setup.inventoryFile, '-e', `@${setup.extraVarsFile}`, playbook(name)],
    env: { ANSIBLE_CONFIG: setup.configFile, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOME: join(setup.dir, 'home') },
  };
}

/** The recap of a finished playbook run; throws when any host failed or was unreachable. */
export function checkPlaybook(name: PlaybookName, stdout: string, logFile?: string): AnsibleRecap {
  const recap = parseRecap(stdout);
  if (recap.failed || recap.unreachable) {
    throw new VrioError(`ansible-playbook ${name}: ${recap.failed} failed, ${recap.unreachable} unreachable`, {
      hint: logFile ? `see ${logFile}` : undefined,
    });
  }
  return recap;
}

/**
 * Close the persistent SSH masters Ansible left (ControlPersist), so the next
 * "cold" run really opens new connections and no ssh process outlives the bench.
 */
export async function closeMasters(setup: AnsibleSetup): Promise<number> {
  if (!existsSync(setup.controlDir)) return 0;
  let closed = 0;
  for (const sock of readdirSync(setup.controlDir)) {
    const r = await run('ssh', ['-o', `ControlPath=${join(setup.controlDir, sock)}`, '-O', 'exit', 'bench-master'], {
      allowFail: true,
      timeoutMs: 10_000,
    });
    if (r.code === 0) closed++;
  }
  return closed;
}
