import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Btf, BTF_INT_SIGNED, type CoreRelo } from '../../src/btf/index.js';
import type { Instruction } from '../../src/asm/index.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import {
  applyCoreRelocations, btfTarget, CoreError, CORE_POISON_IMM, essentialName, explainPoison, kernelBtf,
} from '../../src/core/index.js';
import { BtfBuilder, type TypeDesc } from '../helpers/btf-builder.js';

const K = { OFF: 0, SZ: 1, EXISTS: 2, SIGNED: 3, LSHIFT: 4, RSHIFT: 5, ID_LOCAL: 6, ID_TARGET: 7, TYPE_EXISTS: 8, TYPE_SIZE: 9, ENUM_EXISTS: 10, ENUM_VALUE: 11, MATCHES: 12 };

// Instruction shapes.
const mov = (imm: number): Instruction => ({ opcode: 0xb7, dst: 1, src: 0, off: 0, imm }); // r1 = imm (ALU64 MOV K)
const ldxw = (off: number): Instruction => ({ opcode: 0x61, dst: 0, src: 1, off, imm: 0 }); // r0 = *(u32 *)(r1 + off)
const ldimm64 = (v: bigint): Instruction => ({ opcode: 0x18, dst: 1, src: 0, off: 0, imm: Number(BigInt.asIntN(32, v)), imm64: v });
const exit: Instruction = { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 };

interface Types { [name: string]: number }
/** Build a BTF; `f` adds types through `add` and returns named ids. */
function btf(f: (add: (t: TypeDesc) => number) => Types): { btf: Btf; ids: Types } {
  const b = new BtfBuilder();
  const ids = f((t) => b.add(t));
  return { btf: Btf.parse(b.build()), ids };
}
const m = (name: string, type: number, bitOffset: number, bitfieldSize = 0) => ({ name, type, bitOffset, bitfieldSize });
const INT = { kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 } as const;
const UINT = { kind: 'int', name: 'unsigned int', size: 4, encoding: 0, bitOffset: 0, bits: 32 } as const;
const LONG = { kind: 'int', name: 'long', size: 8, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 64 } as const;
const ULONG = { kind: 'int', name: 'unsigned long', size: 8, encoding: 0, bitOffset: 0, bits: 64 } as const;

function run(insns: Instruction[], relos: CoreRelo[], local: Btf, target: Btf) {
  return applyCoreRelocations({ name: 'prog', instructions: insns, coreRelos: relos }, local, target, { file: 'x.o' });
}
const relo = (insnOff: number, typeId: number, accessStr: string, kind: number): CoreRelo => ({ insnOff, typeId, accessStr, kind });

test('field moved: ALU immediate and LDX offset patched, input not mutated', () => {
  const L = btf((add) => { const i = add(INT); return { task: add({ kind: 'struct', name: 'task', size: 8, members: [m('a', i, 0), m('pid', i, 32)] }) }; });
  const T = btf((add) => { const i = add(INT), l = add(LONG); return { task: add({ kind: 'struct', name: 'task', size: 16, members: [m('x', l, 0), m('a', i, 64), m('pid', i, 96)] }) }; });
  const insns = [mov(4), ldxw(4), exit];
  const r = run(insns, [relo(0, L.ids.task!, '0:1', K.OFF), relo(1, L.ids.task!, '0:1', K.OFF)], L.btf, T.btf);
  assert.is(r.instructions[0]!.imm, 12);
  assert.is(r.instructions[1]!.off, 12);
  assert.is(insns[0]!.imm, 4, 'input untouched');
  assert.is(insns[1]!.off, 4);
  const x = r.relocations[0]!;
  assert.is(x.kind, 'byte_off');
  assert.is(x.access, 'task.pid');
  assert.is(x.localValue, 4);
  assert.is(x.targetValue, 12);
  assert.equal(x.candidates, [{ source: 'target', id: T.ids.task }]);
  assert.is(x.localSpec, `[${L.ids.task}] struct task.pid (0:1 @ offset 4)`);
  assert.is(x.targetSpec, `[${T.ids.task}] struct task.pid (0:2 @ offset 12)`);
  assert.is(r.poisoned.length, 0);
});

