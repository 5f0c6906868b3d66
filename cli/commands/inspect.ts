// `vrio inspect <image>`: what an image holds (content, boot entries, modules, files).
import { inspectImage } from '../../builder/image/inspect.js';
import { formatBytes, table } from '../../lib/log.js';
import type { Command } from '../command.js';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show what an image holds: role, kernel, packages, host keys, boot entries, modules, files',
  usage: '<image> [--files]',
  description:
    'IMAGE is an image directory (out/images/<role>), its manifest.json, a .iso, an initramfs.img or a rootfs.tar. Everything is read from the artefact itself.',
  examples: ['vrio inspect out/images/iohyp', 'vrio inspect out/images/guest/guest.iso --files', 'vrio inspect initramfs.img --json'],
  options: { files: { type: 'boolean', description: 'list every file' } },
  positionals: { name: 'an image (directory, .iso, initramfs or tar)', min: 1, max: 1, complete: 'file' },
  async run(ctx, values, positionals) {
    const r = await inspectImage(positionals[0]);
    if (ctx.global.json) {
      ctx.log.event('inspect', values.files ? { ...r } : { ...r, files: undefined, fileCount: r.files.length });
      return 0;
    }
    const c = (r.content ?? {}) as {
      role?: string;
      kind?: string;
      kernel?: { release?: string };
      packages?: Record<string, string>;
      hostKeys?: Record<string, string>;
    };
    const rows: string[][] = [
      ['source', `${r.source} (${r.kind})`],
      ['role', c.role ? `${c.role} (${c.kind})` : '(unknown: no /etc/vrio/image.json)'],
      ['kernel', c.kernel?.release ?? '?'],
    ];
    if (r.boot) rows.push(['boot', `BIOS ${r.boot.bios ? 'yes' : 'NO'}, UEFI ${r.boot.uefi ? 'yes' : 'NO'}`]);
    for (const [t, f] of Object.entries(c.hostKeys ?? {})) rows.push(['host key', `${t} ${f}`]);
    const files = r.files.filter((f) => f.type === 'file');
    rows.push(['files', `${files.length} files, ${formatBytes(files.reduce((s, f) => s + f.size, 0))} (${r.files.length} entries)`]);
    rows.push(['modules', r.modules.length ? r.modules.join(' ') : '(none)']);
    rows.push([
      'packages',
      Object.entries(c.packages ?? {})
        .map(([n, v]) => `${n}=${v}`)
        .join(' ') || '?',
    ]);
    const outs = r.manifest?.outputs ?? {};
    for (const [n, o] of Object.entries(outs)) rows.push(['output', `${n} ${formatBytes(o.size)} sha256:${o.sha256.slice(0, 16)}`]);
    ctx.log.print(table(['WHAT', 'VALUE'], rows));
    if (values.files) {
      ctx.log.print('');
      ctx.log.print(
        table(
          ['MODE', 'SIZE', 'PATH'],
          r.files.map((f) => [f.mode, String(f.size), f.target ? `${f.path} -> ${f.target}` : f.path]),
        ),
      );
    }
    return 0;
  },
};
