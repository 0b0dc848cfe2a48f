/**
 * Functions of the executable sections, with the relocations that touch them turned into
 * instruction references (map, data, call, callback, extern). Like libbpf, the kind of a
 * relocation is decided by the instruction's opcode and the section of the target
 * symbol, not by the relocation type.
 */
import {
  BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE,
  decode, decodeAt, INSN_SIZE, instructionOffsets, OP_CALL, OP_LD_IMM64, slotToIndex,
} from '../asm/index.js';
import type { Instruction } from '../asm/types.js';
import { SpecError } from '../errors.js';
import { sortByKey } from './order.js';
import type { ElfFile, ElfRel, ElfSection, ElfSymbol } from '../elf/types.js';
import { SHF_EXECINSTR, SHN_ABS, SHN_COMMON, SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_SECTION, SHT_PROGBITS } from '../elf/types.js';


export interface Func {
  name: string;
  section: ElfSection;
  /** Offset in the section, in 8-byte slots. */
  slot: number;
  /** Length in slots. */
  slots: number;
  bind: number;
  /** STV_* visibility of the symbol (STV_HIDDEN for `__hidden`). */
  visibility: number;
  /** The instructions, with the relocations applied (for a function of an object: decoded anew on every read, see `decode`). */
  insns: Instruction[];
  /** Slot (relative to the function) of each instruction. */
  insnSlots: ArrayLike<number>;
  /** Names of functions this one calls or takes the address of, in instruction order. */
  callees: string[];
  /** Set once a program has taken `insns` (linkProgram): later programs copy them. */
  linked?: boolean;
  /**
   * Functions read from an object: a fresh copy of the instructions with the relocations
   * applied, for a program of its own (linkProgram takes them as they are).
   */
  decode?(): Instruction[];
}

/**
 * A function of an object. Its instructions are checked when it is read (the same errors
 * as decoding them) but decoded only when a program is linked (ProgramSpec.instructions
 * read): the instructions that relocations or pc-relative calls change are kept, decoded
 * and patched, in `patched` (by index), and the rest come from the section's bytes.
 */
class ObjectFunc implements Func {
  callees: string[] = [];
  linked?: boolean;
  /** Instructions the relocations changed, by index: the only ones decoded at open (made on the first). */
  patched: Map<number, Instruction> | undefined;
  /** The function's bytes, a view made on first use (a view per function was ~0.1 us of each open). */
  private view: Uint8Array | undefined;
  constructor(
    readonly name: string, readonly section: ElfSection, readonly slot: number, readonly slots: number,
    readonly bind: number, readonly visibility: number, readonly insnSlots: Uint32Array,
    /** Its section's bytes (a view into the object's bytes, as the spec's Btf keeps one); the function starts at byte slot * 8. */
    private readonly data: Uint8Array,
  ) {}
  get insns(): Instruction[] { return this.decode(); }
  decode(): Instruction[] {
    const start = this.slot * INSN_SIZE;
    const out = decode(this.view ??= this.data.subarray(start, start + this.slots * INSN_SIZE));
    if (this.patched) for (const [i, insn] of this.patched) out[i] = copyInstruction(insn);
    return out;
  }
  /** Instruction `idx` as relocations see it: the patched one, decoded now on first use. */
  at(idx: number): Instruction {
    const patched = this.patched ??= new Map();
    let insn = patched.get(idx);
    if (!insn) {
      // checked by instructionOffsets: an ld_imm64's second half is inside the function
      patched.set(idx, insn = decodeAt(this.data, (this.slot + this.insnSlots[idx]!) * INSN_SIZE));
    }
    return insn;
  }
}

/** A copy of an instruction that shares nothing with it. */
export function copyInstruction(i: Instruction): Instruction {
  const c: Instruction = { opcode: i.opcode, dst: i.dst, src: i.src, off: i.off, imm: i.imm };
  if (i.imm64 !== undefined) c.imm64 = i.imm64;
  if (i.reference) c.reference = { ...i.reference };
  if (i.symbol !== undefined) c.symbol = i.symbol;
  return c;
}

/** How a relocation target is classified; supplied by the collection builder. */
export interface SymbolResolver {
  /** Map defined at this byte offset of a map section ('.maps' or 'maps'), if any. */
  mapAt(section: ElfSection, offset: number): string | undefined;
  /** Name of the data map backing this section ('.rodata', '.bss', ...), if it is one. */
  dataMap(section: ElfSection): string | undefined;
  /** An extern (.kconfig variable, ksym, kfunc) by symbol. */
  externRef(sym: ElfSymbol): Instruction['reference'];
}

export function isExecSection(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0;
}

