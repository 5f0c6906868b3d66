// How a run talks: human lines on stderr (plus the plan and recap on stdout),
// or with --json one event object per line on stdout. The runner calls these
// hooks; it never prints by itself.
import { formatBytes, formatDuration, type Logger } from '../lib/log.js';
import { commandLine } from '../lib/shell.js';
import type { Facts } from './facts.js';
import type { Change } from './ops/change.js';
import { hostStatus, type RunResult, type Verb } from './results.js';

export interface Reporter {
  start(verb: Verb, hosts: { name: string; role: string }[], forks: number): void;
  phase(name: string): void;
  connected(host: string, fingerprint: string, how: string, attempts: number): void;
  retry(host: string, attempt: number, message: string, delayMs: number): void;
  facts(host: string, facts: Facts, durationMs: number, modules?: string[]): void;
  plan(host: string, changes: Change[], errors: string[], notes: string[]): void;
  change(host: string, c: Change, status: 'changed' | 'failed' | 'recovering', durationMs: number, detail?: string): void;
  hostError(host: string, kind: 'failed' | 'unreachable', message: string, hint?: string): void;
  note(host: string, message: string): void;
  /** A remote command about to run (-v shows it; its stdin is never shown, only its size). */
  command(host: string, argv: readonly string[], stdinBytes?: number): void;
  /** What it printed (-vv). */
  output(host: string, code: number | null, stdout: string, stderr: string): void;
  recap(result: RunResult): void;
}

const sym = (c: Change): string =>
  c.kind === 'module-unload' || c.kind === 'device-remove' || c.kind === 'macvtap-del' || c.kind === 'clear-state'
    ? '-'
    : c.kind === 'module-load' || c.kind === 'device-create' || c.kind === 'macvtap-add' || c.kind === 'save-state' || c.kind === 'address'
      ? '+'
      : '~';

/** One line per host; `modules` are the ones the inventory wants (so test modules show too). */
export function factsSummary(f: Facts, modules: string[] = []): string {
  // --only files reads nothing but the inventory's paths.
  if (!f.kernel && f.files) return `${Object.keys(f.files).length} of the inventory's paths exist`;
  const loaded = Object.keys(f.modules).filter((m) => m.startsWith('vrio_') || modules.includes(m));
  return `kernel ${f.kernel}, ${formatBytes(f.memAvailableKiB * 1024)} available, modules: ${loaded.length ? loaded.join(' ') : 'none'}, vRIO devices: ${f.vrio.blk.length} blk ${f.vrio.net.length} net`;
}

export function silentReporter(): Reporter {
  const nop = () => {};
  return {
    start: nop,
    phase: nop,
    connected: nop,
    retry: nop,
    facts: nop,
    plan: nop,
    change: nop,
    hostError: nop,
    note: nop,
    command: nop,
    output: nop,
    recap: nop,
  };
}

