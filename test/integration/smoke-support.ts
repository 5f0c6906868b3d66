// Shared by the smoke, workflow and lab tests: how to run the CLI, which QEMU
// processes are still alive, and the 6.1 CI-kernel images of the builder tests.
//
// The vRIO tests boot the 3.10 vRIO images (test/support/vrio-images.ts). The
// CI-kernel images come from VRIO_CI_IMAGES (an output dir of `vrio build` with
// images/iohyp and images/guest) or are built here from the CI kernel fixture
// into the persistent test cache (VRIO_TEST_CACHE, default <tmp>/vrio-test-cache,
// the same place the kernel and image tests use, so the kernel compiles once).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before } from 'node:test';
import { run } from '../../lib/exec.js';
import { ciKernelUnavailable, writeCiManifest } from '../../bench/ci-kernel/manifest.js';
import { cacheRoot, cliBin } from '../support/vrio-images.js';

export { cacheRoot, cliBin } from '../support/vrio-images.js';

export interface CiImages {
  /** Output dir holding images/iohyp and images/guest. */
  out: string;
  /** The manifest that built them (for the workflow test's build step). */
  manifest?: string;
}

function hasImages(out: string): boolean {
  return ['iohyp', 'guest'].every((r) => existsSync(join(out, 'images', r, 'manifest.json')));
}

let cached: Promise<CiImages | string> | undefined;

/** The CI images, or the reason they cannot be had here (the tests then skip with it). */
export function ciImages(): Promise<CiImages | string> {
  return (cached ??= (async () => {
    const env = process.env.VRIO_CI_IMAGES;
    if (env) return hasImages(env) ? { out: env } : `VRIO_CI_IMAGES=${env} has no images/iohyp and images/guest`;
    const why = ciKernelUnavailable();
    if (why) return `CI kernel cannot be built: ${why}`;
    const dir = join(cacheRoot, 'ci-kernel');
    const manifest = await writeCiManifest(dir, { outputDir: join(dir, 'out'), cacheDir: join(cacheRoot, 'cache') });
    // Content-addressed: a no-op when the kernel and images are already built.
    await run(process.execPath, [cliBin(), 'build', '-m', manifest, '--no-color'], { logFile: join(dir, 'smoke-test-build.log'), timeoutMs: 60 * 60_000 });
    return hasImages(join(dir, 'out')) ? { out: join(dir, 'out'), manifest } : `vrio build finished but ${join(dir, 'out', 'images')} lacks iohyp/guest images`;
  })());
}

/**
 * For a test file or suite: a `before` hook that gets the CI-kernel images,
 * and the holder the tests read them (or why they are missing) from.
 */
export function ciImagesFixture(): { imgs?: CiImages; missing: string | false } {
  const f: { imgs?: CiImages; missing: string | false } = { missing: false };
  before(async () => {
    const r = await ciImages();
    if (typeof r === 'string') f.missing = r;
    else f.imgs = r;
  });
  return f;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (`vrio ARGS`) as a child process. */
export function vrio(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (pid: number) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin(), ...args], {
      cwd: o.cwd,
      env: { ...process.env, NO_COLOR: '1', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 15 * 60_000);
    child.once('error', reject);
    child.once('spawn', () => o.onSpawn?.(child.pid!));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Pids of live processes whose command line contains `marker` (e.g. a log or state dir). */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(marker)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** JSON lines printed by a `--json` run, parsed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
