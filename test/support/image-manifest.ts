// A complete, valid image manifest (the shape builder/image writes), for tests
// that need an image directory without building one.
import type { ImageManifest } from '../../builder/image/image-manifest.js';

const H = (c: string) => c.repeat(64);

export function sampleImageManifest(role: 'iohyp' | 'guest' = 'iohyp', pin = 'SHA256:' + 'B'.repeat(43)): ImageManifest {
  return {
    format: 'vrio-image-manifest/1',
    role,
    kind: role,
    inputHash: H('1'),
    sourceDateEpoch: 1700000000,
    builtBy: 'vrio-appliance 0.1.0',
    kernel: {
      release: '3.10.0',
      hash: H('2'),
      configSha256: H('3'),
      bzImageSha256: H('4'),
      inputs: [{ name: 'splitio-kernel', kind: 'git', ref: 'b2b678832056d031676db578e8bd15c63e5b7cf4', license: 'GPL-2.0-only' }],
      patches: [
        { name: 'series/0001-macvtap-and-tun.patch', sha256: H('5'), origin: 'upstream-series' },
        { name: 'fixes/0001-vrio-fix.patch', sha256: H('6'), origin: 'fixes' },
      ],
      modules: role === 'iohyp' ? ['vrio_eth', 'vrio_gen', 'vrio_hblk', 'vrio_hnet', 'macvtap'] : ['vrio_eth', 'vrio_gen', 'vrio_gblk', 'vrio_gnet'],
    },
    image: {
      formats: ['initramfs', 'iso', 'tar'],
      compression: 'gzip',
      volumeId: 'VRIO',
      cmdline: 'console=ttyS0,115200 panic=10',
      overlays: ['common', role],
      hostKeyMode: 'build',
    },
    packages: [{ name: 'busybox-static', version: '1:1.35.0-4', arch: 'amd64', sha256: H('7'), used: true }],
    libraries: { 'lib/x86_64-linux-gnu/libc.so.6': 'libc6' },
    helper: role === 'iohyp' ? { path: '/usr/sbin/vrio-iohyp', compiler: 'musl-gcc', sha256: H('8') } : null,
    tools: { node: 'v20.20.2' },
    hostKeys: { 'ssh-ed25519': pin },
    hostPublicKeys: { 'ssh-ed25519': `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILNXfRtYq2hMbbRD+0uZgvbOaJY9qXyvMUWL9mdUHWwd root@vrio-${role}` },
    authorizedKeys: ['SHA256:' + 'C'.repeat(43)],
    outputs: {
      [`${role}.iso`]: { sha256: 'ab'.repeat(32), size: 0 },
      'initramfs.img': { sha256: H('9'), size: 0 },
      vmlinuz: { sha256: H('4'), size: 0 },
    },
  };
}
