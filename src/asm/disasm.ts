/**
 * Disassembly in the style of the kernel verifier log / `bpftool prog dump xlated`
 * (kernel/bpf/disasm.c): `r1 = *(u32 *)(r2 +4)`, `if r1 > 0x3 goto pc+5`,
 * `call bpf_tail_call#12`, `call pc+3`, `exit`. Never throws: unknown encodings print as
 * `BUG_xx` / `invalid ...` like the kernel does.
 */
import { HELPER_NAMES } from './helpers.js';
import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_DIV, BPF_DW, BPF_END,
  BPF_EXIT, BPF_FETCH, BPF_IND, BPF_JCOND, BPF_JMP, BPF_JMP32, BPF_LDX, BPF_LOAD_ACQ,
  BPF_MAY_GOTO, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV, BPF_NEG, BPF_OR, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE, BPF_ST, BPF_STORE_REL, BPF_STX, BPF_TO_BE, BPF_X, BPF_XCHG, BPF_XOR,
  BPF_ADDR_SPACE_CAST, BPF_ADDR_PERCPU, OP_GOTOL, OP_JA, OP_LD_IMM64,
} from './opcodes.js';
import { rawOffsets } from './codec.js';
import type { Instruction } from './types.js';

export interface DisassembleOptions {
  /** Name of a helper id; falls back to the table generated from linux/bpf.h, then `unknown`. */
  helperName?: (id: number) => string | undefined;
}

const ALU_OPS = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];
const JMP_OPS = ['jmp', '==', '>', '>=', '&', '!=', 's>', 's>=', 'call', 'exit', '<', '<=', 's<', 's<=', 'jcond'];
const LDST = ['u32', 'u16', 'u8', 'u64'];
const LDSX = ['s32', 's16', 's8', 's64'];
const ATOMIC_ALU: Record<number, string> = { [BPF_ADD]: 'add', [BPF_AND]: 'and', [BPF_OR]: 'or', [BPF_XOR]: 'xor' };
const CLASS = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

const hex2 = (op: number): string => op.toString(16).padStart(2, '0');
/** `%+d` */
const signed = (v: number): string => (v < 0 ? `${v}` : `+${v}`);
/** `0x%x` of a 32-bit value. */
const hex32 = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The helper name for `id`: opts.helperName, then linux/bpf.h's list, else undefined. */
export function helperName(id: number, opts?: DisassembleOptions): string | undefined {
  return opts?.helperName?.(id) ?? HELPER_NAMES[id];
}

function ldImm64(i: Instruction): string {
  const r = `r${i.dst} = `;
  const ref = i.reference;
  const v = i.imm64 ?? BigInt(i.imm >>> 0);
  const hi = Number(v >> 32n);
  if (ref) {
    switch (ref.kind) {
      case 'map': {
        const value = ref.value || i.src === BPF_PSEUDO_MAP_VALUE || i.src === BPF_PSEUDO_MAP_IDX_VALUE;
        return `${r}map[${ref.name}]${value ? `[0]+${ref.offset ?? hi}` : ''} ll`;
      }
      case 'func': return `${r}func[${ref.name}] ll`;
      case 'call': return `${r}func[${ref.name}] ll`;
      case 'extern': return `${r}extern[${ref.name}] ll`;
    }
  }
  switch (i.src) {
    case BPF_PSEUDO_MAP_FD: return `${r}map[fd:${i.imm}] ll`;
    case BPF_PSEUDO_MAP_VALUE: return `${r}map[fd:${i.imm}][0]+${hi} ll`;
    case BPF_PSEUDO_MAP_IDX: return `${r}map[idx:${i.imm}] ll`;
    case BPF_PSEUDO_MAP_IDX_VALUE: return `${r}map[idx:${i.imm}][0]+${hi} ll`;
    case BPF_PSEUDO_BTF_ID: return `${r}btf_id[${i.imm}] ll`;
    case BPF_PSEUDO_FUNC: return `${r}func[pc${signed(i.imm)}] ll`;
    default: return `${r}0x${v.toString(16)} ll`;
  }
}

function alu(i: Instruction, cls: number): string {
  const w = cls === BPF_ALU ? 'w' : 'r';
  const op = i.opcode & 0xf0;
  const d = `${w}${i.dst}`;
  if (op === BPF_END) {
    if (cls === BPF_ALU64) return `r${i.dst} = bswap${i.imm} r${i.dst}`;
    return `r${i.dst} = ${(i.opcode & 0x08) === BPF_TO_BE ? 'be' : 'le'}${i.imm} r${i.dst}`;
  }
  if (op === BPF_NEG) return `${d} = -${d}`;
  if (op > BPF_END) return `invalid ${CLASS[cls]} op 0x${hex2(i.opcode)}`;
  if (i.opcode === (BPF_ALU64 | BPF_MOV | BPF_X)) {
    if (i.off === BPF_ADDR_SPACE_CAST) return `r${i.dst} = addr_space_cast(r${i.src}, ${i.imm >> 16}, ${i.imm & 0xffff})`;
    if (i.off === BPF_ADDR_PERCPU) return `r${i.dst} = &(void __percpu *)(r${i.src})`;
  }
  let sym = ALU_OPS[op >> 4]!;
  if ((op === BPF_DIV || op === BPF_MOD) && i.off === 1) sym = `s${sym}`;
  if ((i.opcode & 0x08) === BPF_X) {
    const sx = op === BPF_MOV && (i.off === 8 || i.off === 16 || i.off === 32) ? `(s${i.off})` : '';
    return `${d} ${sym} ${sx}${w}${i.src}`;
  }
  return `${d} ${sym} ${i.imm}`;
}