/** Collects every STT_FUNC symbol of an executable section, its instructions checked. */
export function collectFunctions(elf: ElfFile): Map<string, Func> {
  const funcs = new Map<string, ObjectFunc>();
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC || sym.shndx === SHN_UNDEF || sym.shndx >= elf.sections.length) continue;
    const sec = elf.sections[sym.shndx]!;
    if (!isExecSection(sec)) continue;
    const ctx = { file: elf.file, section: sec.name, symbol: sym.name, offset: sym.value };
    if (sym.value % 8 !== 0 || sym.size % 8 !== 0 || sym.size === 0) {
      throw new SpecError(`function '${sym.name}' is not a whole number of 8-byte instructions (offset ${sym.value}, size ${sym.size})`, ctx);
    }
    if (sym.value + sym.size > sec.size) {
      throw new SpecError(`function '${sym.name}' (offset ${sym.value}, size ${sym.size}) runs past the end of its section (${sec.size} bytes)`, ctx);
    }
    if (funcs.has(sym.name)) {
      throw new SpecError(`function '${sym.name}' is defined twice`, ctx);
    }
    const data = sec.data;
    const insnSlots = instructionOffsets(data, { file: elf.file, section: sec.name }, sym.value, sym.value + sym.size);
    funcs.set(sym.name, new ObjectFunc(sym.name, sec, sym.value / 8, sym.size / 8, sym.bind, sym.visibility, insnSlots, data));
  }
  return funcs;
}

/** Key of (section, slot): sections and slots are far below 2^21 and 2^32. */
const slotKey = (sec: number, slot: number) => sec * 0x1_0000_0000 + slot;

/** The functions of one object by (section, start slot), indexed on the first look-up (the last of aliases wins). */
class FuncStarts {
  private byStart: Map<number, Func> | undefined;
  constructor(private readonly funcs: Map<string, Func>) {}
  at(sec: ElfSection, slot: number): Func | undefined {
    let byStart = this.byStart;
    if (!byStart) {
      byStart = this.byStart = new Map();
      for (const f of this.funcs.values()) byStart.set(slotKey(f.section.index, f.slot), f);
    }
    return slot >= 0 && Number.isInteger(slot) && slot < 0x1_0000_0000 ? byStart.get(slotKey(sec.index, slot)) : undefined;
  }
}

/**
 * Applies the relocations of every function's section, and resolves relocation-free
 * pc-relative calls inside a section, recording `reference` on the instructions and
 * `callees` on the functions.
 */
export function relocateFunctions(elf: ElfFile, funcs: Map<string, Func>, resolver: SymbolResolver): void {
  const bySection = new Map<ElfSection, ObjectFunc[]>();
  for (const f of funcs.values()) {
    if (!(f instanceof ObjectFunc)) throw new TypeError(`relocateFunctions: '${f.name}' was not read by collectFunctions`);
    const l = bySection.get(f.section);
    if (l) l.push(f); else bySection.set(f.section, [f]);
  }
  for (const l of bySection.values()) sortByKey(l, (f) => f.slot);
  const starts = new FuncStarts(funcs);

  const relsBySection = new Map<ElfSection, ElfRel[][]>();
  for (const r of elf.relocations) {
    if (!isExecSection(r.target)) continue;
    const l = relsBySection.get(r.target);
    if (l) l.push(r.entries); else relsBySection.set(r.target, [r.entries]);
  }

  for (const [sec, list] of bySection) {
    // symbols whose ranges overlap (aliases): the first in slot order takes the relocation
    const overlapping = list.some((f, i) => i > 0 && list[i - 1]!.slot + list[i - 1]!.slots > f.slot);
    for (const rels of relsBySection.get(sec) ?? []) {
      for (const rel of rels) {
        const slot = rel.offset / 8;
        if (rel.offset % 8 !== 0) throw new SpecError('relocation is not on an instruction boundary', { file: elf.file, section: sec.name, offset: rel.offset });
        const f = overlapping ? list.find((fn) => slot >= fn.slot && slot < fn.slot + fn.slots) : funcContaining(list, slot);
        // Code no function symbol covers: the copy of a __weak function that the static
        // linker (bpftool gen object) dropped for a strong one keeps its instructions and
        // relocations. No program can include it (programs are built from function symbols),
        // so, as libbpf ("probably overridden weak function, skipping"), ignore them.
        if (!f) continue;
        const idx = slotToIndex(f.insnSlots, slot - f.slot);
        if (idx < 0) throw new SpecError(`relocation in the middle of an instruction of '${f.name}'`, { file: elf.file, section: sec.name, offset: rel.offset, symbol: f.name });
        const insn = f.at(idx);
        const sym = elf.symbols[rel.symbol]!;
        applyRelocation(elf, starts, resolver, f, insn, sym, sec, rel.offset);
      }
    }
    // pc-relative bpf-to-bpf calls that the compiler resolved inside the section: read from
    // the bytes. An instruction a relocation touched (the only ones in `patched` until this
    // loop reaches them) was resolved by it.
    for (const f of list) {
      const slots = f.insnSlots, bytes = sec.data, base = f.slot;
      for (let i = 0; i < slots.length; i++) {
        const o = (base + slots[i]!) * INSN_SIZE;
        const opcode = bytes[o]!, src = bytes[o + 1]! >> 4;
        const pseudoCall = opcode === OP_CALL && src === BPF_PSEUDO_CALL;
        const pseudoFunc = opcode === OP_LD_IMM64 && src === BPF_PSEUDO_FUNC;
        if ((!pseudoCall && !pseudoFunc) || f.patched?.has(i)) continue;
        const insn = f.at(i);
        const target = f.slot + f.insnSlots[i]! + insn.imm + 1;
        const callee = starts.at(sec, target);
        if (!callee) {
          throw new SpecError(`call at instruction ${f.insnSlots[i]} of '${f.name}' targets slot ${target}, which is not the start of a function`, { file: elf.file, section: sec.name, symbol: f.name, offset: (f.slot + f.insnSlots[i]!) * 8 });
        }
        insn.reference = { kind: pseudoCall ? 'call' : 'func', name: callee.name };
        f.callees.push(callee.name);
      }
    }
  }
}

