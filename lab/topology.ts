// Who is in the lab and how they are wired: names, roles, L2 segments,
// addresses, MACs. Pure data from (kernel, number of guests), so the plan is
// the same on every run and testable without booting anything.
import { macFor } from '../vm/args.js';

export interface PlannedNic {
  segment: string;
  iface: string;
  mac: string;
  ip?: string;
  model: 'virtio-net-pci' | 'e1000';
}

export interface PlannedVm {
  name: string;
  role: 'iohyp' | 'guest' | 'peer';
  /** Which image boots it. */
  image: 'iohyp' | 'guest';
  index: number;
  nics: PlannedNic[];
  /** Guests: the vRIO devices the inventory asks for. */
  blk?: { name: string; backing: string };
  net?: { lower: string; vnicMac: string; ip: string; macvtap: string };
}

export const L2_NET = '10.55.0';
export const PEER_NET = '10.66.0';
export const PEER_IP = `${PEER_NET}.100`;

/**
 * The lab: one IOhyp and N guests on segment "lab" (eth1 everywhere; eth0 is
 * management). With vRIO, every guest also gets a remote block device backed by
 * a ramdisk on the IOhyp and a remote NIC on a macvtap over the IOhyp's
 * eth(1+i), which sits on segment "peer" with a plain peer VM. The peer's NIC is
 * an e1000: it pads short frames to 60 bytes, so the basic checks also pass on
 * upstream drivers, whose guest receive path crashes on unpadded frames under
 * 54 bytes. (The fix checks send such frames from inside the IOhyp instead.)
 */
export function planLab(kernel: 'vrio' | 'ci', guests: number): PlannedVm[] {
  const vms: PlannedVm[] = [];
  const iohyp: PlannedVm = {
    name: 'iohyp1',
    role: 'iohyp',
    image: 'iohyp',
    index: 1,
    nics: [{ segment: 'lab', iface: 'eth1', mac: macFor(1, 1), ip: `${L2_NET}.1/24`, model: 'virtio-net-pci' }],
  };
  vms.push(iohyp);
  for (let i = 1; i <= guests; i++) {
    const idx = 1 + i;
    const g: PlannedVm = {
      name: `guest${i}`,
      role: 'guest',
      image: 'guest',
      index: idx,
      nics: [{ segment: 'lab', iface: 'eth1', mac: macFor(idx, 1), ip: `${L2_NET}.${idx}/24`, model: 'virtio-net-pci' }],
    };
    if (kernel === 'vrio') {
      // The name a user writes in an inventory (docs/provision.md): the guest must
      // show the disk under it (the helper sets VIRTIO_BLK_F_DEV_NAME).
      g.blk = { name: 'vdb', backing: `/dev/ram${i}` };
      // One IOhyp NIC per guest under its macvtap: with a shared lower NIC, bridge-mode
      // macvtaps would pass one guest's unpadded ARP straight to the other guest.
      const lower = `eth${1 + i}`;
      iohyp.nics.push({ segment: 'peer', iface: lower, mac: macFor(1, 1 + i), model: 'virtio-net-pci' });
      g.net = { lower, vnicMac: macFor(idx, 3), ip: `${PEER_NET}.${10 + i}/24`, macvtap: `mtap${i}` };
    }
    vms.push(g);
  }
  if (kernel === 'vrio') {
    const idx = guests + 2;
    vms.push({
      name: 'peer1',
      role: 'peer',
      image: 'guest',
      index: idx,
      nics: [{ segment: 'peer', iface: 'eth1', mac: macFor(idx, 1), ip: `${PEER_IP}/24`, model: 'e1000' }],
    });
  }
  return vms;
}

export function segmentsOf(vms: PlannedVm[]): string[] {
  return [...new Set(vms.flatMap((v) => v.nics.map((n) => n.segment)))];
}
