// Options shared by every verb that reads the build manifest.
import { loadManifest, parseMirrorArgs, type Manifest } from '../builder/manifest.js';
import type { CommandContext, OptionSpec, ParsedValues } from './command.js';

export const manifestOptions: Record<string, OptionSpec> = {
  'cache-dir': { type: 'string', arg: 'DIR', description: 'download/source cache (env VRIO_CACHE_DIR; default ~/.cache/vrio)' },
  'output-dir': { type: 'string', short: 'o', arg: 'DIR', description: 'where outputs, build trees and logs go (default: out)' },
  mirror: { type: 'string', multiple: true, arg: 'NAME=PATH', description: 'local mirror for a source, tried before upstream' },
};

export function manifestFromArgs(ctx: CommandContext, values: ParsedValues): Manifest {
  return loadManifest(
    ctx.global.manifest,
    ctx.cwd,
    {
      cacheDir: values['cache-dir'] as string | undefined,
      outputDir: values['output-dir'] as string | undefined,
      mirrors: parseMirrorArgs(values.mirror as string[] | undefined),
    },
    ctx.env,
  );
}
