// What a host's facts will look like after a list of changes has run: lets
// `plan` compute device changes that depend on earlier changes (the guest's
// front end loaded by the same run) without touching any host, and lets tests
// check that planning the projected state yields nothing (idempotence).
import type { Facts } from '../facts.js';
import type { Change } from './change.js';
import { projectFileChange } from './files.js';

export function projectFacts(facts: Facts, changes: readonly Change[]): Facts {
  const f: Facts = structuredClone(facts);
  for (const c of changes) {
    const x = c.data as Record<string, unknown>;
    const nic = typeof x.interface === 'string' ? f.nics[x.interface] : undefined;
    switch (c.kind) {
      case 'save-state':
        f.saved = Object.fromEntries((x.lines as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
        break;
      case 'clear-state':
        delete f.saved;
        break;
      case 'sysctl':
        f.sysctls[x.key as string] = x.value as string;
        break;
      case 'mtu':
        if (nic) nic.mtu = x.mtu as number;
        break;
      case 'queues':
        if (nic?.combined) nic.combined.current = x.combined as number;
        break;
      case 'link-up':
        if (nic) nic.up = !x.down;
        break;
      case 'address':
        if (nic) nic.ipv4 = x.remove ? nic.ipv4.filter((a) => a !== x.address) : [...nic.ipv4, x.address as string];
        break;
      case 'module-load': {
        const name = x.module as string;
        f.modules[name] = { refcount: 0, usedBy: [], params: { ...(x.params as Record<string, string>) } };
        if (name === 'vrio_gen') f.iohypDevice = true;
        break;
      }
      case 'module-unload': {
        const name = x.module as string;
        delete f.modules[name];
        for (const m of Object.values(f.modules)) m.usedBy = m.usedBy.filter((u) => u !== name);
        if (name === 'vrio_gen') f.iohypDevice = false;
        break;
      }
      case 'macvtap-add':
        f.nics[x.interface as string] = {
          mtu: 1500,
          mac: x.mac as string,
          up: true,
          operstate: 'up',
          kind: 'macvtap',
          lower: x.lower as string,
          rxQueues: 1,
          txQueues: 1,
          ipv4: [],
        };
        break;
      case 'macvtap-del':
        delete f.nics[x.interface as string];
        break;
      case 'device-create':
        if (x.type === 'blk')
          f.vrio.blk.push({
            file: `blk/bdev${f.vrio.blk.length}`,
            backing: x.backing as string,
            guestIp: x.guestIp as string,
            guestDevice: x.name as string,
            capacity: 0,
            bytesWritten: 0,
            bytesRead: 0,
            ioOps: 0,
          });
        else
          f.vrio.net.push({
            file: `net/ndev${f.vrio.net.length}`,
            backing: x.backing as string,
            guestIp: x.guestIp as string,
            bytesSent: 0,
            bytesReceived: 0,
            ioOps: 0,
          });
        break;
      case 'device-remove':
        if (x.type === 'blk') f.vrio.blk = f.vrio.blk.filter((b) => b.backing !== x.backing);
        else f.vrio.net = f.vrio.net.filter((n) => n.backing !== x.backing);
        break;
      case 'file-write':
      case 'file-mode':
      case 'dir-create':
      case 'file-remove':
        projectFileChange(f, c);
        break;
    }
  }
  return f;
}
