// The write workload on vrio's side: the provisioner has no verb that writes
// arbitrary files (it only knows vRIO's own changes), so this small program
// runs the same write set on vrio's own parts — the inventory loader, the ssh2
// transport with strict host keys, and the runner's parallel pool (all hosts at
// once) — one idempotent shell round trip per host. It is what an apply of the
// same changes would cost, not a user-facing verb; the report says so.
//   node dist/bench/vrio-write.js -i INVENTORY    (prints {"hosts":N,"changed":M})
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pool } from '../provision/runner.js';
import { loadInventory } from '../provision/inventory.js';
import { connect } from '../provision/transport.js';
import { shScript } from '../provision/shell.js';
import { writeSpec, type WriteSpec } from './ansible.js';

// Idempotent like Ansible's file/copy: create what is missing, rewrite a file
// only when its content differs, fix a mode only when it differs; count changes.
const SCRIPT = `
root=$1; shift; changed=0
while [ $# -gt 0 ]; do
  case $1 in
  d) p="$root/$2"; shift 2
     if [ ! -d "$p" ]; then mkdir -p "$p" && chmod 0755 "$p" || exit 1; changed=$((changed+1)); fi ;;
  f) p="$root/$2"; mode=$3; content=$4; shift 4
     if [ ! -f "$p" ] || [ "$(cat "$p"; echo x)" != "\${content}x" ]; then
       printf '%s' "$content" > "$p.tmp" && chmod "$mode" "$p.tmp" && mv "$p.tmp" "$p" || exit 1; changed=$((changed+1))
     elif [ "$(stat -c %a "$p")" != "\${mode#0}" ]; then chmod "$mode" "$p" || exit 1; changed=$((changed+1)); fi ;;
  *) echo "bad item $1" >&2; exit 2 ;;
  esac
done
echo "changed=$changed"
`.trim();

export function writeArgv(root: string, spec: WriteSpec): string[] {
  const items: string[] = [];
  for (const d of spec.dirs) items.push('d', d);
  for (const f of spec.files) items.push('f', f.path, f.mode, f.content);
  return shScript(SCRIPT, [root, ...items]);
}

export async function writeAll(inventoryFile: string): Promise<{ hosts: number; changed: number; failed: string[] }> {
  const inv = loadInventory(inventoryFile);
  const spec = writeSpec();
  let changed = 0;
  const failed: string[] = [];
  await pool(inv.hosts, inv.hosts.length, async (h) => {
    const root = h.vars.scratch;
    if (typeof root !== 'string' || !root.startsWith('/')) {
      failed.push(`${h.name}: no absolute vars.scratch`);
      return;
    }
    try {
      const s = await connect(h.connection);
      try {
        const r = await s.exec(writeArgv(root, spec));
        const m = /changed=(\d+)/.exec(r.stdout);
        if (r.code !== 0 || !m) failed.push(`${h.name}: exit ${r.code} ${r.stderr.trim()}`);
        else changed += Number(m[1]);
      } finally {
        s.close();
      }
    } catch (e) {
      failed.push(`${h.name}: ${(e as Error).message}`);
    }
  });
  return { hosts: inv.hosts.length, changed, failed };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { inventory: { type: 'string', short: 'i' } } });
  if (!values.inventory) {
    process.stderr.write('usage: node dist/bench/vrio-write.js -i INVENTORY\n');
    process.exit(2);
  }
  writeAll(values.inventory).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(r.failed.length ? 1 : 0);
    },
    (e) => {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
