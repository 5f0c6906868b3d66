// SPDX 2.3 (JSON) software bill of materials for one image: the image, its
// kernel (with the patches applied to it), the Debian packages that put files
// into it, and our own control helper, with their licences. Licences of Debian
// packages come from their machine-readable copyright files (the "Files: *"
// stanza), mapped to SPDX ids by rootfs/licenses.yaml.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dataPath } from '../../lib/paths.js';
import type { KernelArtifacts } from '../artifacts.js';
import type { UnpackedPackage } from '../debs/apt.js';
import { readRegularFileIn } from './stage-fs.js';

const COPYRIGHT_MAX = 1024 * 1024;

interface LicenseData {
  debian: Record<string, string>;
  packages: Record<string, string>;
}

let licenseData: LicenseData | undefined;
function licenses(): LicenseData {
  return (licenseData ??= parse(readFileSync(dataPath('rootfs/licenses.yaml'), 'utf8')) as LicenseData);
}

function spdxToken(debianName: string): string {
  const t = debianName.trim();
  const known = licenses().debian[t];
  if (known) return known;
  return 'LicenseRef-Debian-' + t.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** "BSD-3-clause or GPL-2" -> "BSD-3-Clause OR GPL-2.0-only". */
export function debianLicenseToSpdx(expr: string): string {
  const ors = expr.split(/\s+or\s+/i).map((alt) =>
    alt
      .split(/\s+and\s+|,\s*/i)
      .map((x) => spdxToken(x.replace(/\s+with\s+.*$/i, '')))
      .join(' AND '),
  );
  return ors.length > 1 ? ors.map((o) => (o.includes(' AND ') ? `(${o})` : o)).join(' OR ') : ors[0];
}

/** The declared licence of an unpacked Debian package, or NOASSERTION. */
export function packageLicense(u: UnpackedPackage): string {
  const fixed = licenses().packages[u.pkg.name];
  if (fixed) return fixed;
  // The copyright file is package content: a symlink in it is resolved inside
  // the package (never to a host file), and only a regular file is read (never
  // a FIFO or a device), at most COPYRIGHT_MAX bytes (the "Files: *" stanza is first).
  const raw = readRegularFileIn(u.root, `usr/share/doc/${u.pkg.name}/copyright`, COPYRIGHT_MAX);
  if (!raw) return 'NOASSERTION';
  const text = raw.toString('utf8');
  if (!/^Format:/m.test(text)) return 'NOASSERTION';
  const m = /^Files:\s*\*\s*$[\s\S]*?^License:\s*(.+)$/m.exec(text);
  return m ? debianLicenseToSpdx(m[1]) : 'NOASSERTION';
}

function spdxId(prefix: string, name: string): string {
  return `SPDXRef-${prefix}-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

export interface SbomInput {
  role: string;
  inputHash: string;
  sourceDateEpoch: number;
  toolVersion: string;
  kernel: KernelArtifacts;
  packages: UnpackedPackage[];
  helper?: { name: string; sha256: string };
}

export function makeSbom(s: SbomInput): object {
  const created = new Date(s.sourceDateEpoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const imageId = 'SPDXRef-Image';
  const kernelId = 'SPDXRef-Kernel';
  const packages: object[] = [
    {
      SPDXID: imageId,
      name: `vrio-${s.role}`,
      versionInfo: s.inputHash.slice(0, 16),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      comment: `vRIO ${s.role} appliance image built by vrio-appliance ${s.toolVersion}`,
    },
  ];
  const rel: object[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  const kIn = s.kernel.inputs[0];
  packages.push({
    SPDXID: kernelId,
    name: 'linux',
    versionInfo: s.kernel.release,
    downloadLocation: kIn?.ref && /^[a-z]+:\/\//.test(kIn.ref) ? kIn.ref : 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'GPL-2.0-only',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'OPERATING-SYSTEM',
    comment: `kernel build ${s.kernel.hash}; inputs: ${s.kernel.inputs.map((i) => `${i.name} (${i.kind} ${i.ref})`).join(', ') || 'none'}`,
  });
  rel.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: kernelId });
  for (const p of s.kernel.patches) {
    const id = spdxId('Patch', p.name);
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.sha256.slice(0, 12),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'GPL-2.0-only',
      copyrightText: 'NOASSERTION',
      comment: `kernel patch (${p.origin})`,
    });
    rel.push({ spdxElementId: id, relationshipType: 'PATCH_APPLIED', relatedSpdxElement: kernelId });
  }
  for (const u of [...s.packages].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1))) {
    const id = spdxId('Deb', u.pkg.name);
    packages.push({
      SPDXID: id,
      name: u.pkg.name,
      versionInfo: u.pkg.version,
      supplier: 'Organization: Debian',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: u.pkg.sha256 }],
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:deb/debian/${u.pkg.name}@${encodeURIComponent(u.pkg.version)}?arch=${u.pkg.arch}`,
        },
      ],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: packageLicense(u),
      copyrightText: 'NOASSERTION',
      sourceInfo: `built from Debian source package ${u.pkg.source}`,
    });
    rel.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  if (s.helper) {
    const id = spdxId('Helper', s.helper.name);
    packages.push({
      SPDXID: id,
      name: s.helper.name,
      versionInfo: s.toolVersion,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: s.helper.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'MIT',
      copyrightText: 'NOASSERTION',
      comment: 'the /dev/iohyp control helper of vrio-appliance (rootfs/helper/), statically linked',
    });
    rel.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `vrio-${s.role}-image`,
    // Derived from the input hash: same inputs, same document, byte for byte.
    documentNamespace: `https://vrio-appliance.invalid/spdx/${s.role}/${s.inputHash}`,
    creationInfo: { created, creators: [`Tool: vrio-appliance-${s.toolVersion}`] },
    packages,
    relationships: rel,
  };
}
