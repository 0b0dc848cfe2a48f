import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Btf, parseBtfExt, BTF_INT_SIGNED, BTF_INT_BOOL, type BtfType } from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';
import { BtfBuilder, buildBtfExt } from '../helpers/btf-builder.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasVmlinux = existsSync(VMLINUX);
let vmCache: Btf | undefined;
const vmlinux = (): Btf => (vmCache ??= Btf.parse(new Uint8Array(readFileSync(VMLINUX)), { file: VMLINUX }));

/** A blob with one type of every kind; returns the ids by kind. */
function everyKind(b = new BtfBuilder()) {
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const ptr = b.add({ kind: 'ptr', name: '', type: int });
  const arr = b.add({ kind: 'array', name: '', type: int, indexType: int, nelems: 3 });
  const st = b.add({ kind: 'struct', name: 'pt', size: 16, members: [
    { name: 'x', type: int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'flag', type: int, bitOffset: 32, bitfieldSize: 3 },
    { name: 'p', type: ptr, bitOffset: 64, bitfieldSize: 0 },
  ] });
  const un = b.add({ kind: 'union', name: 'u', size: 12, members: [{ name: 'a', type: arr, bitOffset: 0, bitfieldSize: 0 }] });
  const en = b.add({ kind: 'enum', name: 'e', size: 4, signed: true, values: [{ name: 'NEG', value: -1 }, { name: 'TWO', value: 2 }] });
  const fwd = b.add({ kind: 'fwd', name: 'later', union: true });
  const td = b.add({ kind: 'typedef', name: 'pt_t', type: st });
  const vol = b.add({ kind: 'volatile', name: '', type: td });
  const cst = b.add({ kind: 'const', name: '', type: vol });
  const rst = b.add({ kind: 'restrict', name: '', type: ptr });
  const proto = b.add({ kind: 'func_proto', name: '', type: int, params: [{ name: 'ctx', type: ptr }, { name: '', type: 0 }] });
  const func = b.add({ kind: 'func', name: 'prog', type: proto, linkage: 1 });
  const v = b.add({ kind: 'var', name: 'counter', type: cst, linkage: 1 });
  const ds = b.add({ kind: 'datasec', name: '.data', size: 16, vars: [{ type: v, offset: 0, size: 16 }] });
  const flt = b.add({ kind: 'float', name: 'double', size: 8 });
  const tag = b.add({ kind: 'decl_tag', name: 'kfunc', type: func, componentIdx: -1 });
  const ttag = b.add({ kind: 'type_tag', name: 'user', type: int });
  const e64 = b.add({ kind: 'enum64', name: 'big', size: 8, signed: false, values: [{ name: 'HUGE', value: 0xfedcba9876543210n }] });
  const bool = b.add({ kind: 'int', name: '_Bool', size: 1, encoding: BTF_INT_BOOL, bitOffset: 0, bits: 8 });
  return { b, int, ptr, arr, st, un, en, fwd, td, vol, cst, rst, proto, func, v, ds, flt, tag, ttag, e64, bool };
}

function throwsBtf(fn: () => unknown, re: RegExp): BtfError {
  try { fn(); } catch (e) {
    if (!(e instanceof BtfError)) throw new assert.Assertion({ message: `expected BtfError, got ${String(e)}`, generated: false, operator: 'instance', expects: 'BtfError', actual: e });
    assert.match(e.message, re);
    return e;
  }
  assert.unreachable(`expected BtfError matching ${re}`);
  throw new Error('unreachable');
}

/** Find ELF64 little-endian sections by name (tiny, test-only). */
function elfSections(bytes: Uint8Array): Map<string, Uint8Array> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true)), shentsize = v.getUint16(0x3a, true), shnum = v.getUint16(0x3c, true), shstrndx = v.getUint16(0x3e, true);
  const sh = (i: number) => { const o = shoff + i * shentsize; return { name: v.getUint32(o, true), off: Number(v.getBigUint64(o + 24, true)), size: Number(v.getBigUint64(o + 32, true)) }; };
  const strtab = sh(shstrndx);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    let e = strtab.off + s.name;
    while (bytes[e] !== 0) e++;
    out.set(Buffer.from(bytes.subarray(strtab.off + s.name, e)).toString(), bytes.subarray(s.off, s.off + s.size));
  }
  return out;
}

/** Our types rendered like `bpftool btf dump file X format raw`. */
function bpftoolRaw(btf: Btf): string {
  const n = (s: string) => `'${s || '(anon)'}'`;
  const enc = (e: number) => (e === 1 ? 'SIGNED' : e === 2 ? 'CHAR' : e === 4 ? 'BOOL' : e === 0 ? '(none)' : 'UNKN');
  const fl = ['static', 'global', 'extern'];
  const lines: string[] = [];
  for (const t of btf.types()) {
    const h = `[${t.id}] ${t.kind.toUpperCase()} ${n(t.name)}`;
    switch (t.kind) {
      case 'int': lines.push(`${h} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${enc(t.encoding)}`); break;
      case 'ptr': case 'const': case 'volatile': case 'restrict': case 'typedef': case 'type_tag': lines.push(`${h} type_id=${t.type}`); break;
      case 'array': lines.push(`${h} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`); break;
      case 'struct': case 'union':
        lines.push(`${h} size=${t.size} vlen=${t.members.length}`);
        for (const m of t.members) lines.push(`\t${n(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`);
        break;
      case 'enum': case 'enum64':
        lines.push(`${h} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`);
        for (const x of t.values) lines.push(`\t${n(x.name)} val=${x.value}${t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : ''}`);
        break;
      case 'fwd': lines.push(`${h} fwd_kind=${t.union ? 'union' : 'struct'}`); break;
      case 'func': lines.push(`${h} type_id=${t.type} linkage=${fl[t.linkage] ?? t.linkage}`); break;
      case 'func_proto':
        lines.push(`${h} ret_type_id=${t.type} vlen=${t.params.length}`);
        for (const p of t.params) lines.push(`\t${n(p.name)} type_id=${p.type}`);
        break;
      case 'var': lines.push(`${h} type_id=${t.type}, linkage=${fl[t.linkage] ?? t.linkage}`); break;
      case 'datasec':
        lines.push(`${h} size=${t.size} vlen=${t.vars.length}`);
        for (const x of t.vars) lines.push(`\ttype_id=${x.type} offset=${x.offset} size=${x.size} (${btf.typeById(x.type).kind.toUpperCase()} ${n(btf.typeById(x.type).name)})`);
        break;
      case 'float': lines.push(`${h} size=${t.size}`); break;
      case 'decl_tag': lines.push(`${h} type_id=${t.type} component_idx=${t.componentIdx}`); break;
    }
  }
  return lines.join('\n');
}

