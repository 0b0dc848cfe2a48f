import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AsmError } from '../../src/errors.js';
import {
  decode, encode, disassemble, disassembleProgram, rawOffsets, slotToIndex, indexAtByteOffset, setImm64,
  isLdImm64, isCall, isPseudoCall, isHelperCall, isKfuncCall, isExit, isJump, isUnconditionalJump, jumpOffset,
  setJumpOffset, isLoadFromMap, isMapValueLoad, isFuncAddrLoad, isMemLoad, isMemStore, isAtomic, slotCount,
  BPF_ALU64, BPF_MOV, BPF_K, BPF_X, BPF_JMP, BPF_JMP32, BPF_JA, BPF_JGT, BPF_JEQ, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_W, BPF_B,
  BPF_STX, BPF_ST, BPF_DW, BPF_ATOMIC, BPF_ADD, BPF_FETCH, BPF_XCHG, BPF_CMPXCHG, BPF_AND, BPF_ALU, BPF_END, BPF_TO_BE,
  BPF_CALL, BPF_EXIT, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_BTF_ID, BPF_DIV, BPF_MOD, BPF_NEG, BPF_H, BPF_LD, BPF_ABS,
  BPF_JCOND, BPF_LOAD_ACQ, BPF_STORE_REL, OP_LD_IMM64,
} from '../../src/asm/index.js';
import type { Instruction } from '../../src/asm/index.js';

// ---------------------------------------------------------------- helpers

const I = (opcode: number, dst = 0, src = 0, off = 0, imm = 0): Instruction => ({ opcode, dst, src, off, imm });
const LD64 = (dst: number, src: number, v: bigint): Instruction => {
  const i = I(OP_LD_IMM64, dst, src);
  setImm64(i, v);
  return i;
};
const hex = (s: string): Uint8Array => new Uint8Array(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));

function throwsAsm(fn: () => unknown, re?: RegExp): AsmError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, AsmError);
    if (re) assert.match((e as Error).message, re);
    return e as AsmError;
  }
  assert.unreachable('expected an AsmError');
  throw new Error('unreachable');
}

/** Minimal ELF64 little-endian section reader (src/elf is separate; do not depend on it). */
function elfSections(buf: Uint8Array): Map<string, { flags: number; data: Uint8Array }> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  assert.is(dv.getUint32(0, false), 0x7f454c46, 'ELF magic');
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const sh = (k: number) => {
    const o = shoff + k * shentsize;
    return {
      name: dv.getUint32(o, true), type: dv.getUint32(o + 4, true), flags: Number(dv.getBigUint64(o + 8, true)),
      offset: Number(dv.getBigUint64(o + 0x18, true)), size: Number(dv.getBigUint64(o + 0x20, true)),
    };
  };
  const strs = sh(shstrndx);
  const name = (off: number) => {
    let e = strs.offset + off;
    while (buf[e] !== 0) e++;
    return new TextDecoder().decode(buf.subarray(strs.offset + off, e));
  };
  const out = new Map<string, { flags: number; data: Uint8Array }>();
  for (let k = 1; k < shnum; k++) {
    const s = sh(k);
    const data = s.type === 8 /* NOBITS */ ? new Uint8Array(0) : new Uint8Array(buf.subarray(s.offset, s.offset + s.size));
    out.set(name(s.name), { flags: s.flags, data });
  }
  return out;
}

// ---------------------------------------------------------------- decode / encode

test('decode: fields, sign of off/imm, registers from nibbles', () => {
  // r1 = *(u32 *)(r2 -8) ; *(u64 *)(r10 -16) = r1 ; r0 = -1 ; exit
  const bytes = hex('61 21 f8ff 00000000  7b 1a f0ff 00000000  b7 00 0000 ffffffff  95 00 0000 00000000');
  const insns = decode(bytes);
  assert.equal(insns, [
    I(0x61, 1, 2, -8, 0), I(0x7b, 10, 1, -16, 0), I(0xb7, 0, 0, 0, -1), I(0x95),
  ]);
  assert.equal(encode(insns), bytes);
});

