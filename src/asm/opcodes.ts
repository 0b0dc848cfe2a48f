/**
 * Opcode constants (linux/bpf_common.h, linux/bpf.h, Documentation/bpf/standardization/
 * instruction-set.rst) and instruction predicates used by the linker.
 */
import type { Instruction } from './types.js';

// Instruction classes: opcode & 0x07.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

// Load/store size: opcode & 0x18.
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

// Load/store mode: opcode & 0xe0.
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
/** Sign-extending load (LDX only, cpu v4). */
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
/** Legacy name of BPF_ATOMIC with imm = BPF_ADD. */
export const BPF_XADD = 0xc0;

// Source: opcode & 0x08.
export const BPF_K = 0x00;
export const BPF_X = 0x08;

// ALU operations: opcode & 0xf0.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;
/** BPF_END source bit: to little endian (ALU) */
export const BPF_TO_LE = 0x00;
/** BPF_END source bit: to big endian (ALU) */
export const BPF_TO_BE = 0x08;

// Jump operations: opcode & 0xf0.
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
/** Conditional pseudo jump (may_goto when src_reg = BPF_MAY_GOTO). */
export const BPF_JCOND = 0xe0;
export const BPF_MAY_GOTO = 0;

// Atomic operations (imm of a BPF_STX | BPF_ATOMIC instruction).
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

// Special `off` values of ALU64 | MOV | X.
export const BPF_ADDR_SPACE_CAST = 1;
export const BPF_ADDR_PERCPU = -1;

// src_reg of ld_imm64.
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// src_reg of BPF_CALL.
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** Registers r0..r10; r10 is the read-only frame pointer. */
export const BPF_REG_FP = 10;
export const MAX_BPF_REG = 11;

/** Size of one instruction slot in bytes. */
export const INSN_SIZE = 8;

/** Full opcodes used often enough to name. */
export const OP_LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW; // 0x18
export const OP_CALL = BPF_JMP | BPF_CALL; // 0x85
export const OP_EXIT = BPF_JMP | BPF_EXIT; // 0x95
export const OP_JA = BPF_JMP | BPF_JA; // 0x05
export const OP_GOTOL = BPF_JMP32 | BPF_JA; // 0x06

export const insnClass = (op: number): number => op & 0x07;
export const insnSize = (op: number): number => op & 0x18;
export const insnMode = (op: number): number => op & 0xe0;
export const insnOp = (op: number): number => op & 0xf0;
export const insnSrc = (op: number): number => op & 0x08;

/** Width in bytes of a BPF_W/H/B/DW size field. */
export function sizeBytes(op: number): 1 | 2 | 4 | 8 {
  switch (op & 0x18) {
    case BPF_B: return 1;
    case BPF_H: return 2;
    case BPF_W: return 4;
    default: return 8;
  }
}

/** ld_imm64: the 16-byte `rX = imm64` instruction (two slots). */
export const isLdImm64 = (i: Instruction): boolean => i.opcode === OP_LD_IMM64;
/** Number of 8-byte slots the instruction occupies (2 for ld_imm64). */
export const slotCount = (i: Instruction): 1 | 2 => (i.opcode === OP_LD_IMM64 ? 2 : 1);

/** Any BPF_JMP | BPF_CALL (helper, bpf-to-bpf or kfunc). */
export const isCall = (i: Instruction): boolean => i.opcode === OP_CALL;
/** bpf-to-bpf call: imm is the pc-relative offset of the callee (in slots, from the next slot). */
export const isPseudoCall = (i: Instruction): boolean => i.opcode === OP_CALL && i.src === BPF_PSEUDO_CALL;
/** Helper call: imm is the helper id. */
export const isHelperCall = (i: Instruction): boolean => i.opcode === OP_CALL && i.src === 0;
/** Kernel function call: imm is the BTF id of the kfunc (off: index of the module BTF fd). */
export const isKfuncCall = (i: Instruction): boolean => i.opcode === OP_CALL && i.src === BPF_PSEUDO_KFUNC_CALL;
export const isExit = (i: Instruction): boolean => i.opcode === OP_EXIT;

