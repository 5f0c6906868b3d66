// Options shared by every verb that reads the build manifest.
import { loadManifest, parseMirrorArgs, type Manifest } from '../builder/manifest.js';
import type { CommandContext, OptionSpec, ParsedValues } from './command.js';

const group = 'Manifest options';

export const manifestOptions: Record<string, OptionSpec> = {
  'output-dir': { type: 'string', short: 'o', arg: 'DIR', complete: 'dir', group, description: 'where outputs, build trees and logs go (default: out)' },
  'cache-dir': { type: 'string', arg: 'DIR', complete: 'dir', group, description: 'download/source cache (env VRIO_CACHE_DIR; default ~/.cache/vrio)' },
  mirror: { type: 'string', multiple: true, arg: 'NAME=PATH', complete: 'dir', group, description: 'local mirror for a source, tried before upstream' },
  set: {
    type: 'string',
    multiple: true,
    arg: 'KEY=VALUE',
    group,
    description: 'override one manifest value, checked like the file: kernel.jobs=4, image.formats=[iso,tar]',
  },
};

export function manifestFromArgs(ctx: CommandContext, values: ParsedValues): Manifest {
  return loadManifest(
    ctx.global.manifest,
    ctx.cwd,
    {
      set: values.set as string[] | undefined,
      cacheDir: values['cache-dir'] as string | undefined,
      outputDir: values['output-dir'] as string | undefined,
      mirrors: parseMirrorArgs(values.mirror as string[] | undefined),
    },
    ctx.env,
  );
}