test('decode: ld_imm64 is one instruction with an unsigned 64-bit imm64', () => {
  const bytes = hex('18 01 0000 78563412  00 00 0000 f0debc9a  18 12 0000 ffffffff  00 00 0000 ffffffff  95 00 0000 00000000');
  const insns = decode(bytes);
  assert.is(insns.length, 3);
  assert.equal(insns[0], { opcode: 0x18, dst: 1, src: 0, off: 0, imm: 0x12345678, imm64: 0x9abcdef012345678n });
  assert.equal(insns[1], { opcode: 0x18, dst: 2, src: 1, off: 0, imm: -1, imm64: 0xffffffffffffffffn });
  assert.ok(isLdImm64(insns[0]!) && isLoadFromMap(insns[1]!) && !isLoadFromMap(insns[0]!));
  assert.equal(rawOffsets(insns), [0, 2, 4]);
  assert.equal(encode(insns), bytes);
  assert.is(disassemble(insns[0]!), 'r1 = 0x9abcdef012345678 ll');
});

test('decode: errors name the section and byte offset', () => {
  let e = throwsAsm(() => decode(new Uint8Array(12), { file: 'x.o', section: 'xdp' }), /not a multiple of 8/);
  assert.is(e.section, 'xdp');
  assert.is(e.file, 'x.o');
  assert.is(e.offset, 8);
  // ld_imm64 as last slot: truncated
  e = throwsAsm(() => decode(hex('b7000000 00000000 18010000 00000000'), { section: 'tc' }), /missing its second half/);
  assert.is(e.section, 'tc');
  assert.is(e.offset, 8);
  assert.match(e.message, /section tc, offset 8/);
  // bad second half: opcode, registers, offset each nonzero
  for (const second of ['95 00 0000 00000000', '00 01 0000 00000000', '00 10 0000 00000000', '00 00 0100 00000000']) {
    e = throwsAsm(() => decode(hex('b7000000 00000000 b7000000 00000000 18010000 00000000' + second), { section: 's' }), /second half of ld_imm64 at byte 16/);
    assert.is(e.offset, 24);
  }
  // empty is fine
  assert.equal(decode(new Uint8Array(0)), []);
});

test('encode: range checks and ld_imm64 imm/imm64 consistency', () => {
  throwsAsm(() => encode([I(0x100)]), /opcode 256/);
  throwsAsm(() => encode([I(0xb7, 16)]), /dst register 16/);
  throwsAsm(() => encode([I(0xbf, 1, -1)]), /src register -1/);
  throwsAsm(() => encode([I(0x05, 0, 0, 0x10000)]), /offset 65536/);
  throwsAsm(() => encode([I(0x05, 0, 0, 1.5)]), /offset 1.5/);
  throwsAsm(() => encode([I(0xb7, 0, 0, 0, 2 ** 32)]), /immediate/);
  throwsAsm(() => encode([I(0xb7), { ...I(OP_LD_IMM64, 1), imm64: 1n << 64n }]), /instruction 1: imm64/);
  throwsAsm(() => encode([{ ...I(OP_LD_IMM64, 1, 0, 0, 5), imm64: 6n }]), /disagrees/);
  // raw nibbles 11..15 are encoded as given; unsigned imm/off forms are accepted
  assert.equal(decode(encode([I(0xbf, 15, 11, 0xffff, 0xffffffff)])), [I(0xbf, 15, 11, -1, -1)]);
  // ld_imm64 without imm64: imm zero-extended
  assert.equal(decode(encode([I(OP_LD_IMM64, 1, BPF_PSEUDO_MAP_FD, 0, -1)])), [{ ...I(OP_LD_IMM64, 1, 1, 0, -1), imm64: 0xffffffffn }]);
  // setImm64 keeps both halves in step, negative values wrap to unsigned
  const i = LD64(3, 0, -2n);
  assert.is(i.imm, -2);
  assert.is(i.imm64, 0xfffffffffffffffen);
  assert.equal(decode(encode([i])), [i]);
});

