// Floating point in kernel code, found in `objdump -d` output. Kernel code may
// use the FPU only between kernel_fpu_begin()/end(); the vRIO modules never
// do, so any x87 instruction (every x86 mnemonic that starts with "f") or SSE
// register in them is a bug: it clobbers the FPU state of the task it
// interrupted (fix 0008, docs/vrio-fixes.md).

export interface FpuUse {
  /** The function the instruction is in (objdump's `<name>` label). */
  fn: string;
  insn: string;
}

export function fpuInstructions(objdump: string): FpuUse[] {
  const out: FpuUse[] = [];
  let fn = '?';
  for (const line of objdump.split('\n')) {
    const label = /^[0-9a-f]+ <([^>]+)>:$/.exec(line);
    if (label) {
      fn = label[1];
      continue;
    }
    // "  313:\tdf 6c 24 10          \tfildll 0x10(%rsp)"
    const insn = /^\s*[0-9a-f]+:\t[0-9a-f ]+\t(\S+)(.*)$/.exec(line);
    if (!insn) continue;
    if (/^f/.test(insn[1]) || /%[xy]mm\d/.test(insn[2])) out.push({ fn, insn: `${insn[1]}${insn[2]}`.trim() });
  }
  return out;
}
