// Which host tools are present, for which verbs, and how to get the missing ones.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { run, which } from '../lib/exec.js';
import { dataPath } from '../lib/paths.js';

export type Purpose = 'build' | 'image' | 'smoke' | 'provision' | 'test';
export const purposes: Purpose[] = ['build', 'image', 'smoke', 'provision', 'test'];

interface ToolSpec {
  bin?: string;
  file?: string;
  package: string;
  for: Purpose[];
  why: string;
  optional?: boolean;
}

export interface ToolStatus {
  name: string;
  package: string;
  for: Purpose[];
  why: string;
  optional: boolean;
  found: boolean;
  path?: string;
  version?: string;
}

export interface DoctorReport {
  tools: ToolStatus[];
  kvm: { present: boolean; usable: boolean };
  gcc?: { version: string; major: number };
  missingRequired: ToolStatus[];
  installCommand?: string;
}

export function toolSpecs(): ToolSpec[] {
  return parse(readFileSync(dataPath('builder/defaults/host-tools.yaml'), 'utf8')) as ToolSpec[];
}

export function kvmStatus(): { present: boolean; usable: boolean } {
  const present = existsSync('/dev/kvm');
  let usable = false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    usable = present;
  } catch {
    /* not usable */
  }
  return { present, usable };
}

export async function gccVersion(gcc = 'gcc'): Promise<{ version: string; major: number } | undefined> {
  const r = await run(gcc, ['-dumpfullversion', '-dumpversion'], { allowFail: true }).catch(() => undefined);
  if (!r || r.code !== 0) return undefined;
  const version = r.stdout.trim().split('\n')[0];
  return { version, major: Number(version.split('.')[0]) };
}

export async function doctor(forWhat: Purpose[] = purposes, pathEnv = process.env.PATH ?? ''): Promise<DoctorReport> {
  const tools: ToolStatus[] = [];
  for (const t of toolSpecs()) {
    if (!t.for.some((p) => forWhat.includes(p))) continue;
    const name = t.bin ?? t.file!;
    const path = t.bin ? which(t.bin, pathEnv) : existsSync(t.file!) ? t.file : undefined;
    tools.push({ name, package: t.package, for: t.for, why: t.why, optional: Boolean(t.optional), found: Boolean(path), path });
  }
  const gccTool = tools.find((t) => t.name === 'gcc' && t.path);
  const gcc = gccTool ? await gccVersion(gccTool.path) : undefined;
  if (gcc && gccTool) gccTool.version = gcc.version;
  const missingRequired = tools.filter((t) => !t.found && !t.optional);
  const pkgs = [...new Set(tools.filter((t) => !t.found).map((t) => t.package))].sort();
  return {
    tools,
    kvm: kvmStatus(),
    gcc,
    missingRequired,
    installCommand: pkgs.length ? `apt-get install -y ${pkgs.join(' ')}` : undefined,
  };
}

/** Packages to install for the missing tools (required and optional). */
export function missingPackages(r: DoctorReport): string[] {
  return [...new Set(r.tools.filter((t) => !t.found).map((t) => t.package))].sort();
}