test('rawOffsets / slotToIndex / indexAtByteOffset', () => {
  const insns = [I(0xb7), LD64(1, 0, 1n), I(0xb7), LD64(2, 0, 2n), I(0x95)];
  const offs = rawOffsets(insns);
  assert.equal(offs, [0, 1, 3, 4, 6]);
  assert.equal(offs.map((s) => slotToIndex(offs, s)), [0, 1, 2, 3, 4]);
  assert.is(slotToIndex(offs, 2), -1);
  assert.is(slotToIndex(offs, 7), -1);
  assert.is(indexAtByteOffset(offs, 24), 2);
  assert.is(indexAtByteOffset(offs, 48), 4);
  let e = throwsAsm(() => indexAtByteOffset(offs, 16, { section: 'xdp', symbol: 'prog' }), /second half of a ld_imm64/);
  assert.is(e.offset, 16);
  assert.is(e.section, 'xdp');
  assert.is(e.symbol, 'prog');
  e = throwsAsm(() => indexAtByteOffset(offs, 12), /not a multiple of 8/);
  throwsAsm(() => indexAtByteOffset(offs, 800), /past the end/);
  throwsAsm(() => indexAtByteOffset([], 0));
  assert.equal(rawOffsets([]), []);
});

test('predicates', () => {
  const helper = I(BPF_JMP | BPF_CALL, 0, 0, 0, 12);
  const pcall = I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3);
  const kfunc = I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1234);
  const exit = I(BPF_JMP | BPF_EXIT);
  const ja = I(BPF_JMP | BPF_JA, 0, 0, -3);
  const gotol = I(BPF_JMP32 | BPF_JA, 0, 0, 0, 70000);
  const jgt32 = I(BPF_JMP32 | BPF_JGT | BPF_K, 1, 0, 5, 3);
  const jeq = I(BPF_JMP | BPF_JEQ | BPF_X, 1, 2, 7);
  assert.ok(isCall(helper) && isHelperCall(helper) && !isPseudoCall(helper) && !isKfuncCall(helper));
  assert.ok(isCall(pcall) && isPseudoCall(pcall) && !isHelperCall(pcall));
  assert.ok(isKfuncCall(kfunc) && !isHelperCall(kfunc));
  assert.ok(isExit(exit) && !isJump(exit) && !isJump(helper));
  for (const j of [ja, gotol, jgt32, jeq]) assert.ok(isJump(j));
  assert.ok(!isJump(ja, { ja: false }) && !isJump(gotol, { ja: false }) && isJump(jgt32, { ja: false }));
  assert.ok(isUnconditionalJump(ja) && isUnconditionalJump(gotol) && !isUnconditionalJump(jeq));
  assert.equal([ja, gotol, jgt32, jeq].map(jumpOffset), [-3, 70000, 5, 7]);
  setJumpOffset(gotol, -1);
  setJumpOffset(jeq, 9);
  assert.is(gotol.imm, -1);
  assert.is(jeq.off, 9);
  assert.ok(!isJump(I(BPF_ALU64 | BPF_MOV)));
  assert.ok(isMapValueLoad(LD64(1, BPF_PSEUDO_MAP_VALUE, 8n << 32n)) && isMapValueLoad(LD64(1, BPF_PSEUDO_MAP_IDX_VALUE, 0n)));
  assert.ok(isLoadFromMap(LD64(1, BPF_PSEUDO_MAP_IDX, 0n)) && !isLoadFromMap(LD64(1, BPF_PSEUDO_FUNC, 0n)));
  assert.ok(isFuncAddrLoad(LD64(1, BPF_PSEUDO_FUNC, 0n)));
  assert.ok(isMemLoad(I(BPF_LDX | BPF_MEM | BPF_W)) && isMemLoad(I(BPF_LDX | BPF_MEMSX | BPF_B)));
  assert.ok(isMemStore(I(BPF_STX | BPF_MEM | BPF_DW)) && isMemStore(I(BPF_ST | BPF_MEM | BPF_W)) && !isMemStore(I(BPF_STX | BPF_ATOMIC | BPF_DW)));
  assert.ok(isAtomic(I(BPF_STX | BPF_ATOMIC | BPF_W)));
  assert.is(slotCount(LD64(0, 0, 0n)), 2);
  assert.is(slotCount(exit), 1);
});

// ---------------------------------------------------------------- disassembly

