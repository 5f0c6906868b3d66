// Running verbs over an inventory: connect to hosts in parallel (--forks), one
// SSH connection per host reused for every command, gather facts, plan with the
// pure operations, apply in vRIO's order, verify by re-gathering facts, and
// produce a per-host recap. A failing host never stops the others; only work
// that needs it (a guest's devices need its IOhyp and the guest) is skipped.
import { provisionDefaults } from './defaults.js';
import { factsCommand, factsQueryFor, parseFacts, type Facts } from './facts.js';
import type { Host, Inventory } from './inventory-types.js';
import { selectHosts } from './host-patterns.js';
import type { Change, HostPlan } from './ops/change.js';
import { planHost, type Scope } from './ops/plan.js';
import { projectFacts } from './ops/projection.js';
import { DIFF_MAX_BYTES, showable, unifiedDiff } from './ops/text-diff.js';
import { guestDeviceProblems, moduleNames, planDevices, planDeviceTeardown, planHostTeardown, type GuestView } from './ops/vrio.js';
import { BATCH_ARGV, batches, batchScript, batchStatuses } from './batch.js';
import { silentReporter, type Reporter } from './reporter.js';
import { exitCodeFor, hostStatus, newHostResult, type BatchResult, type HostResult, type RunResult, type Verb } from './results.js';
import { batchStops, rollingBatches, type Serial } from './serial.js';
import { connect, TransportError, type Session } from '../lib/ssh/client.js';

export const MAX_FORKS = 64;

export interface RunOptions {
  /** Hosts worked on at once (default: all, at most MAX_FORKS). */
  forks?: number;
  /** --limit patterns (Ansible's: hosts, groups, 'iohyps'/'guests', globs, ~regex, &and, !not). */
  limit?: string[];
  acceptNew?: boolean;
  reporter?: Reporter;
  signal?: AbortSignal;
  /** Seconds to wait for guests to show new devices (default from defaults.yaml). */
  deviceAppearSeconds?: number;
  /** plan/apply: 'files' works on the inventory's files only (no links, modules or devices). */
  only?: Scope;
  /** apply/teardown: work in batches of this many hosts (or percent), each IOhyp with its guests. */
  serial?: Serial;
  /** apply/teardown: stop before the next batch when more than this percent of a batch failed. */
  maxFailPercent?: number;
  /** plan/apply --diff: read world-readable text files that change, for a unified diff. */
  diff?: boolean;
}

/** Run fn over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One verb's run over the selected hosts: sessions, results, change execution (exported for tests). */
export class Run {
  readonly sessions = new Map<string, Session>();
  readonly results = new Map<string, HostResult>();
  readonly rep: Reporter;
  readonly forks: number;
  readonly hosts: Host[];
  readonly batches: BatchResult[] = [];
  stopped?: string;

  constructor(
    readonly verb: Verb,
    readonly inv: Inventory,
    readonly opts: RunOptions,
  ) {
    this.rep = opts.reporter ?? silentReporter();
    this.hosts = selectHosts(inv, opts.limit).hosts;
    this.forks = Math.max(1, Math.min(opts.forks ?? this.hosts.length, MAX_FORKS, Math.max(1, this.hosts.length)));
    for (const h of this.hosts) this.results.set(h.name, newHostResult(h.name, h.role));
  }

  result(h: Host): HostResult {
    return this.results.get(h.name)!;
  }
  /** Still worth working on: reachable, no failure so far. */
  healthy(h: Host): boolean {
    const r = this.results.get(h.name);
    return Boolean(r && !r.unreachable && r.failed === 0 && r.errors.length === 0);
  }

  private timed<T>(h: Host, p: Promise<T>): Promise<T> {
    const t0 = Date.now();
    return p.finally(() => {
      this.result(h).durationMs += Date.now() - t0;
    });
  }

  fail(h: Host, message: string, hint?: string): void {
    const r = this.result(h);
    r.failed++;
    r.errors.push(message);
    this.rep.hostError(h.name, 'failed', message, hint);
  }

  private transportFailure(h: Host, e: unknown): void {
    const r = this.result(h);
    if (e instanceof TransportError && (e.kind === 'unreachable' || e.kind === 'timeout' || e.kind === 'disconnected')) {
      r.unreachable = true;
      r.errors.push(e.message);
      this.rep.hostError(h.name, 'unreachable', e.message, e.hint);
    } else {
      this.fail(h, (e as Error).message, e instanceof TransportError ? e.hint : undefined);
    }
    this.sessions.get(h.name)?.close();
  }