function bpftoolDump(path: string): string | undefined {
  const r = spawnSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout.trimEnd() : undefined;
}

function sameAsBpftool(btf: Btf, path: string): void {
  const want = bpftoolDump(path);
  if (want === undefined) return; // no bpftool
  const got = bpftoolRaw(btf);
  if (got === want) return;
  const a = got.split('\n'), b = want.split('\n');
  const i = a.findIndex((l, k) => l !== b[k]);
  assert.equal(a[i], b[i], `${path}: first difference at line ${i} of the raw dump`);
}

// ---- decoding ----

test('decodes every kind', () => {
  const k = everyKind();
  const btf = Btf.parse(k.b.build());
  assert.is(btf.length, k.bool + 1);
  assert.equal(btf.typeById(0), { id: 0, name: '', kind: 'void' });
  assert.equal(btf.typeById(k.int), { id: k.int, name: 'int', kind: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  assert.equal(btf.typeById(k.ptr), { id: k.ptr, name: '', kind: 'ptr', type: k.int });
  assert.equal(btf.typeById(k.arr), { id: k.arr, name: '', kind: 'array', type: k.int, indexType: k.int, nelems: 3 });
  assert.equal(btf.typeById(k.st), { id: k.st, name: 'pt', kind: 'struct', size: 16, members: [
    { name: 'x', type: k.int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'flag', type: k.int, bitOffset: 32, bitfieldSize: 3 },
    { name: 'p', type: k.ptr, bitOffset: 64, bitfieldSize: 0 }] });
  assert.is(btf.typeById(k.un).kind, 'union');
  assert.equal(btf.typeById(k.en), { id: k.en, name: 'e', kind: 'enum', size: 4, signed: true, values: [{ name: 'NEG', value: -1 }, { name: 'TWO', value: 2 }] });
  assert.equal(btf.typeById(k.fwd), { id: k.fwd, name: 'later', kind: 'fwd', union: true });
  assert.equal(btf.typeById(k.td), { id: k.td, name: 'pt_t', kind: 'typedef', type: k.st });
  assert.is(btf.typeById(k.vol).kind, 'volatile');
  assert.is(btf.typeById(k.cst).kind, 'const');
  assert.is(btf.typeById(k.rst).kind, 'restrict');
  assert.equal(btf.typeById(k.proto), { id: k.proto, name: '', kind: 'func_proto', type: k.int, params: [{ name: 'ctx', type: k.ptr }, { name: '', type: 0 }] });
  assert.equal(btf.typeById(k.func), { id: k.func, name: 'prog', kind: 'func', type: k.proto, linkage: 1 });
  assert.equal(btf.typeById(k.v), { id: k.v, name: 'counter', kind: 'var', type: k.cst, linkage: 1 });
  assert.equal(btf.typeById(k.ds), { id: k.ds, name: '.data', kind: 'datasec', size: 16, vars: [{ type: k.v, offset: 0, size: 16 }] });
  assert.equal(btf.typeById(k.flt), { id: k.flt, name: 'double', kind: 'float', size: 8 });
  assert.equal(btf.typeById(k.tag), { id: k.tag, name: 'kfunc', kind: 'decl_tag', type: k.func, componentIdx: -1 });
  assert.equal(btf.typeById(k.ttag), { id: k.ttag, name: 'user', kind: 'type_tag', type: k.int });
  assert.equal(btf.typeById(k.e64), { id: k.e64, name: 'big', kind: 'enum64', size: 8, signed: false, values: [{ name: 'HUGE', value: 0xfedcba9876543210n }] });
  assert.is(btf.typeById(k.st), btf.typeById(k.st), 'decoded types are cached');
  assert.is(btf.kindOf(k.ds), 'datasec');
  assert.is([...btf.types()].length, btf.length - 1);
});

test('names, resolve, sizeof, findMember, datasecByName', () => {
  const k = everyKind();
  const btf = Btf.parse(k.b.build());
  assert.equal(btf.idsByName('pt'), [k.st]);
  assert.equal(btf.idsByName('nope'), []);
  assert.is(btf.typeByName('pt_t')!.id, k.td);
  assert.is(btf.typeByName('pt', 'typedef'), undefined);
  assert.is(btf.datasecByName('.data')!.id, k.ds);
  assert.is(btf.resolve(k.cst), k.st);
  assert.is(btf.resolveType(k.cst).kind, 'struct');
  assert.is(btf.resolve(k.ttag), k.int);
  assert.is(btf.resolve(k.ptr), k.ptr);
  assert.is(btf.sizeof(k.int), 4);
  assert.is(btf.sizeof(k.ptr), 8);
  assert.is(btf.sizeof(k.arr), 12);
  assert.is(btf.sizeof(k.cst), 16);
  assert.is(btf.sizeof(k.v), 16);
  assert.is(btf.sizeof(k.ds), 16);
  assert.is(btf.sizeof(k.e64), 8);
  assert.is(btf.sizeof(k.flt), 8);
  throwsBtf(() => btf.sizeof(k.func), /type id \d+: func has no size/);
  throwsBtf(() => btf.sizeof(k.fwd), /fwd has no size/);
  throwsBtf(() => btf.sizeof(0), /void has no size/);
  assert.is(btf.findMember(k.cst, 'p')!.bitOffset, 64);
  assert.is(btf.findMember(k.st, 'zz'), undefined);
  assert.is(btf.string(0), '');
  assert.is(btf.string(1), 'int');
  btf.validate();
});

test('datasecByName: the first of a name, and after setType / addType (its names, read once, are not kept past a change)', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  const v = b.add({ kind: 'var', name: 'v', type: int, linkage: 1 });
  const first = b.add({ kind: 'datasec', name: '.data', size: 4, vars: [{ type: v, offset: 0, size: 4 }] });
  const second = b.add({ kind: 'datasec', name: '.data', size: 8, vars: [] });
  const maps = b.add({ kind: 'datasec', name: '.maps', size: 0, vars: [] });
  b.add({ kind: 'struct', name: '.bss', size: 4, members: [] }); // a name, but not a DATASEC's
  const btf = Btf.parse(b.build());
  assert.is(btf.datasecByName('.data')?.id, first);
  assert.is(btf.datasecByName('.maps')?.id, maps);
  assert.is(btf.datasecByName('.bss'), undefined);
  assert.is(btf.datasecByName(''), undefined);
  btf.setType(first, { ...(btf.typeById(first) as BtfType & { kind: 'datasec' }), name: '.rodata' });
  btf.setType(maps, { id: maps, name: '.maps', kind: 'struct', size: 0, members: [] });
  assert.is(btf.datasecByName('.data')?.id, second, 'renamed away: the next of that name');
  assert.is(btf.datasecByName('.rodata')?.id, first, 'renamed to');
  assert.is(btf.datasecByName('.maps'), undefined, 'no longer a DATASEC');
  const added = btf.addType({ id: 0, name: '.bss', kind: 'datasec', size: 4, vars: [] });
  assert.is(btf.datasecByName('.bss')?.id, added);
  // a BTF with only added types (no change to its own records)
  const fresh = Btf.parse(b.build());
  assert.is(fresh.datasecByName('.kconfig'), undefined);
  const kconfig = fresh.addType({ id: 0, name: '.kconfig', kind: 'datasec', size: 0, vars: [] });
  assert.is(fresh.datasecByName('.kconfig')?.id, kconfig);
  assert.is(fresh.datasecByName('.data')?.id, first);
});

test('nameOf, pointee, arrayLength read records as typeById decodes them, with its errors', () => {
  const k = everyKind();
  const btf = Btf.parse(k.b.build());
  for (let id = 0; id < btf.length; id++) {
    const t = btf.typeById(id);
    assert.is(btf.nameOf(id), t.name, `name of ${id}`);
    assert.is(btf.pointee(id), t.kind === 'ptr' ? t.type : undefined, `pointee of ${id}`);
    assert.is(btf.arrayLength(id), t.kind === 'array' ? t.nelems : undefined, `arrayLength of ${id}`);
  }
  // a changed type is read from its new self
  btf.setType(k.arr, { id: k.arr, name: 'renamed', kind: 'array', type: k.int, indexType: k.int, nelems: 9 });
  assert.is(btf.nameOf(k.arr), 'renamed');
  assert.is(btf.arrayLength(k.arr), 9);
  throwsBtf(() => btf.nameOf(btf.length), /out of range/);
  // bad records: the errors of a decode, before and after one
  const b = new BtfBuilder();
  b.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  b.add({ kind: 'ptr', name: '', type: 99 }); // 2
  b.add({ kind: 'array', name: '', type: 1, indexType: 77, nelems: 4 }); // 3
  b.add({ kind: 'array', name: '', type: 66, indexType: 1, nelems: 4 }); // 4
  b.raw([0, (2 << 24) | 3, 1]); // 5: ptr with vlen 3
  b.raw([0, (3 << 24) | 1, 0, 1, 1, 2]); // 6: array with vlen 1
  for (let pass = 0; pass < 2; pass++) {
    const bad = Btf.parse(b.build());
    if (pass === 1) for (const id of [2, 3, 4, 5, 6]) { try { bad.typeById(id); } catch { /* the same errors below */ } }
    throwsBtf(() => bad.pointee(2), /type id 2.*references type id 99, but the last type id is 6/);
    throwsBtf(() => bad.arrayLength(3), /type id 3.*references type id 77/);
    throwsBtf(() => bad.arrayLength(4), /type id 4.*references type id 66/);
    throwsBtf(() => bad.pointee(5), /vlen 3 on a ptr record, expected 0/);
    throwsBtf(() => bad.arrayLength(6), /vlen 1 on a array record, expected 0/);
    assert.is(bad.pointee(1), undefined);
    assert.is(bad.arrayLength(1), undefined);
  }
});

test('a bad type reference is one error (message, type id, offset: the word that holds it) whichever reader meets it', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  const ptr = b.add({ kind: 'ptr', name: '', type: 99 });
  const variable = b.add({ kind: 'var', name: 'v', type: 98, linkage: 1 });
  const func = b.add({ kind: 'func', name: 'f', type: 97, linkage: 1 });
  const td = b.add({ kind: 'typedef', name: 't', type: 96 });
  const arr = b.add({ kind: 'array', name: '', type: int, indexType: 95, nelems: 2 });
  const bytes = b.build();
  const caught = (fn: () => unknown): BtfError => throwsBtf(fn, /references type id 9\d, but the last type id is/);
  const readers: Array<[number, (btf: Btf) => unknown]> = [
    [ptr, (btf) => btf.pointee(ptr)],
    [variable, (btf) => btf.linkageOf(variable)], [variable, (btf) => btf.sizeof(variable)],
    [func, (btf) => btf.linkageOf(func)],
    [td, (btf) => btf.resolve(td)], [td, (btf) => btf.sizeof(td)],
    [arr, (btf) => btf.arrayLength(arr)],
  ];
  for (const [id, read] of readers) {
    const decoded = caught(() => Btf.parse(bytes).typeById(id));
    const raw = caught(() => read(Btf.parse(bytes)));
    assert.is(raw.message, decoded.message, `type ${id}`);
    assert.is(raw.typeId, id);
    assert.is(raw.offset, decoded.offset, `type ${id}: offset`);
  }
  // the offset is the referencing word's: for a PTR its btf_type's type field, 8 bytes into the record
  const ptrErr = caught(() => Btf.parse(bytes).typeById(ptr));
  const intRecord = 12 + 4, header = 24;
  assert.is(ptrErr.offset, header + intRecord + 8);
});