test('disassemble: kernel verifier style', () => {
  const A = (i: Instruction) => disassemble(i);
  const cases: Array<[Instruction, string]> = [
    [I(BPF_LDX | BPF_MEM | BPF_W, 1, 2, 4), 'r1 = *(u32 *)(r2 +4)'],
    [I(BPF_LDX | BPF_MEMSX | BPF_H, 1, 2, -6), 'r1 = *(s16 *)(r2 -6)'],
    [I(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8), '*(u64 *)(r10 -8) = r1'],
    [I(BPF_ST | BPF_MEM | BPF_B, 10, 0, -1, -3), '*(u8 *)(r10 -1) = -3'],
    [I(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 5, 3), 'if r1 > 0x3 goto pc+5'],
    [I(BPF_JMP32 | BPF_JGT | BPF_X, 1, 2, -5), 'if w1 > w2 goto pc-5'],
    [I(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0, -1), 'if r1 == 0xffffffff goto pc+0'],
    [I(BPF_JMP | 0x40, 3, 0, 1, 8), 'if r3 & 0x8 goto pc+1'],
    [I(BPF_JMP | 0xd0 | BPF_X, 3, 4, 1), 'if r3 s<= r4 goto pc+1'],
    [I(BPF_JMP | BPF_JA, 0, 0, 7), 'goto pc+7'],
    [I(BPF_JMP32 | BPF_JA, 0, 0, 0, -70000), 'gotol pc-70000'],
    [I(BPF_JMP | BPF_JCOND, 0, 0, 4), 'may_goto pc+4'],
    [I(BPF_JMP | BPF_CALL, 0, 0, 0, 12), 'call bpf_tail_call#12'],
    [I(BPF_JMP | BPF_CALL, 0, 0, 0, 1), 'call bpf_map_lookup_elem#1'],
    [I(BPF_JMP | BPF_CALL, 0, 0, 0, 100000), 'call unknown#100000'],
    [I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3), 'call pc+3'],
    [I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 77), 'call kernel-function#77'],
    [I(BPF_JMP | BPF_EXIT), 'exit'],
    [I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -1), 'r0 = -1'],
    [I(BPF_ALU | BPF_MOV | BPF_X, 1, 2), 'w1 = w2'],
    [I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 8), 'r1 = (s8)r2'],
    [I(BPF_ALU | BPF_MOV | BPF_X, 1, 2, 16), 'w1 = (s16)w2'],
    [I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 32), 'r1 = (s32)r2'],
    [I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4), 'r2 += -4'],
    [I(BPF_ALU64 | BPF_DIV | BPF_X, 2, 1, 1), 'r2 s/= r1'],
    [I(BPF_ALU | BPF_MOD | BPF_K, 2, 0, 1, 7), 'w2 s%= 7'],
    [I(BPF_ALU64 | BPF_MOD | BPF_K, 2, 0, 0, 7), 'r2 %= 7'],
    [I(BPF_ALU64 | 0xc0 | BPF_K, 2, 0, 0, 3), 'r2 s>>= 3'],
    [I(BPF_ALU64 | BPF_NEG, 2), 'r2 = -r2'],
    [I(BPF_ALU | BPF_END | BPF_TO_BE, 1, 0, 0, 16), 'r1 = be16 r1'],
    [I(BPF_ALU | BPF_END, 1, 0, 0, 32), 'r1 = le32 r1'],
    [I(BPF_ALU64 | BPF_END, 1, 0, 0, 64), 'r1 = bswap64 r1'],
    [I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 1, 1 << 16), 'r1 = addr_space_cast(r2, 1, 0)'],
    [I(BPF_STX | BPF_ATOMIC | BPF_DW, 7, 1, 0, BPF_ADD), 'lock *(u64 *)(r7 +0) += r1'],
    [I(BPF_STX | BPF_ATOMIC | BPF_W, 7, 1, 8, BPF_AND), 'lock *(u32 *)(r7 +8) &= r1'],
    [I(BPF_STX | BPF_ATOMIC | BPF_DW, 7, 0, 0, BPF_ADD | BPF_FETCH), 'r0 = atomic64_fetch_add((u64 *)(r7 +0), r0)'],
    [I(BPF_STX | BPF_ATOMIC | BPF_W, 7, 2, -4, BPF_AND | BPF_FETCH), 'r2 = atomic_fetch_and((u32 *)(r7 -4), r2)'],
    [I(BPF_STX | BPF_ATOMIC | BPF_DW, 7, 1, 0, BPF_CMPXCHG), 'r0 = atomic64_cmpxchg((u64 *)(r7 +0), r0, r1)'],
    [I(BPF_STX | BPF_ATOMIC | BPF_DW, 7, 1, 0, BPF_XCHG), 'r1 = atomic64_xchg((u64 *)(r7 +0), r1)'],
    [I(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_LOAD_ACQ), 'r1 = load_acquire((u64 *)(r2 +0))'],
    [I(BPF_STX | BPF_ATOMIC | BPF_W, 1, 2, 4, BPF_STORE_REL), 'store_release((u32 *)(r1 +4), r2)'],
    [I(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 12), 'r0 = *(u16 *)skb[12]'],
    [LD64(1, 0, 0n), 'r1 = 0x0 ll'],
    [LD64(1, BPF_PSEUDO_MAP_FD, 5n), 'r1 = map[fd:5] ll'],
    [LD64(1, BPF_PSEUDO_MAP_VALUE, (16n << 32n) | 5n), 'r1 = map[fd:5][0]+16 ll'],
    [LD64(1, BPF_PSEUDO_MAP_IDX, 2n), 'r1 = map[idx:2] ll'],
    [LD64(1, BPF_PSEUDO_MAP_IDX_VALUE, 2n), 'r1 = map[idx:2][0]+0 ll'],
    [LD64(1, BPF_PSEUDO_BTF_ID, 99n), 'r1 = btf_id[99] ll'],
    [LD64(1, BPF_PSEUDO_FUNC, 6n), 'r1 = func[pc+6] ll'],
  ];
  for (const [i, want] of cases) assert.is(A(i), want);
  assert.is(disassemble(I(BPF_JMP | BPF_CALL, 0, 0, 0, 7), { helperName: (id) => `h${id}` }), 'call h7#7');
});

