// One hybrid ISO per role, written by xorriso directly:
//   BIOS: isolinux (El Torito no-emulation entry) + the isohybrid MBR, so the
//         same file boots from a CD and, dd'ed, from a USB stick;
//   UEFI: a GRUB EFI binary (grub-mkimage with only the modules needed and a
//         tiny embedded config that finds the ISO and reads /boot/grub/grub.cfg)
//         in a small FAT image, appended as GPT/MBR partition 2 (type 0xEF)
//         and referenced by a second El Torito entry.
// Reproducible: fixed volume id, SOURCE_DATE_EPOCH for every date xorriso
// writes and for every file mtime, mkfs.fat --invariant, mtools with
// SOURCE_DATE_EPOCH and preserved (fixed) mtimes, sorted file order.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, VrioError } from '../../lib/errors.js';
import { run } from '../../lib/exec.js';

export const ISOLINUX_BIN = '/usr/lib/ISOLINUX/isolinux.bin';
export const ISOHYBRID_MBR = '/usr/lib/ISOLINUX/isohdpfx.bin';
export const LDLINUX_C32 = '/usr/lib/syslinux/modules/bios/ldlinux.c32';
export const GRUB_EFI_DIR = '/usr/lib/grub/x86_64-efi';

/** GRUB modules built into BOOTX64.EFI: enough to find the ISO, show a menu on
 * serial + screen and boot a bzImage with an initrd. Nothing else is loaded. */
export const GRUB_MODULES = [
  'part_gpt',
  'part_msdos',
  'iso9660',
  'fat',
  'search',
  'search_label',
  'search_fs_file',
  'normal',
  'configfile',
  'echo',
  'test',
  'linux',
  'serial',
  'terminal',
  'efi_gop',
  'all_video',
  'sleep',
];

export interface IsoSpec {
  volumeId: string;
  title: string;
  cmdline: string;
  kernel: string;
  initramfs: string;
  /** Extra files on the ISO: ISO path -> host file. */
  extra: Record<string, string>;
  sourceDateEpoch: number;
  /** Scratch directory (created and removed by the caller). */
  work: string;
  logFile: string;
}

function isolinuxCfg(s: IsoSpec): string {
  return [
    '# BIOS boot menu (isolinux); serial console first, then the screen.',
    'SERIAL 0 115200',
    'DEFAULT vrio',
    'PROMPT 0',
    'TIMEOUT 10',
    `LABEL vrio`,
    `  MENU LABEL ${s.title}`,
    '  KERNEL /boot/vmlinuz',
    `  APPEND initrd=/boot/initrd.img ${s.cmdline}`,
    '',
  ].join('\n');
}

function grubCfg(s: IsoSpec): string {
  return [
    '# UEFI boot menu (GRUB); serial console and screen.',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    'set timeout=1',
    'set default=0',
    `menuentry '${s.title.replace(/'/g, '')}' {`,
    `  linux /boot/vmlinuz ${s.cmdline}`,
    '  initrd /boot/initrd.img',
    '}',
    '',
  ].join('\n');
}

/** The config built into BOOTX64.EFI: find this ISO by its id file, then read its grub.cfg. */
function grubEarlyCfg(idFile: string): string {
  return [`search --no-floppy --file --set=root ${idFile}`, 'set prefix=($root)/boot/grub', ''].join('\n');
}

function setTimes(dir: string, t: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) setTimes(p, t);
    utimesSync(p, t, t);
  }
  utimesSync(dir, t, t);
}

/** YYYYMMDDhhmmsscc in UTC, as xorriso's --modification-date wants it. */
export function isoDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

async function efiImage(s: IsoSpec, idFile: string, env: Record<string, string>): Promise<string> {
  const efiDir = join(s.work, 'efi');
  mkdirSync(efiDir, { recursive: true });
  const early = join(efiDir, 'early.cfg');
  writeFileSync(early, grubEarlyCfg(idFile));
  const bootx64 = join(efiDir, 'BOOTX64.EFI');
  await run('grub-mkimage', ['-O', 'x86_64-efi', '-d', GRUB_EFI_DIR, '-p', '/boot/grub', '-c', early, '-o', bootx64, ...GRUB_MODULES], {
    logFile: s.logFile,
    env,
  });
  utimesSync(bootx64, s.sourceDateEpoch, s.sourceDateEpoch);
  // FAT image: the EFI binary plus room for the FAT itself, in whole KiB.
  const kib = Math.ceil((statSync(bootx64).size * 1.1 + 256 * 1024) / 1024);
  const img = join(s.work, 'efi.img');
  rmSync(img, { force: true });
  await run('mkfs.vfat', ['--invariant', '-n', 'VRIO_EFI', '-C', img, String(kib)], { logFile: s.logFile, env });
  await run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT'], { logFile: s.logFile, env });
  await run('mcopy', ['-m', '-i', img, bootx64, '::/EFI/BOOT/BOOTX64.EFI'], { logFile: s.logFile, env });
  return img;
}

