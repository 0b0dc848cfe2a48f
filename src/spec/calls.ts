/**
 * bpf-to-bpf calls (not BPF links, see src/link): linking a program: subprograms appended depth-first (libbpf's bpf_object__reloc_code
 * order), then every bpf-to-bpf call and callback address patched to the new layout.
 */
import type { Instruction } from '../asm/types.js';
import type { BtfExt, CoreRelo, FuncInfo, LineInfo } from '../btf/types.js';
import { SpecError } from '../errors.js';
import { OP_LD_IMM64, rawOffsets } from '../asm/index.js';
import { copyInstruction, type Func } from './functions.js';
import { sortByKey } from './order.js';

export interface LinkedProgram {
  instructions: Instruction[];
  subprograms: string[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelos: CoreRelo[];
}


/**
 * Re-patches every call / callback immediate from `reference` and the `symbol` marks on
 * function starts. Run again after editing a linked instruction list.
 */
export function fixupCalls(insns: Instruction[], where: { file?: string; symbol?: string } = {}): void {
  const slots = rawOffsets(insns);
  const starts = new Map<string, number>();
  insns.forEach((insn, i) => { if (insn.symbol !== undefined) starts.set(insn.symbol, slots[i]!); });
  insns.forEach((insn, i) => {
    const ref = insn.reference;
    if (!ref || (ref.kind !== 'call' && ref.kind !== 'func')) return;
    const target = starts.get(ref.name);
    if (target === undefined) throw new SpecError(`call to '${ref.name}' but no such function is linked in`, { ...where, offset: slots[i]! * 8 });
    insn.imm = target - slots[i]! - 1;
    // the second slot of a function-address ld_imm64 stays 0 (libbpf sets only insn[0].imm)
    if (insn.opcode === OP_LD_IMM64) insn.imm64 = BigInt(insn.imm >>> 0);
  });
}

/**
 * `f`'s records of `records`, moved to start at `base`. A record is reused as it is when
 * its offset does not change and `f` is linked for the first time (its records are then
 * in no other program); otherwise copied. `sorted`: the records are in ascending offset
 * order (as clang writes them; parseBtfExt says so in BtfExt.sorted): the first one in f
 * is found by binary search, so that linking every function of a section is not
 * quadratic in its records.
 */
function rebase<T extends { insnOff: number }>(records: T[] | undefined, f: Func, base: number, out: T[], reuse: boolean, sorted: boolean | undefined): void {
  if (!records) return;
  const end = f.slot + f.slots, shift = base - f.slot;
  const inOrder = sorted ?? isSorted(records);
  for (let i = inOrder ? firstAtOrAfter(records, f.slot) : 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.insnOff >= end) { if (inOrder) break; continue; }
    if (r.insnOff >= f.slot) out.push(reuse && shift === 0 ? r : { ...r, insnOff: r.insnOff + shift });
  }
}

/** Whether `records` are in ascending offset order (for a BtfExt that does not say). */
function isSorted(records: readonly { insnOff: number }[]): boolean {
  for (let i = 1; i < records.length; i++) if (records[i - 1]!.insnOff > records[i]!.insnOff) return false;
  return true;
}

/** Index of the first record (of a sorted list) at offset `slot` or after. */
function firstAtOrAfter(records: readonly { insnOff: number }[], slot: number): number {
  let lo = 0, hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.insnOff < slot) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** `entry` and the functions it calls, directly or not, depth-first (libbpf's order); throws for a call to no function. */
export function callOrder(entry: Func, funcs: Map<string, Func>, file: string): Func[] {
  if (entry.callees.length === 0) return [entry]; // most programs: no Set, no closure
  const order: Func[] = [];
  const seen = new Set<string>();
  const visit = (f: Func) => {
    seen.add(f.name);
    order.push(f);
    for (const name of f.callees) {
      if (seen.has(name)) continue;
      const callee = funcs.get(name);
      if (!callee) throw new SpecError(`'${f.name}' calls unknown function '${name}'`, { file, section: f.section.name, symbol: f.name });
      visit(callee);
    }
  };
  visit(entry);
  return order;
}

export function linkProgram(entry: Func, funcs: Map<string, Func>, ext: BtfExt | undefined, file: string): LinkedProgram {
  return linkFunctions(callOrder(entry, funcs, file), ext, file);
}

/** The program made of `order` (callOrder's list, the entry first): instructions, calls patched, records re-based. */
export function linkFunctions(order: readonly Func[], ext: BtfExt | undefined, file: string): LinkedProgram {
  const entry = order[0]!;
  const instructions: Instruction[] = [];
  const funcInfo: FuncInfo[] = [], lineInfo: LineInfo[] = [], coreRelos: CoreRelo[] = [];
  let slot = 0;
  for (const f of order) {
    const secName = f.section.name;
    // A function read from an object decodes a copy of its instructions for each program,
    // and the program copies the records. Otherwise the first program to link f takes its
    // instructions and records; later ones copy them.
    const own = f.decode?.();
    const reuse = !own && !f.linked;
    f.linked = true;
    if (ext) {
      rebase(ext.funcInfo.get(secName), f, slot, funcInfo, reuse, ext.sorted);
      rebase(ext.lineInfo.get(secName), f, slot, lineInfo, reuse, ext.sorted);
      rebase(ext.coreRelos.get(secName), f, slot, coreRelos, reuse, ext.sorted);
    }
    const insns = own ?? f.insns;
    for (let i = 0; i < insns.length; i++) {
      const c = own || reuse ? insns[i]! : copyInstruction(insns[i]!);
      if (i === 0) c.symbol = f.name;
      instructions.push(c);
    }
    slot += f.slots;
  }
  fixupCalls(instructions, { file, symbol: entry.name });
  const insnOff = (r: { insnOff: number }) => r.insnOff;
  sortByKey(funcInfo, insnOff); sortByKey(lineInfo, insnOff); sortByKey(coreRelos, insnOff);
  return { instructions, subprograms: order.slice(1).map((f) => f.name), funcInfo, lineInfo, coreRelos };
}