test('disassemble: references set by the linker', () => {
  const map: Instruction = { ...LD64(2, 0, 0n), reference: { kind: 'map', name: 'jmp_table' } };
  const val: Instruction = { ...LD64(1, BPF_PSEUDO_MAP_VALUE, 8n << 32n), reference: { kind: 'map', name: '.rodata', value: true, offset: 8 } };
  const fn: Instruction = { ...LD64(1, BPF_PSEUDO_FUNC, 0n), reference: { kind: 'func', name: 'cb' } };
  const call: Instruction = { ...I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, -1), reference: { kind: 'call', name: 'handle_odd' } };
  assert.is(disassemble(map), 'r2 = map[jmp_table] ll');
  assert.is(disassemble(val), 'r1 = map[.rodata][0]+8 ll');
  assert.is(disassemble(fn), 'r1 = func[cb] ll');
  assert.is(disassemble(call), 'call handle_odd');
  const prog = [{ ...I(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1), symbol: 'prog' }, map, I(BPF_JMP | BPF_CALL, 0, 0, 0, 1), call, I(BPF_JMP | BPF_EXIT)];
  assert.is(disassembleProgram(prog), [
    'prog:',
    '   0: (bf) r6 = r1',
    '   1: (18) r2 = map[jmp_table] ll',
    '   3: (85) call bpf_map_lookup_elem#1',
    '   4: (85) call handle_odd',
    '   5: (95) exit',
    '',
  ].join('\n'));
  assert.is(disassembleProgram([]), '');
});