/**
 * What a kernel command line may hold in grub.cfg and isolinux.cfg: GRUB's script
 * language reads ';', '$', quotes, braces, '#', '\\', '*' and newlines as syntax,
 * and a newline would start a new isolinux directive. The manifest schema has the
 * same pattern (roles.<name>.cmdline); this is the last check before the files.
 */
export const SAFE_CMDLINE = /^[A-Za-z0-9_.,:/=+@%~ -]*$/;

/** Write the hybrid ISO to `out`. */
export async function writeIso(s: IsoSpec, out: string): Promise<void> {
  if (!/^[A-Z0-9_]{1,32}$/.test(s.volumeId)) throw new VrioError(`bad ISO volume id '${s.volumeId}'`);
  if (!SAFE_CMDLINE.test(s.cmdline))
    throw new VrioError(`kernel command line ${JSON.stringify(s.cmdline)} has characters GRUB or isolinux would interpret, not pass to the kernel`, {
      exitCode: ExitCode.USAGE,
      hint: 'roles.<name>.cmdline: plain words of letters, digits and _ . , : / = + @ % ~ -',
    });
  const env = { SOURCE_DATE_EPOCH: String(s.sourceDateEpoch), TZ: 'UTC', LC_ALL: 'C' };
  const tree = join(s.work, 'tree');
  rmSync(tree, { recursive: true, force: true });
  for (const d of ['isolinux', 'boot/grub', 'vrio']) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(ISOLINUX_BIN, join(tree, 'isolinux/isolinux.bin'));
  copyFileSync(LDLINUX_C32, join(tree, 'isolinux/ldlinux.c32'));
  writeFileSync(join(tree, 'isolinux/isolinux.cfg'), isolinuxCfg(s));
  writeFileSync(join(tree, 'boot/grub/grub.cfg'), grubCfg(s));
  copyFileSync(s.kernel, join(tree, 'boot/vmlinuz'));
  copyFileSync(s.initramfs, join(tree, 'boot/initrd.img'));
  // GRUB finds "its" ISO by this file, not by label: two vRIO ISOs attached
  // to one machine (same volume id) still each boot their own kernel.
  const idName = `/vrio/${s.volumeId.toLowerCase()}-${createHash('sha256').update(s.title).digest('hex').slice(0, 12)}.id`;
  writeFileSync(join(tree, idName), s.title + '\n');
  for (const [dest, src] of Object.entries(s.extra)) {
    mkdirSync(join(tree, dest, '..'), { recursive: true });
    copyFileSync(src, join(tree, dest));
  }
  const efi = await efiImage(s, idName, env);
  setTimes(tree, s.sourceDateEpoch);
  rmSync(out, { force: true });
  const date = isoDate(s.sourceDateEpoch);
  await run(
    'xorriso',
    [
      '-as',
      'mkisofs',
      '-o',
      out,
      '-V',
      s.volumeId,
      '-iso-level',
      '3',
      '-rational-rock',
      '-joliet',
      '-joliet-long',
      '--modification-date=' + date,
      '-uid',
      '0',
      '-gid',
      '0',
      // BIOS: isolinux, patched boot-info table, hybrid MBR for USB sticks.
      '-b',
      'isolinux/isolinux.bin',
      '-c',
      'isolinux/boot.cat',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '-isohybrid-mbr',
      ISOHYBRID_MBR,
      // UEFI: the FAT image as partition 2, also the second El Torito entry.
      '-append_partition',
      '2',
      '0xef',
      efi,
      '-eltorito-alt-boot',
      '-e',
      '--interval:appended_partition_2:all::',
      '-no-emul-boot',
      '-isohybrid-gpt-basdat',
      tree,
    ],
    { logFile: s.logFile, env },
  );
}

export interface ElToritoReport {
  bios: boolean;
  uefi: boolean;
  raw: string;
}

/** Boot entries as xorriso reports them (used by inspect and tests). */
export async function reportElTorito(iso: string): Promise<ElToritoReport> {
  const r = await run('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], { env: { LC_ALL: 'C' } });
  const raw = r.stdout + r.stderr;
  return {
    bios: /El Torito boot img :\s+\d+\s+BIOS\s+y/.test(raw),
    uefi: /El Torito boot img :\s+\d+\s+UEFI\s+y/.test(raw),
    raw,
  };
}
