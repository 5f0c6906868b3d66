// A private L2 segment for VMs (the lab's): a tiny Ethernet hub on the loopback
// interface. Each QEMU NIC connects to the hub's TCP port
// (`-netdev socket,connect=127.0.0.1:HUB`; QEMU frames each Ethernet frame with
// a 4-byte big-endian length) and the hub repeats every frame to all other
// members. QEMU's own listen/connect socket joins only two VMs; a segment with
// an IOhyp and several guests needs more.
//
// Why TCP and not UDP datagrams: vRIO has no per-frame retransmission (a lost
// frame of a 128 KiB block message costs a resend of the whole request, and
// after 5 the request fails with an I/O error). Over UDP, QEMU under TCG could
// not drain its 208 KiB socket buffer during an mkfs and lost hundreds of
// frames (RcvbufErrors), so ext2 checks failed. Over TCP nothing is lost: when
// a member reads slowly, the hub stops reading from the sender until that
// member has drained (back-pressure, like Ethernet pause frames). A member that
// does not read at all (a NIC that is down: QEMU stops reading its socket)
// must not stall the segment: after STUCK_MS without draining it is marked
// stuck, nobody waits for it, and beyond MEMBER_BACKLOG its frames are dropped,
// as a switch drops for a dead port, until it drains again.
//
// Like a real Ethernet wire, the hub pads frames shorter than the 60-byte
// minimum (virtio-net does not pad; physical NICs and e1000 do). This matters:
// the upstream vRIO guest receive path crashes on frames under 54 bytes, e.g.
// an ARP request. (The fix checks send such frames from inside the IOhyp.)
// Safety: the hub listens on 127.0.0.1 only, refuses connections from any
// other address and beyond its member count. Nothing reaches any other network.
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface HubStats {
  frames: number;
  bytes: number;
  /** Connections refused: not from loopback, or more than the members. */
  refused: number;
  /** Frames not delivered to a member that did not read (stuck, backlog full). */
  dropped: number;
  padded: number;
}

/** Minimum Ethernet frame without the FCS. */
export const MIN_FRAME = 60;
/** Largest frame a member may send (vMTU 9000 + header, with room); more means a broken stream. */
export const MAX_FRAME = 65_536;
/** How long a sender waits for a slow member before that member counts as stuck. */
export const STUCK_MS = 200;
/** Bytes queued for a stuck member before its frames are dropped. */
export const MEMBER_BACKLOG = 4 << 20;

export interface Hub {
  port: number;
  stats: HubStats;
  close(): Promise<void>;
}

const isLoopback = (a: string | undefined) => a === '127.0.0.1' || a === '::ffff:127.0.0.1';

export function startHub(port: number, o: { members: number; host?: string }): Promise<Hub> {
  const stats: HubStats = { frames: 0, bytes: 0, refused: 0, dropped: 0, padded: 0 };
  const conns = new Set<Socket>();
  const stuck = new WeakSet<Socket>();

  /** Hold the sender back until the member drained, or mark the member stuck after STUCK_MS. */
  function waitFor(member: Socket, sender: Socket): void {
    sender.pause();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      member.off('drain', finish);
      sender.resume();
    };
    const timer = setTimeout(() => {
      stuck.add(member);
      finish();
    }, STUCK_MS);
    member.once('drain', finish);
  }

  function forward(from: Socket, frame: Buffer): void {
    stats.frames++;
    stats.bytes += frame.length;
    if (frame.length < MIN_FRAME) {
      frame = Buffer.concat([frame, Buffer.alloc(MIN_FRAME - frame.length)]);
      stats.padded++;
    }
    const msg = Buffer.allocUnsafe(4 + frame.length);
    msg.writeUInt32BE(frame.length, 0);
    frame.copy(msg, 4);
    for (const m of conns) {
      if (m === from || m.destroyed) continue;
      if (stuck.has(m) && m.writableLength > MEMBER_BACKLOG) {
        stats.dropped++;
        continue;
      }
      // That member is behind: stop reading the sender until it drained.
      if (!m.write(msg) && !stuck.has(m)) waitFor(m, from);
    }
  }

  const server = createServer((c) => {
    if (!isLoopback(c.remoteAddress) || conns.size >= o.members) {
      stats.refused++;
      c.destroy();
      return;
    }
    c.setNoDelay(true);
    conns.add(c);
    c.on('drain', () => stuck.delete(c));
    let buf: Buffer = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len === 0 || len > MAX_FRAME) {
          c.destroy(); // not QEMU's framing: drop this member rather than forward garbage
          return;
        }
        if (buf.length < 4 + len) break;
        forward(c, buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
    });
    c.on('close', () => conns.delete(c));
    c.on('error', () => undefined); // a VM that stops closes its end; not the hub's problem
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        stats,
        close: () =>
          new Promise((r) => {
            for (const c of conns) c.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** The line the hub process prints once it accepts members (the lab waits for it). */
export const HUB_READY = 'hub listening on';

/** Run as a process: node hub.js --port P --members N [--tag TEXT] */
async function main(argv: string[]): Promise<void> {
  let port = 0;
  let members = 0;
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--port') ((port = Number(v)), i++);
    else if (argv[i] === '--members') ((members = Number(v)), i++);
    else if (argv[i] === '--tag') i++; // identifies the lab in `ps` and for pid checks
  }
  if (!(port > 0 && port < 65536) || !(Number.isInteger(members) && members >= 2 && members <= 64)) {
    process.stderr.write('usage: hub --port P --members N (2-64) [--tag T]\n');
    process.exit(2);
  }
  const hub = await startHub(port, { members });
  process.stdout.write(`${HUB_READY} 127.0.0.1:${hub.port} for ${members} members\n`);
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`hub: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
