// A minimal SSH client for VMs we booted: key auth as root, the host key
// checked against the SHA256 fingerprints pinned in the image manifest (never
// trust-on-first-use), commands run with a timeout. Used by smoke and the lab.
import { Client, type ClientChannel } from 'ssh2';
import { VrioError } from '../../lib/errors.js';
import { readPrivateKeyFile, UnprotectedKeyError } from '../../lib/keyfile.js';
import { fingerprint, keyType } from '../../lib/ssh/fingerprint.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKeyFile: string;
  /** Accepted host key fingerprints ("SHA256:..."); at least one is required. */
  pins: string[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  /** stdout as bytes (binary data such as a block device's contents). */
  stdoutBuf: Buffer;
  stderr: string;
}

export class HostKeyMismatch extends VrioError {
  constructor(target: SshTarget, got: string) {
    super(`host key of ${target.host}:${target.port} is ${got}, not one of the pinned keys (${target.pins.join(', ')})`, {
      hint: 'the VM is not running the image whose manifest gave the pins, or the image was rebuilt: rebuild/restart both',
    });
  }
}

export class SshSession {
  /** Rejecters of commands in flight: a dropped connection fails them at once instead of at their timeout. */
  private readonly pending = new Set<(e: Error) => void>();
  private closed = false;

  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    /** The host key the server presented (matched a pin): lets the lab write a known_hosts for OpenSSH. */
    readonly hostKey: { type: string; blob: Buffer },
  ) {
    const fail = () => {
      this.closed = true;
      for (const r of this.pending) r(new VrioError(`SSH connection to ${target.host}:${target.port} was lost`));
      this.pending.clear();
    };
    client.on('close', fail);
    client.on('error', fail);
  }

  static connect(target: SshTarget, timeoutMs = 10_000): Promise<SshSession> {
    if (target.pins.length === 0) return Promise.reject(new VrioError(`no pinned host key for ${target.host}:${target.port}: refusing to connect`));
    const key = readPrivateKeyFile(target.privateKeyFile);
    return new Promise((resolve, reject) => {
      const c = new Client();
      let mismatch: string | undefined;
      let presented: Buffer | undefined;
      let settled = false;
      c.once('ready', () => {
        settled = true;
        resolve(new SshSession(c, target, { type: presented ? keyType(presented) : 'unknown', blob: presented ?? Buffer.alloc(0) }));
      });
      // 'on', not 'once': ssh2 may emit more than one error for one failed handshake.
      c.on('error', (e) => {
        if (settled) return;
        settled = true;
        c.end();
        reject(mismatch ? new HostKeyMismatch(target, mismatch) : e);
      });
      c.on('close', () => {
        if (settled) return;
        settled = true;
        reject(new VrioError('connection closed before the SSH handshake finished'));
      });
      c.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey: key,
        readyTimeout: timeoutMs,
        hostVerifier: (blob: Buffer) => {
          const fp = fingerprint(blob);
          presented = blob;
          if (target.pins.includes(fp)) return true;
          mismatch = fp;
          return false;
        },
      });
    });
  }

  exec(command: string, o: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<ExecResult> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    if (this.closed) return Promise.reject(new VrioError(`SSH connection to ${this.target.host}:${this.target.port} was lost`));
    return new Promise<ExecResult>((resolveExec, rejectExec) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(reject);
      };
      const resolve = (r: ExecResult) => (done(), resolveExec(r));
      const reject = (e: Error) => (done(), rejectExec(e));
      this.pending.add(reject);
      this.client.exec(command, (err, ch: ClientChannel) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        let code = -1;
        timer = setTimeout(() => {
          ch.close();
          reject(new VrioError(`command timed out after ${Math.round(timeoutMs / 1000)} s on ${this.target.host}:${this.target.port}: ${command}`));
        }, timeoutMs);
        ch.on('data', (d: Buffer) => out.push(d));
        ch.stderr.on('data', (d: Buffer) => errb.push(d));
        ch.on('exit', (c: number | null) => (code = c ?? -1));
        ch.on('close', () => {
          const buf = Buffer.concat(out);
          resolve({ code, stdout: buf.toString('utf8'), stdoutBuf: buf, stderr: Buffer.concat(errb).toString('utf8') });
        });
        if (o.input !== undefined) ch.end(o.input);
        else ch.end();
      });
    });
  }

  /** Run and require exit 0; the error carries the command's stderr. */
  async check(command: string, o: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<string> {
    const r = await this.exec(command, o);
    if (r.code !== 0) throw new VrioError(`'${command}' failed on ${this.target.host}:${this.target.port} (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
    return r.stdout;
  }

  end(): void {
    this.client.end();
  }
}

/**
 * Connect, retrying while the guest's sshd is not up yet (QEMU's forwarder
 * accepts and then drops connections until then). A host key mismatch or an
 * unprotected key file is final: retrying would not make either right.
 */
export async function waitForSsh(
  target: SshTarget,
  o: {
    timeoutMs: number;
    signal?: AbortSignal;
    stopIf?: () => string | undefined;
    /** True once the guest said its sshd listens ("vrio: ssh ready" on the console). */
    sshdUp?: () => boolean;
  },
): Promise<SshSession> {
  const deadline = Date.now() + o.timeoutMs;
  let last: unknown;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new VrioError('interrupted');
    const stop = o.stopIf?.();
    if (stop) throw new VrioError(`SSH never came up: ${stop}`);
    try {
      // Before sshd is up, a connection through QEMU's forwarder can stall instead of
      // failing, so attempts are short; once the guest says sshd listens, a handshake
      // gets all the remaining time (key exchange is slow under TCG on a busy host).
      const left = Math.max(1500, deadline - Date.now());
      return await SshSession.connect(target, o.sshdUp?.() ? left : Math.min(3000, left));
    } catch (e) {
      if (e instanceof HostKeyMismatch || e instanceof UnprotectedKeyError) throw e;
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new VrioError(`SSH to ${target.host}:${target.port} not ready after ${Math.round(o.timeoutMs / 1000)} s (last error: ${(last as Error)?.message ?? 'none'})`);
}
