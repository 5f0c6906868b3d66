// Interrupted and concurrent builds (issue #8 part 4). The real `vrio build`
// CLI, as a child in its own process group (as a shell runs it), builds the
// CI kernel (Debian's linux-source-6.1) and both images, and is killed with
// SIGINT (Ctrl-C to the group) or SIGKILL (the group) at points spread over
// every stage. Each kill is triggered by observed progress (output lines,
// kbuild lines in the build log, files appearing), never by a sleep. After
// each kill everything that looks complete is checked (sha256 vs manifests,
// whole ELF/bzImage files), the locks must be free and SIGINT must exit 130;
// the next run resumes. One tree and build dir serve all kill points, so the
// kernel is compiled about once (the compile kill points come in one row).
// Then: the result against an uninterrupted image build, and two concurrent
// builds on one output dir. Figures are printed, and written as JSON to
// $VRIO_RELIABILITY_REPORT when set.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDocument } from 'yaml';
import { DIRTY_MARKER } from '../../builder/kernel/objdir.js';
import { isLocked, lockFileOf } from '../../lib/fsx.js';
import { dataPath } from '../../lib/paths.js';
import { ciKernelUnavailable, writeCiManifest } from '../../bench/ci-kernel/manifest.js';
import { cacheRoot } from '../integration/smoke-support.js';
import { checkOutputs, elfProblem, staleTemps, walkFiles } from '../support/build-outputs.js';
import { printFigures } from '../support/figures.js';
import { prerequisite } from '../support/prereq.js';
import { readImageManifest } from '../../builder/image/image-manifest.js';

const skip = prerequisite(ciKernelUnavailable());
const POLL_MS = 40;

type Sig = 'SIGINT' | 'SIGKILL';

interface Run {
  pid: number;
  output: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: () => boolean;
}