test('anonymous members are searched by findMember', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  const inner = b.add({ kind: 'union', name: '', size: 4, members: [{ name: 'deep', type: int, bitOffset: 0, bitfieldSize: 0 }] });
  const outer = b.add({ kind: 'struct', name: 'o', size: 8, members: [
    { name: 'a', type: int, bitOffset: 0, bitfieldSize: 0 }, { name: '', type: inner, bitOffset: 32, bitfieldSize: 0 }] });
  const btf = Btf.parse(b.build());
  assert.equal(btf.findMember(outer, 'deep'), { member: { name: 'deep', type: int, bitOffset: 0, bitfieldSize: 0 }, path: [1, 0], bitOffset: 32 });
  const c = new BtfBuilder();
  c.add({ kind: 'struct', name: 'loop', size: 4, members: [{ name: '', type: 2, bitOffset: 0, bitfieldSize: 0 }] });
  c.add({ kind: 'union', name: '', size: 4, members: [{ name: '', type: 1, bitOffset: 0, bitfieldSize: 0 }] });
  throwsBtf(() => Btf.parse(c.build()).findMember(1, 'x'), /type id cycle through anonymous members: 1 -> 2 -> 1/);
});

test('big-endian BTF parses and encodes in its own byte order', () => {
  const le = Btf.parse(everyKind().b.build());
  const beBytes = everyKind(new BtfBuilder({ bigEndian: true })).b.build();
  const be = Btf.parse(beBytes);
  assert.is(be.littleEndian, false);
  assert.equal([...be.types()], [...le.types()]);
  assert.equal(be.encode(), beBytes);
});