test('flavour: local task___v2 matches target task (essential name)', () => {
  assert.is(essentialName('task___v2'), 'task');
  assert.is(essentialName('a___b___c'), 'a___b');
  assert.is(essentialName('____x'), '____x');
  const L = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 'task___v2', size: 4, members: [m('pid', i, 0)] }) }; });
  const T = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 'task', size: 12, members: [m('x', i, 0), m('y', i, 32), m('pid', i, 64)] }) }; });
  const r = run([ldxw(0), exit], [relo(0, L.ids.t!, '0:0', K.OFF)], L.btf, T.btf);
  assert.is(r.instructions[0]!.off, 8);
  assert.is(r.relocations[0]!.access, 'task___v2.pid');
});

test('missing field: EXISTS = 0, offset poisoned (LDX -> call 0xbad2310, ld_imm64 -> two calls), explainPoison', () => {
  const L = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 'task', size: 8, members: [m('pid', i, 0), m('gone', i, 32)] }) }; });
  const T = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 'task', size: 4, members: [m('pid', i, 0)] }) }; });
  const id = L.ids.t!;
  const insns = [mov(1), ldxw(4), ldimm64(4n), mov(0), exit];
  const r = run(insns, [relo(0, id, '0:1', K.EXISTS), relo(1, id, '0:1', K.OFF), relo(2, id, '0:1', K.OFF), relo(4, id, '0:0', K.OFF)], L.btf, T.btf);
  assert.is(r.instructions.length, 6, 'ld_imm64 became two instructions');
  assert.is(r.instructions[0]!.imm, 0);
  for (const k of [1, 2, 3]) {
    assert.is(r.instructions[k]!.opcode, 0x85);
    assert.is(r.instructions[k]!.imm, CORE_POISON_IMM);
    assert.is(CORE_POISON_IMM, 195896080);
  }
  assert.is(r.instructions[4]!.opcode, 0xb7, 'mov after the poisoned ld_imm64 kept');
  assert.is(r.relocations[3]!.insn, 4, 'index after the split');
  assert.is(r.relocations[3]!.slot, 4);
  assert.is(r.poisoned.length, 2);
  assert.is(r.poisoned[0]!.targetValue, 'poisoned');
  assert.match(r.poisoned[0]!.poisonReason!, /task\.gone/);
  const log = '0: R1=ctx() R10=fp0\n; x = p->gone\n1: (85) call unknown#195896080\ninvalid func unknown#195896080\n';
  const e = explainPoison(r, log);
  assert.ok(e);
  assert.is(e!.relocation.index, 1);
  assert.match(e!.message, /relocation #1 \(byte_off task\.gone\)/);
});

test('bitfields: LSHIFT / RSHIFT / BYTE_OFFSET / BYTE_SIZE / SIGNED', () => {
  const L = btf((add) => { const u = add(UINT); return { s: add({ kind: 'struct', name: 'bf', size: 4, members: [m('flag', u, 1, 3)] }) }; });
  const T = btf((add) => { const u = add(UINT), i = add(INT); return { s: add({ kind: 'struct', name: 'bf', size: 8, members: [m('x', u, 0, 0), m('flag', i, 45, 3)] }) }; });
  const id = L.ids.s!;
  // local: byte off 0, size 4, lshift 64 - (1 + 3) = 60, rshift 61, unsigned
  const insns = [mov(0), mov(4), mov(60), mov(61), mov(0), exit];
  const r = run(insns, [relo(0, id, '0:0', K.OFF), relo(1, id, '0:0', K.SZ), relo(2, id, '0:0', K.LSHIFT), relo(3, id, '0:0', K.RSHIFT), relo(4, id, '0:0', K.SIGNED)], L.btf, T.btf);
  // target: bits 45..47 of a 4-byte int: byte off floor(45 / 32) * 4 = 4, lshift 64 - (45 + 3 - 32) = 48
  assert.equal(r.instructions.slice(0, 5).map((i) => i.imm), [4, 4, 48, 61, 1]);
  assert.equal(r.relocations.map((x) => x.kind), ['byte_off', 'byte_sz', 'lshift_u64', 'rshift_u64', 'signed']);
});