export function logReporter(log: Logger, opts: { diff?: boolean } = {}): Reporter {
  const json = log.json;
  let width = 8;
  const tag = (h: string) => log.paint('bold', h.padEnd(width));
  return {
    start(verb, hosts, forks) {
      width = Math.max(8, ...hosts.map((h) => h.name.length));
      const n = (r: string) => hosts.filter((h) => h.role === r).length;
      if (json) return log.event('start', { verb, hosts: hosts.map((h) => h.name), forks });
      const count = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
      log.step(`${verb}: ${count(hosts.length, 'host')} (${count(n('iohyp'), 'IOhyp')}, ${count(n('guest'), 'guest')}), forks ${forks}`);
    },
    phase(name) {
      if (json) return log.event('phase', { phase: name });
      log.info(log.paint('dim', `-- ${name}`));
    },
    connected(host, fingerprint, how, attempts) {
      if (json) return log.event('connected', { host, fingerprint, hostKey: how, attempts });
      log.debug(`${host}: connected (${fingerprint}, ${how}${attempts > 1 ? `, attempt ${attempts}` : ''})`);
      if (how === 'accepted-new') log.warn(`${host}: new host key ${fingerprint} accepted and recorded (--accept-new)`);
    },
    command(host, argv, stdinBytes) {
      if (json) return;
      // One line per command: a script's line breaks show as ⏎.
      log.debug(`${tag(host)} $ ${commandLine(argv).replace(/\n\s*/g, ' ⏎ ')}${stdinBytes ? ` < (${formatBytes(stdinBytes)} on stdin)` : ''}`);
    },
    output(host, code, stdout, stderr) {
      if (json) return;
      // The last lines only: a command's output is for seeing why, not a log of its own.
      const lines = (text: string, mark: string) =>
        text
          .trimEnd()
          .split('\n')
          .filter(Boolean)
          .slice(-20)
          .map((l) => `${' '.repeat(width + 3)}${mark} ${l}`);
      const out = [...lines(stdout, '|'), ...lines(stderr, '!')];
      log.trace(`${tag(host)} exit ${code ?? 'signal'}${out.length ? '\n' + out.join('\n') : ''}`);
    },
    retry(host, attempt, message, delayMs) {
      if (json) return log.event('retry', { host, attempt, message, delayMs });
      log.warn(`${host}: ${message}; retry ${attempt} in ${formatDuration(delayMs / 1000)}`);
    },
    facts(host, facts, durationMs, modules) {
      if (json) return log.event('facts', { host, durationMs, facts });
      log.info(`${tag(host)} facts: ${factsSummary(facts, modules)} (${formatDuration(durationMs / 1000)})`);
    },
    plan(host, changes, errors, notes) {
      if (json)
        return log.event('plan', {
          host,
          changes: changes.map((c) => ({ kind: c.kind, summary: c.summary, data: c.data, command: c.argv, diff: c.diff })),
          errors,
          notes,
        });
      const lines = [
        `${log.paint('bold', host)}: ${errors.length ? log.paint('red', `${errors.length} error${errors.length > 1 ? 's' : ''}`) + (changes.length ? `, ${changes.length} changes` : '') : changes.length ? log.paint('yellow', `${changes.length} change${changes.length > 1 ? 's' : ''}`) : log.paint('green', 'no changes')}`,
      ];
      for (const c of changes) {
        lines.push(`  ${log.paint(sym(c) === '-' ? 'red' : sym(c) === '+' ? 'green' : 'yellow', sym(c))} ${c.summary}`);
        if (opts.diff && c.diff) lines.push(...diffLines(c.diff, '      ').map((l) => log.paint('dim', l)));
      }
      for (const e of errors) lines.push(`  ${log.paint('red', '!')} ${e}`);
      for (const n of notes) lines.push(`  ${log.paint('dim', `note: ${n}`)}`);
      log.print(lines.join('\n'));
    },
    change(host, c, status, durationMs, detail) {
      if (json)
        return log.event('change', {
          host,
          status,
          kind: c.kind,
          summary: c.summary,
          data: c.data,
          command: c.argv,
          durationMs,
          ...(detail ? { detail } : {}),
        });
      const st = status === 'changed' ? log.paint('yellow', 'changed') : status === 'failed' ? log.paint('red', 'FAILED ') : log.paint('yellow', 'recover');
      log.info(
        `${tag(host)} ${st} ${c.summary} (${formatDuration(durationMs / 1000)})${detail ? `\n${' '.repeat(width + 9)}${detail.split('\n').join(`\n${' '.repeat(width + 9)}`)}` : ''}`,
      );
      if (opts.diff && c.diff && status === 'changed') log.info(log.paint('dim', diffLines(c.diff, ' '.repeat(width + 9)).join('\n')));
    },
    hostError(host, kind, message, hint) {
      if (json) return log.event('host-error', { host, kind, message, ...(hint ? { hint } : {}) });
      log.info(
        `${tag(host)} ${log.paint('red', kind === 'unreachable' ? 'UNREACHABLE' : 'FAILED')} ${message}${hint ? `\n${' '.repeat(width + 2)}hint: ${hint}` : ''}`,
      );
    },
    note(host, message) {
      if (json) return log.event('note', { host, message });
      log.info(`${tag(host)} ${log.paint('dim', message)}`);
    },
    recap(r) {
      if (json) {
        for (const h of r.hosts)
          log.event('host', {
            host: h.host,
            role: h.role,
            status: hostStatus(h),
            ok: h.ok,
            changed: h.changed,
            failed: h.failed,
            unreachable: h.unreachable ? 1 : 0,
            skipped: h.skipped,
            durationMs: h.durationMs,
            errors: h.errors,
            notes: h.notes,
          });
        return log.event('recap', {
          verb: r.verb,
          exitCode: r.exitCode,
          durationMs: r.durationMs,
          hosts: r.hosts.length,
          ...countStatuses(r),
          ...(r.batches && r.batches.length > 1 ? { batches: r.batches } : {}),
          ...(r.stopped ? { stopped: r.stopped } : {}),
        });
      }
      log.print(recapText(r, log));
    },
  };
}

