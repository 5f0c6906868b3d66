// The final .config for one role: the base (a defconfig target or a file),
// the role's fragments merged on top (later wins), `make olddefconfig`, then
// verification that every fragment symbol kept its value. Cached by the hash
// of its inputs under <out>/kernel/configs/<key>/.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { run } from '../../lib/exec.js';
import { sha256, tempSibling, writeFileAtomic } from '../../lib/fsx.js';
import { ConfigVerifyError, applyToConfig, explainAll, mergeFragments, verifyConfig, type Fragment, type FragmentEntry } from './fragments.js';
import type { PreparedTree } from './tree.js';

export interface RoleConfig {
  key: string;
  /** The final, verified .config. */
  path: string;
  text: string;
  /** Every symbol the fragments set, with where it came from. */
  wanted: FragmentEntry[];
}

/** A defconfig value is a make target ("x86_64_defconfig", "tinyconfig") unless it looks like a path. */
export function defconfigIsTarget(defconfig: string): boolean {
  return /^[A-Za-z0-9_.-]*config$/.test(defconfig) && !defconfig.includes('/') && !/\.config$/.test(defconfig);
}

export function resolveDefconfig(defconfig: string, manifestDir: string): { target?: string; file?: string } {
  if (defconfigIsTarget(defconfig)) return { target: defconfig };
  return { file: isAbsolute(defconfig) ? defconfig : resolve(manifestDir, defconfig) };
}

export interface ConfigInputs {
  outputDir: string;
  tree: Pick<PreparedTree, 'key'>;
  defconfig: { target?: string; file?: string };
  fragments: Fragment[];
  /** Toolchain make variables (CC=, HOSTCC=): they take part in Kconfig's compiler checks. */
  makeFlags: string[];
}

/** The config's cache key and where it is (or will be) stored; `text` when it is made already. */
export function configCache(opts: ConfigInputs): {
  key: string;
  dir: string;
  path: string;
  wanted: FragmentEntry[];
  merged: ReturnType<typeof mergeFragments>;
  text?: string;
} {
  const merged = mergeFragments(opts.fragments);
  const wanted = [...merged.values()];
  const key = sha256(
    JSON.stringify({
      v: 1,
      tree: opts.tree.key,
      defconfig: opts.defconfig.target ?? `file:${sha256(readFileSync(opts.defconfig.file!))}`,
      wanted: wanted.map((e) => [e.symbol, e.value]),
      makeFlags: opts.makeFlags,
    }),
  );
  const dir = join(opts.outputDir, 'kernel', 'configs', key.slice(0, 16));
  const path = join(dir, 'config');
  return { key, dir, path, wanted, merged, text: existsSync(path) ? readFileSync(path, 'utf8') : undefined };
}

export async function makeConfig(opts: ConfigInputs & { tree: PreparedTree; logFile: string; signal?: AbortSignal }): Promise<RoleConfig> {
  const { key, dir, path, wanted, merged, text: cached } = configCache(opts);
  if (cached !== undefined) return { key, path, text: cached, wanted };

  const obj = tempSibling(join(dir, 'obj'));
  mkdirSync(obj, { recursive: true });
  const make = (...targets: string[]) =>
    run('make', ['-C', opts.tree.src, `O=${obj}`, ...opts.makeFlags, ...targets], { logFile: opts.logFile, signal: opts.signal });
  try {
    if (opts.defconfig.target) await make(opts.defconfig.target);
    else {
      copyFileSync(opts.defconfig.file!, join(obj, '.config'));
      await make('olddefconfig');
    }
    const cfg = join(obj, '.config');
    writeFileSync(cfg, applyToConfig(readFileSync(cfg, 'utf8'), merged));
    await make('olddefconfig');
    const text = readFileSync(cfg, 'utf8');
    const bad = verifyConfig(text, merged);
    if (bad.length) throw new ConfigVerifyError(explainAll(opts.tree.src, text, bad));
    writeFileAtomic(join(dir, 'wanted.json'), JSON.stringify(wanted, null, 2));
    writeFileAtomic(path, text);
    return { key, path, text, wanted };
  } finally {
    rmSync(obj, { recursive: true, force: true });
  }
}
