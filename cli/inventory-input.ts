// The inventory a verb is given: a file, or '-' for standard input (a
// generated inventory piped in, as `ansible-inventory --list | ...` users do).
// Standard input is read up to the document size limit plus one byte, so an
// endless pipe cannot exhaust memory; a relative `files:` source then resolves
// against the working directory.
import { join, resolve } from 'node:path';
import { MAX_DOCUMENT_BYTES } from '../lib/document.js';
import { InputError, UsageError } from '../lib/errors.js';
import type { Inventory } from '../provision/inventory-types.js';
import { loadInventory, parseInventory, type SshSettings } from '../provision/inventory.js';
import type { CommandContext } from './command.js';

export const STDIN_NAME = '<stdin>';

async function readStdin(max: number, stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<Buffer> {
  if (stdin.isTTY)
    throw new UsageError('-i -: the inventory comes from standard input, which is a terminal', 'pipe it in: vrio provision plan -i - < lab.yaml');
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    parts.push(b);
    size += b.length;
    if (size > max) break;
  }
  return Buffer.concat(parts);
}

/** Load and check the inventory named by `arg` ('-' = standard input). */
export async function loadInventoryArg(
  ctx: CommandContext,
  arg: string,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  ssh?: SshSettings,
): Promise<Inventory> {
  if (arg !== '-') return loadInventory(resolve(ctx.cwd, arg), { env: ctx.env, ssh });
  const bytes = await readStdin(MAX_DOCUMENT_BYTES, stdin);
  if (bytes.length === 0) throw new InputError([{ file: STDIN_NAME, pointer: '', rule: 'not-empty', message: 'standard input was empty: no inventory' }]);
  // The name sits in the working directory so relative paths resolve there.
  return parseInventory(join(ctx.cwd, STDIN_NAME), bytes, { env: ctx.env, ssh });
}
