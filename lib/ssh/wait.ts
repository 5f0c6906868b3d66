// Logging in to a VM we just booted (smoke, the lab): key auth as root, the
// host key checked against the fingerprints pinned in the image manifest
// (never trust-on-first-use), retried while the guest's sshd is not up yet.
import { VrioError } from '../errors.js';
import { connect, TransportError, type Connection, type Session } from './client.js';

export interface PinnedTarget {
  /** The VM's name, in every message about it. */
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile: string;
  /** Accepted host key fingerprints ("SHA256:..."); a key matching none is refused. */
  pins: string[];
  /** Per connection attempt (default 10 s). */
  connectTimeoutMs?: number;
}

/** The connection to a host whose keys we know from its image: pins only, no known_hosts, no agent. */
export function pinnedConnection(t: PinnedTarget): Connection {
  return {
    name: t.name,
    address: t.address,
    port: t.port,
    user: t.user,
    identityFile: t.identityFile,
    hostKeys: { knownHostsFiles: [], pins: t.pins },
    connectTimeoutMs: t.connectTimeoutMs ?? 10_000,
    // No keepalive: a guest under TCG on a busy host can be slow to answer one, and every command has its own timeout.
    keepaliveMs: 0,
    retries: 0,
    commandTimeoutMs: 60_000,
  };
}

/**
 * Connect, retrying while the guest's sshd is not up yet (QEMU's forwarder
 * accepts and then drops connections until then). A refused host key or a bad
 * identity file (e.g. readable by others) is final: retrying would not make
 * either right.
 */
export async function waitForSsh(
  target: PinnedTarget,
  o: {
    timeoutMs: number;
    signal?: AbortSignal;
    stopIf?: () => string | undefined;
    /** True once the guest said its sshd listens ("vrio: ssh ready" on the console). */
    sshdUp?: () => boolean;
  },
): Promise<Session> {
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
      return await connect(pinnedConnection({ ...target, connectTimeoutMs: o.sshdUp?.() ? left : Math.min(3000, left) }), { signal: o.signal });
    } catch (e) {
      if (e instanceof TransportError && (e.kind === 'host-key' || e.kind === 'config')) throw e;
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new VrioError(
    `SSH to ${target.name} (${target.address}:${target.port}) not ready after ${Math.round(o.timeoutMs / 1000)} s (last error: ${(last as Error)?.message ?? 'none'})`,
  );
}