// ---- mutation and encoding ----

test('encode round-trips; setType / addType / addString', () => {
  const k = everyKind();
  const bytes = k.b.build();
  const btf = Btf.parse(bytes);
  assert.equal(btf.encode(), bytes, 'unchanged BTF encodes to the same bytes');
  const ds = btf.typeById(k.ds);
  if (ds.kind !== 'datasec') throw new Error('not a datasec');
  btf.setType(k.ds, { ...ds, size: 64, vars: [{ ...ds.vars[0]!, offset: 48 }] });
  const st = btf.typeById(k.st);
  if (st.kind !== 'struct') throw new Error('not a struct');
  btf.setType(k.st, { ...st, name: 'renamed', members: [...st.members, { name: 'extra', type: k.int, bitOffset: 96, bitfieldSize: 0 }] });
  const added = btf.addType({ id: 0, kind: 'int', name: 'u8', size: 1, encoding: 0, bitOffset: 0, bits: 8 });
  const off = btf.addString('hello');
  assert.is(btf.addString('hello'), off);
  assert.is(btf.addString('int'), 1, 'existing strings are reused');
  assert.is(btf.string(off), 'hello');
  assert.is(btf.typeByName('renamed')!.id, k.st);
  const again = Btf.parse(btf.encode());
  assert.equal([...again.types()], [...btf.types()]);
  assert.is((again.typeById(k.ds) as { size: number }).size, 64);
  assert.is(again.typeById(added).name, 'u8');
  assert.is(again.string(off), 'hello');
  throwsBtf(() => btf.setType(999, st), /setType: type id 999 is not one of this BTF's ids/);
});

test('encode: a changed type keeps its name offset; types changed out of id order; into an array from alloc', () => {
  const k = everyKind();
  const bytes = k.b.build();
  const btf = Btf.parse(bytes);
  const ds = btf.typeById(k.ds) as BtfType & { kind: 'datasec' };
  const st = btf.typeById(k.st) as BtfType & { kind: 'struct' };
  // changed later id first: the records are still written in id order
  btf.setType(k.ds, { ...ds, size: 64, vars: [{ ...ds.vars[0]!, offset: 48 }] });
  btf.setType(k.st, { ...st, size: st.size + 4 });
  const out = btf.encode();
  assert.is(out.length, bytes.length, 'same record sizes, no string added for an unchanged name');
  assert.is(btf.stringsLength, Btf.parse(bytes).stringsLength);
  const again = Btf.parse(out);
  assert.equal([...again.types()], [...btf.types()]);
  assert.is(again.typeById(k.ds).name, ds.name);
  // every byte is written: an array that is not zeroed gives the same bytes
  let asked = 0;
  const dirty = btf.encode((n) => { asked = n; return new Uint8Array(n + 8).fill(0xff).subarray(4, 4 + n); });
  assert.is(asked, out.length);
  assert.equal([...dirty], [...out]);
  // a renamed type and an added one with a new string: the NUL after the added string is written too
  btf.setType(k.st, { ...st, name: 'renamed_st' });
  btf.addType({ id: 0, kind: 'int', name: 'brand_new_int', size: 1, encoding: 0, bitOffset: 0, bits: 8 });
  const plain = btf.encode();
  assert.equal([...btf.encode((n) => new Uint8Array(n).fill(0xff))], [...plain]);
  const third = Btf.parse(plain);
  assert.is(third.typeById(k.st).name, 'renamed_st');
  assert.is(third.typeByName('brand_new_int')!.kind, 'int');
  // an array shorter than asked for: a BtfError, and nothing written around it (encode
  // writes through a DataView of the whole buffer)
  for (const short of [plain.length - 1, 10]) {
    const around = new Uint8Array(plain.length + 64).fill(0xee);
    throwsBtf(() => btf.encode(() => around.subarray(32, 32 + short)), /encode: the array for the output has \d+ bytes, \d+ are needed/);
    assert.ok(around.every((b) => b === 0xee), `${short} bytes: nothing written`);
  }
});

// ---- vmlinux ----

test('vmlinux: opens, agrees with bpftool on every type, round-trips', () => {
  if (!hasVmlinux) return;
  const t0 = performance.now();
  const btf = Btf.parse(new Uint8Array(readFileSync(VMLINUX)), { file: VMLINUX });
  const t1 = performance.now();
  for (let id = 1; id < btf.length; id++) btf.resolve(id);
  const t2 = performance.now();
  console.log(`    vmlinux: ${btf.length} ids, open ${(t1 - t0).toFixed(1)} ms (incl. read), resolve all ${(t2 - t1).toFixed(1)} ms`);
  const ts = btf.typeByName('task_struct', 'struct');
  assert.ok(ts && ts.kind === 'struct');
  const pid = btf.findMember(ts.id, 'pid');
  assert.ok(pid);
  const dump = bpftoolDump(VMLINUX);
  if (dump !== undefined) {
    const m = dump.match(new RegExp(`^\\[${ts.id}\\] STRUCT 'task_struct' size=(\\d+) vlen=\\d+$`, 'm'));
    assert.ok(m, 'bpftool shows task_struct at the same id');
    assert.is(ts.size, Number(m![1]));
    sameAsBpftool(btf, VMLINUX);
  }
  btf.validate();
  const again = Btf.parse(btf.encode());
  assert.is(again.length, btf.length);
  for (let id = 1; id < btf.length; id++) assert.equal(again.typeById(id), btf.typeById(id));
  // vmlinux keeps only recently decoded types: task_struct decoded again after passes over
  // every type is an equal object (and the same one while it stays cached)
  assert.equal(btf.typeById(ts.id), ts);
  assert.is(btf.typeById(ts.id), btf.typeById(ts.id));
});

// Decoded types are plain data for users: what they copy, serialise or clone is the whole
// type, and nothing they do to a copy (or to what setType stored) reaches the Btf.
test('decoded types are plain data: spread, JSON, structuredClone, setType copies', () => {
  const btfs: Btf[] = [Btf.parse(everyKind().b.build())];
  if (hasVmlinux) btfs.push(vmlinux());
  for (const btf of btfs) {
    const step = Math.max(1, Math.floor(btf.length / 3000));
    for (let id = 1; id < btf.length; id += step) {
      const t = btf.typeById(id);
      assert.is(Object.getPrototypeOf(t), Object.prototype, `type ${id} is a plain object`);
      for (const k of Object.keys(t)) {
        const d = Object.getOwnPropertyDescriptor(t, k)!;
        assert.ok('value' in d && d.enumerable, `type ${id}.${k} is an own data property`);
      }
      assert.equal({ ...t }, t);
      assert.equal(structuredClone(t), t);
      if (t.kind !== 'enum64') assert.equal(JSON.parse(JSON.stringify(t)), t); // JSON has no bigint
      assert.equal(btf.typeById(id), t, 'decoded again: an equal object');
    }
  }
  // setType stores a copy: changing the object handed in afterwards changes nothing stored
  // (what typeById gives is shared with the Btf's cache: read-only, as btf.ts says)
  const btf = btfs[0]!;
  const st = btf.typeByName('pt', 'struct') as BtfType & { kind: 'struct' };
  const mine = { ...st, name: 'pt2', members: st.members.map((m) => ({ ...m })) };
  btf.setType(st.id, mine);
  mine.name = 'other';
  assert.is(btf.typeById(st.id).name, 'pt2');
  assert.equal(Btf.parse(btf.encode()).typeById(st.id), { ...st, name: 'pt2' });
});

test('vmlinux: changed types survive encode', () => {
  if (!hasVmlinux) return;
  const btf = vmlinux();
  const ts = btf.typeByName('task_struct', 'struct')!;
  btf.setType(ts.id, { ...ts, name: 'task_struct_renamed_for_test' });
  const id = btf.addType({ id: 0, kind: 'ptr', name: '', type: ts.id });
  const again = Btf.parse(btf.encode());
  assert.is(again.typeById(ts.id).name, 'task_struct_renamed_for_test');
  assert.equal(again.typeById(id), { id, name: '', kind: 'ptr', type: ts.id });
  vmCache = undefined;
});

test('split BTF: ids and strings continue after the base', () => {
  if (!hasVmlinux) return;
  const base = vmlinux();
  const intId = base.typeByName('int', 'int')!.id;
  const b = new BtfBuilder({ base: { length: base.length, stringsLength: base.stringsLength } });
  const st = b.add({ kind: 'struct', name: 'mod_thing', size: 8, members: [{ name: 'pid', type: intId, bitOffset: 0, bitfieldSize: 0 }] });
  const td = b.add({ kind: 'typedef', name: 'mod_thing_t', type: st });
  const split = Btf.parse(b.build(), { base, section: 'mod' });
  assert.is(split.firstTypeId, base.length);
  assert.is(st, base.length);
  assert.is(split.length, base.length + 2);
  assert.is(split.typeById(intId).name, 'int');
  assert.is(split.resolve(td), st);
  assert.is(split.sizeof(td), 8);
  assert.equal(split.idsByName('mod_thing'), [st]);
  assert.equal(split.idsByName('int'), base.idsByName('int'));
  assert.is(split.string(base.stringOffset('task_struct')!), 'task_struct');
  const again = Btf.parse(split.encode(), { base });
  assert.equal(again.typeById(td), split.typeById(td));
  // Real module BTF, when the kernel has modules.
  for (const f of existsSync('/sys/kernel/btf') ? readdirSync('/sys/kernel/btf') : []) {
    if (f === 'vmlinux') continue;
    const mod = Btf.parse(new Uint8Array(readFileSync(`/sys/kernel/btf/${f}`)), { base, file: f });
    mod.validate();
    sameAsBpftool(mod, `/sys/kernel/btf/${f}`);
  }
});

// ---- real objects ----

const objs = existsSync('bpf-objs') ? readdirSync('bpf-objs').filter((f) => f.endsWith('.bpf.o')).map((f) => `bpf-objs/${f}`) : [];

test('bpf-objs: .BTF agrees with bpftool, .BTF.ext parses', () => {
  let withExt = 0;
  for (const path of objs) {
    const secs = elfSections(new Uint8Array(readFileSync(path)));
    const raw = secs.get('.BTF');
    if (!raw) continue;
    const btf = Btf.parse(raw, { file: path });
    btf.validate();
    sameAsBpftool(btf, path);
    assert.equal(btf.encode(), raw.slice(), `${path}: encode of unchanged BTF gives the same bytes`);
    const extRaw = secs.get('.BTF.ext');
    if (!extRaw) continue;
    withExt++;
    const ext = parseBtfExt(extRaw, btf, { file: path });
    assert.ok(ext.funcInfo.size > 0, `${path}: func_info`);
    for (const [sec, list] of ext.funcInfo) {
      const size = secs.get(sec)?.length;
      assert.ok(size !== undefined, `${path}: func_info names a section that exists: ${sec}`);
      for (const fi of list) {
        assert.ok(fi.insnOff * 8 < size!, `${path} ${sec}: insn ${fi.insnOff} inside the section`);
        assert.is(btf.kindOf(fi.typeId), 'func');
      }
    }
    for (const list of ext.lineInfo.values()) for (const li of list) assert.ok(li.lineNum > 0 && li.fileName.length > 0);
    if (path.endsWith('/core.bpf.o')) {
      const relos = [...ext.coreRelos.values()].flat();
      assert.ok(relos.length > 0, 'core.bpf.o has CO-RE relocations');
      for (const r of relos) assert.match(r.accessStr, /^\d+(:\d+)*$/);
    }
  }
  if (objs.length) assert.ok(withExt > 0, 'some object has .BTF.ext');
});

// ---- .BTF.ext ----

test('.BTF.ext: records, strings, instruction slots, bigger rec_size skipped', () => {
  const k = everyKind();
  const ext = buildBtfExt(k.b, {
    funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }, { insnOff: 64, typeId: k.func }] },
    lineInfo: { xdp: [{ insnOff: 8, file: 'a.bpf.c', line: '  return 0;', lineNum: 12, column: 5 }] },
    coreRelos: { xdp: [{ insnOff: 16, typeId: k.st, access: '0:1', kind: 0 }] },
    recSize: { func: 12, line: 20 },
  });
  const btf = Btf.parse(k.b.build());
  const r = parseBtfExt(ext, btf);
  assert.equal(r.funcInfo.get('xdp'), [{ insnOff: 0, typeId: k.func }, { insnOff: 8, typeId: k.func }]);
  assert.equal(r.lineInfo.get('xdp'), [{ insnOff: 1, fileNameOff: btf.stringOffset('a.bpf.c')!, lineOff: btf.stringOffset('  return 0;')!, fileName: 'a.bpf.c', line: '  return 0;', lineNum: 12, column: 5 }]);
  assert.equal(r.coreRelos.get('xdp'), [{ insnOff: 2, typeId: k.st, accessStr: '0:1', kind: 0 }]);
  const noCore = parseBtfExt(buildBtfExt(k.b, { funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }] }, hdrLen: 24 }), btf);
  assert.is(noCore.coreRelos.size, 0);
  assert.is(r.sorted, true, 'records in ascending order: said so');
  const k2 = everyKind();
  const unsortedExt = buildBtfExt(k2.b, {
    lineInfo: { xdp: [{ insnOff: 16, file: 'a.bpf.c', line: 'b', lineNum: 2, column: 0 }, { insnOff: 8, file: 'a.bpf.c', line: 'a', lineNum: 1, column: 0 }, { insnOff: 24, file: 'b.bpf.c', line: 'c', lineNum: 3, column: 0 }] },
  });
  const unsorted = parseBtfExt(unsortedExt, Btf.parse(k2.b.build()));
  assert.is(unsorted.sorted, false);
  // the file name of each record, also where it changes between records
  assert.equal(unsorted.lineInfo.get('xdp')!.map((l) => `${l.fileName}:${l.line}`), ['a.bpf.c:b', 'a.bpf.c:a', 'b.bpf.c:c']);
});

