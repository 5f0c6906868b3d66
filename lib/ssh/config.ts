// OpenSSH's client configuration (~/.ssh/config, or the file -F names) as the
// provision verbs read it, so an inventory can name hosts by the aliases an
// existing setup already has. Parsing and OpenSSH's first-match-wins rules for
// Host/Match blocks are the ssh-config package's; this module maps the few
// settings our client has: HostName, User, Port, IdentityFile, ProxyJump,
// UserKnownHostsFile.
// Include is not followed (the package does not), and `Match exec` is never
// run: reading a config must not start commands.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { resolve } from 'node:path';
import SSHConfig from 'ssh-config';
import { InputError } from '../errors.js';

/** What the config says about one host; undefined where it says nothing. */
export interface SshConfigHost {
  hostName?: string;
  user?: string;
  port?: number;
  /** The first IdentityFile that exists (OpenSSH tries them all; our client takes one). */
  identityFile?: string;
  /** The first hop of ProxyJump, as [user@]host[:port]. */
  proxyJump?: string;
  /** UserKnownHostsFile: the known_hosts files for this host ('none': an empty list). */
  knownHostsFiles?: string[];
}

export interface SshConfig {
  file: string;
  lookup(alias: string): SshConfigHost;
}

export const DEFAULT_SSH_CONFIG = () => resolve(homedir(), '.ssh/config');

/**
 * The config `spec` names: 'none' for no config, a path (which must be
 * readable), or undefined for ~/.ssh/config when it exists.
 */
export function loadSshConfig(spec: string | undefined, cwd = process.cwd()): SshConfig | undefined {
  if (spec === 'none') return undefined;
  const file = spec === undefined ? DEFAULT_SSH_CONFIG() : resolve(cwd, spec);
  if (spec === undefined && !existsSync(file)) return undefined;
  let text: string;
  try {
    accessSync(file, constants.R_OK);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError([{ file, pointer: '', rule: 'readable', message: `cannot read the ssh_config ${file} (${(e as NodeJS.ErrnoException).code})` }]);
  }
  const parsed = SSHConfig.parse(text);
  return { file, lookup: (alias) => hostOf(file, parsed, alias, cwd) };
}

function hostOf(file: string, parsed: SSHConfig, alias: string, cwd: string): SshConfigHost {
  const c = parsed.compute(alias, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;
  const one = (k: string) => {
    const v = c[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const hostName = one('hostname')?.replace(/%(%|h)/g, (_, t: string) => (t === '%' ? '%' : alias));
  const user = one('user');
  let port: number | undefined;
  const p = one('port');
  if (p !== undefined) {
    port = Number(p);
    if (!/^\d+$/.test(p) || port < 1 || port > 65535)
      throw new InputError([{ file, pointer: '', rule: 'port-range', message: `Port ${p} (for host ${alias}) is not 1..65535` }]);
  }
  const files = c.identityfile === undefined ? [] : Array.isArray(c.identityfile) ? c.identityfile : [c.identityfile];
  const tokens = (f: string) =>
    f
      .replace(/^~(?=\/|$)/, homedir())
      .replace(/%([%dhru])/g, (_, t: string) =>
        t === '%' ? '%' : t === 'd' ? homedir() : t === 'h' ? (hostName ?? alias) : t === 'r' ? (user ?? userInfo().username) : userInfo().username,
      );
  // As in ssh, a relative IdentityFile is relative to the working directory.
  const identityFile = files.map((f) => resolve(cwd, tokens(f))).find((f) => existsSync(f));
  const khValue = c.userknownhostsfile;
  const kh = khValue === undefined ? undefined : (Array.isArray(khValue) ? khValue : khValue.split(/\s+/)).filter((f) => f && f !== 'none');
  const jump = one('proxyjump')
    ?.split(',')[0]
    .trim()
    .replace(/^ssh:\/\//, '');
  return {
    hostName,
    user,
    port,
    identityFile,
    proxyJump: jump && jump.toLowerCase() !== 'none' ? jump : undefined,
    knownHostsFiles: kh?.map((f) => resolve(cwd, tokens(f))),
  };
}