test('random bytes: decode throws only AsmError, disassemble never throws, round trip holds', () => {
  let seed = 0x12345678;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  let decoded = 0;
  for (let n = 0; n < 3000; n++) {
    const len = (rnd() % 12) * 8 + (n % 7 === 0 ? rnd() % 8 : 0);
    const bytes = new Uint8Array(len);
    for (let k = 0; k < len; k++) bytes[k] = rnd();
    // make ld_imm64 frequent, with a valid second half half the time
    if (len >= 16 && n % 3 === 0) {
      bytes[0] = 0x18;
      if (n % 2 === 0) bytes.fill(0, 8, 12);
    }
    let insns: Instruction[];
    try {
      insns = decode(bytes, { section: 'fuzz' });
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      continue;
    }
    decoded++;
    for (const i of insns) assert.type(disassemble(i), 'string');
    assert.type(disassembleProgram(insns), 'string');
    assert.equal(encode(insns), bytes);
    assert.equal(decode(encode(insns)), insns);
  }
  assert.ok(decoded > 500, `only ${decoded} inputs decoded`);
  // every opcode, every register nibble combination seen at least by disassemble
  for (let op = 0; op < 256; op++) {
    for (const imm of [0, 1, 0x11, 0xe1, 0xf1, 0x100, 0x110, -1]) {
      for (const off of [0, 1, -1, 8, 16, 32]) assert.type(disassemble(I(op, 15, 15, off, imm)), 'string');
    }
  }
});

// ---------------------------------------------------------------- real clang output

const C_SOURCE = String.raw`
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __array(name, val) typeof(val) *name[]
typedef unsigned int u32; typedef unsigned long long u64; typedef signed char s8; typedef short s16;
typedef unsigned short u16;
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_tail_call)(void *ctx, void *map, u32 idx) = (void *)12;
struct { __uint(type, 1); __uint(max_entries, 4); u32 *key; u64 *value; } counts SEC(".maps");
struct { __uint(type, 3); __uint(max_entries, 8); __uint(key_size, 4); __uint(value_size, 4);
         __array(values, int (void *)); } jmp_table SEC(".maps");
volatile const int cfg = 3;
u64 big = 0x1122334455667788ULL;
static __attribute__((noinline)) int sub(int x, s8 *p) { return x * 3 + *p + (x >> 2); }
static __attribute__((noinline)) int loop(u32 n, u16 *buf) {
  int acc = 0;
  for (u32 i = 0; i < n && i < 64; i++) acc += buf[i & 7] ^ (int)i;
  return acc;
}
SEC("xdp") int prog(void *ctx) {
  u32 key = 0; s8 b = (s8)(long)ctx; s16 h = (s16)(long)ctx; u16 buf[8] = {1, 2, 3};
  u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (!v) return 1;
  __sync_fetch_and_add(v, 1);
  u64 old = __sync_fetch_and_add(v, 5);
  __sync_val_compare_and_swap(v, old, 7);
  if (*v > cfg) bpf_tail_call(ctx, &jmp_table, 2);
  if ((u32)*v == 17) return 2;
  volatile u64 konst = 0x123456789aULL;
  long s = (long)b + h + (long)big + (long)konst;
#if __BPF_CPU_VERSION__ >= 4
  s = s / (long)(*v | 1); s = s % 7;
#endif
  u64 be = __builtin_bswap64(*v) + __builtin_bswap16((u16)s);
  return sub((int)*v + (int)s + (int)be, &b) + (int)(*(s8 *)v) + loop((u32)s, buf);
}
SEC("tc") int odd(void *ctx) { u32 k = 1; u64 *v = bpf_map_lookup_elem(&counts, &k); return v ? (int)*v : 0; }
char _license[] SEC("license") = "GPL";
`;