// ---- malformed input ----

const good = () => everyKind().b.build();
const setU32 = (b: Uint8Array, off: number, v: number) => { new DataView(b.buffer, b.byteOffset).setUint32(off, v, true); return b; };

test('malformed: header fields that lie', () => {
  const len = good().length;
  throwsBtf(() => Btf.parse(setU32(good(), 4, len + 10)), new RegExp(`hdr_len ${len + 10} runs 10 bytes past the end`));
  throwsBtf(() => Btf.parse(setU32(good(), 4, 16)), /hdr_len 16 is smaller than the 24-byte btf_header by 8/);
  const e = throwsBtf(() => Btf.parse(new BtfBuilder().build({ strLen: 1000 })), /string section \(str_off 0 \+ str_len 1000\) runs 999 bytes past the end/);
  assert.is(e.offset, 20);
  throwsBtf(() => { const k = everyKind(); return Btf.parse(k.b.build({ typeLen: 100000 })); }, /type section \(type_off 0 \+ type_len 100000\) runs \d+ bytes past/);
  throwsBtf(() => { const k = everyKind(); return Btf.parse(k.b.build({ strOff: 8 })); }, /overlap by \d+ bytes/);
  throwsBtf(() => Btf.parse(setU32(good(), 8, 2)), /type_off 2 is not 4-byte aligned/);
  throwsBtf(() => Btf.parse(new Uint8Array(4)), /too short for a header/);
});