/**
 * A pc-relative branch: conditional jumps of JMP and JMP32, `goto` (JA, offset in `off`),
 * `gotol` (JMP32 | JA, offset in `imm`) and may_goto. Not calls and not exit.
 * With `{ ja: false }` the unconditional ones (goto, gotol) are excluded.
 */
export function isJump(i: Instruction, opts?: { ja?: boolean }): boolean {
  const c = i.opcode & 0x07;
  if (c !== BPF_JMP && c !== BPF_JMP32) return false;
  const op = i.opcode & 0xf0;
  if (op === BPF_CALL || op === BPF_EXIT) return false;
  if (op === BPF_JA) return opts?.ja !== false;
  return true;
}
/** goto or gotol. */
export const isUnconditionalJump = (i: Instruction): boolean => i.opcode === OP_JA || i.opcode === OP_GOTOL;
/** The branch offset in slots relative to the next slot: `imm` for gotol, `off` otherwise. */
export const jumpOffset = (i: Instruction): number => (i.opcode === OP_GOTOL ? i.imm : i.off);
/** Sets the branch offset where the instruction keeps it (`imm` for gotol, `off` otherwise). */
export function setJumpOffset(i: Instruction, delta: number): void {
  if (i.opcode === OP_GOTOL) i.imm = delta;
  else i.off = delta;
}

/** ld_imm64 of a map fd, map index or map value address (src = MAP_FD/MAP_VALUE/MAP_IDX/MAP_IDX_VALUE). */
export const isLoadFromMap = (i: Instruction): boolean =>
  i.opcode === OP_LD_IMM64 &&
  (i.src === BPF_PSEUDO_MAP_FD || i.src === BPF_PSEUDO_MAP_VALUE || i.src === BPF_PSEUDO_MAP_IDX || i.src === BPF_PSEUDO_MAP_IDX_VALUE);
/** ld_imm64 of an address inside a map value (src = MAP_VALUE or MAP_IDX_VALUE; offset in the high word). */
export const isMapValueLoad = (i: Instruction): boolean =>
  i.opcode === OP_LD_IMM64 && (i.src === BPF_PSEUDO_MAP_VALUE || i.src === BPF_PSEUDO_MAP_IDX_VALUE);
/** ld_imm64 of a function address (callbacks): src = BPF_PSEUDO_FUNC, imm = pc-relative slot offset. */
export const isFuncAddrLoad = (i: Instruction): boolean => i.opcode === OP_LD_IMM64 && i.src === BPF_PSEUDO_FUNC;
/** ld_imm64 of a kernel variable (ksym): src = BPF_PSEUDO_BTF_ID. */
export const isBtfIdLoad = (i: Instruction): boolean => i.opcode === OP_LD_IMM64 && i.src === BPF_PSEUDO_BTF_ID;

/** LDX MEM / MEMSX: `rD = *(size *)(rS + off)`. */
export const isMemLoad = (i: Instruction): boolean =>
  (i.opcode & 0x07) === BPF_LDX && ((i.opcode & 0xe0) === BPF_MEM || (i.opcode & 0xe0) === BPF_MEMSX);
/** ST / STX MEM: `*(size *)(rD + off) = imm | rS`. */
export const isMemStore = (i: Instruction): boolean =>
  ((i.opcode & 0x07) === BPF_ST || (i.opcode & 0x07) === BPF_STX) && (i.opcode & 0xe0) === BPF_MEM;
/** STX | ATOMIC (the operation is in imm). */
export const isAtomic = (i: Instruction): boolean => (i.opcode & 0x07) === BPF_STX && (i.opcode & 0xe0) === BPF_ATOMIC;
/** ALU or ALU64. */
export const isAlu = (i: Instruction): boolean => (i.opcode & 0x07) === BPF_ALU || (i.opcode & 0x07) === BPF_ALU64;