/** `vrio build` as a child process leading its own process group. */
function startBuild(manifest: string): Run {
  const child = spawn(process.execPath, [dataPath('dist/cli/bin.js'), 'build', '-m', manifest, '--no-color'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  return { pid: child.pid!, output: () => out, done, exited: () => exited };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const progressLine = /^\s{2}[A-Z][A-Z0-9_]{0,10}(?: \[M\])?\s+\S/;

/** New kbuild lines in the kernel build logs since a run started (read incrementally). */
class KernelLog {
  private offsets = new Map<string, number>();
  private rest = '';
  lines = 0;
  linked = false;
  constructor(private readonly logs: string) {
    for (const f of this.files()) this.offsets.set(f, statSync(f).size);
  }
  private files(): string[] {
    if (!existsSync(this.logs)) return [];
    return readdirSync(this.logs)
      .filter((n) => /^kernel-[0-9a-f]{12}\.log$/.test(n))
      .map((n) => join(this.logs, n));
  }
  scan(): void {
    for (const f of this.files()) {
      const from = this.offsets.get(f) ?? 0;
      const size = statSync(f).size;
      if (size <= from) continue;
      const fd = openSync(f, 'r');
      const b = Buffer.alloc(size - from);
      readSync(fd, b, 0, b.length, from);
      closeSync(fd);
      this.offsets.set(f, size);
      const text = this.rest + b.toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) {
        if (progressLine.test(l)) this.lines++;
        if (/^\s+LD\s+vmlinux(\.o)?\s*$/.test(l)) this.linked = true;
      }
    }
  }
}

interface Ctx {
  out: string;
  cache: string;
  run: Run;
  klog: KernelLog;
}

interface KillPoint {
  name: string;
  stage: string;
  signal: Sig;
  trigger: (c: Ctx) => boolean;
}

/** Entries of `dir` whose names match `re`, as paths. */
function entries(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

const treeTemps = (c: Ctx) => entries(join(c.out, 'kernel', 'trees'), /^\..*\.tmp-\d+/);
const buildDirs = (c: Ctx) => entries(join(c.out, 'kernel', 'builds'), /^[0-9a-f]{16}$/);

const killPoints: KillPoint[] = [
  { name: 'fetch: copying the source tarball', stage: 'fetch', signal: 'SIGKILL', trigger: (c) => /copying linux-debian/.test(c.run.output()) },
  { name: 'fetch: copying the source tarball (Ctrl-C)', stage: 'fetch', signal: 'SIGINT', trigger: (c) => /copying linux-debian/.test(c.run.output()) },
  {
    name: 'extract: unpacking the kernel tree',
    stage: 'extract',
    signal: 'SIGINT',
    trigger: (c) => treeTemps(c).some((t) => entries(join(t, 'src'), /./).length >= 5),
  },
  {
    name: 'extract: unpacking the kernel tree (killed)',
    stage: 'extract',
    signal: 'SIGKILL',
    trigger: (c) => treeTemps(c).some((t) => existsSync(join(t, 'src', 'arch')) && entries(join(t, 'src'), /./).length >= 10),
  },
  // The series is written into the temp tree just before `git apply` runs.
  { name: 'patch: applying the series', stage: 'patch', signal: 'SIGKILL', trigger: (c) => treeTemps(c).some((t) => existsSync(join(t, 'series'))) },
  {
    name: 'config: merging fragments',
    stage: 'config',
    signal: 'SIGKILL',
    trigger: (c) =>
      entries(join(c.out, 'kernel', 'configs'), /^[0-9a-f]{16}$/).some((d) => entries(d, /^\.obj\.tmp-/).some((o) => existsSync(join(o, '.config')))),
  },
  { name: 'compile: early', stage: 'compile', signal: 'SIGKILL', trigger: (c) => c.klog.lines >= 60 },
  { name: 'compile: middle', stage: 'compile', signal: 'SIGINT', trigger: (c) => c.klog.lines >= 450 },
  { name: 'compile: late', stage: 'compile', signal: 'SIGKILL', trigger: (c) => c.klog.lines >= 60 },
  { name: 'compile: linking vmlinux', stage: 'compile', signal: 'SIGINT', trigger: (c) => c.klog.linked },
  {
    name: 'modules: staging (modules_install, depmod)',
    stage: 'staging',
    signal: 'SIGKILL',
    trigger: (c) => buildDirs(c).some((b) => entries(b, /^\.stage\.tmp-/).length > 0),
  },
  { name: 'image: rootfs assembly', stage: 'rootfs', signal: 'SIGINT', trigger: (c) => existsSync(join(c.out, 'build', 'image', 'iohyp', 'rootfs')) },
  { name: 'image: cpio/initramfs', stage: 'initramfs', signal: 'SIGKILL', trigger: (c) => /rootfs iohyp done/.test(c.run.output()) },
  { name: 'image: ISO writing', stage: 'iso', signal: 'SIGINT', trigger: (c) => existsSync(join(c.out, 'build', 'image', 'iohyp', 'iso')) },
  {
    name: 'image: between roles (iohyp done, guest started)',
    stage: 'manifest',
    signal: 'SIGKILL',
    trigger: (c) => existsSync(join(c.out, 'images', 'iohyp', 'manifest.json')) && existsSync(join(c.out, 'build', 'image', 'guest')),
  },
  {
    name: 'image: guest outputs written, ISO/manifest pending',
    stage: 'manifest',
    signal: 'SIGKILL',
    trigger: (c) => entries(join(c.out, 'images'), /^\.guest\.tmp-/).some((t) => existsSync(join(t, 'sbom.spdx.json'))),
  },
];

interface PointResult {
  name: string;
  stage: string;
  signal: Sig;
  /** The trigger fired and the signal was sent while the build ran. */
  hit: boolean;
  /** The stage was over before a poll saw it: the kill landed at the start of the next one. */
  late: boolean;
  exit: number | null;
  exitSignal: string | null;
  outputsVerified: number;
  corrupt: string[];
  seconds: number;
}

/** Figures of the whole suite (printed, and written to $VRIO_RELIABILITY_REPORT). */
const figures = {
  killPointsTried: 0,
  killPointsHit: 0,
  sigint: 0,
  sigkill: 0,
  missed: [] as string[],
  stagesHit: [] as string[],
  rerunsCompleted: 0,
  outputsVerified: 0,
  corruptArtifactsReportedAsBuilt: 0,
  truncatedObjectInjected: '' as string,
  objectsCheckedAfterResume: 0,
  staleTempsAfterResume: -1,
  imagesIdenticalToUninterrupted: false as boolean,
  kernelCompileLines: 0,
  concurrent: { kernelStageRefused: false, imageStageWaited: false, intact: false },
  points: [] as PointResult[],
};

function writeFigures(): void {
  const s = figures;
  const lines = [
    'interrupted builds — figures',
    `  kill points tried        ${s.killPointsTried} (hit ${s.killPointsHit}: SIGINT ${s.sigint}, SIGKILL ${s.sigkill}${s.missed.length ? `; missed: ${s.missed.join(', ')}` : ''})`,
    `  stages hit               ${[...new Set(s.stagesHit)].join(', ')}`,
    `  kbuild lines compiled    ${s.kernelCompileLines} over all runs`,
    `  reruns completed         ${s.rerunsCompleted}`,
    `  outputs verified         ${s.outputsVerified}`,
    `  corrupt artifacts reported as built: ${s.corruptArtifactsReportedAsBuilt}`,
    `  images identical to an uninterrupted image build: ${s.imagesIdenticalToUninterrupted}`,
    `  concurrent builds: kernel stage refused ${s.concurrent.kernelStageRefused}, image stage waited ${s.concurrent.imageStageWaited}, result intact ${s.concurrent.intact}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  printFigures('interrupted builds', {
    'kill points tried': s.killPointsTried,
    hit: s.killPointsHit,
    SIGINT: s.sigint,
    SIGKILL: s.sigkill,
    'reruns completed': s.rerunsCompleted,
    'outputs verified': s.outputsVerified,
    'corrupt artifacts reported as built': s.corruptArtifactsReportedAsBuilt,
    'images identical to uninterrupted': String(s.imagesIdenticalToUninterrupted),
    'concurrent build refused/waited': `${s.concurrent.kernelStageRefused}/${s.concurrent.imageStageWaited}`,
  });
  const file = process.env.VRIO_RELIABILITY_REPORT;
  if (file) writeFileSync(file, JSON.stringify(figures, null, 2) + '\n');
}

describe('interrupted and concurrent vrio build (CI kernel)', { skip }, () => {
  let dir: string;
  let manifest: string;
  let out: string;
  let cache: string;
  let tarball: { file: string; sha256: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vrio-interrupt-'));
    out = join(dir, 'out');
    cache = join(dir, 'cache');
    manifest = await writeCiManifest(dir, { outputDir: out, cacheDir: cache });
    const doc = parseDocument(readFileSync(manifest, 'utf8')).toJS() as { sources: Record<string, { sha256: string }> };
    tarball = { file: join(cache, 'dl', 'linux-debian', 'linux-source-6.1.tar.xz'), sha256: doc.sources['linux-debian'].sha256 };
    // Debian packages already downloaded by other suites: linked, not fetched
    // again (the image stage verifies each against the lock anyway).
    const debs = join(cacheRoot, 'cache', 'debs');
    if (existsSync(debs)) {
      mkdirSync(join(cache, 'debs'), { recursive: true });
      for (const f of readdirSync(debs).filter((n) => n.endsWith('.deb'))) {
        try {
          linkSync(join(debs, f), join(cache, 'debs', f));
        } catch {
          /* another file system: the image stage downloads it */
        }
      }
    }
  });

  after(() => {
    writeFigures();
    if (dir && !process.env.VRIO_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  });

  function verify(label: string): { verified: number; corrupt: string[] } {
    const r = checkOutputs(out, tarball);
    figures.outputsVerified += r.verified.length;
    figures.corruptArtifactsReportedAsBuilt += r.corrupt.length;
    assert.deepEqual(r.corrupt, [], `${label}: outputs that look complete are corrupt`);
    return { verified: r.verified.length, corrupt: r.corrupt };
  }

  async function locksFree(label: string): Promise<void> {
    // The lock helper exits when it sees its pipe close: a moment after the kill.
    await until(`${label}: build locks released`, () => !isLocked(join(out, 'kernel')) && !isLocked(join(out, 'images')), 10_000);
  }

  it('is killed at every stage, never shows a corrupt output as built, and resumes', { timeout: 100 * 60_000 }, async () => {
    for (const [i, p] of killPoints.entries()) {
      // A stage can be over between two polls (a fast copy, a one-patch
      // series): then the next point's trigger stops this run one stage later,
      // instead of letting it run to the end and leave the later points nothing to interrupt.
      const next = killPoints[i + 1];
      figures.killPointsTried++;
      const started = Date.now();
      const run = startBuild(manifest);
      const c: Ctx = { out, cache, run, klog: new KernelLog(join(out, 'logs')) };
      let hit = false;
      let late = false;
      const deadline = Date.now() + 40 * 60_000;
      while (!run.exited()) {
        c.klog.scan();
        // (Not among the compile points: their triggers count lines of this run.)
        const own = p.trigger(c);
        if (own || (next && next.stage !== 'compile' && next.trigger(c))) {
          process.kill(-run.pid, p.signal);
          hit = true;
          late = !own;
          break;
        }
        assert.ok(Date.now() < deadline, `${p.name}: the trigger did not fire within 40 minutes\n${run.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      // unref: a pending 3-minute guard must not keep the test process alive after the last kill.
      const stop = await Promise.race([run.done, sleep(180_000, undefined, { ref: false })]);
      if (!stop) {
        process.kill(-run.pid, 'SIGKILL');
        assert.fail(`${p.name}: vrio build did not stop within 180s of ${p.signal}\n${run.output().slice(-3000)}`);
      }
      await until(`${p.name}: every process of the killed build gone`, () => !groupAlive(run.pid), 60_000);
      c.klog.scan();
      figures.kernelCompileLines += c.klog.lines;
      if (hit && stop.code === 0) hit = false; // the signal came as the build finished: nothing was interrupted
      if (hit) {
        figures.killPointsHit++;
        figures.stagesHit.push(late ? next.stage : p.stage);
        if (p.signal === 'SIGINT') figures.sigint++;
        else figures.sigkill++;
      } else figures.missed.push(p.name);

      if (hit && p.signal === 'SIGINT') {
        assert.equal(stop.code, 130, `${p.name}: Ctrl-C must exit 130\n${run.output().slice(-3000)}`);
        assert.match(run.output(), /interrupted by SIGINT|SIGINT received/);
      }
      if (hit && p.signal === 'SIGKILL') assert.equal(stop.signal, 'SIGKILL');
      if (!hit) assert.equal(stop.code, 0, `${p.name}: the build failed instead\n${run.output().slice(-3000)}`);
      const v = verify(p.name);
      await locksFree(p.name);

      // What SIGKILL can leave in a compile: the object being written, cut
      // short, newer than its source. Make it certain (the kill may have
      // landed between two objects) and let the resumed build prove it copes.
      if (hit && p.name === 'compile: early') {
        const obj = join(buildDirs(c)[0], 'obj');
        assert.ok(existsSync(join(obj, DIRTY_MARKER)), 'a SIGKILLed compile leaves its build dir marked dirty');
        const objs = walkFiles(obj, (f) => f.endsWith('.o') && statSync(f).size > 1024);
        const newest = objs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
        assert.ok(newest, 'the early compile produced objects');
        truncateSync(newest, Math.floor(statSync(newest).size / 2));
        assert.ok(elfProblem(newest));
        figures.truncatedObjectInjected = newest.slice(obj.length + 1);
      }
      process.stdout.write(
        `# kill point ${figures.killPointsTried}/${killPoints.length} ${p.name}: ${hit ? p.signal : 'missed'}${late ? ` (late: ${next.stage} had begun)` : ''}, exit ${stop.code ?? stop.signal}, ${v.verified} outputs verified\n`,
      );
      figures.points.push({
        name: p.name,
        stage: p.stage,
        signal: p.signal,
        hit,
        late,
        exit: stop.code,
        exitSignal: stop.signal,
        outputsVerified: v.verified,
        corrupt: v.corrupt,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    }
    assert.ok(figures.killPointsHit >= 10, `at least 10 kill points must land mid-build (hit ${figures.killPointsHit}; missed: ${figures.missed.join(', ')})`);
    assert.ok(figures.sigint >= 3 && figures.sigkill >= 3, 'both signals are exercised');
  });

  it('completes after the kills with every artifact intact', { timeout: 60 * 60_000 }, async () => {
    const run = startBuild(manifest);
    const r = await run.done;
    assert.equal(r.code, 0, run.output().slice(-3000));
    figures.rerunsCompleted++;
    const v = verify('final run');
    assert.ok(existsSync(join(out, 'images', 'iohyp', 'manifest.json')) && existsSync(join(out, 'images', 'guest', 'manifest.json')));
    assert.ok(v.verified >= 5, `trees, configs, builds and both images verified (got ${v.verified})`);
    // Every object the kernel was linked from is whole, the injected cut-short one included.
    const [build] = entries(join(out, 'kernel', 'builds'), /^[0-9a-f]{16}$/);
    const obj = join(build, 'obj');
    assert.ok(!existsSync(join(obj, DIRTY_MARKER)), 'a finished build leaves no dirty marker');
    const objs = walkFiles(obj, (f) => f.endsWith('.o') || f.endsWith('.ko'));
    const broken = objs.map((f) => [f, elfProblem(f)]).filter(([, e]) => e);
    assert.deepEqual(broken, []);
    figures.objectsCheckedAfterResume = objs.length;
    if (figures.truncatedObjectInjected) assert.equal(elfProblem(join(obj, figures.truncatedObjectInjected)), undefined);
    // What killed runs left in temp names was removed by the runs after them.
    const temps = staleTemps(out);
    figures.staleTempsAfterResume = temps.length;
    assert.deepEqual(temps, []);
    await locksFree('final run');
  });

  it('writes the same images as an uninterrupted image build', { timeout: 30 * 60_000 }, async () => {
    const images = join(out, 'images');
    const aside = join(dir, 'images.interrupted');
    renameSync(images, aside);
    const run = startBuild(manifest);
    const r = await run.done;
    assert.equal(r.code, 0, run.output().slice(-3000));
    figures.rerunsCompleted++;
    verify('uninterrupted image build');
    for (const role of ['iohyp', 'guest']) {
      const a = readImageManifest(join(aside, role, 'manifest.json'));
      const b = readImageManifest(join(images, role, 'manifest.json'));
      assert.deepEqual(a.outputs, b.outputs, `${role}: the interrupted-and-resumed build differs from an uninterrupted one`);
    }
    figures.imagesIdenticalToUninterrupted = true;
    rmSync(aside, { recursive: true, force: true });
  });

  it('refuses a second build while the kernel stage is locked, and makes the image stage wait', { timeout: 30 * 60_000 }, async () => {
    // The kernel stage: make A do real work (restage from the finished obj dir).
    const [build] = entries(join(out, 'kernel', 'builds'), /^[0-9a-f]{16}$/);
    rmSync(join(build, 'state.json'));
    const a = startBuild(manifest);
    await until('build A in the kernel stage', () => /compiling the kernel/.test(a.output()) || a.exited(), 5 * 60_000);
    assert.ok(!a.exited(), a.output());
    assert.ok(isLocked(join(out, 'kernel')), 'build A holds the kernel lock');
    const b = startBuild(manifest);
    const rb = await b.done;
    const ra = await a.done;
    assert.equal(ra.code, 0, a.output().slice(-3000));
    assert.equal(rb.code, 1, `the second build fails while the first holds the lock\n${b.output()}`);
    assert.match(b.output(), /kernel outputs in .* is locked by another vrio process \(pid \d+\)/);
    assert.ok(b.output().includes(lockFileOf(join(out, 'kernel'))), `the error names the lock file\n${b.output()}`);
    figures.concurrent.kernelStageRefused = true;
    figures.rerunsCompleted++;

    // The image stage: C rebuilds the guest image; D, started meanwhile, waits for it.
    // (The image lock is taken per role, so which of the two builds the guest
    // is up to the scheduler; the other must wait, then find it up to date.)
    rmSync(join(out, 'images', 'guest'), { recursive: true });
    const c = startBuild(manifest);
    await until('build C building the guest image', () => /image guest: kernel/.test(c.output()) || c.exited(), 5 * 60_000);
    assert.ok(!c.exited(), c.output());
    const d = startBuild(manifest);
    const [rc, rd] = await Promise.all([c.done, d.done]);
    assert.equal(rc.code, 0, c.output().slice(-3000));
    assert.equal(rd.code, 0, d.output().slice(-3000));
    figures.rerunsCompleted += 2;
    const waited = [c, d].find((x) => /waiting for image output .*locked by another vrio process/.test(x.output()));
    assert.ok(waited, `one build waited for the other's image lock\n--- C\n${c.output()}\n--- D\n${d.output()}`);
    assert.match(waited.output(), /image guest: up to date/);
    figures.concurrent.imageStageWaited = true;
    verify('concurrent builds');
    assert.deepEqual(staleTemps(out), []);
    figures.concurrent.intact = true;
    await locksFree('concurrent builds');
  });
});