  async session(h: Host): Promise<Session | undefined> {
    if (!this.healthy(h) && !this.sessions.has(h.name)) return undefined;
    const have = this.sessions.get(h.name);
    if (have && !have.closed) return have;
    if (have?.closed) return undefined;
    try {
      const s = await this.timed(
        h,
        connect(h.connection, {
          acceptNew: this.opts.acceptNew,
          signal: this.opts.signal,
          onRetry: (n, err, delay) => this.rep.retry(h.name, n, err.message, delay),
        }),
      );
      this.sessions.set(h.name, s);
      this.result(h).fingerprint = s.fingerprint;
      this.rep.connected(h.name, s.fingerprint, s.hostKeyHow, s.attempts);
      return s;
    } catch (e) {
      this.transportFailure(h, e);
      return undefined;
    }
  }

  /** Facts in one round trip; undefined when the host is unreachable or the script failed. */
  async facts(h: Host, quiet = false): Promise<Facts | undefined> {
    const s = await this.session(h);
    if (!s) return undefined;
    const q = factsQueryFor(
      moduleNames(h),
      [h.l2.interface],
      h.files.map((x) => x.path),
      this.opts.only === 'files',
    );
    try {
      const r = await this.timed(h, s.exec(factsCommand(q), { onTimeout: 'result' }));
      if (r.timedOut) {
        this.fail(h, `gathering facts timed out after ${h.connection.commandTimeoutMs / 1000}s`, 'raise connection.commandTimeout for slow hosts');
        return undefined;
      }
      const f = parseFacts(r.stdout);
      this.result(h).facts = f;
      if (!quiet)
        this.rep.facts(
          h.name,
          f,
          r.durationMs,
          h.modules.map((m) => m.name),
        );
      return f;
    } catch (e) {
      if (e instanceof TransportError) this.transportFailure(h, e);
      else this.fail(h, `cannot read facts: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * --diff: a unified diff for each file write whose old and new content anyone
   * on the host may read (provision/ops/text-diff.ts); one bounded read per file.
   */
  async attachDiffs(h: Host, f: Facts, changes: readonly Change[]): Promise<void> {
    if (!this.opts.diff) return;
    for (const c of changes) {
      const spec = c.kind === 'file-write' && c.stdin && c.diff ? h.files.find((x) => x.path === c.diff!.path) : undefined;
      if (!spec || !c.diff) continue;
      const cur = f.files?.[spec.path];
      const wanted = c.stdin!.bytes();
      if (!cur || cur.type === 'missing') {
        if (showable(spec.mode, spec.mode)) c.diff.unified = unifiedDiff(spec.path, Buffer.alloc(0), wanted);
        continue;
      }
      if (cur.type !== 'file' || !showable(cur.mode, spec.mode)) continue;
      const s = await this.session(h);
      if (!s) return;
      try {
        const r = await this.timed(h, s.exec(['head', '-c', String(DIFF_MAX_BYTES + 1), '--', spec.path], { onTimeout: 'result' }));
        if (r.code === 0) c.diff.unified = unifiedDiff(spec.path, r.stdoutBuf, wanted);
      } catch (e) {
        this.transportFailure(h, e);
        return;
      }
    }
  }

  /** Run changes in order; stops the host at the first failure. Returns true when all ran. */
  async execute(h: Host, changes: Change[]): Promise<boolean> {
    const s = await this.session(h);
    if (!s) return false;
    const r = this.result(h);
    // Leading batchable changes (files) go in as few round trips as possible.
    const firstOther = changes.findIndex((c) => !c.batch);
    const lead = changes.slice(0, firstOther < 0 ? changes.length : firstOther);
    if (lead.length > 1) {
      for (const b of batches(lead)) if (!(await this.executeBatch(h, s, b, changes))) return false;
      changes = changes.slice(lead.length);
    }
    for (const c of changes) {
      if (this.opts.signal?.aborted) {
        this.fail(h, 'interrupted');
        return false;
      }
      try {
        const input = c.stdin?.bytes();
        this.rep.command(h.name, c.argv, input?.length);
        let res = await this.timed(h, s.exec(c.argv, { input, onTimeout: 'result' }));
        this.rep.output(h.name, res.code, res.stdout, res.stderr);
        let recovered = false;
        if (res.code === 1 && c.recover) {
          // A failed CREATE leaves the back end attached; a plain retry fails with EFAULT.
          this.rep.change(h.name, c, 'recovering', res.durationMs, `${firstLine(res.stderr)}; REMOVE then CREATE`);
          await this.timed(h, s.exec(c.recover, { onTimeout: 'result' }));
          res = await this.timed(h, s.exec(c.argv, { input, onTimeout: 'result' }));
          recovered = res.code === 0;
        }
        if (res.code === 0) {
          r.changed++;
          r.changes.push({ change: c, status: 'changed', durationMs: res.durationMs, code: 0, recovered });
          this.rep.change(h.name, c, 'changed', res.durationMs);
          continue;
        }
        const why = res.timedOut
          ? `timed out after ${h.connection.commandTimeoutMs / 1000}s`
          : `exit ${res.code ?? res.signal}: ${tail(res.stderr || res.stdout) || '(no output)'}`;
        r.changes.push({ change: c, status: 'failed', durationMs: res.durationMs, code: res.code, stderr: res.stderr });
        this.rep.change(h.name, c, 'failed', res.durationMs, why);
        this.fail(h, `${c.summary}: ${why}`);
        for (const rest of changes.slice(changes.indexOf(c) + 1)) {
          r.skipped++;
          r.changes.push({ change: rest, status: 'skipped', durationMs: 0 });
        }
        return false;
      } catch (e) {
        this.transportFailure(h, e);
        return false;
      }
    }
    return true;
  }

  /** Run a batch in one remote command; per-change results as if run one by one. */
  private async executeBatch(h: Host, s: Session, batch: Change[], all: Change[]): Promise<boolean> {
    const r = this.result(h);
    if (this.opts.signal?.aborted) {
      this.fail(h, 'interrupted');
      return false;
    }
    let res;
    try {
      for (const c of batch) this.rep.command(h.name, c.argv, c.stdin?.size);
      res = await this.timed(h, s.exec(BATCH_ARGV, { input: batchScript(batch), onTimeout: 'result' }));
      this.rep.output(h.name, res.code, res.stdout, res.stderr);
    } catch (e) {
      this.transportFailure(h, e);
      return false;
    }
    const rc = batchStatuses(res.stdout);
    const each = Math.round(res.durationMs / batch.length);
    for (const [i, c] of batch.entries()) {
      const code = rc.get(i);
      if (code === 0) {
        r.changed++;
        r.changes.push({ change: c, status: 'changed', durationMs: each, code: 0, recovered: false });
        this.rep.change(h.name, c, 'changed', each);
        continue;
      }
      const why = res.timedOut
        ? `timed out after ${h.connection.commandTimeoutMs / 1000}s`
        : code === undefined
          ? `not run (batch exit ${res.code ?? res.signal}): ${tail(res.stderr) || '(no output)'}`
          : `exit ${code}: ${tail(res.stderr) || '(no output)'}`;
      r.changes.push({ change: c, status: 'failed', durationMs: each, code: code ?? res.code, stderr: res.stderr });
      this.rep.change(h.name, c, 'failed', each, why);
      this.fail(h, `${c.summary}: ${why}`);
      for (const rest of all.slice(all.indexOf(c) + 1)) {
        r.skipped++;
        r.changes.push({ change: rest, status: 'skipped', durationMs: 0 });
      }
      return false;
    }
    return true;
  }

  /** Close a host's connection once no later phase needs it: keeps open sockets bounded at scale. */
  release(h: Host): void {
    this.sessions.get(h.name)?.close();
    this.sessions.delete(h.name);
  }

  finish(): RunResult {
    for (const s of this.sessions.values()) s.close();
    const hosts = this.hosts.map((h) => this.result(h));
    return { verb: this.verb, hosts, durationMs: 0, exitCode: exitCodeFor(hosts), batches: this.batches, ...(this.stopped ? { stopped: this.stopped } : {}) };
  }

  guestsOf(io: Host): Host[] {
    return this.hosts.filter((g) => g.role === 'guest' && g.iohyp === io.name);
  }
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
function tail(s: string, n = 5): string {
  return s.trim().split('\n').slice(-n).join('\n');
}

function reportPlan(run: Run, p: HostPlan, status: 'planned'): void {
  const r = run.results.get(p.host)!;
  for (const c of p.changes) r.changes.push({ change: c, status, durationMs: 0 });
  r.errors.push(...p.errors);
  r.notes.push(...p.notes);
}

async function begin(verb: Verb, inv: Inventory, opts: RunOptions): Promise<{ run: Run; t0: number }> {
  const run = new Run(verb, inv, opts);
  run.rep.start(
    verb,
    run.hosts.map((h) => ({ name: h.name, role: h.role })),
    run.forks,
  );
  return { run, t0: Date.now() };
}

function end(run: Run, t0: number): RunResult {
  const res = run.finish();
  res.durationMs = Date.now() - t0;
  run.rep.recap(res);
  return res;
}

/**
 * Run `batch` over the rolling batches of the selected hosts (one batch
 * without --serial). A batch that fails beyond the budget stops the run: the
 * hosts of later batches are not started and say why.
 */
async function rolling(run: Run, batch: (hosts: Host[]) => Promise<void>): Promise<void> {
  const batches = rollingBatches(run.hosts, run.opts.serial);
  for (const [i, hosts] of batches.entries()) {
    if (batches.length > 1) run.rep.phase(`batch ${i + 1}/${batches.length}: ${hosts.map((h) => h.name).join(', ')}`);
    await batch(hosts);
    const failed = hosts.filter((h) => ['failed', 'unreachable'].includes(hostStatus(run.result(h)))).length;
    run.batches.push({ hosts: hosts.map((h) => h.name), failed });
    if (i === batches.length - 1 || !batchStops(failed, hosts.length, run.opts.maxFailPercent)) continue;
    const budget = run.opts.maxFailPercent === undefined ? 'all of them' : `more than --max-fail-percent ${run.opts.maxFailPercent}`;
    run.stopped = `batch ${i + 1}/${batches.length}: ${failed} of ${hosts.length} hosts failed (${budget})`;
    for (const h of batches.slice(i + 1).flat()) {
      const r = run.result(h);
      r.notStarted = true;
      r.notes.push(`not started: ${run.stopped}`);
      run.rep.note(h.name, `not started: ${run.stopped}`);
    }
    return;
  }
}

// ---- plan -------------------------------------------------------------------

/** Read-only: what apply would change on every selected host. Never changes a host. */
export async function planInventory(inv: Inventory, opts: RunOptions = {}): Promise<RunResult> {
  const { run, t0 } = await begin('plan', inv, opts);
  const facts = new Map<string, Facts>();
  const setup = new Map<string, HostPlan>();
  run.rep.phase('facts');
  await pool(run.hosts, run.forks, async (h) => {
    const f = await run.facts(h);
    if (!f) return;
    const p = planHost(h, f, run.opts.only);
    await run.attachDiffs(h, f, p.changes);
    run.release(h);
    run.result(h).ok++;
    facts.set(h.name, f);
    setup.set(h.name, p);
  });
  for (const h of run.hosts) {
    const p = setup.get(h.name);
    if (!p) continue;
    if (h.role === 'guest' || run.opts.only === 'files') {
      reportPlan(run, p, 'planned');
      run.rep.plan(h.name, p.changes, p.errors, p.notes);
      continue;
    }
    // The IOhyp's device changes, against what its guests will look like after their setup.
    const f = facts.get(h.name)!;
    const guests: GuestView[] = run.guestsOf(h).map((g) => {
      const gf = facts.get(g.name);
      const gp = setup.get(g.name);
      // Shown even when the guest has errors of its own: plan covers every operation.
      return { host: g, facts: gf && gp ? projectFacts(gf, gp.changes) : undefined, ok: Boolean(gf && gp) };
    });
    const dev = planDevices(h, projectFacts(f, p.changes), guests);
    const all: HostPlan = { ...p, changes: [...p.changes, ...dev.changes], errors: [...p.errors, ...dev.errors], notes: [...p.notes, ...dev.notes] };
    reportPlan(run, all, 'planned');
    run.rep.plan(h.name, all.changes, all.errors, all.notes);
  }
  for (const h of run.hosts) {
    const r = run.result(h);
    if (r.errors.length && !r.unreachable) r.failed = Math.max(r.failed, r.errors.length);
  }
  return end(run, t0);
}

// ---- apply --------------------------------------------------------------------

async function setupPhase(run: Run, hosts: Host[]): Promise<void> {
  await pool(hosts, run.forks, async (h) => {
    const f = await run.facts(h);
    if (!f) return;
    const r = run.result(h);
    r.ok++;
    const p = planHost(h, f, run.opts.only);
    await run.attachDiffs(h, f, p.changes);
    r.notes.push(...p.notes);
    if (p.errors.length) {
      for (const e of p.errors) run.fail(h, e);
      return;
    }
    if (!p.changes.length) {
      r.ok++;
      return;
    }
    if (!(await run.execute(h, p.changes))) return;
    r.ok++;
    // Verify: the facts now must need nothing more (right modules, right params, MTU ...).
    const after = await run.facts(h, true);
    if (!after) return;
    const left = planHost(h, after, run.opts.only);
    if (left.changes.length || left.errors.length)
      run.fail(h, `not converged after apply: ${[...left.changes.map((c) => c.summary), ...left.errors].join('; ')}`);
    else r.ok++;
  });
}

async function waitGuestDevices(run: Run, g: Host, seconds: number): Promise<{ facts?: Facts; problems: string[] }> {
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; ; i++) {
    const f = await run.facts(g, true);
    if (!f) return { problems: ['guest unreachable while verifying its devices'] };
    const problems = guestDeviceProblems(g, f);
    if (!problems.length || Date.now() >= deadline || i > 200) return { facts: f, problems };
    await sleep(500);
  }
}

async function devicesPhase(run: Run, iohyps: Host[]): Promise<void> {
  const seconds = run.opts.deviceAppearSeconds ?? provisionDefaults().deviceAppearSeconds;
  await pool(iohyps, run.forks, async (io) => {
    const guests = run.guestsOf(io).filter((g) => g.devices.length);
    if (!guests.length) return;
    if (!run.healthy(io)) {
      for (const g of guests) run.result(g).notes.push(`devices skipped: IOhyp ${io.name} failed or is unreachable`);
      return;
    }
    const f = await run.facts(io, true);
    if (!f) return;
    const views: GuestView[] = guests.map((g) => ({ host: g, facts: run.result(g).facts, ok: run.healthy(g) }));
    const p = planDevices(io, f, views);
    const r = run.result(io);
    r.notes.push(...p.notes);
    for (const n of p.notes) run.rep.note(io.name, n);
    for (const e of p.errors) run.fail(io, e);
    if (p.changes.length && !(await run.execute(io, p.changes))) return;
    // Verify on both ends: sysfs on the IOhyp, the disk/NIC in each guest.
    const touched = views.filter((v) => v.ok);
    const after = new Map<string, Facts>();
    await pool(touched, run.forks, async (v) => {
      const w = await waitGuestDevices(run, v.host, seconds);
      if (w.facts) after.set(v.host.name, w.facts);
      for (const pr of w.problems) run.fail(io, `${v.host.name}: ${pr}`);
    });
    const f2 = await run.facts(io, true);
    if (!f2) return;
    const left = planDevices(
      io,
      f2,
      touched.map((v) => ({ host: v.host, facts: after.get(v.host.name), ok: after.has(v.host.name) })),
    );
    if (left.changes.length) run.fail(io, `devices not converged after apply: ${left.changes.map((c) => c.summary).join('; ')}`);
    else if (p.changes.length && !p.errors.length) r.ok++;
  });
}

/** Bring every selected host to the inventory's state: IOhyp back ends, then guest front ends, then devices. */
export async function applyInventory(inv: Inventory, opts: RunOptions = {}): Promise<RunResult> {
  const { run, t0 } = await begin('apply', inv, opts);
  await rolling(run, (hosts) => applyHosts(run, hosts));
  return end(run, t0);
}

/** One batch of apply (every selected host without --serial). */
async function applyHosts(run: Run, hosts: Host[]): Promise<void> {
  const iohyps = hosts.filter((h) => h.role === 'iohyp');
  const guests = hosts.filter((h) => h.role === 'guest');
  if (run.opts.only === 'files') {
    // Files need no order between hosts: every host at once.
    run.rep.phase('files');
    await setupPhase(run, hosts);
    return;
  }
  run.rep.phase('IOhyp back ends');
  await setupPhase(run, iohyps);
  run.rep.phase('guest front ends');
  await setupPhase(run, guests);
  // Hosts the device phase does not touch need no connection any more.
  const withDevices = guests.filter((g) => g.devices.length);
  for (const h of [...guests.filter((g) => !g.devices.length), ...iohyps.filter((io) => !withDevices.some((g) => g.iohyp === io.name))]) run.release(h);
  run.rep.phase('devices');
  await devicesPhase(run, iohyps);
  for (const g of guests)
    if (g.devices.length && !run.hosts.some((i) => i.name === g.iohyp))
      run.result(g).notes.push(`devices not touched: IOhyp ${g.iohyp} is not selected (--limit)`);
}

// ---- teardown -----------------------------------------------------------------

async function hostTeardownPhase(run: Run, hosts: Host[]): Promise<void> {
  await pool(hosts, run.forks, async (h) => {
    const f = await run.facts(h);
    if (!f) return;
    const r = run.result(h);
    r.ok++;
    const p = planHostTeardown(h, f);
    r.notes.push(...p.notes);
    for (const e of p.errors) run.fail(h, e);
    if (p.errors.length || !p.changes.length) return;
    if (!(await run.execute(h, p.changes))) return;
    const after = await run.facts(h, true);
    if (!after) return;
    const left = planHostTeardown(h, after);
    if (left.changes.length) run.fail(h, `not torn down: ${left.changes.map((c) => c.summary).join('; ')}`);
    else r.ok++;
  });
}

/** Reverse of apply: devices on the IOhyps, then guest front ends, then IOhyp back ends; settings restored. */
export async function teardownInventory(inv: Inventory, opts: RunOptions = {}): Promise<RunResult> {
  const { run, t0 } = await begin('teardown', inv, opts);
  await rolling(run, (hosts) => teardownHosts(run, hosts));
  return end(run, t0);
}

/** One batch of teardown (every selected host without --serial). */
async function teardownHosts(run: Run, hosts: Host[]): Promise<void> {
  const inv = run.inv;
  const iohyps = hosts.filter((h) => h.role === 'iohyp');
  const guests = hosts.filter((h) => h.role === 'guest');
  run.rep.phase('devices');
  await pool(iohyps, run.forks, async (io) => {
    // Every device of every inventory guest of this IOhyp, selected or not: the back end goes.
    const all = inv.hosts.filter((g) => g.role === 'guest' && g.iohyp === io.name);
    if (!all.some((g) => g.devices.length)) return;
    const f = await run.facts(io);
    if (!f) return;
    const p = planDeviceTeardown(io, f, all);
    for (const e of p.errors) run.fail(io, e);
    run.result(io).notes.push(...p.notes);
    if (!p.errors.length && p.changes.length) await run.execute(io, p.changes);
  });
  run.rep.phase('guest front ends');
  // A guest whose devices could not be removed keeps its front end: unloading it
  // under an attached back end is not a state anyone has tested.
  const stuck = new Set(iohyps.filter((io) => run.result(io).failed > 0 && !run.result(io).unreachable).map((io) => io.name));
  for (const g of guests.filter((g) => g.devices.length && stuck.has(g.iohyp!))) {
    run.result(g).skipped++;
    run.result(g).notes.push(`front end kept: removing its devices on ${g.iohyp} failed`);
    run.rep.note(g.name, `front end kept: removing its devices on ${g.iohyp} failed`);
  }
  await hostTeardownPhase(
    run,
    guests.filter((g) => !(g.devices.length && stuck.has(g.iohyp!))),
  );
  run.rep.phase('IOhyp back ends');
  await hostTeardownPhase(
    run,
    iohyps.filter((h) => run.healthy(h)),
  );
}

// ---- status -------------------------------------------------------------------

export interface StatusResult extends RunResult {
  facts: Record<string, Facts>;
}

/** Facts of every selected host (read-only). */
export async function statusInventory(inv: Inventory, opts: RunOptions = {}): Promise<StatusResult> {
  const { run, t0 } = await begin('status', inv, { ...opts, reporter: opts.reporter });
  const facts: Record<string, Facts> = {};
  await pool(run.hosts, run.forks, async (h) => {
    const f = await run.facts(h, true);
    run.release(h);
    if (f) {
      facts[h.name] = f;
      run.result(h).ok++;
    }
  });
  const res = run.finish();
  res.durationMs = Date.now() - t0;
  return { ...res, facts };
}
