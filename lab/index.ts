// `vrio lab up|down|status|ssh`: boot an IOhyp and N guests (plus a peer for
// vRIO net) from built images, joined by private L2 segments on loopback,
// provision them from a generated inventory, and verify the vRIO path.
// Every process the lab starts is recorded in the state dir with a marker;
// `down` stops exactly those and removes the state.
import { createWriteStream, existsSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, VrioError } from '../lib/errors.js';
import { log, Logger, table } from '../lib/log.js';
import { connect, type Session } from '../lib/ssh/client.js';
import { pinnedConnection, waitForSsh } from '../lib/ssh/wait.js';
import { chooseAccel, type AccelChoice } from '../vm/accel.js';
import { macFor } from '../vm/args.js';
import { freeTcpPort, LOOPBACK } from '../vm/ports.js';
import { SSH_READY } from '../vm/timeline.js';
import { killRecordedPid, processCmdline, startVm, type RunningVm } from '../vm/vm.js';
import { loadImage, type SmokeImage } from '../vm/image.js';
import { ciChecks, vrioChecks, type LabCheck } from './checks.js';
import { fixChecks } from './fix-checks.js';
import type { BlkPerfRow } from './blk-perf.js';
import { launchHub } from '../vm/hub-process.js';
import { provisionDefaults } from '../provision/defaults.js';
import { applyInventory, loadInventory, logReporter, teardownInventory, type RunResult } from '../provision/index.js';
import { inventoryYaml, labInventory } from './inventory.js';
import { readState, stateFile, writeState, type LabHub, type LabState } from './state.js';
import { planLab, segmentsOf, type PlannedVm } from './topology.js';

export interface LabUpOptions {
  stateDir: string;
  imagesDir: string;
  kernel: 'vrio' | 'ci';
  guests: number;
  accel: AccelChoice;
  memoryMiB: number;
  bootTimeoutSec: number;
  cacheDir?: string;
  /** Run the checks after provisioning (default true). */
  verify: boolean;
  /** vRIO images: `fixes` adds the bug checks of our fix series (lab/fix-checks.ts). */
  checks?: 'basic' | 'fixes';
  /** With `fixes`: create/use/remove cycles per device type (default 50). */
  cycles?: number;
  /** CI images: the module provision loads in place of the vRIO set (default vrio_test). */
  testModule?: string;
  signal?: AbortSignal;
}

export interface LabUpResult {
  state: LabState;
  checks: LabCheck[];
  ok: boolean;
  /** With `--checks fixes`: guest1's block throughput by request size, vRIO vs virtio-blk. */
  blkPerf?: BlkPerfRow[];
}

/** guest1's virtio-blk disk for the throughput comparison: as big as the IOhyp's ramdisks. */
const PERF_DISK = { dev: 'vda', bytes: 16 << 20 };

function imagesFor(dir: string, kernel: 'vrio' | 'ci', cwd: string): Record<'iohyp' | 'guest', SmokeImage> {
  const root = resolve(cwd, dir);
  const imgs = { iohyp: loadImage(join(root, 'images', 'iohyp'), cwd), guest: loadImage(join(root, 'images', 'guest'), cwd) };
  for (const r of ['iohyp', 'guest'] as const) {
    const img = imgs[r];
    if (!img.kernel || !img.initramfs)
      throw new VrioError(`image ${img.dir} has no vmlinuz/initramfs.img: the lab boots those directly`, {
        hint: 'build with image.formats including initramfs',
      });
    const hasVrio = img.modules.includes('vrio_gen');
    if (kernel === 'vrio' && img.modules.length && !hasVrio)
      throw new VrioError(`the images in ${root} have no vRIO modules (kernel ${img.kernelRelease ?? '?'}): the full vRIO lab needs the 3.10 vRIO images`, {
        hint: 'build them with `vrio build` (default manifest; needs the SplitIO-kernel sources or --mirror), or run `vrio lab up --kernel ci` for the test images',
      });
  }
  return imgs;
}

