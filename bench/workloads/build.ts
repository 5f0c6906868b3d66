// Build figures: the CI test kernel (Debian's linux-source-6.1 + the vrio_test
// module) built cold by `vrio kernel build` and by raw `make` of the same
// prepared tree, config and flags (our overhead); a no-op rebuild; a one-file
// change in the test module (only the module rebuilds); sizes; and, once the
// image verbs exist, image assembly per role and a no-op `vrio build`.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageManifest } from '../../builder/image/image-manifest.js';
import { loadManifest } from '../../builder/manifest.js';
import { jobsFor, reproducibleFlags } from '../../builder/kernel/build.js';
import { prepareKernel } from '../../builder/kernel/index.js';
import { run } from '../../lib/exec.js';
import { ciUnavailable, ensureCi } from './ci.js';
import type { BuildResult, Figure, Span, Timeline } from '../model.js';
import { overheadPercent, summarize, timed } from '../stats.js';
import { runVrio, stepSpans, type CliRun } from '../vrio-cli.js';

export interface BuildBenchOptions {
  quick: boolean;
  runs: number;
  workDir: string;
  /** Shared with the boot section (which boots the images built here). */
  ciDir: string;
  /** ciDir holds a CI tree built by an earlier run: no cold build, no raw make. */
  reuse?: boolean;
  log: (msg: string) => void;
  signal?: AbortSignal;
}

interface KernelDoc {
  seconds: number;
  roles: Record<string, { bzImage: string; modulesRoot: string; action: 'full' | 'modules' | 'none'; release: string }>;
}

function kernelDoc(r: CliRun, what: string): KernelDoc {
  if (r.code !== 0) throw new Error(`${what}: vrio kernel build exited with ${r.code}`);
  const d = r.doc as KernelDoc | undefined;
  if (!d || typeof d.roles !== 'object') throw new Error(`${what}: vrio kernel build --json printed no result document`);
  return d;
}

function actions(d: KernelDoc): string[] {
  return [...new Set(Object.values(d.roles).map((x) => x.action))];
}

