// Test helper: check every output of a `vrio build` output dir that *looks*
// complete (it has the file that marks it done) for corruption. Used after
// each kill of an interrupted build: a half-written artifact under a final
// name is exactly what must never be seen.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageManifest } from '../../builder/image/image-manifest.js';

export interface OutputCheck {
  /** Outputs that looked complete and were checked. */
  verified: string[];
  /** What was wrong with outputs that looked complete. */
  corrupt: string[];
}

function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

function readAt(p: string, offset: number, len: number): Buffer {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(len);
    const n = readSync(fd, b, 0, len, offset);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Why an ELF file is not whole, or undefined when it is: the section header
 * table sits at the end of a relocatable/.ko file, so a truncated one points
 * past its end. (ELF32 too: the kernel's 16-bit boot code is built as such.)
 */
export function elfProblem(p: string): string | undefined {
  const size = statSync(p).size;
  if (size < 52) return `${size} bytes: shorter than an ELF header`;
  const h = readAt(p, 0, 64);
  if (h.readUInt32BE(0) !== 0x7f454c46) return 'no ELF magic';
  if (h[5] !== 1) return 'not little-endian ELF';
  let shoff: number;
  let entsize: number;
  let count: number;
  if (h[4] === 2) {
    if (size < 64) return `${size} bytes: shorter than an ELF64 header`;
    [shoff, entsize, count] = [Number(h.readBigUInt64LE(0x28)), h.readUInt16LE(0x3a), h.readUInt16LE(0x3c)];
  } else if (h[4] === 1) {
    [shoff, entsize, count] = [h.readUInt32LE(0x20), h.readUInt16LE(0x2e), h.readUInt16LE(0x30)];
  } else return `unknown ELF class ${h[4]}`;
  const end = shoff + entsize * count;
  if (end > size) return `section headers end at ${end}, past the file's ${size} bytes (truncated)`;
  return undefined;
}

/** Why a bzImage is not one, or undefined. */
export function bzImageProblem(p: string): string | undefined {
  const size = statSync(p).size;
  if (size < 0x400) return `${size} bytes: too small`;
  if (readAt(p, 0x202, 4).toString('latin1') !== 'HdrS') return 'no "HdrS" boot header';
  // setup_sects * 512 + 512 + the protected-mode part (syssize, in 16-byte units).
  const hdr = readAt(p, 0x1f1, 0x10);
  const setup = (hdr[0] || 4) * 512 + 512;
  const syssize = readAt(p, 0x1f4, 4).readUInt32LE(0) * 16;
  if (setup + syssize > size) return `header says ${setup + syssize} bytes, file has ${size} (truncated)`;
  return undefined;
}

function dirs(p: string): string[] {
  if (!existsSync(p)) return [];
  return readdirSync(p, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !/\.(tmp|old)-\d+/.test(e.name))
    .map((e) => join(p, e.name));
}

export function walkFiles(dir: string, keep: (p: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && keep(p)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Check everything in `out` (and the source tarball in `cacheFile`, pinned to `pin`) that looks built. */
export function checkOutputs(out: string, tarball?: { file: string; sha256: string }): OutputCheck {
  const r: OutputCheck = { verified: [], corrupt: [] };
  const bad = (what: string, why: string) => r.corrupt.push(`${what}: ${why}`);
  const guard = (what: string, f: () => void) => {
    try {
      f();
      r.verified.push(what);
    } catch (e) {
      bad(what, (e as Error).message);
    }
  };

  // The cached source tarball: under its final name only when whole and verified.
  if (tarball && existsSync(tarball.file)) {
    guard(tarball.file, () => {
      const got = sha256File(tarball.file);
      if (got !== tarball.sha256) throw new Error(`sha256 ${got}, pinned ${tarball.sha256}`);
    });
  }

  // Prepared trees: state.json marks them done.
  for (const t of dirs(join(out, 'kernel', 'trees'))) {
    if (!existsSync(join(t, 'state.json'))) continue;
    guard(t, () => {
      const st = JSON.parse(readFileSync(join(t, 'state.json'), 'utf8')) as { key: string; patches: unknown[] };
      if (!st.key || !Array.isArray(st.patches)) throw new Error('state.json lacks key/patches');
      for (const f of ['src/Makefile', 'src/drivers/misc/vrio_test/vrio_test.c', 'src/drivers/misc/Kconfig']) {
        if (!existsSync(join(t, f))) throw new Error(`${f} missing: the tree is incomplete or unpatched`);
      }
      if (!readFileSync(join(t, 'src/drivers/misc/Kconfig'), 'utf8').includes('VRIO_TEST')) throw new Error('drivers/misc/Kconfig lacks the patch');
    });
  }

  // Verified configs: `config` marks them done.
  for (const c of dirs(join(out, 'kernel', 'configs'))) {
    if (!existsSync(join(c, 'config'))) continue;
    guard(join(c, 'config'), () => {
      const text = readFileSync(join(c, 'config'), 'utf8');
      if (!text.endsWith('\n') || !/^CONFIG_VRIO_TEST=m$/m.test(text)) throw new Error('config is cut short or lacks CONFIG_VRIO_TEST=m');
      JSON.parse(readFileSync(join(c, 'wanted.json'), 'utf8'));
    });
  }

  // Kernel builds: state.json marks them done; the staged files must be whole.
  for (const b of dirs(join(out, 'kernel', 'builds'))) {
    if (!existsSync(join(b, 'state.json'))) continue;
    guard(b, () => {
      const st = JSON.parse(readFileSync(join(b, 'state.json'), 'utf8')) as { release: string; modules: string[] };
      const bz = bzImageProblem(join(b, 'stage', 'bzImage'));
      if (bz) throw new Error(`stage/bzImage: ${bz}`);
      if (!statSync(join(b, 'stage', 'System.map')).size) throw new Error('stage/System.map is empty');
      const lib = join(b, 'stage', 'modules', 'lib', 'modules', st.release);
      if (!existsSync(join(lib, 'modules.dep'))) throw new Error('modules.dep missing (depmod did not finish)');
      const kos = walkFiles(lib, (p) => p.endsWith('.ko'));
      for (const name of st.modules) {
        const ko = kos.find((k) => k.endsWith(`/${name}.ko`));
        if (!ko) throw new Error(`module ${name} listed in state.json is not staged`);
      }
      for (const ko of kos) {
        const e = elfProblem(ko);
        if (e) throw new Error(`${ko}: ${e}`);
      }
    });
  }

  // Images: manifest.json marks them done; every output must match its sha256.
  for (const d of dirs(join(out, 'images'))) {
    if (!existsSync(join(d, 'manifest.json'))) continue;
    guard(d, () => {
      const man = readImageManifest(join(d, 'manifest.json'));
      const names = Object.keys(man.outputs);
      if (!names.length) throw new Error('manifest.json lists no outputs');
      for (const [name, o] of Object.entries(man.outputs)) {
        const p = join(d, name);
        if (!existsSync(p)) throw new Error(`${name} listed but missing`);
        if (statSync(p).size !== o.size) throw new Error(`${name}: ${statSync(p).size} bytes, manifest says ${o.size}`);
        const got = sha256File(p);
        if (got !== o.sha256) throw new Error(`${name}: sha256 ${got}, manifest says ${o.sha256}`);
      }
    });
  }
  return r;
}

/** Leftover temp/moved-aside names (.x.tmp-<pid>, x.old-<pid>) anywhere in the build's output dirs. */
export function staleTemps(out: string): string[] {
  const found: string[] = [];
  const look = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) if (/\.(tmp|old)-\d+/.test(n)) found.push(join(d, n));
  };
  look(join(out, 'images'));
  look(join(out, 'kernel', 'trees'));
  look(join(out, 'kernel', 'builds'));
  for (const b of dirs(join(out, 'kernel', 'builds'))) look(b);
  for (const c of dirs(join(out, 'kernel', 'configs'))) look(c);
  return found;
}
