// Pure preparation for the kernel: names as libbpf gives them, map fds patched into
// ld_imm64, BTF rewritten for BPF_BTF_LOAD.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BTF_FEATURES, type BtfFeature, decode, loadCollectionSpec, sanitizeBtf, Btf } from '../../src/index.js';
import type { Instruction } from '../../src/asm/types.js';
import { explainMissingMap, kernelMapName, kernelProgName, objectName, patchInstructions, POISON_LDIMM64_MAP_BASE } from '../../src/load/prepare.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);

test('global data maps are named as libbpf names them', () => {
  const gd = loadCollectionSpec(obj('global_data'));
  const n = objectName(gd.file);
  assert.is(n, 'global_data');
  assert.is(kernelMapName(n, gd.maps.get('.rodata')!), 'global_d.rodata');
  assert.is(kernelMapName(n, gd.maps.get('.bss')!), 'global_d.bss');
  assert.is(kernelMapName(n, gd.maps.get('.rodata.str1.1')!), '.rodata.str1.1');
  const k = loadCollectionSpec(obj('kconfig'));
  assert.is(kernelMapName(objectName(k.file), k.maps.get('.kconfig')!), 'kconfig.kconfig');
  const t = loadCollectionSpec(obj('tailcall_run'));
  assert.is(kernelMapName('tailcall_run', t.maps.get('run_table')!), 'run_table');
  assert.is(kernelProgName({ ...t.programs.get('run_entry')!, name: 'a_very_long_program_name' }), 'a_very_long_pro');
  // every UTF-16 unit outside [A-Za-z0-9_.] becomes one '_' (an astral character two), as libbpf's byte-wise rule does for ASCII
  const named = (name: string) => kernelProgName({ ...t.programs.get('run_entry')!, name });
  assert.is(named('a-b:c$é😀.Z9'), 'a_b_c____.Z9');
  assert.is(named('-x'), '_x');
  assert.is(named('ok_name.1'), 'ok_name.1');
  assert.is(kernelMapName('o', { ...t.maps.get('run_table')!, name: 'map/with space' }), 'map_with_space');
});

test('map and data references become BPF_PSEUDO_MAP_FD / MAP_VALUE with the fd', () => {
  const gd = loadCollectionSpec(obj('global_data'));
  const fds: Record<string, number> = { '.rodata': 41, '.data': 42, '.bss': 43, '.rodata.str1.1': 44 };
  for (const p of gd.programs.values()) {
    const insns = decode(patchInstructions(p, (n) => fds[n], gd.file));
    p.instructions.forEach((orig, i) => {
      const ref = orig.reference;
      if (ref?.kind !== 'map') return;
      const got = insns[i]!;
      assert.is(got.imm, fds[ref.name], `${p.name}#${i}: fd`);
      assert.is(got.src, ref.value ? 2 : 1);
      if (ref.value) assert.is(Number(got.imm64! >> 32n), ref.offset);
    });
  }
  assert.throws(() => patchInstructions(gd.programs.get('const_ret')!, () => undefined, gd.file), /program 'const_ret' references map '[^']+', which was not created/);
});

/**
 * The bytes the kernel is to get, written here without src/asm (a DataView per slot): each
 * instruction as decoded, a map reference as BPF_PSEUDO_MAP_FD / MAP_VALUE with the fd in
 * imm and the value offset in the second half's imm, a map not created as two calls of
 * POISON_LDIMM64_MAP_BASE + its index.
 */
function expectedPatch(insns: readonly Instruction[], fd: (n: string) => number | undefined, notCreated: (n: string) => number | undefined): Uint8Array {
  const slots: Array<[opcode: number, regs: number, off: number, imm: number]> = [];
  for (const i of insns) {
    const ref = i.reference?.kind === 'map' ? i.reference : undefined;
    const f = ref && fd(ref.name);
    if (ref && f === undefined) {
      const call: [number, number, number, number] = [0x85, 0, 0, POISON_LDIMM64_MAP_BASE + notCreated(ref.name)!];
      slots.push(call, call);
      continue;
    }
    const src = ref ? (ref.value ? 2 : 1) : i.src;
    slots.push([i.opcode, i.dst | (src << 4), i.off, ref ? f! : i.imm]);
    if (i.opcode === 0x18) slots.push([0, 0, 0, ref ? (ref.value ? ref.offset ?? 0 : 0) : Number(BigInt.asUintN(64, i.imm64 ?? 0n) >> 32n)]);
  }
  const out = new Uint8Array(slots.length * 8);
  const dv = new DataView(out.buffer);
  slots.forEach(([op, regs, off, imm], k) => {
    dv.setUint8(k * 8, op);
    dv.setUint8(k * 8 + 1, regs);
    dv.setUint16(k * 8 + 2, off & 0xffff, true);
    dv.setUint32(k * 8 + 4, imm >>> 0, true);
  });
  return out;
}

