/** Instruction decode / encode and slot <-> index mapping. */
import { AsmError } from '../errors.js';
import { tableWords } from '../bytes.js';
import { INSN_SIZE, OP_LD_IMM64 } from './opcodes.js';
import type { Instruction } from './types.js';

export interface DecodeOptions {
  /** Object path, for error messages. */
  file?: string;
  /** Section name, for error messages; offsets in errors are bytes inside this section. */
  section?: string;
}

function badLength(n: number, opts: DecodeOptions | undefined): never {
  throw new AsmError(`instruction bytes length ${n} is not a multiple of ${INSN_SIZE}`, {
    file: opts?.file, section: opts?.section, offset: n - (n % INSN_SIZE),
  });
}

/** Throws the AsmError for the ld_imm64 at byte `o` of `b` whose second half is missing or not all zero. */
function badSecondHalf(b: Uint8Array, o: number, opts: DecodeOptions | undefined): never {
  const p = o + INSN_SIZE;
  if (p >= b.length) {
    throw new AsmError('ld_imm64 is missing its second half (truncated at end of section)', {
      file: opts?.file, section: opts?.section, offset: o,
    });
  }
  throw new AsmError(
    `second half of ld_imm64 at byte ${o} must have opcode, registers and offset 0 (got opcode 0x${b[p]!.toString(16)}, regs 0x${b[p + 1]!.toString(16)})`,
    { file: opts?.file, section: opts?.section, offset: p },
  );
}

/**
 * Decodes little-endian BPF instructions. ld_imm64 consumes two slots and becomes one
 * Instruction with `imm64` (unsigned 64-bit); its second slot must have opcode 0, zero
 * registers and zero offset. Other opcodes are not validated (see `disassemble`).
 */
export function decode(bytes: Uint8Array, opts?: DecodeOptions): Instruction[] {
  const n = bytes.length;
  if (n % INSN_SIZE !== 0) badLength(n, opts);
  const out: Instruction[] = [];
  for (let o = 0; o < n; o += bytes[o] === OP_LD_IMM64 ? 2 * INSN_SIZE : INSN_SIZE) out.push(decodeAt(bytes, o, opts));
  return out;
}

/**
 * The instruction at byte `o` of `bytes` (a multiple of 8 below its length), as `decode`
 * gives it: one object, without decoding the rest (an ld_imm64 reads its second half).
 */