async function waitPidGone(pid: number, marker: string): Promise<void> {
  for (let i = 0; i < 50 && processCmdline(pid)?.includes(marker); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Stop every process recorded in the state; returns how many were running. */
async function stopProcesses(s: LabState): Promise<number> {
  let n = 0;
  for (const vm of s.vms) if (await killRecordedPid(vm.pid, s.dir)) n++;
  for (const h of s.hubs) if (await killRecordedPid(h.pid, s.dir)) n++;
  return n;
}

async function startHub(s: LabState, segment: string, port: number, members: number): Promise<LabHub> {
  const logFile = join(s.dir, `hub-${segment}.log`);
  const pid = await launchHub({ segment, port, members, tag: s.dir, logFile });
  return { segment, pid, port, members, log: logFile };
}

function bootAppend(p: PlannedVm, cmdline: string): string {
  const l2 = p.nics[0];
  const parts = [cmdline, `vrio.hostname=${p.name}`, `vrio.l2=${l2.iface}`];
  if (l2.ip) parts.push(`vrio.ip=${l2.ip}`);
  return parts.join(' ');
}

export async function labUp(o: LabUpOptions, cwd: string): Promise<LabUpResult> {
  const dir = resolve(cwd, o.stateDir);
  const existing = readState(dir);
  if (existing) {
    const alive = existing.vms.filter((v) => processCmdline(v.pid)?.includes(dir));
    if (alive.length)
      throw new VrioError(`a lab is already running in ${dir} (${alive.map((v) => v.name).join(', ')})`, {
        hint: `vrio lab status --state-dir ${o.stateDir}, or vrio lab down first`,
      });
    rmSync(dir, { recursive: true, force: true });
  }
  const imgs = imagesFor(o.imagesDir, o.kernel, cwd);
  const fixes = o.kernel === 'vrio' && o.checks === 'fixes';
  const plan = planLab(o.kernel, o.guests);
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const accel = await chooseAccel(o.accel, { kind: 'kernel', kernel: imgs.guest.kernel!, append: '' }, o.cacheDir);
  log().info(`accelerator: ${accel.reason}`);
  if (o.kernel === 'vrio') {
    const fx = fixPatchesOf(imgs.guest);
    log().info(fx.length ? `vRIO fix series: ${fx.length} patches (${fx.join(', ')})` : 'vRIO fix series: none (kernel.fixes: false, pure upstream drivers)');
  }
  const state: LabState = {
    format: 'vrio-lab-state/1',
    dir,
    createdAt: new Date().toISOString(),
    kernel: o.kernel,
    accel: accel.accel,
    imagesDir: resolve(cwd, o.imagesDir),
    clientKey: imgs.iohyp.clientKey,
    inventory: join(dir, 'inventory.yaml'),
    vms: [],
    hubs: [],
    phase: 'booting',
    timings: {},
  };
  writeState(state);
  const running: RunningVm[] = [];
  try {
    // One TCP port on loopback per segment: its hub; every NIC of the segment connects to it.
    const segments = segmentsOf(plan);
    const hubPort = new Map<string, number>();
    for (const seg of segments) {
      hubPort.set(seg, await freeTcpPort());
      const members = plan.reduce((n, p) => n + p.nics.filter((x) => x.segment === seg).length, 0);
      state.hubs.push(await startHub(state, seg, hubPort.get(seg)!, members));
    }
    writeState(state);
    log().step(`booting ${plan.map((p) => p.name).join(', ')} (${accel.accel.toUpperCase()})`);
    for (const p of plan) {
      const img = imgs[p.image];
      const sshPort = await freeTcpPort();
      const vmDir = join(dir, p.name);
      // Booted from kernel + initramfs, the VM has no other virtio disk: this one is its vda.
      const disks: string[] = [];
      if (fixes && p.name === 'guest1') {
        mkdirSync(vmDir, { recursive: true });
        const file = join(vmDir, 'virtio-blk.img');
        writeFileSync(file, '');
        truncateSync(file, PERF_DISK.bytes);
        disks.push(file);
      }
      const vm = startVm(
        {
          name: `lab-${p.name}`,
          accel: accel.accel,
          memoryMiB: o.memoryMiB,
          cpus: 1,
          firmware: 'bios',
          boot: { kind: 'kernel', kernel: img.kernel!, initrd: img.initramfs, append: bootAppend(p, img.manifest.image.cmdline) },
          serialLog: join(vmDir, 'serial.log'),
          management: { sshPort, mac: macFor(p.index, 0) },
          l2: p.nics.map((n, j) => ({ id: `l2${j}`, mac: n.mac, model: n.model, transport: 'tcp' as const, hubPort: hubPort.get(n.segment)! })),
          disks,
        },
        { stderrLog: join(vmDir, 'qemu.log'), detached: true },
      );
      running.push(vm);
      state.vms.push({
        name: p.name,
        role: p.role,
        image: img.dir,
        pid: vm.pid,
        sshPort,
        serialLog: vm.spec.serialLog,
        qemuLog: vm.stderrLog,
        memoryMiB: o.memoryMiB,
        nics: p.nics.map((n) => ({ ...n })),
        pins: img.hostKeyPins,
      });
      writeState(state);
    }
    // Wait for every VM's SSH (in parallel), keep its host key for known_hosts.
    const sessions = await Promise.all(
      state.vms.map(async (v, i) => {
        const ssh = await waitForSsh(
          { name: v.name, address: LOOPBACK, port: v.sshPort, user: 'root', identityFile: state.clientKey, pins: v.pins },
          {
            timeoutMs: o.bootTimeoutSec * 1000,
            signal: o.signal,
            stopIf: () => running[i].exitReason(),
            sshdUp: () => Boolean(running[i].serial.find(SSH_READY)),
          },
        ).catch((e: Error) => {
          throw new VrioError(
            `${v.name}: ${e.message}\n  console tail (${v.serialLog}):\n${running[i].serial
              .tail(15)
              .split('\n')
              .map((l) => `    | ${l}`)
              .join('\n')}`,
          );
        });
        v.hostKey = { type: ssh.hostKey.type, base64: ssh.hostKey.blob.toString('base64') };
        // One line per VM as it comes up: under TCG the boot takes a minute and is never silent.
        log().info(`${v.name} answers SSH after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return ssh;
      }),
    );
    state.timings.bootSeconds = (Date.now() - t0) / 1000;
    writeKnownHosts(state);
    for (const vm of running) {
      vm.serial.stop();
    }
    const inv = labInventory(plan, state.vms, {
      kernel: o.kernel,
      clientKey: state.clientKey,
      mtu: o.kernel === 'ci' ? 1500 : 8100,
      testModule: o.testModule ?? 'vrio_test',
    });
    writeFileSync(state.inventory, inventoryYaml(inv));
    state.phase = 'booted';
    writeState(state);
    log().info(`all ${state.vms.length} VMs answer SSH after ${state.timings.bootSeconds.toFixed(1)} s`);

    const byName = new Map(state.vms.map((v, i) => [v.name, sessions[i]]));
    let checks: LabCheck[] = [];
    let blkPerf: BlkPerfRow[] | undefined;
    try {
      if (o.kernel === 'vrio') await prepareIohyp(byName.get('iohyp1')!, plan);
      log().step('vrio provision apply');
      const t1 = Date.now();
      const applied = await provision('apply', state, o.signal);
      state.timings.provisionSeconds = (Date.now() - t1) / 1000;
      if (applied.code !== 0) {
        // The VMs stay up so the failure can be looked at (vrio lab ssh); `lab down` cleans up.
        const tail = provisionFailures(applied);
        checks = [
          {
            name: 'vrio provision apply',
            ok: false,
            detail: `exit ${applied.code} (log: ${applied.logFile})\n${tail}`,
            seconds: state.timings.provisionSeconds,
          },
        ];
        log().error(`provision apply failed; the VMs are left running for inspection (vrio lab ssh NAME), vrio lab down cleans up\n${tail}`);
      } else {
        state.phase = 'provisioned';
        writeState(state);
      }
      // Checks run even after a failed apply: they show which parts of the vRIO path work.
      if (o.verify) {
        log().step('verifying');
        const t2 = Date.now();
        checks = [
          ...checks,
          ...(o.kernel === 'vrio' ? await vrioChecks(state, plan, byName) : await ciChecks(state, plan, byName, o.testModule ?? 'vrio_test')),
        ];
        if (fixes) {
          log().step('fix-series checks');
          const fx = await fixChecks(plan, byName, { cycles: o.cycles ?? 50, helper: provisionDefaults().helper, tcpBytes: 16 << 20, virtioDisk: PERF_DISK });
          checks = [...checks, ...fx.checks];
          blkPerf = fx.blkPerf;
          if (blkPerf) writeFileSync(join(dir, 'blk-perf.json'), JSON.stringify(blkPerf, null, 2) + '\n');
        }
        state.timings.verifySeconds = (Date.now() - t2) / 1000;
      }
    } finally {
      for (const s of sessions) s.close();
    }
    const ok = checks.every((c) => c.ok);
    state.phase = ok ? (o.verify ? 'verified' : 'provisioned') : 'failed';
    state.timings.totalSeconds = (Date.now() - t0) / 1000;
    writeState(state);
    return { state, checks, ok, blkPerf };
  } catch (e) {
    // Nothing half-up is left behind: stop what we started, keep the logs for the error.
    for (const vm of running) await vm.kill().catch(() => undefined);
    await stopProcesses(state);
    state.phase = 'failed';
    writeState(state);
    throw e;
  }
}

/** The fix patches (kernel-config/patches/<line>/fixes) the image's kernel was built with. */
export function fixPatchesOf(img: SmokeImage): string[] {
  return img.manifest.kernel.patches.filter((p) => p.origin === 'fixes').map((p) => p.name);
}

/** known_hosts for OpenSSH (`vrio lab ssh`), written from keys that matched the image pins. */
function writeKnownHosts(s: LabState): void {
  const lines = s.vms.filter((v) => v.hostKey).map((v) => `[${LOOPBACK}]:${v.sshPort} ${v.hostKey!.type} ${v.hostKey!.base64}`);
  writeFileSync(join(s.dir, 'known_hosts'), lines.join('\n') + '\n');
}

/** Backing ramdisks for the guests' block devices (brd is a module on some kernels). */
async function prepareIohyp(ssh: Session, plan: PlannedVm[]): Promise<void> {
  const n = plan.filter((p) => p.blk).length;
  await ssh.check(`test -b /dev/ram${n} || modprobe brd rd_nr=${n + 1} rd_size=16384; test -b /dev/ram${n}`, { timeoutMs: 30_000 });
  // The macvtaps' lower NICs carry no address; they only need to be up.
  const lowers = plan.flatMap((p) => (p.net ? [p.net.lower] : []));
  if (lowers.length) await ssh.check(lowers.map((l) => `ip link set ${l} up`).join(' && '), { timeoutMs: 30_000 });
}

export interface LabProvision {
  /** The exit code `vrio provision VERB` would have: 0 ok, 1 a host failed, 2 bad inventory, 4 unreachable. */
  code: number;
  /** What the provisioner printed, as the CLI verb prints it (the lab's console stays quiet). */
  logFile: string;
  result?: RunResult;
  /** Why the run did not even start (e.g. the inventory was refused). */
  error?: string;
}

/**
 * `vrio provision VERB -i <lab inventory>`, run in this process: the same
 * functions and reporter as the CLI verb, its output into provision-VERB.log,
 * the typed result back. Bounded like the child process it replaces (10 min).
 */
export async function provision(verb: 'apply' | 'teardown', s: LabState, signal?: AbortSignal): Promise<LabProvision> {
  const logFile = join(s.dir, `provision-${verb}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const plog = new Logger({ out, err: out, color: false, tty: false });
  const bounded = AbortSignal.any([AbortSignal.timeout(10 * 60_000), ...(signal ? [signal] : [])]);
  try {
    const inv = loadInventory(s.inventory, { env: process.env });
    const opts = { signal: bounded, reporter: logReporter(plog) };
    const result = verb === 'apply' ? await applyInventory(inv, opts) : await teardownInventory(inv, opts);
    return { code: result.exitCode, logFile, result };
  } catch (e) {
    if (signal?.aborted) throw e;
    const error = (e as Error).message;
    plog.error(error);
    return { code: e instanceof VrioError ? e.exitCode : ExitCode.FAILED, logFile, error };
  } finally {
    await new Promise<void>((r) => out.end(r));
  }
}

/** What went wrong in a failed provision run, one line per problem (the last 6), for the lab's error output. */
export function provisionFailures(p: LabProvision): string {
  if (p.error) return p.error;
  const lines = (p.result?.hosts ?? []).flatMap((h) => [
    ...h.changes
      .filter((c) => c.status === 'failed')
      .map(
        (c) =>
          `${h.host} FAILED ${c.change.summary}${c.code !== undefined ? ` (exit ${c.code})` : ''}${c.stderr?.trim() ? `: ${c.stderr.trim().split('\n').slice(-1)[0]}` : ''}`,
      ),
    ...h.errors.map((e) => `${h.host} ${h.unreachable ? 'UNREACHABLE' : 'FAILED'} ${e}`),
  ]);
  return lines.slice(-6).join('\n');
}

export interface LabDownResult {
  stopped: number;
  teardown?: { ok: boolean; detail: string };
  removed: boolean;
}

export async function labDown(stateDir: string, cwd: string, o: { teardown: boolean; keepLogs?: boolean }): Promise<LabDownResult> {
  const dir = resolve(cwd, stateDir);
  const s = readState(dir);
  if (!s) {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    return { stopped: 0, removed: false };
  }
  let teardown: LabDownResult['teardown'];
  const alive = s.vms.filter((v) => processCmdline(v.pid)?.includes(dir));
  if (o.teardown && s.phase !== 'booting' && alive.length === s.vms.length && existsSync(s.inventory)) {
    log().step('vrio provision teardown');
    const r = await provision('teardown', s);
    teardown = { ok: r.code === 0, detail: r.code === 0 ? 'devices removed, modules unloaded' : `provision teardown exited ${r.code} (log: ${r.logFile})` };
  }
  const stopped = await stopProcesses(s);
  for (const v of s.vms) await waitPidGone(v.pid, dir);
  if (!o.keepLogs) rmSync(dir, { recursive: true, force: true });
  else rmSync(stateFile(dir), { force: true });
  return { stopped, teardown, removed: !o.keepLogs };
}

export interface VmStatus {
  name: string;
  role: string;
  pid: number;
  running: boolean;
  ssh: string;
  l2: string;
}

export function labStatus(
  stateDir: string,
  cwd: string,
): { state?: LabState; vms: VmStatus[]; hubs: { segment: string; pid: number; running: boolean; port: number }[] } {
  const dir = resolve(cwd, stateDir);
  const s = readState(dir);
  if (!s) return { vms: [], hubs: [] };
  return {
    state: s,
    vms: s.vms.map((v) => ({
      name: v.name,
      role: v.role,
      pid: v.pid,
      running: Boolean(processCmdline(v.pid)?.includes(dir)),
      ssh: `${LOOPBACK}:${v.sshPort}`,
      l2: v.nics.map((n) => `${n.iface}@${n.segment}${n.ip ? ` ${n.ip}` : ''}`).join(', '),
    })),
    hubs: s.hubs.map((h) => ({ segment: h.segment, pid: h.pid, port: h.port, running: Boolean(processCmdline(h.pid)?.includes(dir)) })),
  };
}

/** vRIO metrics and devices, read over SSH from the IOhyp (and the guests' disks). */
export async function labMetrics(s: LabState): Promise<string> {
  const io = s.vms.find((v) => v.role === 'iohyp');
  if (!io) return '';
  const ssh = await connect(
    pinnedConnection({ name: io.name, address: LOOPBACK, port: io.sshPort, user: 'root', identityFile: s.clientKey, pins: io.pins, connectTimeoutMs: 5000 }),
  );
  try {
    const r = await ssh.exec(
      'for f in /sys/class/vrio/blk/bdev* /sys/class/vrio/net/ndev* /sys/class/vrio/core/iocore*; do [ -f "$f" ] && { echo "== ${f#/sys/class/vrio/}"; cat "$f" | tr -s " "; }; done; echo "modules: $(grep -E "^vrio" /proc/modules | cut -d" " -f1 | tr "\\n" " ")"',
      { timeoutMs: 15_000 },
    );
    return r.stdout.trim();
  } finally {
    ssh.close();
  }
}

export function statusTable(st: ReturnType<typeof labStatus>): string {
  return table(
    ['NAME', 'ROLE', 'PID', 'STATE', 'SSH', 'L2'],
    st.vms.map((v) => [v.name, v.role, v.pid, v.running ? 'running' : 'stopped', v.ssh, v.l2]),
  );
}

export { type LabCheck } from './checks.js';
export { readState } from './state.js';
