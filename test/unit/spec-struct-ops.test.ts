// struct_ops maps in the spec: bpf-objs/struct_ops.bpf.o (facts from its C source and
// llvm-readelf-19 -r: .rel.struct_ops sets bytes 0, 8 and 64 of tsbpf_cc to the three
// programs; in vmlinux.h's struct tcp_congestion_ops those are members 0 ssthresh,
// 1 cong_avoid and 8 undo_cwnd; `name` is at byte 88 and `flags` at byte 132).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copySpec, loadCollectionSpec, SpecError } from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(root, 'bpf-objs/struct_ops.bpf.o');
const bytes = readFileSync(file);

const members = [
  { member: 'ssthresh', memberIndex: 0, offset: 0, program: 'tsbpf_ssthresh' },
  { member: 'cong_avoid', memberIndex: 1, offset: 8, program: 'tsbpf_cong_avoid' },
  { member: 'undo_cwnd', memberIndex: 8, offset: 64, program: 'tsbpf_undo_cwnd' },
];

test('each .struct_ops* variable is a struct_ops map: the struct, its data, member -> program', () => {
  const spec = loadCollectionSpec(file);
  const cc = spec.maps.get('tsbpf_cc')!;
  assert.is(cc.type, 'struct_ops');
  assert.is(cc.kind, 'struct_ops');
  assert.is(cc.section, '.struct_ops');
  assert.is(cc.keySize, 4);
  assert.is(cc.maxEntries, 1);
  assert.is(cc.flags, 0);
  assert.is(cc.valueSize, 192);
  assert.is(cc.structOps!.typeName, 'tcp_congestion_ops');
  assert.is(spec.btf!.typeById(cc.structOps!.typeId).name, 'tcp_congestion_ops', 'the variable\'s BTF type');
  assert.is(cc.structOps!.link, false);
  assert.equal(cc.structOps!.programs, members);
  const data = Buffer.from(cc.data!);
  assert.is(data.length, 192);
  assert.is(data.toString('latin1', 88, 96), 'tsbpf_cc', '.name');
  assert.is(data[96], 0, '.name is NUL-terminated');
  assert.is(data.readUInt32LE(132), 1, '.flags');
  for (const m of members) assert.is(data.readBigUInt64LE(m.offset), 0n, `${m.member}: the pointer itself is 0 in the object (REL)`);

  const link = spec.maps.get('tsbpf_cc_link')!;
  assert.is(link.section, '.struct_ops.link');
  assert.is(link.flags, 0x2000, 'BPF_F_LINK');
  assert.is(link.structOps!.link, true);
  assert.equal(link.structOps!.programs, members, 'the same programs serve both maps');
  assert.is(Buffer.from(link.data!).toString('latin1', 88, 101), 'tsbpf_cc_link');
});

test('struct_ops programs know the struct and member they implement', () => {
  const spec = loadCollectionSpec(file);
  for (const m of members) {
    const p = spec.programs.get(m.program)!;
    assert.is(p.type, 'struct_ops');
    assert.is(p.attachType, undefined, 'expected_attach_type is the kernel member index, set at load');
    assert.equal(p.structOps, { typeName: 'tcp_congestion_ops', member: m.member });
  }
  assert.equal(spec.warnings, []);
});

test('copySpec copies the struct_ops parts', () => {
  const spec = loadCollectionSpec(file);
  const c = copySpec(spec);
  c.maps.get('tsbpf_cc')!.structOps!.programs[0]!.program = 'x';
  c.maps.get('tsbpf_cc')!.data![88] = 0x41;
  c.programs.get('tsbpf_ssthresh')!.structOps!.member = 'y';
  assert.is(spec.maps.get('tsbpf_cc')!.structOps!.programs[0]!.program, 'tsbpf_ssthresh');
  assert.is(spec.maps.get('tsbpf_cc')!.data![88], 't'.charCodeAt(0));
  assert.is(spec.programs.get('tsbpf_ssthresh')!.structOps!.member, 'ssthresh');
});

/** The file offset of a section's bytes, read from the ELF64 section headers. */
function sectionOffset(b: Buffer, name: string): number {
  const shoff = Number(b.readBigUInt64LE(0x28)), shentsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c), shstrndx = b.readUInt16LE(0x3e);
  const strOff = Number(b.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const n = b.toString('latin1', strOff + b.readUInt32LE(h), b.indexOf(0, strOff + b.readUInt32LE(h)));
    if (n === name) return Number(b.readBigUInt64LE(h + 0x18));
  }
  throw new Error(`no section ${name}`);
}

function withFirstRelocAt(offset: number): Buffer {
  const b = Buffer.from(bytes);
  b.writeBigUInt64LE(BigInt(offset), sectionOffset(b, '.rel.struct_ops'));
  return b;
}

test('a relocation that starts no member, or sets a member that is not a function pointer, is refused', () => {
  assert.throws(() => loadCollectionSpec(withFirstRelocAt(4), { file: 't.o' }),
    (e: Error) => e instanceof SpecError && /section \.struct_ops.*symbol tsbpf_cc.*relocation against 'tsbpf_ssthresh' at byte 4 starts no member of struct tcp_congestion_ops/.test(e.message));
  assert.throws(() => loadCollectionSpec(withFirstRelocAt(88), { file: 't.o' }),
    (e: Error) => e instanceof SpecError && /member 'name' of struct tcp_congestion_ops is not a function pointer, yet a relocation sets it to 'tsbpf_ssthresh'/.test(e.message));
  assert.throws(() => loadCollectionSpec(withFirstRelocAt(8), { file: 't.o' }),
    (e: Error) => e instanceof SpecError && /member 'cong_avoid' is set twice/.test(e.message));
});

test('a program used for two different members is refused (one attach_btf_id / member per program)', () => {
  // tsbpf_cc_link: the relocation of byte 0 (ssthresh) moved to byte 24 (cwnd_event)
  const b = Buffer.from(bytes);
  b.writeBigUInt64LE(24n, sectionOffset(b, '.rel.struct_ops.link'));
  assert.throws(() => loadCollectionSpec(b, { file: 't.o' }),
    (e: Error) => e instanceof SpecError && /program 'tsbpf_ssthresh' implements tcp_congestion_ops\.ssthresh elsewhere; it cannot also be tcp_congestion_ops\.cwnd_event/.test(e.message));
});

test.run();
