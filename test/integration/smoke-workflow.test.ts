// The CI example for users (docs/examples/github-actions-smoke.yml) is run here
// step by step, as written: the apt packages it installs must be real Debian
// packages present on this (Debian 12) CI host, the install step installs this
// package, and the `vrio` steps run verbatim (doctor, build = a no-op over the
// 3.10 vRIO images, smoke = the four boot paths BIOS/UEFI x CD/disk on both images).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { dataPath } from '../../lib/paths.js';
import { lacks } from '../support/prereq.js';
import { vrioImagesFixture } from '../support/vrio-images.js';
import { cliBin, pidsWith } from './smoke-support.js';
import { readImageManifest } from '../../builder/image/image-manifest.js';

interface Step {
  name?: string;
  run?: string;
  uses?: string;
}
const workflowFile = dataPath('docs/examples/github-actions-smoke.yml');
const wf = parse(readFileSync(workflowFile, 'utf8')) as { jobs: { smoke: { env: Record<string, string>; steps: Step[] } } };
const job = wf.jobs.smoke;
const step = (name: string) => {
  const s = job.steps.find((x) => x.name === name);
  assert.ok(s?.run, `${workflowFile} has a step named '${name}'`);
  return s.run;
};

const tmp = mkdtempSync(join(tmpdir(), 'vrio-workflow-it-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ci = vrioImagesFixture();

/** Run one workflow step with bash -e, `vrio` on PATH meaning this checkout's CLI. */
function runStep(script: string, env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'vrio'), `#!/bin/sh\nexec "${process.execPath}" "${cliBin()}" "$@"\n`);
  chmodSync(join(bin, 'vrio'), 0o755);
  const r = spawnSync('bash', ['-e', '-c', script], {
    cwd: tmp,
    env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 40 * 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('docs/examples/github-actions-smoke.yml', () => {
  test('installs real Debian packages, all present on this CI host, and vrio-appliance from where it is published', async () => {
    const host = step('Host tools').replace(/\\\n/g, ' ');
    const m = /apt-get install ([^\n]+)/.exec(host);
    assert.ok(m, 'an apt-get install line');
    const pkgs = m[1].split(/\s+/).filter((w) => w && !w.startsWith('-'));
    assert.ok(pkgs.includes('qemu-system-x86') && pkgs.includes('ovmf'), 'QEMU and OVMF are installed');
    for (const p of pkgs) {
      const st = execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
      assert.match(st, /install ok installed/, `${p} is a Debian package installed here`);
    }
    // vrio-appliance is not on the npm registry: the install names where it comes from.
    assert.equal(step('Install vrio').trim(), 'npm install -g "$VRIO_APPLIANCE"');
    assert.match(job.env.VRIO_APPLIANCE ?? '', /^git\+https:\/\/|\.tgz$/, 'VRIO_APPLIANCE is a git URL or an npm pack tarball');
    // The host tools it installs are the ones `vrio doctor --for build,image,smoke` checks.
    assert.match(step('Check host tools'), /vrio doctor --for build,image,smoke/);
    for (const p of ['isolinux', 'syslinux-common']) assert.ok(pkgs.includes(p), `${p} (the ISO's BIOS boot) is installed`);
    const { doctor } = await import('../../builder/doctor.js');
    const report = await doctor(['build', 'image', 'smoke']);
    // make and gcc come with build-essential; the rest is in every Debian/Ubuntu runner's base system.
    const implied = ['make', 'gcc', 'perl', 'git', 'tar', 'xz-utils', 'dpkg', 'apt', 'openssh-client'];
    for (const t of report.tools.filter((x) => !x.optional))
      assert.ok(pkgs.includes(t.package) || implied.includes(t.package), `${t.name} (${t.package}) is installed by the workflow`);
  });

  test('its vrio steps run as written: doctor, build (no-op), smoke of both images on all four boot paths', async (t) => {
    if (lacks(t, ci.missing)) return;
    const env = { ...job.env, OUT: ci.imgs!.out, MANIFEST: ci.imgs!.manifest ?? '' };
    const doctor = runStep(step('Check host tools'), env);
    assert.equal(doctor.code, 0, doctor.stderr + doctor.stdout);
    if (ci.imgs!.manifest) {
      const build = runStep(step('Build images'), env);
      assert.equal(build.code, 0, build.stderr);
    } else t.diagnostic('VRIO_CI_IMAGES given without a manifest: build step not run');
    const smokeRun = runStep(step('Smoke test (BIOS + UEFI, CD + disk)'), env);
    const lines = readFileSync(join(tmp, 'smoke-report.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const report = lines.find((l) => l.type === 'smoke-report') as {
      ok: boolean;
      accel: { accel: string; reason: string };
      boots: {
        image: string;
        firmware: string;
        media: string;
        ok: boolean;
        end: string;
        error?: string;
        consoleTail?: string;
        timeline: { name: string; t: number }[];
        checks: { name: string; ok: boolean; detail: string }[];
      }[];
    };
    assert.ok(report, `a smoke report on stdout (stderr: ${smokeRun.stderr.slice(-2000)})`);
    t.diagnostic(`accelerator: ${report.accel.reason}`);
    for (const b of report.boots) {
      const tl = Object.fromEntries(b.timeline.map((e) => [e.name, e.t]));
      t.diagnostic(
        `${b.image} ${b.firmware} ${b.media}: ${b.ok ? 'ok' : 'FAILED'} kernel ${tl.kernel?.toFixed(1)}s ssh-ready ${tl['ssh-ready']?.toFixed(1)}s off ${tl.off?.toFixed(1)}s`,
      );
      assert.ok(b.ok, `${b.image} ${b.firmware}/${b.media}: ${b.error}\n${b.consoleTail ?? ''}`);
      assert.equal(b.end, 'poweroff', 'the guest powered itself off');
      for (const m of ['kernel', 'ssh-ready', 'ssh-login']) assert.ok(m in tl, `timeline has ${m}`);
      assert.ok(tl.kernel < tl['ssh-ready'] && tl['ssh-ready'] <= tl['ssh-login'], 'timeline is in boot order');
      const manifest = readImageManifest(join(ci.imgs!.out, 'images', b.image, 'manifest.json'));
      assert.equal(b.checks.find((c) => c.name === 'kernel')?.detail, manifest.kernel.release, 'the running kernel is the image kernel');
      // The role's vRIO modules load (with their parameters) and unload again.
      const role = b.image === 'iohyp' ? ['vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet'] : ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet'];
      const loaded = b.checks.find((c) => c.name === 'modules load')?.detail ?? '';
      for (const mod of role) assert.match(loaded, new RegExp(`\\b${mod}\\b`), `${b.image}: ${mod} loads`);
      assert.ok(b.checks.find((c) => c.name === 'modules unload')?.ok, `${b.image}: the vRIO modules unload`);
    }
    const paths = new Set(report.boots.map((b) => `${b.image}/${b.firmware}/${b.media}`));
    assert.equal(paths.size, 8, 'both images x BIOS/UEFI x CD/disk');
    assert.equal(report.ok, true);
    assert.equal(smokeRun.code, 0);
    assert.deepEqual(pidsWith(join(ci.imgs!.out, 'smoke')), [], 'no QEMU left running');
  });
});