test('enum value changed: ENUMVAL_VALUE patched, ENUMVAL_EXISTS 0 and VALUE poisoned when the enumerator is gone; enum64 target', () => {
  const L = btf((add) => ({ e: add({ kind: 'enum', name: 'state', size: 4, signed: false, values: [{ name: 'A', value: 1 }, { name: 'B', value: 2 }] }) }));
  const T = btf((add) => ({ e: add({ kind: 'enum', name: 'state', size: 4, signed: false, values: [{ name: 'B', value: 7 }, { name: 'C', value: 3 }] }) }));
  const id = L.ids.e!;
  const r = run([mov(2), mov(1), mov(1), mov(1), exit],
    [relo(0, id, '1', K.ENUM_VALUE), relo(1, id, '1', K.ENUM_EXISTS), relo(2, id, '0', K.ENUM_EXISTS), relo(3, id, '0', K.ENUM_VALUE)], L.btf, T.btf);
  assert.equal(r.instructions.slice(0, 3).map((i) => i.imm), [7, 1, 0]);
  assert.is(r.instructions[3]!.imm, CORE_POISON_IMM);
  assert.is(r.relocations[0]!.access, 'state::B');
  const T64 = btf((add) => ({ e: add({ kind: 'enum64', name: 'state', size: 8, signed: false, values: [{ name: 'B', value: 0x1_0000_0005n }] }) }));
  const r64 = run([ldimm64(2n), exit], [relo(0, id, '1', K.ENUM_VALUE)], L.btf, T64.btf);
  assert.is(r64.instructions[0]!.imm64, 0x1_0000_0005n);
  assert.is(r64.instructions[0]!.imm, 5);
});

test('type relocations: exists, size, id local / target, matches; missing type gives 0', () => {
  const L = btf((add) => {
    const i = add(INT), l = add(LONG);
    return {
      s: add({ kind: 'struct', name: 'sk', size: 4, members: [m('a', i, 0)] }),
      s2: add({ kind: 'struct', name: 'sk___long', size: 8, members: [m('a', l, 0)] }),
      none: add({ kind: 'struct', name: 'nothere', size: 4, members: [m('a', i, 0)] }),
    };
  });
  const T = btf((add) => { add(LONG); const i = add(INT); return { s: add({ kind: 'struct', name: 'sk', size: 16, members: [m('z', i, 0), m('a', i, 32)] }) }; });
  const { s, s2, none } = L.ids as { s: number; s2: number; none: number };
  const r = run(
    [mov(1), mov(4), mov(s), ldimm64(BigInt(s)), mov(1), mov(1), mov(1), mov(4), exit],
    [relo(0, s, '0', K.TYPE_EXISTS), relo(1, s, '0', K.TYPE_SIZE), relo(2, s, '0', K.ID_LOCAL), relo(3, s, '0', K.ID_TARGET),
      relo(5, s, '0', K.MATCHES), relo(6, s2, '0', K.MATCHES), relo(7, none, '0', K.TYPE_EXISTS), relo(8, none, '0', K.TYPE_SIZE)],
    L.btf, T.btf);
  const imm = (k: number) => r.instructions[k]!.imm;
  assert.is(imm(0), 1);
  assert.is(imm(1), 16);
  assert.is(imm(2), s);
  assert.is(r.instructions[3]!.imm64, BigInt(T.ids.s!));
  // ld_imm64 takes slots 3-4: slot 5 is index 4
  assert.is(imm(4), 1, 'sk { int a } matches sk { int z; int a }');
  assert.is(imm(5), 0, 'sk___long { long a } does not match: int sizes differ');
  assert.is(imm(6), 0);
  assert.is(imm(7), 0);
  assert.is(r.poisoned.length, 0);
});