test('every program of every fixture is patched to the bytes written independently of src/asm (maps created, and every third one not)', () => {
  let programs = 0, refs = 0, poisoned = 0;
  for (const f of readdirSync(path.join(root, 'bpf-objs')).filter((n) => n.endsWith('.bpf.o')).sort()) {
    const spec = loadCollectionSpec(path.join(root, 'bpf-objs', f));
    const names = [...spec.maps.keys()];
    const fd = (n: string) => { const i = names.indexOf(n); return i < 0 || i % 3 === 2 ? undefined : 100 + i; };
    const notCreated = (n: string) => { const i = names.indexOf(n); return i % 3 === 2 ? i : undefined; };
    for (const p of spec.programs.values()) {
      const insns = p.instructions;
      if (insns.some((i) => i.reference?.kind === 'extern')) {
        assert.throws(() => patchInstructions(p, fd, spec.file, notCreated), /not resolved against the kernel/, `${f} ${p.name}`);
        continue;
      }
      const want = expectedPatch(insns, fd, notCreated);
      // twice: the second lands in the same slab after the first (nothing carried over)
      for (let round = 0; round < 2; round++) assert.equal(patchInstructions(p, fd, spec.file, notCreated), want, `${f} ${p.name}`);
      programs++;
      for (const i of insns) if (i.reference?.kind === 'map') { refs++; if (fd(i.reference.name) === undefined) poisoned++; }
    }
  }
  assert.ok(programs > 50 && refs > 50 && poisoned > 5, `${programs} programs, ${refs} map references, ${poisoned} poisoned`);
});

test('a map that was not created: its ld_imm64 becomes two calls of helper 2001000000 + n (libbpf), slots unchanged', () => {
  const o = loadCollectionSpec(obj('optional_map'));
  const p = o.programs.get('count')!;
  // stats is map 1 here: the poison number carries the index
  const bytes = patchInstructions(p, (n) => (n === '.rodata' ? 41 : undefined), o.file, (n) => (n === 'stats' ? 1 : undefined));
  const created = patchInstructions(p, (n) => (n === '.rodata' ? 41 : 7), o.file);
  assert.is(bytes.length, created.length, 'same number of slots');
  // only the 16 bytes of the ld_imm64 of stats differ, and they are two identical calls
  const slot = p.instructions.slice(0, p.instructions.findIndex((i) => i.reference?.kind === 'map' && i.reference.name === 'stats')).reduce((a, i) => a + (i.opcode === 0x18 ? 2 : 1), 0);
  for (let b = 0; b < bytes.length; b++) if (b < slot * 8 || b >= slot * 8 + 16) assert.is(bytes[b], created[b], `byte ${b} unchanged`);
  const insns = decode(bytes.subarray(slot * 8, slot * 8 + 16));
  assert.equal(insns.map((i) => [i.opcode, i.src, i.dst, i.off, i.imm]), [[0x85, 0, 0, 0, POISON_LDIMM64_MAP_BASE + 1], [0x85, 0, 0, 0, POISON_LDIMM64_MAP_BASE + 1]]);
  assert.match(explainMissingMap(['.rodata', 'stats'], '9: (85) call unknown#2001000001')!, /use of map 'stats', which was not created/);
  assert.match(explainMissingMap(['.rodata', 'stats'], 'call unknown#2001000000')!, /map '\.rodata'/);
  assert.is(explainMissingMap(['stats'], 'invalid mem access'), undefined);
  // without the notCreated answer it stays an error
  assert.throws(() => patchInstructions(p, (n) => (n === '.rodata' ? 41 : undefined), o.file), /references map 'stats', which was not created/);
});