test('malformed: bad magic, bad version', () => {
  throwsBtf(() => Btf.parse(new BtfBuilder().build({ magic: 0x1234 }), { file: 'x.o' }), /^x\.o, section \.BTF, offset 0 \(0x0\): bad magic 0x1234, expected 0xeb9f/);
  throwsBtf(() => Btf.parse(new BtfBuilder().build({ version: 2 })), /unsupported BTF version 2/);
});

test('malformed: string offsets out of range, unterminated strings', () => {
  const b = new BtfBuilder();
  b.raw([500, 1 << 24, 4, 32]); // INT named at offset 500
  throwsBtf(() => Btf.parse(b.build()), /type id 1, offset 24 \(0x18\): name offset 500 is out of range \(string section is 1 bytes\)/);
  const m = new BtfBuilder();
  const int = m.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  m.raw([0, (4 << 24) | 1, 4, 777, int, 0]); // struct with a member name offset out of range
  const btf = Btf.parse(m.build());
  throwsBtf(() => btf.typeById(2), /type id 2.*member name offset 777 is out of range/);
  throwsBtf(() => btf.string(12345), /string offset 12345 is out of range/);
  throwsBtf(() => Btf.parse(new BtfBuilder().build({ strings: Uint8Array.from([0, 0x61, 0x62]) })), /unterminated string section: the last string \(string offset 1\) has no NUL byte/);
  throwsBtf(() => Btf.parse(new BtfBuilder().build({ strings: Uint8Array.from([0x61, 0]) })), /does not start with the empty string/);
  throwsBtf(() => Btf.parse(new BtfBuilder().build({ strings: new Uint8Array(0) })), /empty string section/);
});