function dirBytes(dir: string): number {
  let n = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** The one-file change: bump VRIO_TEST_REVISION in the module's source inside the work copy's patch. */
export function bumpTestModule(patchFile: string, revision: number): void {
  const text = readFileSync(patchFile, 'utf8');
  const re = /^\+#define VRIO_TEST_REVISION \d+$/m;
  if (!re.test(text)) throw new Error(`${patchFile}: no VRIO_TEST_REVISION line to change`);
  writeFileSync(patchFile, text.replace(re, `+#define VRIO_TEST_REVISION ${revision}`));
}

export async function benchBuild(o: BuildBenchOptions): Promise<BuildResult> {
  const why = ciUnavailable();
  if (why) return { status: 'skipped', reason: `the CI test kernel cannot be built here: ${why}`, figures: [], timelines: [] };
  const figures: Figure[] = [];
  const timelines: Timeline[] = [];
  const notes: string[] = [];
  const ci = await ensureCi(o.ciDir);
  const { dir, manifest } = ci;
  const logs = join(o.workDir, 'logs');
  const kbuild = (tag: string) =>
    runVrio(['kernel', 'build', '-m', manifest, '--json'], { logFile: join(logs, `${tag}.log`), signal: o.signal, allowFail: true });

  // Cheap figures first, the second full compile (raw make) late: a run stopped
  // early (a busy machine, an interrupt) still reports what it measured.
  try {
    // 1. cold build (unless an already built CI tree is reused: then its first run is a no-op)
    o.log(o.reuse ? `build: reusing the built CI tree in ${o.ciDir} (no cold build)` : 'build: cold `vrio kernel build` of the CI test kernel');
    const cold = await kbuild(o.reuse ? 'kernel-reused' : 'kernel-cold');
    const coldDoc = kernelDoc(cold, o.reuse ? 'reused tree' : 'cold build');
    const role = Object.values(coldDoc.roles)[0];
    if (o.reuse) notes.push(`cold build and raw make not measured in this run: it reused the CI tree built in ${o.ciDir}`);
    else {
      if (!actions(coldDoc).includes('full')) notes.push(`the cold build did not report a full build (${actions(coldDoc).join(', ')})`);
      timelines.push({ label: 'vrio kernel build (cold)', spans: stepSpans(cold) });
      figures.push({
        id: 'kernel-cold',
        label: 'Cold `vrio kernel build` (CI test kernel: unpack, patch, config, compile, stage)',
        value: cold.seconds,
        unit: 's',
      });
    }

    // 2. no-op rebuilds
    o.log(`build: ${o.runs} no-op \`vrio kernel build\` run(s)`);
    const noop: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await kbuild(`kernel-noop-${i + 1}`);
      const d = kernelDoc(r, 'no-op build');
      if (actions(d).some((a) => a !== 'none')) notes.push(`no-op run ${i + 1} did work: ${actions(d).join(', ')}`);
      noop.push(r.seconds);
    }
    const noopS = summarize(noop);
    figures.push({
      id: 'kernel-noop',
      label: 'No-op `vrio kernel build` (nothing changed)',
      value: noopS.median,
      unit: 's',
      samples: noopS,
      goal: '~1 s',
      goalMet: noopS.median <= 1.5,
    });

    // 3. one-file change in the test module: only the module rebuilds
    o.log(`build: ${o.runs} one-file change(s) in the test module`);
    const patchFile = ci.patchFile;
    const change: number[] = [];
    let changeRun: CliRun | undefined;
    for (let i = 0; i < o.runs; i++) {
      bumpTestModule(patchFile, 100 + i);
      const r = await kbuild(`kernel-change-${i + 1}`);
      const d = kernelDoc(r, 'one-file change');
      // Roles sharing one build report 'none' after the first one rebuilt the modules.
      if (!actions(d).includes('modules') || actions(d).includes('full'))
        notes.push(`one-file change ${i + 1}: expected a modules-only rebuild, got ${actions(d).join(', ')}`);
      change.push(r.seconds);
      changeRun = r;
    }
    const changeS = summarize(change);
    figures.push({
      id: 'kernel-module-change',
      label: 'One-file change in the test module (modules-only rebuild)',
      value: changeS.median,
      unit: 's',
      samples: changeS,
    });
    if (changeRun) timelines.push({ label: 'one-file change', spans: stepSpans(changeRun) });

    // 4. sizes
    figures.push({ id: 'kernel-bzimage-size', label: 'bzImage size (CI test kernel)', value: statSync(role.bzImage).size, unit: 'bytes' });
    figures.push({ id: 'kernel-modules-size', label: 'Staged modules (CI test kernel)', value: dirBytes(role.modulesRoot), unit: 'bytes' });

    // 5. raw make of the same prepared tree, config and flags (against our cold build)
    if (!o.reuse) {
      o.log('build: raw make of the same tree and config');
      const m = loadManifest(manifest, dir, {}, process.env);
      const p = await prepareKernel(m, { signal: o.signal });
      const stageConfig = join(role.bzImage, '..', 'config');
      const rawObj = join(o.workDir, 'raw-make');
      mkdirSync(rawObj, { recursive: true });
      copyFileSync(stageConfig, join(rawObj, '.config'));
      const makeArgs = ['-C', p.tree.src, `O=${rawObj}`, `-j${jobsFor(m.kernel.jobs)}`, ...reproducibleFlags(m.sourceDateEpoch), ...p.makeFlags];
      const rawCompile = await timed(() => run('make', [...makeArgs, 'bzImage', 'modules'], { logFile: join(logs, 'raw-make.log'), signal: o.signal }));
      const rawInstall = await timed(() =>
        run('make', [...makeArgs, `INSTALL_MOD_PATH=${join(rawObj, 'mods')}`, 'INSTALL_MOD_STRIP=1', 'modules_install'], {
          logFile: join(logs, 'raw-make.log'),
          signal: o.signal,
        }),
      );
      const raw = rawCompile.seconds + rawInstall.seconds;
      timelines.push({
        label: 'raw make (same tree)',
        spans: [
          { name: 'make bzImage modules', start: 0, end: rawCompile.seconds },
          { name: 'make modules_install', start: rawCompile.seconds, end: raw },
        ],
      });
      figures.push({ id: 'kernel-raw-make', label: 'Raw `make bzImage modules` + `modules_install`, same tree, config and flags', value: raw, unit: 's' });
      const compileSpan = stepSpans(cold).find((s) => /compiling the kernel/.test(s.name));
      if (compileSpan) {
        const compileTime = compileSpan.end - compileSpan.start;
        figures.push({
          id: 'kernel-compile-overhead',
          label: 'Our compile step vs raw make (progress parsing, staging, depmod)',
          value: overheadPercent(compileTime, raw),
          unit: '%',
          note: `${compileTime.toFixed(1)} s vs ${raw.toFixed(1)} s`,
        });
      }
      figures.push({
        id: 'kernel-overhead',
        label: 'Cold `vrio kernel build` vs raw make, all steps',
        value: overheadPercent(cold.seconds, raw),
        unit: '%',
        note: 'includes unpacking the 6.1 tarball and patching, which raw make does not do',
      });
    }

    // 6. images: the image stage after the kernel
    await benchImages(manifest, o, logs, figures, timelines, notes);
  } catch (e) {
    if (!o.signal?.aborted && figures.length === 0) throw e;
    notes.push(`stopped early: ${(e as Error).message.split('\n')[0]}`);
  }
  return {
    status: notes.length ? 'partial' : 'ok',
    reason: notes.length ? notes.join('; ') : undefined,
    figures,
    timelines: timelines.map(normalizeTimeline),
  };
}

