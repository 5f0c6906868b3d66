// SBOM: Debian licence names map to SPDX expressions; the document is valid
// SPDX 2.3 in shape (ids, relationships) and depends only on its inputs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { KernelArtifacts } from '../../builder/artifacts.js';
import type { UnpackedPackage } from '../../builder/debs/apt.js';
import { debianLicenseToSpdx, makeSbom, packageLicense } from '../../builder/image/sbom.js';

const tmp = mkdtempSync(join(tmpdir(), 'vrio-sbom-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function pkg(name: string, copyright?: string): UnpackedPackage {
  const root = join(tmp, name);
  mkdirSync(join(root, 'usr/share/doc', name), { recursive: true });
  if (copyright) writeFileSync(join(root, 'usr/share/doc', name, 'copyright'), copyright);
  return {
    pkg: { name, version: '1:2.0-1+b1', arch: 'amd64', sha256: 'a'.repeat(64), size: 1, source: `${name}-src`, depends: [] },
    deb: '',
    root,
    entries: [],
  };
}

const kernel: KernelArtifacts = {
  role: 'iohyp',
  release: '3.10.0',
  hash: 'k'.repeat(16),
  bzImage: '',
  systemMap: '',
  config: '',
  modulesRoot: '',
  modules: ['vrio_gen'],
  sourceTree: '',
  buildDir: '',
  inputs: [{ name: 'splitio-kernel', kind: 'git', ref: 'b2b678832056d031676db578e8bd15c63e5b7cf4' }],
  patches: [{ name: '0001-vrio.patch', sha256: 'p'.repeat(64), origin: 'upstream-series' }],
};

describe('SBOM', () => {
  it('maps Debian licence expressions to SPDX', () => {
    assert.equal(debianLicenseToSpdx('GPL-2+'), 'GPL-2.0-or-later');
    assert.equal(debianLicenseToSpdx('BSD-3-clause or GPL-2'), 'BSD-3-Clause OR GPL-2.0-only');
    assert.equal(debianLicenseToSpdx('Sleepycat and BSD-3-clause'), 'Sleepycat AND BSD-3-Clause');
    assert.equal(debianLicenseToSpdx('Odd licence 1.0'), 'LicenseRef-Debian-Odd-licence-1.0');
  });

  it('reads the Files: * stanza of a machine-readable copyright file, else NOASSERTION or the data table', () => {
    const dep5 =
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: debian/*\nLicense: GPL-3+\n\nFiles: *\nCopyright: someone\nLicense: LGPL-2.1+\n';
    assert.equal(packageLicense(pkg('libfoo1', dep5)), 'LGPL-2.1-or-later');
    assert.equal(packageLicense(pkg('freeform', 'This package is under some licence.\n')), 'NOASSERTION');
    assert.equal(packageLicense(pkg('nofile')), 'NOASSERTION');
    assert.equal(packageLicense(pkg('busybox-static', 'free form')), 'GPL-2.0-only', 'rootfs/licenses.yaml covers free-form files');
  });

  it('lists image, kernel, patches, packages and helper with valid ids and relationships', () => {
    const doc = makeSbom({
      role: 'iohyp',
      inputHash: 'f'.repeat(64),
      sourceDateEpoch: 1700000000,
      toolVersion: '0.1.0',
      kernel,
      packages: [pkg('dropbear-bin', 'Format: x\n\nFiles: *\nLicense: MIT\n'), pkg('libc6')],
      helper: { name: 'vrio-iohyp', sha256: 'h'.repeat(64) },
    }) as {
      spdxVersion: string;
      creationInfo: { created: string };
      documentNamespace: string;
      packages: { SPDXID: string; name: string; licenseDeclared: string; externalRefs?: { referenceLocator: string }[] }[];
      relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
    };
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.creationInfo.created, '2023-11-14T22:13:20Z', 'created = SOURCE_DATE_EPOCH, not now');
    assert.match(doc.documentNamespace, /^https:\/\/\S+\/iohyp\/f{64}$/);
    const ids = new Set(doc.packages.map((p) => p.SPDXID));
    assert.equal(ids.size, doc.packages.length, 'unique SPDX ids');
    for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
    for (const r of doc.relationships) {
      assert.ok(r.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(r.spdxElementId));
      assert.ok(ids.has(r.relatedSpdxElement));
    }
    const by = new Map(doc.packages.map((p) => [p.name, p]));
    assert.equal(by.get('dropbear-bin')?.licenseDeclared, 'MIT');
    assert.equal(by.get('dropbear-bin')?.externalRefs?.[0].referenceLocator, 'pkg:deb/debian/dropbear-bin@1%3A2.0-1%2Bb1?arch=amd64');
    assert.equal(by.get('linux')?.licenseDeclared, 'GPL-2.0-only');
    assert.ok(doc.relationships.some((r) => r.relationshipType === 'PATCH_APPLIED' && r.relatedSpdxElement === 'SPDXRef-Kernel'));
    assert.equal(by.get('vrio-iohyp')?.licenseDeclared, 'MIT');
  });
});

describe('SBOM licence reader on hostile package content (issue #15)', () => {
  const dep5 = (lic: string) => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${lic}\n`;

  it('never follows a link out of the package to a host file, directly or through a chain of links', () => {
    // Host files that must never be read (they sit beside the package roots).
    const host = join(tmp, 'host-secret');
    writeFileSync(host, dep5('Host-File-Was-Read'));
    writeFileSync(join(tmp, 'host-beside-root'), dep5('Host-File-Was-Read'));
    // 1. an absolute link: in the image it means <root>/..., not the host's file.
    const abs = pkg('abslink');
    symlinkSync(host, join(abs.root, 'usr/share/doc/abslink/copyright'));
    assert.equal(packageLicense(abs), 'NOASSERTION');
    // 2. a chain: each link alone stays inside, together they climb out on the host
    //    (a/b/c/up -> ../../.. is the root; esc -> a/b/c/up/.. is the root's parent).
    const chain = pkg('chain');
    mkdirSync(join(chain.root, 'a/b/c'), { recursive: true });
    symlinkSync('../../..', join(chain.root, 'a/b/c/up'));
    symlinkSync('a/b/c/up/..', join(chain.root, 'esc'));
    symlinkSync('../../../../esc/host-beside-root', join(chain.root, 'usr/share/doc/chain/copyright'));
    assert.equal(packageLicense(chain), 'NOASSERTION');
  });

  it('reads a FIFO or a device as no licence, without hanging; a link inside the package still works', () => {
    const fifo = pkg('fifo');
    const r = spawnSync('mkfifo', [join(fifo.root, 'usr/share/doc/fifo/copyright')]);
    assert.equal(r.status, 0);
    assert.equal(packageLicense(fifo), 'NOASSERTION');
    const dev = pkg('devlink');
    symlinkSync('/dev/zero', join(dev.root, 'usr/share/doc/devlink/copyright'));
    assert.equal(packageLicense(dev), 'NOASSERTION');
    const loop = pkg('loop');
    symlinkSync('copyright', join(loop.root, 'usr/share/doc/loop/copyright'));
    assert.equal(packageLicense(loop), 'NOASSERTION');
    // Debian's usual case: the doc directory is a link to a sibling package's.
    const inside = pkg('libbar1');
    rmSync(join(inside.root, 'usr/share/doc/libbar1'), { recursive: true });
    mkdirSync(join(inside.root, 'usr/share/doc/bar-common'));
    writeFileSync(join(inside.root, 'usr/share/doc/bar-common/copyright'), dep5('MIT'));
    symlinkSync('bar-common', join(inside.root, 'usr/share/doc/libbar1'));
    assert.equal(packageLicense(inside), 'MIT');
  });
});
