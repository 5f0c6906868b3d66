// ISO structure: both El Torito entries, the isohybrid MBR and the EFI system
// partition with GRUB, the menus carrying the manifest's command line, and
// byte-identical output for identical inputs (dates from SOURCE_DATE_EPOCH).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isoDate, reportElTorito, writeIso, type IsoSpec } from '../../builder/image/iso.js';
import { ExitCode, type VrioError } from '../../lib/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-iso-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function spec(name: string, epoch = 1700000000): IsoSpec {
  const work = join(tmp, `work-${name}`);
  mkdirSync(work, { recursive: true });
  return {
    volumeId: 'VRIO',
    title: 'vRIO test (6.1.0)',
    cmdline: 'console=ttyS0,115200 vrio.l2=eth1 vrio.ip=10.55.0.1/24',
    kernel: join(tmp, 'vmlinuz'),
    initramfs: join(tmp, 'initrd.img'),
    extra: { 'vrio/image.json': join(tmp, 'image.json') },
    sourceDateEpoch: epoch,
    work,
    logFile: join(tmp, 'iso.log'),
  };
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const iso1 = join(tmp, 'a.iso');

before(async () => {
  // Stand-ins: the structure does not depend on what the kernel file holds.
  writeFileSync(join(tmp, 'vmlinuz'), Buffer.alloc(300_000, 1));
  writeFileSync(join(tmp, 'initrd.img'), Buffer.alloc(200_000, 2));
  writeFileSync(join(tmp, 'image.json'), '{"role":"test"}\n');
  await writeIso(spec('a'), iso1);
});

function isoFile(iso: string, path: string): string {
  const out = join(tmp, `x-${path.replace(/\//g, '_')}`);
  const r = spawnSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out, 'utf8');
}

describe('hybrid ISO', () => {
  it('has a BIOS and a UEFI El Torito boot entry (xorriso -report_el_torito)', async () => {
    const r = await reportElTorito(iso1);
    assert.ok(r.bios, r.raw);
    assert.ok(r.uefi, r.raw);
    assert.match(r.raw, /El Torito img path :\s+1\s+\/isolinux\/isolinux\.bin/);
    assert.match(r.raw, /El Torito img opts :\s+1\s+boot-info-table isohybrid-suitable/);
  });

  it('is an isohybrid disk: MBR boot code, an EFI (0xEF) partition holding GRUB, and a GPT', () => {
    const img = readFileSync(iso1);
    assert.equal(img.readUInt16LE(510), 0xaa55, 'MBR signature');
    assert.equal(img.toString('latin1', 512, 520), 'EFI PART', 'GPT header at LBA 1');
    const parts = [0, 1, 2, 3].map((i) => ({
      type: img[446 + i * 16 + 4],
      start: img.readUInt32LE(446 + i * 16 + 8),
      sectors: img.readUInt32LE(446 + i * 16 + 12),
    }));
    const esp = parts.find((p) => p.type === 0xef);
    assert.ok(esp, `no 0xEF partition in ${JSON.stringify(parts)}`);
    const r = spawnSync('mdir', ['-b', '-i', `${iso1}@@${esp.start * 512}`, '::/EFI/BOOT'], {
      encoding: 'utf8',
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /BOOTX64\.EFI/);
  });

  it('carries the menus with the command line, the kernel pair and the extra files', () => {
    assert.match(isoFile(iso1, '/isolinux/isolinux.cfg'), /APPEND initrd=\/boot\/initrd\.img console=ttyS0,115200 vrio\.l2=eth1 vrio\.ip=10\.55\.0\.1\/24/);
    const grub = isoFile(iso1, '/boot/grub/grub.cfg');
    assert.match(grub, /linux \/boot\/vmlinuz console=ttyS0,115200 vrio\.l2=eth1 vrio\.ip=10\.55\.0\.1\/24/);
    assert.match(grub, /terminal_output serial console/);
    assert.equal(isoFile(iso1, '/vrio/image.json'), '{"role":"test"}\n');
    const r = spawnSync('xorriso', ['-indev', iso1, '-pvd_info'], { encoding: 'utf8' });
    assert.match(r.stdout + r.stderr, /Volume Id\s+:\s+VRIO/);
    assert.match(r.stdout + r.stderr, new RegExp(`Creation Time: ${isoDate(1700000000).slice(0, 14)}`));
  });

  it('is byte-identical when built again from the same inputs, and the dates follow SOURCE_DATE_EPOCH', async () => {
    const iso2 = join(tmp, 'b.iso');
    await writeIso(spec('b'), iso2);
    assert.equal(sha(iso2), sha(iso1));
    const iso3 = join(tmp, 'c.iso');
    await writeIso(spec('c', 1700000000 + 86400), iso3);
    assert.notEqual(sha(iso3), sha(iso1));
  });

  it('refuses a volume id ISO 9660 cannot hold', async () => {
    await assert.rejects(writeIso({ ...spec('d'), volumeId: 'bad id' }, join(tmp, 'd.iso')), /bad ISO volume id 'bad id'/);
  });

  // The schema rejects these in a manifest already; this is the last line before grub.cfg
  // and isolinux.cfg, where ';', '$', quotes, braces or a newline would be boot-loader syntax.
  for (const cmdline of ['quiet; reboot', 'init=$prefix/x', 'a="b c"', "a='b'", 'x\nmenuentry evil {', 'a\\b', 'a}b', 'a # c', 'a`id`']) {
    it(`refuses a command line the boot loaders would interpret: ${JSON.stringify(cmdline)}`, async () => {
      const out = join(tmp, 'bad-cmdline.iso');
      await assert.rejects(
        writeIso({ ...spec('e'), cmdline }, out),
        (e: Error) => /kernel command line/.test(e.message) && (e as VrioError).exitCode === ExitCode.USAGE,
      );
      assert.ok(!existsSync(out), 'no ISO written');
    });
  }
});