test('extern variables and functions get a linkage the kernel accepts', () => {
  const k = loadCollectionSpec(obj('kconfig'));
  // every kind supported: only the extern linkage (and the .ksyms DATASEC) is rewritten
  const all = Object.fromEntries(BTF_FEATURES.map((f) => [f, true])) as Parameters<typeof sanitizeBtf>[1];
  const s = sanitizeBtf(k.btf!, all);
  assert.ok(s.changes.includes('extern linkage') && s.funcInfo, s.changes.join(', '));
  const again = Btf.parse(s.bytes);
  for (const t of again.types()) {
    if (t.kind === 'var' || t.kind === 'func') assert.is.not(t.linkage, 2, `${t.kind} ${t.name}`);
  }
});

test('an object that needs no rewrite for this kernel gets its own BTF back, byte for byte, with no change listed; one feature missing still rewrites it', () => {
  const all = Object.fromEntries(BTF_FEATURES.map((f) => [f, true])) as Record<BtfFeature, boolean>;
  for (const n of ['bpf2bpf', 'tailcall_xdp', 'map_types']) {
    const spec = loadCollectionSpec(obj(n));
    const s = sanitizeBtf(spec.btf!, all);
    assert.equal(s.changes, [], n);
    assert.ok(s.funcInfo, n);
    assert.equal(Buffer.from(s.bytes), Buffer.from(spec.btf!.encode()), n);
  }
  const spec = loadCollectionSpec(obj('bpf2bpf'));
  const old = sanitizeBtf(spec.btf!, { ...all, func: false });
  assert.ok(old.changes.includes('FUNC -> TYPEDEF') && !old.funcInfo, old.changes.join(', '));
});

test("DATASEC names starting with '?' (SEC(\"?.struct_ops\")): '_' in place of the '?' where the kernel refuses them, as libbpf does", () => {
  const spec = loadCollectionSpec(obj('struct_ops_optional'));
  const all = Object.fromEntries(BTF_FEATURES.map((f) => [f, true])) as Record<BtfFeature, boolean>;
  const datasecs = (b: Btf) => [...b.types()].filter((t) => t.kind === 'datasec').map((t) => t.name).sort();
  const structs = (b: Btf) => [...b.types()].filter((t) => t.kind === 'struct' && /struct_ops/.test(t.name)).map((t) => t.name).sort();
  assert.equal(datasecs(spec.btf!), ['?.struct_ops', '?.struct_ops.link', 'license']);

  // a kernel that takes any printable character (Linux 6.9+): nothing to do
  const same = sanitizeBtf(spec.btf!, all);
  assert.equal(datasecs(Btf.parse(same.bytes)), ['?.struct_ops', '?.struct_ops.link', 'license']);
  assert.not.ok(same.changes.some((c) => /'\?'/.test(c)), same.changes.join(', '));

  // before that: only the leading '?' becomes '_'; ids, sizes and variables stay
  const old = sanitizeBtf(spec.btf!, { ...all, qmarkDatasec: false });
  const b = Btf.parse(old.bytes);
  assert.equal(datasecs(b), ['_.struct_ops', '_.struct_ops.link', 'license']);
  assert.ok(old.changes.includes("DATASEC '?' -> '_'"), old.changes.join(', '));
  const id = spec.btf!.datasecByName('?.struct_ops')!.id;
  const t = b.typeById(id);
  assert.ok(t.kind === 'datasec' && t.name === '_.struct_ops' && t.size === 192 && t.vars.length === 1 && b.typeById(t.vars[0]!.type).name === 'tsbpf_opt');
  assert.is(spec.btf!.datasecByName('?.struct_ops')!.name, '?.struct_ops', 'the spec\'s BTF is not touched');

  // without DATASEC at all: a STRUCT, every '.' and '?' replaced (libbpf's DATASEC -> STRUCT)
  const older = sanitizeBtf(spec.btf!, { ...all, datasec: false, qmarkDatasec: false });
  const names = structs(Btf.parse(older.bytes));
  assert.ok(names.includes('__struct_ops') && names.includes('__struct_ops_link'), names.join(', '));
});

test.run();