test('ambiguous candidates that disagree -> CoreError; agreeing ones are fine', () => {
  const L = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 't', size: 4, members: [m('f', i, 0)] }) }; });
  const Tbad = btf((add) => { const i = add(INT); return {
    a: add({ kind: 'struct', name: 't', size: 4, members: [m('f', i, 0)] }),
    b: add({ kind: 'struct', name: 't___2', size: 8, members: [m('x', i, 0), m('f', i, 32)] }) }; });
  try {
    run([ldxw(0), exit], [relo(0, L.ids.t!, '0:0', K.OFF)], L.btf, Tbad.btf);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CoreError);
    assert.match((e as Error).message, /ambiguity/);
    assert.match((e as Error).message, /x\.o/);
    assert.match((e as Error).message, /program 'prog'/);
  }
  const Tok = btf((add) => { const i = add(INT); return {
    a: add({ kind: 'struct', name: 't', size: 4, members: [m('f', i, 32)] }),
    b: add({ kind: 'struct', name: 't___2', size: 8, members: [m('x', i, 0), m('f', i, 32)] }) }; });
  const r = run([ldxw(0), exit], [relo(0, L.ids.t!, '0:0', K.OFF)], L.btf, Tok.btf);
  assert.is(r.instructions[0]!.off, 4);
  assert.is(r.relocations[0]!.candidates.length, 2);
});

test('array index access 0:1:2, out of range in the target poisons', () => {
  const L = btf((add) => { const i = add(INT); const a = add({ kind: 'array', name: '', type: i, indexType: i, nelems: 4 });
    return { s: add({ kind: 'struct', name: 's', size: 20, members: [m('pad', i, 0), m('a', a, 32)] }) }; });
  const T = btf((add) => { const i = add(INT), l = add(LONG); const a = add({ kind: 'array', name: '', type: i, indexType: i, nelems: 4 });
    return { s: add({ kind: 'struct', name: 's', size: 32, members: [m('pad', l, 0), m('pad2', l, 64), m('a', a, 128)] }) }; });
  const r = run([ldxw(12), exit], [relo(0, L.ids.s!, '0:1:2', K.OFF)], L.btf, T.btf);
  assert.is(r.instructions[0]!.off, 24);
  assert.is(r.relocations[0]!.access, 's.a[2]');
  const Tshort = btf((add) => { const i = add(INT); const a = add({ kind: 'array', name: '', type: i, indexType: i, nelems: 2 });
    return { s: add({ kind: 'struct', name: 's', size: 12, members: [m('pad', i, 0), m('a', a, 32)] }) }; });
  const r2 = run([ldxw(12), exit], [relo(0, L.ids.s!, '0:1:2', K.OFF)], L.btf, Tshort.btf);
  assert.is(r2.instructions[0]!.imm, CORE_POISON_IMM);
  // the root index: p[1].pad on an 8-byte local struct = 8 locally
  const r3 = run([mov(20), exit], [relo(0, L.ids.s!, '1:0', K.OFF)], L.btf, T.btf);
  assert.is(r3.instructions[0]!.imm, 32);
});

test('nested anonymous struct / union members', () => {
  const L = btf((add) => { const i = add(INT);
    const u = add({ kind: 'union', name: '', size: 4, members: [m('y', i, 0), m('z', i, 0)] });
    return { o: add({ kind: 'struct', name: 'outer', size: 8, members: [m('x', i, 0), m('', u, 32)] }) }; });
  const T = btf((add) => { const i = add(INT), l = add(LONG), c = add({ kind: 'int', name: 'char', size: 1, encoding: 1, bitOffset: 0, bits: 8 });
    const u = add({ kind: 'union', name: '', size: 4, members: [m('y', i, 0), m('z', i, 0)] });
    const s = add({ kind: 'struct', name: '', size: 8, members: [m('c', c, 0), m('', u, 32)] });
    return { o: add({ kind: 'struct', name: 'outer', size: 24, members: [m('q', l, 0), m('x', i, 64), m('', s, 96)] }) }; });
  const r = run([ldxw(4), exit], [relo(0, L.ids.o!, '0:1:1', K.OFF)], L.btf, T.btf);
  assert.is(r.instructions[0]!.off, 16);
  assert.is(r.relocations[0]!.access, 'outer.z');
  assert.match(r.relocations[0]!.targetSpec!, /\(0:2:1:1 @ offset 16\)/);
});