/** Both printers' text reduced to a comparable shape: numbers as decimal, no whitespace, no labels. */
function shape(s: string): string {
  return s
    .replace(/\s*<[^<>]*>$/, '')
    .replace(/call [A-Za-z_][\w-]*#(-?\d+)/, 'call $1')
    .replace(/\bpc(?=[+-])/g, '')
    .replace(/^call \+/, 'call ')
    .replace(/(?<![\w])0x([0-9a-f]+)/g, (_m, h: string) => BigInt('0x' + h).toString())
    .replace(/\s+/g, '');
}

const clang = spawnSync('clang-19', ['--version']).status === 0;
const objdump = spawnSync('llvm-objdump-19', ['--version']).status === 0;

for (const cpu of ['v2', 'v3', 'v4']) {
  const name = `clang-19 -mcpu=${cpu} output: round trip and llvm-objdump-19 agreement`;
  if (!clang || !objdump) {
    console.log(`SKIP: ${name} (clang-19 or llvm-objdump-19 not installed)`);
    test.skip(name, () => {});
    continue;
  }
  test(name, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbpf-asm-'));
    try {
      writeFileSync(path.join(dir, 'p.bpf.c'), C_SOURCE);
      const obj = path.join(dir, 'p.bpf.o');
      const cc = spawnSync('clang-19', ['-O2', '-g', '-target', 'bpf', `-mcpu=${cpu}`, '-c', 'p.bpf.c', '-o', obj], { cwd: dir, encoding: 'utf8' });
      assert.is(cc.status, 0, cc.stderr);
      const sections = elfSections(new Uint8Array(readFileSync(obj)));
      const code = [...sections].filter(([, s]) => (s.flags & 0x4) !== 0 && s.data.length > 0);
      assert.equal(code.map(([n]) => n).sort(), ['.text', 'tc', 'xdp']);

      const od = spawnSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8' });
      assert.is(od.status, 0, od.stderr);
      // section name -> slot -> text
      const theirs = new Map<string, Map<number, string>>();
      let cur: Map<number, string> | undefined;
      for (const line of od.stdout.split('\n')) {
        const sec = line.match(/^Disassembly of section (.+):$/);
        if (sec) theirs.set(sec[1]!, (cur = new Map()));
        const m = line.match(/^\s*(\d+):\s+(.*)$/);
        if (m && cur) cur.set(Number(m[1]), m[2]!.trim());
      }

      let compared = 0;
      const seen = new Set<string>();
      for (const [sec, { data }] of code) {
        const insns = decode(data, { file: obj, section: sec });
        assert.equal(encode(insns), data, `round trip of ${sec}`);
        assert.equal(decode(encode(insns)), insns);
        const offs = rawOffsets(insns);
        const ref = theirs.get(sec)!;
        assert.ok(ref, `objdump printed ${sec}`);
        assert.equal([...ref.keys()], offs, `${sec}: same instruction starts as llvm-objdump`);
        insns.forEach((i, k) => {
          const mine = disassemble(i);
          const their = ref.get(offs[k]!)!;
          if (isLdImm64(i)) seen.add('ld_imm64');
          if (isHelperCall(i)) seen.add('helper');
          if (isPseudoCall(i)) seen.add('pseudo call');
          if (isMemLoad(i)) seen.add('load');
          if (isMemStore(i)) seen.add('store');
          if (isJump(i, { ja: false })) seen.add('cond jump');
          if (isExit(i)) seen.add('exit');
          // Known differences in atomics: llvm prints `atomic_fetch_add` for 64-bit, `cmpxchg_64(...)`,
          // w registers for 32-bit atomics, `<unknown>` for some; the kernel style is asserted above.
          if (isAtomic(i) && (i.imm & BPF_FETCH || (i.opcode & 0x18) !== BPF_DW)) return;
          assert.is(shape(mine), shape(their), `${sec} slot ${offs[k]}: ours '${mine}' vs llvm '${their}'`);
          compared++;
        });
      }
      assert.ok(compared > 60, `compared ${compared}`);
      for (const kind of ['ld_imm64', 'helper', 'pseudo call', 'load', 'store', 'cond jump', 'exit']) assert.ok(seen.has(kind), `saw a ${kind}`);
      // the full listing is printable and numbered by slot
      const xdp = decode(sections.get('xdp')!.data);
      const listing = disassembleProgram(xdp);
      assert.match(listing, /^\s+\d+: \(85\) call bpf_map_lookup_elem#1$/m);
      assert.match(listing, /^\s+\d+: \(85\) call bpf_tail_call#12$/m);
      assert.match(listing, /^\s+\d+: \(18\) r\d = 0x0 ll$/m);
      assert.match(listing, /^\s+\d+: \(95\) exit$/m);
      assert.match(listing, /^\s+\d+: \(85\) call pc[+-]\d+$/m);
      if (cpu === 'v4') assert.match(listing, /= \(s16\)r\d|s\/= r\d/);
      // ld_imm64 of a 64-bit constant keeps its high half
      const all = code.flatMap(([, s]) => decode(s.data));
      assert.ok(all.some((i) => isLdImm64(i) && (i.imm64 ?? 0n) > 0xffffffffn), 'a ld_imm64 with a high half');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