test('malformed: type id cycles', () => {
  const b = new BtfBuilder();
  b.add({ kind: 'typedef', name: 'A', type: 2 });
  b.add({ kind: 'typedef', name: 'B', type: 1 });
  b.add({ kind: 'const', name: '', type: 1 });
  b.add({ kind: 'array', name: '', type: 5, indexType: 0, nelems: 2 }); // 4: array of 5
  b.add({ kind: 'typedef', name: 'arr_t', type: 4 });                    // 5 -> 4
  b.add({ kind: 'ptr', name: '', type: 7 });                             // 6: ptr -> const -> ptr
  b.add({ kind: 'const', name: '', type: 6 });
  const btf = Btf.parse(b.build());
  throwsBtf(() => btf.resolve(1), /type id cycle: 1 -> 2 -> 1/);
  throwsBtf(() => btf.resolve(3), /type id cycle: 1 -> 2 -> 1 \(reached from type id 3\)/);
  throwsBtf(() => btf.sizeof(2), /type id cycle: 2 -> 1 -> 2/);
  throwsBtf(() => btf.sizeof(4), /type id cycle: 4 -> 5 -> 4/);
  assert.is(btf.sizeof(6), 8, 'a pointer has a size even when it loops');
  throwsBtf(() => btf.validate(), /type id cycle/);
  const p = new BtfBuilder();
  p.add({ kind: 'ptr', name: '', type: 2 });
  p.add({ kind: 'const', name: '', type: 1 });
  throwsBtf(() => Btf.parse(p.build()).validate(), /type id cycle: 1 -> 2 -> 1/);
});

test('malformed: referenced id out of range, id out of range', () => {
  const b = new BtfBuilder();
  b.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  b.add({ kind: 'ptr', name: '', type: 99 });
  b.add({ kind: 'struct', name: 's', size: 4, members: [{ name: 'm', type: 1234, bitOffset: 0, bitfieldSize: 0 }] });
  b.add({ kind: 'typedef', name: 't', type: 77 });
  const btf = Btf.parse(b.build());
  const e = throwsBtf(() => btf.typeById(2), /type id 2.*references type id 99, but the last type id is 4/);
  assert.is(e.typeId, 2);
  throwsBtf(() => btf.resolve(4), /type id 4.*references type id 77/);
  throwsBtf(() => btf.sizeof(4), /type id 4.*references type id 77/);
  throwsBtf(() => btf.typeById(3), /type id 3.*references type id 1234/);
  throwsBtf(() => btf.typeById(5), /type id 5 is out of range \(last type id is 4\)/);
  throwsBtf(() => btf.typeById(-1), /type id -1 is out of range/);
  throwsBtf(() => btf.typeById(1.5), /type id 1.5 is out of range/);
});

