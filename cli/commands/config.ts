import { readFileSync } from 'node:fs';
import { pointerOf } from '../../lib/document.js';
import { UsageError } from '../../lib/errors.js';
import { table } from '../../lib/log.js';
import { dataPath } from '../../lib/paths.js';
import type { Command } from '../command.js';
import { manifestFromArgs, manifestOptions } from '../manifest-options.js';

function flatten(v: unknown, path: string[], out: [string, string][]): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, [...path, k], out);
  } else out.push([pointerOf(path), Array.isArray(v) ? v.map(String).join(', ') || '(none)' : v === null ? '(none)' : String(v)]);
}

export const configShowCommand: Command = {
  name: 'config show',
  summary: 'print the effective build manifest and where each value came from',
  usage: '[--role R] [--json]',
  description: 'Defaults, then ./vrio.yaml (or --manifest), then command-line values; like `mkosi summary`.',
  examples: ['vrio config show', 'vrio config show --role guest', 'vrio --manifest ci.yaml config show --json'],
  options: { role: { type: 'string', short: 'r', arg: 'ROLE', description: 'only the kernel settings and this role' }, ...manifestOptions },
  async run(ctx, values) {
    const m = manifestFromArgs(ctx, values);
    const role = values.role as string | undefined;
    if (role && !m.roles[role]) throw new UsageError(`no role '${role}'`, `roles: ${Object.keys(m.roles).join(', ')}`);
    const { origins, file, ...data } = m;
    const shown: Record<string, unknown> = role ? { kernel: data.kernel, roles: { [role]: data.roles[role] }, image: data.image } : data;
    if (ctx.global.json) {
      ctx.log.event('config', { manifest: file ?? null, config: shown, origins });
      return 0;
    }
    const rows: [string, string][] = [];
    flatten(shown, [], rows);
    const originOf = (p: string): string => {
      for (let q = p; q; q = q.slice(0, q.lastIndexOf('/'))) if (origins[q]) return origins[q];
      return p.startsWith('/roles/') ? 'default (built-in role defaults)' : 'default';
    };
    ctx.log.print(`manifest: ${file ?? '(none: built-in defaults)'}`);
    ctx.log.print(
      table(
        ['KEY', 'VALUE', 'FROM'],
        rows.map(([k, v]) => [k, v.length > 70 ? v.slice(0, 67) + '...' : v, originOf(k)]),
      ),
    );
    return 0;
  },
};

export const configSchemaCommand: Command = {
  name: 'config schema',
  summary: 'print the JSON Schema of the build manifest (for editors: "$schema")',
  examples: ['vrio config schema > manifest.schema.json'],
  async run(ctx) {
    const text = readFileSync(dataPath('builder/manifest.schema.json'), 'utf8');
    if (ctx.global.json) ctx.log.event('schema', { name: 'manifest', schema: JSON.parse(text) });
    else ctx.log.print(text);
    return 0;
  },
};
