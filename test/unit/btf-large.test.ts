/**
 * A BTF of more than 16k records (vmlinux-sized) is decoded through a path a small one
 * does not take: the direct-mapped type cache of src/btf/decode.ts, which keeps a type
 * only when it is asked for again. Every decoded type must be what the records say,
 * whatever the order of the lookups, with names shared by many members and parameters,
 * and with member names from a base BTF.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Btf, BTF_KIND_STRUCT, type BtfType } from '../../src/btf/index.js';
import { BtfBuilder, type TypeDesc } from '../helpers/btf-builder.js';

/** More records than the full cache of decode.ts keeps (16384). */
const RECORDS = 20000;
/** Distinct member / parameter names, shared by many records. */
const NAMES = 6000;


/** A deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

/** Structs, unions and func_protos whose member / parameter names come from a shared pool; funcs and ptrs between them. */
function large(b: BtfBuilder, seed: number, pool: string[]): TypeDesc[] {
  const r = rng(seed);
  const first = b.add({ name: 'int', kind: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  const descs: TypeDesc[] = [];
  const add = (t: TypeDesc) => { b.add(t); descs.push(t); };
  const name = () => (r() % 7 === 0 ? '' : pool[r() % pool.length]!);
  for (let i = 0; descs.length < RECORDS; i++) {
    const n = r() % 6;
    const ty = first + (r() % (descs.length + 1));
    switch (i % 5) {
      case 0: case 1: {
        const members = Array.from({ length: n }, (_, k) => ({ name: name(), type: ty, bitOffset: k * 32, bitfieldSize: 0 }));
        add({ name: `s${i}`, kind: i % 5 === 0 ? 'struct' : 'union', size: 4 * (n + 1), members });
        break;
      }
      case 2: add({ name: '', kind: 'func_proto', type: ty, params: Array.from({ length: n }, () => ({ name: name(), type: ty })) }); break;
      case 3: add({ name: `f${i}`, kind: 'func', type: ty, linkage: 1 }); break;
      case 4: add({ name: '', kind: 'ptr', type: ty }); break;
    }
  }
  return descs;
}

/** What typeById must give for `d` at `id` (the builder's description with the id set). */
function expected(d: TypeDesc, id: number): BtfType {
  return { ...d, id } as BtfType;
}

const pool = Array.from({ length: NAMES }, (_, i) => `m${i.toString(36)}${i % 3 === 0 ? '_long_enough_to_be_sliced' : ''}`);

test('large BTF: every type, member and parameter name as the records say, in any lookup order', () => {
  const b = new BtfBuilder();
  const descs = large(b, 7, pool);
  const bytes = b.build();
  const firstOwn = 2; // id 1 is the int
  // in order, twice over one Btf: the second pass meets the cache slots the first one set
  const inOrder = Btf.parse(bytes);
  assert.is(inOrder.length, descs.length + 2);
  for (const pass of [0, 1]) {
    for (let k = 0; k < descs.length; k++) assert.equal(inOrder.typeById(firstOwn + k), expected(descs[k]!, firstOwn + k), `pass ${pass}, id ${firstOwn + k}`);
  }
  // random order, each id several times: kept and re-decoded types are equal to the records
  const btf = Btf.parse(bytes);
  const r = rng(11);
  for (let n = 0; n < 3 * descs.length; n++) {
    const k = r() % descs.length;
    assert.equal(btf.typeById(firstOwn + k), expected(descs[k]!, firstOwn + k));
  }
});

test('large split BTF: member names from the base and from the module', () => {
  const bb = new BtfBuilder();
  const int = bb.add({ name: 'int', kind: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  const baseNames = pool.slice(0, NAMES / 2);
  for (const s of baseNames) bb.str(s);
  const base = Btf.parse(bb.build());
  const mb = new BtfBuilder({ base });
  // The builder does not know the base's strings: write the structs as raw records whose
  // member names are base offsets for the first half of the pool, module offsets for the rest.
  const off = (s: string) => (s === '' ? 0 : (base.stringOffset(s) ?? mb.str(s)));
  const r = rng(13);
  const want: { name: string; members: string[] }[] = [];
  for (let i = 0; want.length < RECORDS; i++) {
    const members = Array.from({ length: r() % 6 }, () => (r() % 7 === 0 ? '' : pool[r() % pool.length]!));
    const words = [mb.str(`s${i}`), (BTF_KIND_STRUCT << 24) | members.length, 4 * (members.length + 1)];
    members.forEach((m, k) => words.push(off(m), int, k * 32));
    mb.raw(words);
    want.push({ name: `s${i}`, members });
  }
  assert.ok(baseNames.every((s) => base.stringOffset(s)! < base.stringsLength), 'half of the names are base strings');
  const mod = Btf.parse(mb.build(), { base });
  for (let k = 0; k < want.length; k++) {
    const t = mod.typeById(base.length + k);
    assert.ok(t.kind === 'struct');
    assert.is(t.name, want[k]!.name);
    assert.equal(t.members.map((m) => m.name), want[k]!.members, `id ${t.id}`);
  }
});

test.run();