function atomic(i: Instruction): string {
  const size = LDST[(i.opcode & 0x18) >> 3]!;
  const dw = (i.opcode & 0x18) === BPF_DW ? '64' : '';
  const mem = `(${size} *)(r${i.dst} ${signed(i.off)})`;
  const imm = i.imm;
  const name = ATOMIC_ALU[imm & ~BPF_FETCH];
  if (name !== undefined && (imm & BPF_FETCH) === 0) return `lock *${mem} ${ALU_OPS[imm >> 4]} r${i.src}`;
  if (name !== undefined) return `r${i.src} = atomic${dw}_fetch_${name}(${mem}, r${i.src})`;
  if (imm === BPF_CMPXCHG) return `r0 = atomic${dw}_cmpxchg(${mem}, r0, r${i.src})`;
  if (imm === BPF_XCHG) return `r${i.src} = atomic${dw}_xchg(${mem}, r${i.src})`;
  if (imm === BPF_LOAD_ACQ) return `r${i.dst} = load_acquire((${size} *)(r${i.src} ${signed(i.off)}))`;
  if (imm === BPF_STORE_REL) return `store_release(${mem}, r${i.src})`;
  return `invalid atomic op 0x${(imm >>> 0).toString(16)}`;
}

function jump(i: Instruction, cls: number, opts?: DisassembleOptions): string {
  const op = i.opcode & 0xf0;
  if (op === BPF_CALL && cls === BPF_JMP) {
    if (i.reference) return `call ${i.reference.name}`;
    if (i.src === BPF_PSEUDO_CALL) return `call pc${signed(i.imm)}`;
    if (i.src === BPF_PSEUDO_KFUNC_CALL) return `call kernel-function#${i.imm}`;
    return `call ${helperName(i.imm, opts) ?? 'unknown'}#${i.imm}`;
  }
  if (i.opcode === OP_JA) return `goto pc${signed(i.off)}`;
  if (i.opcode === OP_GOTOL) return `gotol pc${signed(i.imm)}`;
  if (op === BPF_EXIT && cls === BPF_JMP) return 'exit';
  if (op === BPF_JCOND && cls === BPF_JMP && i.src === BPF_MAY_GOTO) return `may_goto pc${signed(i.off)}`;
  if (op === BPF_CALL || op === BPF_EXIT || op >= BPF_JCOND) return `invalid ${CLASS[cls]} op 0x${hex2(i.opcode)}`;
  const w = cls === BPF_JMP32 ? 'w' : 'r';
  const rhs = (i.opcode & 0x08) === BPF_X ? `${w}${i.src}` : hex32(i.imm);
  return `if ${w}${i.dst} ${JMP_OPS[op >> 4]} ${rhs} goto pc${signed(i.off)}`;
}

/** One instruction, without slot number or opcode prefix. Uses `insn.reference` when set. */
export function disassemble(insn: Instruction, opts?: DisassembleOptions): string {
  const i = insn;
  const cls = i.opcode & 0x07;
  const mode = i.opcode & 0xe0;
  const size = (i.opcode & 0x18) >> 3;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      return alu(i, cls);
    case BPF_JMP:
    case BPF_JMP32:
      return jump(i, cls, opts);
    case BPF_LDX:
      if (mode === BPF_MEM) return `r${i.dst} = *(${LDST[size]} *)(r${i.src} ${signed(i.off)})`;
      if (mode === BPF_MEMSX) return `r${i.dst} = *(${LDSX[size]} *)(r${i.src} ${signed(i.off)})`;
      return `BUG_ldx_${hex2(i.opcode)}`;
    case BPF_STX:
      if (mode === BPF_MEM) return `*(${LDST[size]} *)(r${i.dst} ${signed(i.off)}) = r${i.src}`;
      if (mode === BPF_ATOMIC) return atomic(i);
      return `BUG_${hex2(i.opcode)}`;
    case BPF_ST:
      if (mode === BPF_MEM) return `*(${LDST[size]} *)(r${i.dst} ${signed(i.off)}) = ${i.imm}`;
      if (mode === 0xc0) return 'nospec';
      return `BUG_st_${hex2(i.opcode)}`;
    default: // BPF_LD
      if (i.opcode === OP_LD_IMM64) return ldImm64(i);
      if (mode === BPF_ABS) return `r0 = *(${LDST[size]} *)skb[${i.imm}]`;
      if (mode === BPF_IND) return `r0 = *(${LDST[size]} *)skb[r${i.src} + ${i.imm}]`;
      return `BUG_ld_${hex2(i.opcode)}`;
  }
}

/**
 * A whole program, one line per instruction, numbered by slot like bpftool:
 * `  12: (85) call bpf_map_lookup_elem#1`. A `symbol` on an instruction prints as a
 * `name:` label line before it.
 */
export function disassembleProgram(insns: readonly Instruction[], opts?: DisassembleOptions): string {
  const offs = rawOffsets(insns);
  const lines: string[] = [];
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k]!;
    if (i.symbol !== undefined) lines.push(`${i.symbol}:`);
    lines.push(`${String(offs[k]).padStart(4)}: (${hex2(i.opcode)}) ${disassemble(i, opts)}`);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