test('load size: unsigned u32 -> u64 widens the LDX; signed int size change poisons; wrong original value throws', () => {
  const mk = (t: TypeDesc) => btf((add) => { const x = add(t); return { s: add({ kind: 'struct', name: 's', size: 8, members: [m('v', x, 0)] }) }; });
  const L = mk(UINT);
  const r = run([ldxw(0), exit], [relo(0, L.ids.s!, '0:0', K.OFF)], L.btf, mk(ULONG).btf);
  assert.is(r.instructions[0]!.opcode, 0x79, 'ldxw -> ldxdw');
  assert.equal(r.relocations[0]!.sizeChange, [4, 8]);
  const Ls = mk(INT);
  const r2 = run([ldxw(0), exit], [relo(0, Ls.ids.s!, '0:0', K.OFF)], Ls.btf, mk(LONG).btf);
  assert.is(r2.instructions[0]!.imm, CORE_POISON_IMM);
  assert.match(r2.poisoned[0]!.poisonReason!, /cannot be adjusted/);
  assert.throws(() => run([ldxw(8), exit], [relo(0, L.ids.s!, '0:0', K.OFF)], L.btf, L.btf), /unexpected load\/store offset 8, expected 0/);
  assert.throws(() => run([ldxw(0), exit], [relo(1, L.ids.s!, '0:7', K.OFF)], L.btf, L.btf), (e: unknown) => e instanceof CoreError && /member index 7 out of range/.test((e as Error).message));
});

