// The QEMU command line for one VM, as a pure function of a VmSpec so that it
// can be unit-tested and shown to users (`--verbose`, lab logs) exactly.
import type { Firmware } from './firmware.js';
import { LOOPBACK } from './ports.js';

export type Accel = 'kvm' | 'tcg';
export type Media = 'cdrom' | 'disk';

export type BootSpec =
  /** Direct kernel boot: fastest, lets the lab append to the kernel command line. */
  | { kind: 'kernel'; kernel: string; initrd?: string; append: string }
  /** The hybrid ISO as a CD-ROM. */
  | { kind: 'cdrom'; iso: string }
  /** The hybrid ISO as a raw disk, the way a USB stick boots. */
  | { kind: 'disk'; image: string };

export type NicModel = 'virtio-net-pci' | 'e1000';

/**
 * One NIC on a private L2 segment, on loopback only: either UDP datagrams
 * between two ports (QEMU sends to `remotePort` from `localPort`), or a TCP
 * connection to a segment hub (hub.ts), which loses no frames, or a TCP
 * link of exactly two VMs: one listens ('tcp-listen'), the other connects to
 * that port as to a hub ('tcp').
 */
export type L2Nic = { id: string; mac: string; model: NicModel } & (
  { transport?: 'udp'; localPort: number; remotePort: number } | { transport: 'tcp'; hubPort: number } | { transport: 'tcp-listen'; listenPort: number }
);

/**
 * An extra raw disk, attached read-write as a virtio disk. `cache: 'none'`
 * opens it with O_DIRECT on the host (with aio=threads), so the guest's block
 * figures are not the host page cache's.
 */
export type Disk = string | { file: string; cache: 'none' };

/**
 * Where the guest's serial console (ttyS0) goes:
 * - 'log' (default): into serialLog only.
 * - 'session': into serialLog and onto QEMU's stdout, with QEMU's stdin as
 *   its keyboard: a program drives a shell on it (RunningVm.console).
 * - 'terminal': this process's terminal, multiplexed with QEMU's monitor
 *   (Ctrl-A C); serialLog is not written (`vrio run`).
 */
export type SerialMode = 'log' | 'session' | 'terminal';

export interface VmSpec {
  name: string;
  /** QEMU machine type (default pc: i440FX). */
  machine?: 'pc' | 'q35';
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  firmware: Firmware;
  /** OVMF_CODE.fd, required when firmware is uefi. */
  ovmfCode?: string;
  boot: BootSpec;
  /** Guest serial console (ttyS0) goes here. */
  serialLog: string;
  serial?: SerialMode;
  /** Firmware debug port 0x402 (SeaBIOS writes its banner there): gives the firmware timestamp. */
  firmwareLog?: string;
  /** Management NIC (user-mode network, first NIC so it is eth0) with SSH forwarded from 127.0.0.1. */
  management?: { sshPort: number; mac: string };
  l2?: L2Nic[];
  /** Extra raw disks (e.g. a backing device), attached read-write as virtio disks. */
  disks?: Disk[];
  pidFile?: string;
}

/** MAC addresses in the locally administered range 52:54:00 (QEMU's own prefix). */
export function macFor(vmIndex: number, nicIndex: number): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `52:54:00:${h(0x10 + nicIndex)}:${h((vmIndex >> 8) & 0xff)}:${h(vmIndex & 0xff)}`;
}

/**
 * `-smp`: under TCG always room for a second vCPU (maxcpus), even with one.
 * QEMU 7.2's TCG leaves out the guest's memory barriers when the machine can
 * only ever have one vCPU (translation blocks without CF_PARALLEL), but the
 * virtio device model runs in another host thread: virtio's event-index
 * handshake then loses a kick now and then, and a NIC's TX queue stalls for
 * good (docs/vrio-fixes.md, section 8; fixed upstream in QEMU 8.1). With
 * maxcpus=2 TCG emits the barriers; the guest still runs one vCPU.
 */