export function decodeAt(bytes: Uint8Array, o: number, opts?: DecodeOptions): Instruction {
  const b = bytes;
  const opcode = b[o]!;
  const regs = b[o + 1]!;
  const off = ((b[o + 2]! | (b[o + 3]! << 8)) << 16) >> 16;
  const imm = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
  if (opcode !== OP_LD_IMM64) return { opcode, dst: regs & 0x0f, src: regs >> 4, off, imm };
  const p = o + INSN_SIZE;
  if (p >= b.length || b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 0 || b[p + 3] !== 0) badSecondHalf(b, o, opts);
  const hi = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
  const imm64 = hi === 0 ? BigInt(imm >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(imm >>> 0);
  return { opcode, dst: regs & 0x0f, src: regs >> 4, off, imm, imm64 };
}

/**
 * Checks `bytes` exactly as `decode` does (the same AsmError for the same input) without
 * making an object per instruction, and returns each instruction's offset in 8-byte slots
 * (what `rawOffsets(decode(bytes))` gives).
 */
export function instructionOffsets(bytes: Uint8Array, opts?: DecodeOptions, start = 0, end = bytes.length): Uint32Array {
  // bytes [start, end) of `bytes` (a function inside its section's bytes, without a view of
  // its own); on any error the same check of a view of them throws what it throws
  const n = end - start;
  const whole = start === 0 && end === bytes.length;
  if (n % INSN_SIZE !== 0) return whole ? badLength(n, opts) : instructionOffsets(bytes.subarray(start, end), opts);
  const out = tableWords(n / INSN_SIZE);
  const b = bytes;
  let count = 0;
  for (let o = start; o < end; o += INSN_SIZE) {
    out[count++] = (o - start) / INSN_SIZE;
    if (b[o] !== OP_LD_IMM64) continue;
    const p = o + INSN_SIZE;
    if (p >= end || b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 0 || b[p + 3] !== 0) {
      return whole ? badSecondHalf(b, o, opts) : instructionOffsets(bytes.subarray(start, end), opts);
    }
    o = p;
  }
  return count === out.length ? out : out.subarray(0, count);
}

function fail(what: string, v: unknown, index: number): never {
  throw new AsmError(`instruction ${index}: ${what} ${String(v)} does not fit`);
}

/** Total size in bytes of the encoded instructions. */
export function encodedSize(insns: readonly Instruction[]): number {
  let slots = 0;
  for (let i = 0; i < insns.length; i++) slots += insns[i]!.opcode === OP_LD_IMM64 ? 2 : 1;
  return slots * INSN_SIZE;
}

/**
 * Encodes instructions (exact inverse of `decode`). Fields are written as given; an AsmError
 * names any that does not fit: opcode 0..255, dst/src 0..15, off a signed or unsigned 16-bit
 * value, imm a signed or unsigned 32-bit value, imm64 a signed or unsigned 64-bit value.
 * For ld_imm64, `imm64` (when set) is the constant and its low 32 bits must agree with `imm`;
 * without `imm64` the constant is `imm` zero-extended (high word 0). `alloc` makes the
 * (zeroed) output array: the loader takes one from a shared slab (bytes.ts slabBytes).
 */
export function encode(insns: readonly Instruction[], alloc: (size: number) => Uint8Array = (n) => new Uint8Array(n)): Uint8Array {
  const out = alloc(encodedSize(insns));
  for (let k = 0, o = 0; k < insns.length; k++) o = encodeAt(out, o, insns[k]!, k);
  return out;
}

/**
 * Writes instruction `i` (the `k`-th, for messages) at byte `o` of `out` as `encode` does,
 * with the same checks (every byte of its 8 or 16 is written); returns the byte after it.
 */
export function encodeAt(out: Uint8Array, o: number, i: Instruction, k: number): number {
  const { opcode, dst, src, off, imm } = i;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xff) fail('opcode', opcode, k);
  if (!Number.isInteger(dst) || dst < 0 || dst > 15) fail('dst register', dst, k);
  if (!Number.isInteger(src) || src < 0 || src > 15) fail('src register', src, k);
  if (!Number.isInteger(off) || off < -0x8000 || off > 0xffff) fail('offset', off, k);
  if (!Number.isInteger(imm) || imm < -0x80000000 || imm > 0xffffffff) fail('immediate', imm, k);
  out[o] = opcode;
  out[o + 1] = dst | (src << 4);
  out[o + 2] = off & 0xff;
  out[o + 3] = (off >> 8) & 0xff;
  out[o + 4] = imm & 0xff;
  out[o + 5] = (imm >>> 8) & 0xff;
  out[o + 6] = (imm >>> 16) & 0xff;
  out[o + 7] = (imm >>> 24) & 0xff;
  o += INSN_SIZE;
  if (opcode !== OP_LD_IMM64) return o;
  let hi = 0;
  if (i.imm64 !== undefined) {
    const v = i.imm64;
    if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 64n) fail('imm64', v, k);
    const u = BigInt.asUintN(64, v);
    const lo = Number(u & 0xffffffffn);
    if (lo !== imm >>> 0) {
      throw new AsmError(`instruction ${k}: ld_imm64 imm (${imm}) disagrees with the low 32 bits of imm64 (0x${u.toString(16)}); use setImm64()`);
    }
    hi = Number(u >> 32n);
  }
  out[o + 4] = hi & 0xff;
  out[o + 5] = (hi >>> 8) & 0xff;
  out[o + 6] = (hi >>> 16) & 0xff;
  out[o + 7] = (hi >>> 24) & 0xff;
  return o + INSN_SIZE;
}

/** Sets the 64-bit constant of a ld_imm64 (both `imm64` and its low half `imm`). */
export function setImm64(insn: Instruction, value: bigint): void {
  const u = BigInt.asUintN(64, value);
  insn.imm64 = u;
  insn.imm = Number(BigInt.asIntN(32, u));
}

/** Each instruction's offset in 8-byte slots (ld_imm64 counts 2). */
export function rawOffsets(insns: readonly Instruction[]): number[] {
  const out = new Array<number>(insns.length);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = slot;
    slot += insns[i]!.opcode === OP_LD_IMM64 ? 2 : 1;
  }
  return out;
}

/**
 * Index of the instruction starting at `slot`, given `rawOffsets(insns)` (sorted); -1 when
 * no instruction starts there (second half of a ld_imm64, or out of range).
 */
export function slotToIndex(offsets: ArrayLike<number>, slot: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = offsets[mid]!;
    if (v === slot) return mid;
    if (v < slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Index of the instruction starting at `byteOffset` (e.g. a relocation's r_offset minus the
 * program's start in its section), given `rawOffsets(insns)`. Throws AsmError (with the
 * context and the byte offset) when the offset is not at an instruction start.
 */
export function indexAtByteOffset(
  offsets: readonly number[],
  byteOffset: number,
  ctx?: { file?: string; section?: string; symbol?: string },
): number {
  const where = { file: ctx?.file, section: ctx?.section, symbol: ctx?.symbol, offset: byteOffset };
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % INSN_SIZE !== 0) {
    throw new AsmError(`byte offset ${byteOffset} is not a multiple of ${INSN_SIZE}: not at an instruction start`, where);
  }
  const idx = slotToIndex(offsets, byteOffset / INSN_SIZE);
  if (idx < 0) {
    const last = offsets.length === 0 ? -1 : offsets[offsets.length - 1]!;
    const why = byteOffset / INSN_SIZE > last + 1 ? `past the end of ${offsets.length} instructions` : 'second half of a ld_imm64, or past the end';
    throw new AsmError(`byte offset ${byteOffset} is not at an instruction start (${why})`, where);
  }
  return idx;
}