test('module BTF: a type only in a module is found as split BTF on top of vmlinux', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-core-'));
  try {
    const b = new BtfBuilder();
    const i = b.add(INT);
    b.add({ kind: 'struct', name: 'in_vmlinux', size: 4, members: [m('a', i, 0)] });
    const base = b.build();
    writeFileSync(path.join(dir, 'vmlinux'), base);
    const baseBtf = Btf.parse(base);
    const mb = new BtfBuilder({ base: baseBtf });
    // 'a' and 'int' strings come from the base; 'mod_only' is the module's own
    mb.add({ kind: 'struct', name: 'mod_only', size: 8, members: [m('x', i, 0), m('a', i, 32)] });
    writeFileSync(path.join(dir, 'my_mod'), mb.build());
    const L = btf((add) => { const li = add(INT); return { t: add({ kind: 'struct', name: 'mod_only', size: 4, members: [m('a', li, 0)] }) }; });
    const k = kernelBtf({ path: path.join(dir, 'vmlinux'), modulesDir: dir, modules: true });
    const r = applyCoreRelocations({ name: 'p', instructions: [ldxw(0), exit], coreRelos: [relo(0, L.ids.t!, '0:0', K.OFF)] }, L.btf, k);
    assert.is(r.instructions[0]!.off, 4);
    assert.equal(r.relocations[0]!.candidates, [{ source: 'my_mod', id: baseBtf.length }]);
    assert.equal(k.moduleNames(), ['my_mod']);
    assert.ok(k.findType('in_vmlinux', 'struct'));
    assert.is(k.findType('mod_only')?.source, 'my_mod');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

const VMLINUX = '/sys/kernel/btf/vmlinux';
const OBJ = 'bpf-objs/core.bpf.o';
if (!existsSync(VMLINUX)) {
  test(`core.bpf.o against ${VMLINUX} -- SKIPPED: no ${VMLINUX} on this machine`, () => { console.log(`  skipped: ${VMLINUX} is missing`); });
} else {
  test('core.bpf.o against /sys/kernel/btf/vmlinux: every relocation resolves, offsets equal an independent walk of vmlinux BTF', () => {
    const spec = loadCollectionSpec(OBJ);
    const k = kernelBtf();
    assert.is(kernelBtf(), k, 'cached per process');
    // Independent: src/btf only (no src/core code).
    const vm = Btf.parse(new Uint8Array(readFileSync(VMLINUX)));
    const task = vm.typeByName('task_struct', 'struct')!;
    const off = (f: string) => vm.findMember(task.id, f)!.bitOffset / 8;
    const results = [...spec.programs.values()].map((p) => applyCoreRelocations(p, p.btf!, k, { file: OBJ }));
    const all = results.flatMap((r) => r.relocations);
    assert.ok(all.length >= 25, `${all.length} relocations`);
    // The only poisoned one: the task_struct___old.state read behind a failed field_exists (dead code).
    const poisoned = results.flatMap((r) => r.poisoned);
    assert.equal(poisoned.map((p) => p.access), ['task_struct___old.state']);
    const exists = all.find((x) => x.kind === 'field_exists' && x.access === 'task_struct___old.state')!;
    assert.is(exists.targetValue, 0);
    for (const r of results) {
      for (const x of r.relocations) {
        if (x.access === 'task_struct.pid' && x.kind === 'byte_off') {
          assert.is(x.targetValue, off('pid'));
          const insn = r.instructions[x.insn]!;
          assert.is((insn.opcode & 0x07) === 0x01 ? insn.off : insn.imm, off('pid'), `patched instruction ${x.insn} of ${r.program}`);
        }
        if (x.access === 'task_struct.tgid' && x.kind === 'byte_off') assert.is(x.targetValue, off('tgid'));
        if (x.access === 'task_struct.real_parent' && x.kind === 'byte_off') assert.is(x.targetValue, off('real_parent'));
        if (x.access === 'task_struct.__state' && x.kind === 'byte_off') assert.is(x.targetValue, off('__state'));
        if (x.kind === 'type_size' && x.access === 'struct task_struct') assert.is(x.targetValue, vm.sizeof(task.id));
        if (x.kind === 'enumval_value') {
          const e = vm.typeByName('pid_type', 'enum') as { values: { name: string; value: number }[] };
          assert.is(x.targetValue, e.values.find((v) => v.name === 'PIDTYPE_TGID')!.value);
        }
        if (x.kind === 'type_exists' && x.access === 'struct bpf_iter_num') assert.is(x.targetValue, vm.typeByName('bpf_iter_num', 'struct') ? 1 : 0);
      }
    }
    const bits = all.filter((x) => x.access === 'task_struct.sched_reset_on_fork');
    const mem = vm.findMember(task.id, 'sched_reset_on_fork')!;
    const byteOff = Math.floor(mem.bitOffset / 32) * 4;
    assert.is(bits.find((x) => x.kind === 'byte_off')!.targetValue, byteOff);
    assert.is(bits.find((x) => x.kind === 'lshift_u64')!.targetValue, 64 - (mem.bitOffset + mem.member.bitfieldSize - byteOff * 8));
    assert.is(bits.find((x) => x.kind === 'rshift_u64')!.targetValue, 64 - mem.member.bitfieldSize);
  });

  test('timing: applyCoreRelocations of every core.bpf.o program with a fresh vmlinux parse', () => {
    const spec = loadCollectionSpec(OBJ);
    const t0 = performance.now();
    const k = kernelBtf({ path: VMLINUX, modules: false }); // a different cache key: a fresh parse
    for (const p of spec.programs.values()) applyCoreRelocations(p, p.btf!, k);
    console.log(`  applyCoreRelocations(core.bpf.o, both programs) incl. vmlinux read + parse: ${(performance.now() - t0).toFixed(1)} ms`);
  });
}

test('a Btf target given directly works (decoded-name scan)', () => {
  const L = btf((add) => { const i = add(INT); return { t: add({ kind: 'struct', name: 'x', size: 4, members: [m('a', i, 0)] }) }; });
  const r = applyCoreRelocations({ name: 'p', instructions: [ldxw(0), exit], coreRelos: [relo(0, L.ids.t!, '0:0', K.OFF)] }, L.btf, btfTarget(L.btf, 'self'));
  assert.is(r.relocations[0]!.candidates[0]!.source, 'self');
});

test.run();