/** The function of `list` (sorted by slot, not overlapping) that holds `slot`. */
function funcContaining<F extends Func>(list: readonly F[], slot: number): F | undefined {
  let lo = 0, hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1, f = list[mid]!;
    if (slot < f.slot) hi = mid - 1;
    else if (slot >= f.slot + f.slots) lo = mid + 1;
    else return f;
  }
  return undefined;
}

function applyRelocation(
  elf: ElfFile, starts: FuncStarts, resolver: SymbolResolver,
  f: Func, insn: Instruction, sym: ElfSymbol, sec: ElfSection, offset: number,
): void {
  const ctx = { file: elf.file, section: sec.name, offset, symbol: sym.name || f.name };
  const isLd = insn.opcode === OP_LD_IMM64;
  const isCall = insn.opcode === OP_CALL;
  if (!isLd && !isCall) {
    throw new SpecError(`relocation against '${sym.name}' on an instruction (opcode 0x${insn.opcode.toString(16)}) that is neither ld_imm64 nor call`, ctx);
  }
  if (sym.shndx === SHN_UNDEF) {
    const ref = resolver.externRef(sym);
    if (!ref) throw new SpecError(`relocation against undefined symbol '${sym.name}' that is not a .kconfig/.ksyms extern`, ctx);
    insn.reference = ref;
    if (isCall) insn.src = BPF_PSEUDO_KFUNC_CALL;
    if (isLd && ref.kind === 'map' && ref.value) {
      // a .kconfig variable: a load of the .kconfig map's value at its offset.
      insn.src = BPF_PSEUDO_MAP_VALUE;
      insn.imm = ref.offset ?? 0;
      insn.imm64 = BigInt(insn.imm);
    }
    return;
  }
  if (sym.shndx === SHN_ABS || sym.shndx === SHN_COMMON || sym.shndx >= elf.sections.length) {
    throw new SpecError(`relocation against symbol '${sym.name}' in no section (shndx 0x${sym.shndx.toString(16)})`, ctx);
  }
  const target = elf.sections[sym.shndx]!;
  if (isExecSection(target)) {
    // bpf-to-bpf call (call imm is pc-relative, -1 for a named symbol) or a callback address.
    const slot = isCall ? sym.value / 8 + insn.imm + 1 : (sym.value + insn.imm) / 8;
    if (!Number.isInteger(slot)) throw new SpecError(`function address of '${sym.name}' is not on an instruction boundary`, ctx);
    const callee = starts.at(target, slot);
    if (!callee) throw new SpecError(`${isCall ? 'call' : 'function pointer'} to '${sym.name}' +${slot * 8 - sym.value} is not the start of a function in ${target.name}`, ctx);
    if (isCall && insn.src !== BPF_PSEUDO_CALL) throw new SpecError(`call to function '${callee.name}' is not a bpf-to-bpf call (src_reg ${insn.src})`, ctx);
    if (callee.section.name !== '.text' && callee.bind !== STB_LOCAL && callee.section !== f.section) {
      throw new SpecError(`'${f.name}' calls '${callee.name}', which is a program (section ${callee.section.name}), not a subprogram in .text`, ctx);
    }
    insn.reference = { kind: isCall ? 'call' : 'func', name: callee.name };
    if (isLd) insn.src = BPF_PSEUDO_FUNC;
    f.callees.push(callee.name);
    return;
  }
  if (isCall) throw new SpecError(`call relocated against '${sym.name}' in non-executable section ${target.name}`, ctx);
  const off = (sym.type === STT_SECTION ? 0 : sym.value) + insn.imm;
  const mapName = resolver.mapAt(target, sym.type === STT_SECTION ? insn.imm : sym.value);
  if (mapName !== undefined) {
    insn.reference = { kind: 'map', name: mapName };
    insn.src = BPF_PSEUDO_MAP_FD;
    return;
  }
  const data = resolver.dataMap(target);
  if (data !== undefined) {
    insn.reference = { kind: 'map', name: data, value: true, offset: off };
    insn.src = BPF_PSEUDO_MAP_VALUE;
    insn.imm = off;
    insn.imm64 = BigInt(off);
    return;
  }
  throw new SpecError(`relocation against '${sym.name}' in section ${target.name}, which holds no map, data or code`, ctx);
}
