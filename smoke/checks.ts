// The checks smoke runs over SSH in a booted image: kernel release, the role's
// modules load with the parameters we pass (read back from sysfs) and unload,
// the role's device nodes appear, and the user's own --check commands.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dataPath } from '../lib/paths.js';
import type { Session } from '../lib/ssh/client.js';
import { linkParams, vrioModules } from '../lib/vrio-modules.js';
import type { SmokeImage } from '../vm/image.js';

interface ChecksData {
  link: { interface: string; mtu: number };
  testModules: Record<string, Record<string, string | number>>;
  commandTimeoutSeconds: number;
}

let data: ChecksData | undefined;
export function checksData(): ChecksData {
  data ??= parse(readFileSync(dataPath('smoke/checks.yaml'), 'utf8')) as ChecksData;
  return data;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** Module names are passed to a remote shell: allow only what a kernel module name can be. */
const moduleName = /^[A-Za-z0-9_-]{1,64}$/;
const paramValue = /^[A-Za-z0-9_.:-]{0,64}$/;

/** The parameters `mod` is loaded with on a role: vRIO's (as the provisioner would pass them for the smoke VM's link), or a test module's. */
export function moduleParams(mod: string, kind: SmokeImage['kind']): Record<string, string> {
  const link = checksData().link;
  const vrio: Record<string, Record<string, string | number | undefined>> = linkParams(kind, link.interface, link.mtu);
  const p = vrio[mod] ?? checksData().testModules[mod] ?? {};
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, String(v)]));
}

export function modulesToLoad(img: SmokeImage): string[] {
  const vrio = vrioModules().roles[img.kind].load;
  // An image that does not record its modules gets the full vRIO set tried.
  return img.modules.length ? [...vrio, ...Object.keys(checksData().testModules)].filter((m) => img.modules.includes(m)) : vrio;
}

export function deviceNodes(mods: string[], kind: SmokeImage['kind']): string[] {
  return mods.flatMap((m) => vrioModules().roles[kind].deviceNodes[m] ?? []);
}

/** The shell script that loads the modules, prints each parameter as the kernel sees it, then unloads. */
export function moduleScript(mods: string[], kind: SmokeImage['kind']): string {
  const lines = ['set -e'];
  for (const m of mods) {
    if (!moduleName.test(m)) throw new Error(`bad module name in image manifest: ${m}`);
    const params = moduleParams(m, kind);
    for (const [k, v] of Object.entries(params)) if (!moduleName.test(k) || !paramValue.test(v)) throw new Error(`bad parameter ${k}=${v} for ${m}`);
    lines.push(
      `modprobe ${m} ${Object.entries(params)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`.trim(),
    );
    lines.push(`test -d /sys/module/${m} || { echo "module ${m}: not in /sys/module after modprobe" >&2; exit 1; }`);
    for (const k of Object.keys(params)) lines.push(`echo "param ${m} ${k} $(cat /sys/module/${m}/parameters/${k})"`);
  }
  return lines.join('\n');
}

export function unloadScript(mods: string[]): string {
  const rev = [...mods].reverse();
  return [
    ...rev.map((m) => `if grep -q '^${m} ' /proc/modules; then modprobe -r ${m} || rmmod ${m}; fi`),
    ...rev.map((m) => `if grep -q '^${m} ' /proc/modules; then echo "module ${m}: still loaded after unload" >&2; exit 1; fi`),
  ].join('\n');
}

async function timed(name: string, fn: () => Promise<string>): Promise<CheckResult> {
  const t = Date.now();
  try {
    const detail = await fn();
    return { name, ok: true, detail, seconds: (Date.now() - t) / 1000 };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message, seconds: (Date.now() - t) / 1000 };
  }
}

export async function runChecks(ssh: Session, img: SmokeImage, userChecks: string[]): Promise<CheckResult[]> {
  const timeoutMs = checksData().commandTimeoutSeconds * 1000;
  const out: CheckResult[] = [];
  out.push(
    await timed('kernel', async () => {
      const rel = (await ssh.check('uname -r', { timeoutMs })).trim();
      if (img.kernelRelease && rel !== img.kernelRelease) throw new Error(`running kernel ${rel}, image manifest says ${img.kernelRelease}`);
      return rel;
    }),
  );
  const mods = modulesToLoad(img);
  if (mods.length) {
    // The role's modules must be loaded by provisioning, with its parameters, not by
    // the image at boot (e.g. a front end auto-bound to a virtio NIC by its modalias).
    out.push(
      await timed('no role modules loaded at boot', async () => {
        const loaded = (await ssh.check('cut -d" " -f1 /proc/modules', { timeoutMs })).split('\n').filter((m) => mods.includes(m) || /^vrio_/.test(m));
        if (!loaded.length) return 'none';
        // Unload them (dependents first: repeat until nothing more goes) so the load check below is real.
        await ssh.exec(`for pass in 1 2 3 4 5 6; do for m in ${loaded.join(' ')}; do rmmod $m 2>/dev/null; done; done; true`, { timeoutMs });
        throw new Error(`loaded at boot: ${loaded.join(' ')} (unloaded again for the load check)`);
      }),
    );
    out.push(
      await timed('modules load', async () => {
        const r = await ssh.exec(moduleScript(mods, img.kind), { timeoutMs });
        if (r.code !== 0) {
          const dmesg = (await ssh.exec('dmesg | tail -n 8', { timeoutMs })).stdout.trim();
          throw new Error(`${r.stderr.trim() || `exit ${r.code}`}${dmesg ? `\n  dmesg: ${dmesg.split('\n').join('\n         ')}` : ''}`);
        }
        const seen = new Map(
          r.stdout
            .split('\n')
            .filter((l) => l.startsWith('param '))
            .map((l) => {
              const [, m, k, ...v] = l.split(' ');
              return [`${m}.${k}`, v.join(' ')];
            }),
        );
        for (const m of mods) {
          for (const [k, v] of Object.entries(moduleParams(m, img.kind))) {
            if (seen.get(`${m}.${k}`) !== v) throw new Error(`module ${m} parameter ${k}: kernel shows '${seen.get(`${m}.${k}`)}', loaded with '${v}'`);
          }
        }
        return mods.join(', ');
      }),
    );
    const nodes = deviceNodes(mods, img.kind);
    for (const n of nodes) out.push(await timed(`device ${n}`, async () => (await ssh.check(`test -c ${n} && ls -l ${n}`, { timeoutMs })).trim()));
    out.push(await timed('modules unload', async () => (await ssh.check(unloadScript(mods), { timeoutMs }), `${mods.length} unloaded`)));
  }
  for (const c of userChecks) out.push(await timed(`check: ${c}`, async () => (await ssh.check(c, { timeoutMs })).trim().split('\n').slice(-1)[0] ?? ''));
  return out;
}