interface ImagesDoc {
  seconds: number;
  images: Record<string, { manifest: string; dir: string }>;
}

async function benchImages(manifest: string, o: BuildBenchOptions, logs: string, figures: Figure[], timelines: Timeline[], notes: string[]): Promise<void> {
  o.log('build: first `vrio build` (image stage cold: Debian packages into the cache, then every role assembled)');
  const first = await runVrio(['-m', manifest, 'build', '--json'], { logFile: join(logs, 'build-first.log'), signal: o.signal, allowFail: true });
  const doc = first.doc as ImagesDoc | undefined;
  if (first.code !== 0 || !doc?.images) {
    notes.push(`\`vrio build\` failed (exit ${first.code}); log: ${join(logs, 'build-first.log')}`);
    return;
  }
  figures.push({
    id: 'build-first-images',
    label: 'First `vrio build` after the kernel (packages fetched, all roles assembled)',
    value: first.seconds,
    unit: 's',
  });
  timelines.push({ label: 'vrio build (image stage cold)', spans: stepSpans(first) });

  for (const role of Object.keys(doc.images)) {
    o.log(`build: ${o.runs} forced image assembly run(s) for ${role}`);
    const t: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await runVrio(['-m', manifest, 'image', '--role', role, '--force', '--json'], {
        logFile: join(logs, `image-${role}-${i + 1}.log`),
        signal: o.signal,
        allowFail: true,
      });
      if (r.code !== 0) {
        notes.push(`\`vrio image --role ${role} --force\` failed (exit ${r.code})`);
        break;
      }
      t.push(r.seconds);
    }
    if (t.length) {
      const s = summarize(t);
      figures.push({
        id: `image-${role}`,
        label: `Image assembly, role ${role} (\`vrio image --force\`; kernel and packages cached)`,
        value: s.median,
        unit: 's',
        samples: s,
        goal: '<= 5 s',
        goalMet: s.median <= 5,
      });
    }
    try {
      const man = readImageManifest(doc.images[role].manifest);
      for (const [name, out] of Object.entries(man.outputs))
        figures.push({ id: `image-${role}-${name}-size`, label: `${role}: ${name}`, value: out.size, unit: 'bytes' });
    } catch (e) {
      notes.push(`image sizes of ${role}: ${(e as Error).message}`);
    }
  }

  o.log(`build: ${o.runs} no-op \`vrio build\` run(s)`);
  const noop: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await runVrio(['-m', manifest, 'build', '--json'], { logFile: join(logs, `build-noop-${i + 1}.log`), signal: o.signal, allowFail: true });
    if (r.code !== 0) {
      notes.push(`no-op \`vrio build\` failed (exit ${r.code})`);
      break;
    }
    noop.push(r.seconds);
  }
  if (noop.length) {
    const s = summarize(noop);
    figures.push({
      id: 'build-noop',
      label: 'No-op `vrio build` (kernel and images up to date)',
      value: s.median,
      unit: 's',
      samples: s,
      goal: '~1 s',
      goalMet: s.median <= 1.5,
    });
  }
}

function normalizeTimeline(t: Timeline): Timeline {
  const spans: Span[] = t.spans.filter((s) => s.end >= s.start);
  return { label: t.label, spans };
}
