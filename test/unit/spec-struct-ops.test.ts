// struct_ops maps in the spec: bpf-objs/struct_ops.bpf.o (facts from its C source and
// llvm-readelf-19 -r: .rel.struct_ops sets bytes 0, 8 and 64 of tsbpf_cc to the three
// programs; in vmlinux.h's struct tcp_congestion_ops those are members 0 ssthresh,
// 1 cong_avoid and 8 undo_cwnd; `name` is at byte 88 and `flags` at byte 132).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copySpec, loadCollectionSpec, loadsByDefault, SpecError, structOpsAutoload } from '../../src/index.js';

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

test('a program used for two different members in two maps is read (libbpf checks the maps it creates, at load)', () => {
  // tsbpf_cc_link: the relocation of byte 0 (ssthresh) moved to byte 24 (cwnd_event)
  const b = Buffer.from(bytes);
  b.writeBigUInt64LE(24n, sectionOffset(b, '.rel.struct_ops.link'));
  const spec = loadCollectionSpec(b, { file: 't.o' });
  assert.equal(spec.maps.get('tsbpf_cc_link')!.structOps!.programs.find((p) => p.program === 'tsbpf_ssthresh'),
    { member: 'cwnd_event', memberIndex: 3, offset: 24, program: 'tsbpf_ssthresh' });
  assert.equal(spec.programs.get('tsbpf_ssthresh')!.structOps, { typeName: 'tcp_congestion_ops', member: 'ssthresh' }, 'the first use (tsbpf_cc)');
});

// ---- SEC("?.struct_ops") / SEC("?.struct_ops.link"): bpf-objs/struct_ops_optional.bpf.o
// (llvm-readelf-19 -r: .rel?.struct_ops sets bytes 0, 8, 64 of tsbpf_opt to opt_ssthresh,
// opt_cong_avoid, opt_cwnd; .rel?.struct_ops.link sets bytes 0, 8, 16 of tsbpf_opt_link,
// a struct tcp_congestion_ops___v2 {ssthresh, cong_avoid, undo_cwnd, name[16]}, to
// opt_cwnd, opt_cong_avoid, opt_link_undo_cwnd).
const optFile = path.join(root, 'bpf-objs/struct_ops_optional.bpf.o');

test('?.struct_ops variables are struct_ops maps with autocreate off; .link still means BPF_F_LINK', () => {
  const spec = loadCollectionSpec(optFile);
  const opt = spec.maps.get('tsbpf_opt')!;
  assert.is(opt.type, 'struct_ops');
  assert.is(opt.section, '?.struct_ops');
  assert.is(opt.autocreate, false);
  assert.is(opt.flags, 0);
  assert.is(opt.structOps!.link, false);
  assert.is(opt.structOps!.typeName, 'tcp_congestion_ops');
  assert.equal(opt.structOps!.programs, [
    { member: 'ssthresh', memberIndex: 0, offset: 0, program: 'opt_ssthresh' },
    { member: 'cong_avoid', memberIndex: 1, offset: 8, program: 'opt_cong_avoid' },
    { member: 'undo_cwnd', memberIndex: 8, offset: 64, program: 'opt_cwnd' },
  ]);
  assert.is(Buffer.from(opt.data!).toString('latin1', 88, 97), 'tsbpf_opt');
  assert.is(Buffer.from(opt.data!).readUInt32LE(132), 1, '.flags');

  const link = spec.maps.get('tsbpf_opt_link')!;
  assert.is(link.section, '?.struct_ops.link');
  assert.is(link.autocreate, false);
  assert.is(link.flags, 0x2000, 'BPF_F_LINK');
  assert.is(link.structOps!.link, true);
  assert.is(link.structOps!.typeName, 'tcp_congestion_ops', 'the ___v2 flavour is dropped');
  assert.is(spec.btf!.typeById(link.structOps!.typeId).name, 'tcp_congestion_ops___v2');
  assert.is(link.valueSize, 40, 'the local flavour\'s size until load');
  assert.equal(link.structOps!.programs, [
    { member: 'ssthresh', memberIndex: 0, offset: 0, program: 'opt_cwnd' },
    { member: 'cong_avoid', memberIndex: 1, offset: 8, program: 'opt_cong_avoid' },
    { member: 'undo_cwnd', memberIndex: 2, offset: 16, program: 'opt_link_undo_cwnd' },
  ]);
  assert.is(Buffer.from(link.data!).toString('latin1', 24, 38), 'tsbpf_opt_link');
  assert.equal(spec.warnings, []);
});

test('programs of optional maps: sections, autoload, and which of them load for which maps (libbpf 1.4 autoload sync)', () => {
  const spec = loadCollectionSpec(optFile);
  const p = (n: string) => spec.programs.get(n)!;
  assert.is(p('opt_link_undo_cwnd').section, 'struct_ops/opt_link_undo_cwnd', 'the ? is not part of the section');
  assert.is(p('opt_link_undo_cwnd').autoload, false);
  assert.is(p('opt_ssthresh').autoload, true);
  assert.equal(p('opt_cwnd').structOps, { typeName: 'tcp_congestion_ops', member: 'undo_cwnd' }, 'first use: tsbpf_opt');

  // by default no map is created: no struct_ops program loads, the '?' one neither
  let uses = structOpsAutoload(spec);
  assert.equal(Object.fromEntries([...uses].map(([k, v]) => [k, v.load])), { opt_ssthresh: false, opt_cong_avoid: false, opt_cwnd: false, opt_link_undo_cwnd: false });
  assert.equal(uses.get('opt_cong_avoid'), { load: false, maps: ['tsbpf_opt', 'tsbpf_opt_link'], created: [] });
  for (const n of spec.programs.keys()) assert.is(loadsByDefault(spec, n), false, n);

  // tsbpf_opt on: its three programs; opt_link_undo_cwnd (only in tsbpf_opt_link) stays out
  spec.maps.get('tsbpf_opt')!.autocreate = true;
  uses = structOpsAutoload(spec);
  assert.equal([...spec.programs.keys()].filter((n) => loadsByDefault(spec, n, uses)), ['opt_ssthresh', 'opt_cong_avoid', 'opt_cwnd']);
  assert.equal(uses.get('opt_cong_avoid')!.created, ['tsbpf_opt']);

  // tsbpf_opt_link only: the SEC("?...") program is loaded after all, opt_ssthresh is not
  spec.maps.get('tsbpf_opt')!.autocreate = false;
  assert.equal([...spec.programs.keys()].filter((n) => loadsByDefault(spec, n, structOpsAutoload(spec, (m) => m.name === 'tsbpf_opt_link'))),
    ['opt_cong_avoid', 'opt_cwnd', 'opt_link_undo_cwnd']);
});

test('copySpec keeps autocreate, and the copy is independent', () => {
  const spec = loadCollectionSpec(optFile);
  const c = copySpec(spec);
  assert.is(c.maps.get('tsbpf_opt')!.autocreate, false);
  c.maps.get('tsbpf_opt')!.autocreate = true;
  assert.is(spec.maps.get('tsbpf_opt')!.autocreate, false);
  assert.is(copySpec(loadCollectionSpec(file)).maps.get('tsbpf_cc')!.autocreate, true);
});

test.run();