export function smpOf(spec: Pick<VmSpec, 'accel' | 'cpus'>): string {
  return spec.accel === 'tcg' ? `${spec.cpus},maxcpus=${Math.max(2, spec.cpus)}` : String(spec.cpus);
}

function socketOf(n: L2Nic): string {
  switch (n.transport) {
    case 'tcp':
      return `connect=${LOOPBACK}:${n.hubPort}`;
    case 'tcp-listen':
      return `listen=${LOOPBACK}:${n.listenPort}`;
    default:
      return `udp=${LOOPBACK}:${n.remotePort},localaddr=${LOOPBACK}:${n.localPort}`;
  }
}

export function qemuArgs(spec: VmSpec): string[] {
  const a: string[] = [];
  a.push('-name', `vrio-${spec.name},process=vrio-${spec.name}`);
  a.push('-machine', spec.machine ?? 'pc', '-accel', spec.accel);
  a.push('-m', String(spec.memoryMiB), '-smp', smpOf(spec));
  // No display, no default devices we did not ask for; panics and reboots end QEMU
  // (the images boot with panic=N) so a crashed guest cannot loop forever.
  a.push('-display', 'none', '-vga', 'none', '-nodefaults', '-no-reboot', '-monitor', 'none');
  switch (spec.serial ?? 'log') {
    case 'log':
      a.push('-chardev', `file,id=ser0,path=${spec.serialLog}`);
      break;
    case 'session':
      // QEMU's stdio is a pair of pipes here, not a terminal; the log file gets every byte too.
      a.push('-chardev', `stdio,id=ser0,logfile=${spec.serialLog}`);
      break;
    case 'terminal':
      a.push('-chardev', 'stdio,id=ser0,mux=on,signal=off', '-mon', 'chardev=ser0,mode=readline');
      break;
  }
  a.push('-serial', 'chardev:ser0');
  if (spec.firmwareLog) a.push('-chardev', `file,id=fwlog,path=${spec.firmwareLog}`, '-device', 'isa-debugcon,iobase=0x402,chardev=fwlog');
  if (spec.firmware === 'uefi') {
    if (!spec.ovmfCode) throw new Error('qemuArgs: uefi firmware needs ovmfCode');
    a.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${spec.ovmfCode}`);
  }
  switch (spec.boot.kind) {
    case 'kernel':
      a.push('-kernel', spec.boot.kernel);
      if (spec.boot.initrd) a.push('-initrd', spec.boot.initrd);
      a.push('-append', spec.boot.append);
      break;
    case 'cdrom':
      a.push('-drive', `file=${spec.boot.iso},media=cdrom,readonly=on,if=ide,index=2`, '-boot', 'order=d');
      break;
    case 'disk':
      a.push('-drive', `file=${spec.boot.image},format=raw,readonly=on,if=virtio`, '-boot', 'order=c');
      break;
  }
  for (const d of spec.disks ?? [])
    a.push('-drive', typeof d === 'string' ? `file=${d},format=raw,if=virtio` : `file=${d.file},if=virtio,format=raw,cache=none,aio=threads`);
  if (spec.management) {
    const m = spec.management;
    // restrict=on: the guest gets DHCP but cannot reach the host or any outside
    // address; only the explicit forward (bound to 127.0.0.1) connects to it.
    a.push('-netdev', `user,id=mgmt,restrict=on,hostfwd=tcp:${LOOPBACK}:${m.sshPort}-:22`);
    a.push('-device', `virtio-net-pci,netdev=mgmt,mac=${m.mac}`);
  }
  for (const n of spec.l2 ?? []) {
    a.push('-netdev', `socket,id=${n.id},${socketOf(n)}`);
    a.push('-device', `${n.model},netdev=${n.id},mac=${n.mac}`);
  }
  if (spec.pidFile) a.push('-pidfile', spec.pidFile);
  return a;
}