function countStatuses(r: RunResult): Record<string, number> {
  const out: Record<string, number> = { ok: 0, changed: 0, failed: 0, unreachable: 0 };
  for (const h of r.hosts) {
    const st = hostStatus(h);
    if (st === 'not-started') out.notStarted = (out.notStarted ?? 0) + 1;
    else out[st]++;
  }
  return out;
}

/** Ansible-style recap: one line per host with counts and its duration. */
export function recapText(r: RunResult, log?: Logger): string {
  const paint = (c: Parameters<Logger['paint']>[0], s: string) => (log ? log.paint(c, s) : s);
  const w = Math.max(8, ...r.hosts.map((h) => h.host.length));
  const lines = [paint('bold', `RECAP ${r.verb} — ${r.hosts.length} host${r.hosts.length === 1 ? '' : 's'} in ${formatDuration(r.durationMs / 1000)}`)];
  for (const h of r.hosts) {
    const st = hostStatus(h);
    const color = st === 'ok' ? 'green' : st === 'changed' ? 'yellow' : st === 'not-started' ? 'dim' : 'red';
    const planned = h.changes.filter((c) => c.status === 'planned').length;
    const cols = [
      `ok=${h.ok}`.padEnd(6),
      (r.verb === 'plan' ? `planned=${planned}` : `changed=${h.changed}`).padEnd(11),
      `unreachable=${h.unreachable ? 1 : 0}`.padEnd(14),
      `failed=${h.failed}`.padEnd(9),
      `skipped=${h.skipped}`.padEnd(10),
      `time=${formatDuration(h.durationMs / 1000)}`,
      ...(h.notStarted ? ['not started'] : []),
    ];
    lines.push(`${paint(color, h.host.padEnd(w))} : ${h.role.padEnd(5)}  ${cols.join(' ')}`);
  }
  const c = countStatuses(r);
  if (r.batches && r.batches.length > 1)
    lines.push(`batches: ${r.batches.map((b, i) => `${i + 1}) ${b.hosts.join(',')}${b.failed ? ` ${b.failed} failed` : ' ok'}`).join('; ')}`);
  if (r.stopped) lines.push(paint('red', `stopped: ${r.stopped}; later batches not started`));
  if ((r.verb === 'apply' || r.verb === 'teardown') && r.exitCode === 0 && r.hosts.every((h) => h.changed === 0))
    lines.push(paint('green', `no changes: every host already ${r.verb === 'apply' ? 'matches the inventory' : 'is torn down'}`));
  lines.push(
    `exit ${r.exitCode}: ${c.ok} ok, ${c.changed} ${r.verb === 'plan' ? 'with changes' : 'changed'}, ${c.failed} failed, ${c.unreachable} unreachable${c.notStarted ? `, ${c.notStarted} not started` : ''}`,
  );
  return lines.join('\n');
}

/** --diff of one change: before -> after, then the unified diff of a text file when there is one. */
function diffLines(d: NonNullable<Change['diff']>, indent: string): string[] {
  const head = `${indent}${d.path}: ${d.before ?? '(none)'} -> ${d.after ?? '(none)'}`;
  return d.unified ? [head, ...d.unified.split('\n').map((l) => `${indent}  ${l}`)] : [head];
}