test('malformed: unknown kind, vlen past the section, truncated record, vlen on a kind without', () => {
  const b = new BtfBuilder();
  b.raw([0, 25 << 24, 0]);
  throwsBtf(() => Btf.parse(b.build()), /type id 1.*unknown BTF kind 25/);
  const z = new BtfBuilder();
  z.raw([0, 0, 0]);
  throwsBtf(() => Btf.parse(z.build()), /unknown BTF kind 0/);
  const v = new BtfBuilder();
  v.add({ kind: 'int', name: 'int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  v.raw([0, (4 << 24) | 50, 8, 0, 1, 0]); // struct claiming 50 members, holding 1
  throwsBtf(() => Btf.parse(v.build()), /type id 2.*struct record with vlen 50 needs 612 bytes but runs 588 bytes past the end of the type section/);
  const t = new BtfBuilder();
  t.raw([0, 2 << 24]); // 8 bytes: half a record
  throwsBtf(() => Btf.parse(t.build()), /truncated btf_type record: 12 bytes needed, 8 left/);
  const p = new BtfBuilder();
  p.raw([0, (2 << 24) | 3, 0]); // ptr with vlen 3
  throwsBtf(() => Btf.parse(p.build()).typeById(1), /vlen 3 on a ptr record, expected 0/);
});

test('malformed .BTF.ext: rec_size too small, insn_off not a multiple of 8, section name out of range', () => {
  const k = everyKind();
  const small = buildBtfExt(k.b, { funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }] }, recSize: { func: 4 } });
  const odd = buildBtfExt(k.b, { funcInfo: { xdp: [{ insnOff: 12, typeId: k.func }] } });
  const oddLine = buildBtfExt(k.b, { lineInfo: { tc: [{ insnOff: 3, file: 'f.c', line: 'x', lineNum: 1, column: 1 }] } });
  const badName = buildBtfExt(k.b, { funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }] }, secNameOff: 5000 });
  const badType = buildBtfExt(k.b, { coreRelos: { xdp: [{ insnOff: 0, typeId: 9999, access: '0', kind: 0 }] } });
  const btf = Btf.parse(k.b.build());
  throwsBtf(() => parseBtfExt(small, btf, { file: 'o.o' }), /^o\.o, section \.BTF\.ext, offset 32 \(0x20\): func_info rec_size 4 is smaller than the 8-byte bpf_func_info/);
  const e = throwsBtf(() => parseBtfExt(odd, btf), /func_info record for section 'xdp': insn_off 12 is not a multiple of 8/);
  assert.is(e.offset, 32 + 4 + 8);
  throwsBtf(() => parseBtfExt(oddLine, btf), /line_info record for section 'tc': insn_off 3 is not a multiple of 8/);
  throwsBtf(() => parseBtfExt(badName, btf), /func_info section name offset 5000 is out of range/);
  throwsBtf(() => parseBtfExt(badType, btf), /core_relo record for section 'xdp' references type id 9999/);
  const lying = buildBtfExt(k.b, { funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }] } });
  setU32(lying, 12, 400);
  throwsBtf(() => parseBtfExt(lying, btf), /func_info \(offset 0 \+ length 400\) runs \d+ bytes past the end/);
  const bad = buildBtfExt(k.b, {});
  bad[0] = 0;
  throwsBtf(() => parseBtfExt(bad, btf), /bad magic/);
});

// ---- mini fuzz ----

function rng(seed: number) {
  return () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
}

function touchAll(btf: Btf): void {
  const guard = (f: () => unknown) => { try { f(); } catch (e) { if (!(e instanceof BtfError)) throw e; } };
  for (let id = 0; id < btf.length; id++) {
    guard(() => btf.typeById(id));
    guard(() => btf.kindOf(id));
    guard(() => btf.resolve(id));
    guard(() => btf.sizeof(id));
    guard(() => btf.findMember(id, 'x'));
    guard(() => { const t = btf.typeById(id); if (t.name) btf.idsByName(t.name); });
  }
  guard(() => btf.typeByName('pt', 'struct'));
  guard(() => btf.validate());
  guard(() => touchAllNoRecurse(Btf.parse(btf.encode())));
}
function touchAllNoRecurse(btf: Btf): void { for (let id = 0; id < btf.length; id++) btf.typeById(id); }

test('fuzz: 2000 mutated blobs, only BtfError escapes', () => {
  const k = everyKind();
  const ext = buildBtfExt(k.b, {
    funcInfo: { xdp: [{ insnOff: 0, typeId: k.func }] },
    lineInfo: { xdp: [{ insnOff: 8, file: 'a.c', line: 'l', lineNum: 1, column: 2 }] },
    coreRelos: { xdp: [{ insnOff: 16, typeId: k.st, access: '0:1', kind: 0 }] },
  });
  const base = k.b.build();
  const baseBtf = Btf.parse(base);
  const rand = rng(42);
  let rejected = 0;
  for (let n = 0; n < 2000; n++) {
    const target = n % 4 === 3 ? ext : base;
    let m: Uint8Array = target.slice();
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const r = rand();
      const at = Math.floor(rand() * m.length);
      if (r < 0.6) m[at] = Math.floor(rand() * 256);
      else if (r < 0.8) m[at] ^= 1 << Math.floor(rand() * 8);
      else if (r < 0.9) m = m.slice(0, at);
      else if ((at & ~3) + 4 <= m.length) setU32(m, at & ~3, [0, 0xffffffff, 0x7fffffff, 1, 0x10000][Math.floor(rand() * 5)]!);
    }
    try {
      if (target === ext) parseBtfExt(m, baseBtf);
      else touchAll(Btf.parse(m));
    } catch (e) {
      if (!(e instanceof BtfError)) {
        throw new Error(`mutation ${n} escaped with ${String((e as Error)?.stack ?? e)}\nbytes: ${Buffer.from(m).toString('hex')}`);
      }
      rejected++;
    }
  }
  assert.ok(rejected > 0);
});

test.run();

