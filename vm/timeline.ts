// Boot timeline: when each stage first showed itself on the consoles, in
// seconds since QEMU was started. The markers are data; the firmware one is
// read from the firmware debug port, the others from the serial console.
import type { ConsoleLine } from './console.js';

export interface Marker {
  name: string;
  label: string;
  source: 'firmware' | 'serial';
  re: RegExp;
}

/** What the images' init prints once sshd listens (the image contract). */
export const SSH_READY = /vrio: ssh ready/;

export const bootMarkers: Marker[] = [
  { name: 'firmware', label: 'firmware', source: 'firmware', re: /\S/ },
  { name: 'firmware', label: 'firmware', source: 'serial', re: /SeaBIOS|EDK II|UEFI|BdsDxe/ },
  { name: 'bootloader', label: 'bootloader', source: 'serial', re: /GNU GRUB|Welcome to GRUB|ISOLINUX|SYSLINUX|Booting `|Loading Linux/ },
  { name: 'kernel', label: 'kernel', source: 'serial', re: /Linux version \d/ },
  { name: 'init', label: 'init', source: 'serial', re: /^vrio: (?!ssh ready)|Run \/\S+ as init process|Freeing unused kernel/ },
  { name: 'ssh-ready', label: 'SSH ready', source: 'serial', re: SSH_READY },
];

export interface TimelineEvent {
  name: string;
  label: string;
  t: number;
  line: string;
}

/** First occurrence of each marker (earliest source wins), in boot order. */
export function timeline(serial: readonly ConsoleLine[], firmware: readonly ConsoleLine[] = []): TimelineEvent[] {
  const out = new Map<string, TimelineEvent>();
  for (const m of bootMarkers) {
    const lines = m.source === 'firmware' ? firmware : serial;
    const hit = lines.find((l) => m.re.test(l.text));
    if (!hit) continue;
    const prev = out.get(m.name);
    if (!prev || hit.t < prev.t) out.set(m.name, { name: m.name, label: m.label, t: hit.t, line: hit.text.slice(0, 120) });
  }
  const order = [...new Set(bootMarkers.map((m) => m.name))];
  return order.flatMap((n) => (out.has(n) ? [out.get(n)!] : []));
}

/** "firmware 0.1s → bootloader 0.9s → kernel 1.6s → …" */
export function formatTimeline(events: readonly TimelineEvent[]): string {
  return events.map((e) => `${e.label} ${e.t.toFixed(1)}s`).join(' → ');
}
