// `vrio run IMAGE` as a person uses it: through a pseudo-terminal (util-linux
// `script` gives the CLI a real pty, as a terminal emulator would), the serial
// console of the 3.10 vRIO image is this terminal. The test activates the
// console, runs a command at the shell prompt, logs in over SSH with the exact
// command `vrio run` printed, quits with Ctrl-A X and checks that the command
// returned 0 and left no QEMU behind. Both images, two boot paths.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { lacks, prerequisite } from '../support/prereq.js';
import { cliBin, vrioImagesFixture } from '../support/vrio-images.js';
import { pidsWith } from './smoke-support.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-run-pty-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const imgs = vrioImagesFixture('default');

/** A terminal session: what the CLI wrote so far, and a way to wait for a pattern in it. */
class Terminal {
  text = '';
  exited: Promise<number | null>;
  private waiters: (() => void)[] = [];
  private readonly child;
  constructor(argv: string[], cwd: string) {
    // script -q (no banner) -f (flush) -e (its exit code is the command's) -c CMD /dev/null (no typescript file)
    const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'vt100', NO_COLOR: '1' } });
    const take = (b: Buffer) => {
      this.text += b.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.exited = new Promise((res) => this.child.on('close', (code) => res(code)));
  }
  type(s: string): void {
    this.child.stdin.write(s);
  }
  /** Wait until `re` matches the output after `from`; the match, or a failure that shows the output's tail. */
  async expect(re: RegExp, what: string, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text.slice(from));
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`${what}: not seen within ${timeoutMs / 1000} s; the terminal's last lines:\n${this.text.slice(-1500)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

const cases = [
  { role: 'guest', flags: ['--media', 'kernel'] },
  { role: 'iohyp', flags: [] as string[] },
];

describe('vrio run: an interactive boot through a pseudo-terminal', () => {
  for (const c of cases) {
    test(`${c.role} (${c.flags.length ? c.flags.join(' ') : 'default: BIOS, cdrom'}): shell on the console, SSH with the printed command, Ctrl-A X quits, no QEMU left`, async (t) => {
      if (lacks(t, imgs.missing)) return;
      for (const tool of ['script', 'ssh']) {
        const why = await promisify(execFile)('sh', ['-c', `command -v ${tool}`]).then(
          () => undefined,
          () => `${tool} is not installed`,
        );
        if (why && lacks(t, prerequisite(why))) return;
      }
      const cwd = mkdtempSync(join(tmp, `${c.role}-`));
      const term = new Terminal([process.execPath, cliBin(), 'run', join(imgs.imgs!.out, 'images', c.role), ...c.flags], cwd);
      try {
        const ssh = await term.expect(/ssh: (ssh -i \S+ -p \d+ .*root@127\.0\.0\.1)\r?\n/, 'the SSH command line', 30_000);
        await term.expect(/Please press Enter to activate this console/, 'the console prompt', 240_000);
        term.type('\r');
        const mark = term.text.length;
        await term.expect(/root@[\w.-]+:\/\S*# $/m, 'a shell prompt naming user, host and directory', 60_000, mark);
        term.type('echo vrio-run-$((6*7))\r');
        await term.expect(/^vrio-run-42\r?$/m, 'the output of a command typed at the prompt', 60_000, mark);
        // The printed command, as a user copies it (plus batch mode so a prompt cannot hang the test).
        const argv = ssh[1].split(' ').slice(1);
        const r = await promisify(execFile)('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60', ...argv, 'cat /proc/version'], { timeout: 120_000 });
        assert.match(r.stdout, /^Linux version 3\.10\./, 'SSH reaches the booted 3.10 image');
        term.type('\x01x');
        const code = await Promise.race([term.exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 60_000).unref())]);
        assert.equal(code, 0, `vrio run returns 0 after Ctrl-A X; the terminal's last lines:\n${term.text.slice(-800)}`);
        assert.deepEqual(pidsWith(`run-${c.role}`), [], 'no QEMU of this run is left');
      } finally {
        term.kill();
      }
    });
  }
});
