// The BTF name engine (src/btf/names.ts): lookups by name and by CO-RE essential name,
// compared with a naive scan that decodes every type, on vmlinux and on hand-made BTF
// (flavours, names that start inside another string, split BTF, changed and added types).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { Btf, BTF_INT_SIGNED, KIND_NAMES, essentialName, type BtfKindName, type BtfType } from '../../src/btf/index.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasVmlinux = existsSync(VMLINUX);
const KIND_INT = KIND_NAMES.indexOf('int');

/** name -> ids, by decoding every type (what the engine must agree with). */
function naive(btf: Btf, key: (name: string) => string = (n) => n): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let id = 1; id < btf.length; id++) {
    const name = btf.typeById(id).name;
    if (name === '') continue;
    const k = key(name);
    const a = out.get(k);
    if (a) a.push(id); else out.set(k, [id]);
  }
  return out;
}

/** Every distinct name whose lookup disagrees with `want`, as "name: got [..] want [..]". */
function disagreements(want: Map<string, number[]>, lookup: (name: string) => number[], names: Iterable<string> = want.keys()): string[] {
  const bad: string[] = [];
  for (const name of names) {
    const got = lookup(name), exp = want.get(name) ?? [];
    if (got.length !== exp.length || got.some((id, i) => id !== exp[i])) bad.push(`${name}: got [${got.join(',')}] want [${exp.join(',')}]`);
  }
  return bad;
}

test('vmlinux: idsByName and typeByName(name, kind) agree with a scan of every decoded type', () => {
  if (!hasVmlinux) return;
  const bytes = readFileSync(VMLINUX);
  const want = naive(Btf.parse(bytes));
  assert.ok(want.size > 1000, `vmlinux has ${want.size} distinct names`);
  // A fresh Btf per path: the first lookups walk the records; after a few dozen the hash index answers.
  const walked = Btf.parse(bytes);
  const sample = [...want.keys()].filter((_, i) => i % 997 === 0).slice(0, 30);
  assert.equal(disagreements(want, (n) => walked.idsByName(n), sample), [], 'record walk');
  const indexed = Btf.parse(bytes);
  assert.equal(disagreements(want, (n) => indexed.idsByName(n)), [], 'every name (hash index after the first searches)');
  // one pass for many names at once (CO-RE's prefetch)
  const batch = Btf.parse(bytes);
  const names = [...want.keys()].filter((_, i) => i % 7 === 0);
  for (let i = 0; i < names.length; i += 2000) batch.prefetchNames(names.slice(i, i + 2000));
  assert.equal(disagreements(want, (n) => batch.idsByName(n), names), [], 'batched walk');
  // by kind: the first id of that kind, as the naive scan finds it
  const fresh = Btf.parse(bytes);
  const bad: string[] = [];
  for (const [name, ids] of want) {
    for (const kind of new Set(ids.map((id) => fresh.kindOf(id)))) {
      const exp = ids.find((id) => fresh.kindOf(id) === kind);
      const got = fresh.typeByName(name, kind)?.id;
      if (got !== exp) bad.push(`${name} ${kind}: got ${got} want ${exp}`);
    }
  }
  assert.equal(bad, []);
  assert.equal(fresh.idsByName('no_such_type_in_any_kernel'), []);
  assert.is(fresh.typeByName('task_struct', 'union'), undefined);
});

test('vmlinux: idsByEssentialName agrees with essentialName() of every decoded name', () => {
  if (!hasVmlinux) return;
  const bytes = readFileSync(VMLINUX);
  const want = naive(Btf.parse(bytes), essentialName);
  const btf = Btf.parse(bytes);
  assert.equal(disagreements(want, (n) => btf.idsByEssentialName(n)), []);
});

test('flavours: essential names as libbpf cuts them (last X___Y separator)', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const st = (name: string) => b.add({ kind: 'struct', name, size: 4, members: [{ name: 'x', type: int, bitOffset: 0, bitfieldSize: 0 }] });
  const plain = st('task');
  const old = st('task___old');
  const two = st('task___a___b'); // essential 'task___a'
  const under = st('task____x'); // four underscores: no separator
  const tail = st('task___'); // nothing after the separator: no flavour
  const lead = st('___task'); // separator at the start: no flavour
  const other = st('taskforce');
  const btf = Btf.parse(b.build());
  assert.equal(btf.idsByEssentialName('task'), [plain, old]);
  assert.equal(btf.idsByEssentialName('task___a'), [two]);
  assert.equal(btf.idsByEssentialName('task____x'), [under]);
  assert.equal(btf.idsByEssentialName('task___'), [tail]);
  assert.equal(btf.idsByEssentialName('___task'), [lead]);
  assert.equal(btf.idsByEssentialName('taskforce'), [other]);
  assert.equal(btf.idsByEssentialName('task___old'), [], 'a flavoured name is no essential name');
  assert.equal(btf.idsByName('task'), [plain], 'exact lookups ignore flavours');
  assert.equal(btf.idsByName('task___old'), [old]);
  const want = naive(btf, essentialName);
  assert.equal(disagreements(want, (n) => btf.idsByEssentialName(n)), []);
});

test('flavours in a BTF big enough for the hash index: every essential and exact name agrees', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const suffixes = ['', '___v1', '___v1___v2', '____x', '___', '_y___z', '___a_b'];
  for (let i = 0; i < 6000; i++) {
    const name = `${i % 3 === 0 ? '___' : ''}t${i % 97}${suffixes[i % suffixes.length]}`;
    b.add(i % 2 ? { kind: 'typedef', name, type: int } : { kind: 'struct', name, size: 4, members: [] });
  }
  const bytes = b.build();
  const ess = naive(Btf.parse(bytes), essentialName);
  const btf = Btf.parse(bytes);
  assert.equal(disagreements(ess, (n) => btf.idsByEssentialName(n)), [], 'essential');
  const exact = naive(Btf.parse(bytes));
  assert.equal(disagreements(exact, (n) => btf.idsByName(n)), [], 'exact');
  assert.equal(disagreements(ess, (n) => btf.idsByEssentialName(n), ['t5___v1', 't5___v1___v2', '___', 'nothing']), [], 'names no type has as essential name');
});

test('names that start inside another string, non-ASCII names, queries with NUL', () => {
  const b = new BtfBuilder();
  const long = b.str('xtask_struct');
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const inner = b.raw([long + 1, (KIND_INT << 24) >>> 0, 4, 32]); // name 'task_struct', inside 'xtask_struct'
  const utf = b.add({ kind: 'typedef', name: 'größe', type: int });
  const btf = Btf.parse(b.build());
  assert.is(btf.typeById(inner).name, 'task_struct');
  assert.equal(btf.idsByName('task_struct'), [inner]);
  assert.equal(btf.idsByName('xtask_struct'), []);
  assert.equal(btf.idsByName('größe'), [utf]);
  assert.equal(btf.idsByName('gr'), []);
  assert.equal(btf.idsByName('int\0'), []);
  assert.equal(btf.idsByName(''), []);
  assert.equal(btf.idsByEssentialName(''), []);
});

test('changed and added types are found by their new names, not their old ones', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const a = b.add({ kind: 'typedef', name: 'a', type: int });
  const a2 = b.add({ kind: 'typedef', name: 'a', type: int });
  const btf = Btf.parse(b.build());
  assert.equal(btf.idsByName('a'), [a, a2]);
  btf.setType(a, { ...btf.typeById(a), name: 'b' });
  const added = btf.addType({ id: 0, kind: 'typedef', name: 'a', type: int });
  assert.equal(btf.idsByName('a'), [a2, added]);
  assert.equal(btf.idsByName('b'), [a]);
  btf.setType(a2, { ...btf.typeById(a2), name: 'b___v2' });
  assert.equal(btf.idsByEssentialName('b'), [a, a2]);
  assert.equal(btf.idsByName('a'), [added]);
  const again = Btf.parse(btf.encode());
  for (const n of ['a', 'b', 'b___v2', 'int']) assert.equal(again.idsByName(n), btf.idsByName(n), n);
});

test('typeByName(name, kind): the first of that kind, changed and added types included, before and after the name is looked up by idsByName', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const td = b.add({ kind: 'typedef', name: 'x', type: int });
  const st = b.add({ kind: 'struct', name: 'x', size: 4, members: [{ name: 'v', type: int, bitOffset: 0, bitfieldSize: 0 }] });
  const st2 = b.add({ kind: 'struct', name: 'x', size: 8, members: [] });
  const bytes = b.build();
  for (const first of [false, true]) {
    const btf = Btf.parse(bytes);
    if (first) assert.equal(btf.idsByName('x'), [td, st, st2]);
    assert.is(btf.typeByName('x', 'typedef')!.id, td);
    assert.is(btf.typeByName('x', 'struct')!.id, st);
    assert.is(btf.typeByName('x', 'union'), undefined);
    assert.is(btf.typeByName('x', 'void'), undefined);
    assert.is(btf.typeByName('', 'int'), undefined);
    const s = btf.typeById(st);
    if (s.kind !== 'struct') throw new Error('not a struct');
    btf.setType(st, { ...s, name: 'y' });
    assert.is(btf.typeByName('x', 'struct')!.id, st2, 'the renamed struct is no longer found by its old name');
    assert.is(btf.typeByName('y', 'struct')!.id, st);
    btf.setType(td, { kind: 'union', id: td, name: 'x', size: 4, members: [] });
    assert.is(btf.typeByName('x', 'union')!.id, td, 'a record whose kind changed is found by its new kind');
    assert.is(btf.typeByName('x', 'typedef'), undefined);
    const added = btf.addType({ kind: 'enum', id: 0, name: 'x', size: 4, signed: false, values: [] });
    assert.is(btf.typeByName('x', 'enum')!.id, added);
  }
});

test('typeByName(name, kind) on a BTF of 2048-4096 records (a walk of the kinds that stops at the first match): the first of that kind for every name and kind, changed types too', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const kinds = ['typedef', 'struct', 'union', 'const', 'ptr', 'struct', 'typedef'] as const;
  for (let i = 0; i < 3000; i++) {
    const name = `n${(i * 7919) % 97}`; // 97 names, each on ~31 records of several kinds, in no order
    const kind = kinds[(i * 31) % kinds.length]!;
    if (kind === 'struct' || kind === 'union') b.add({ kind, name, size: 4, members: [] });
    else b.add({ kind, name: kind === 'typedef' || i % 3 !== 0 ? name : '', type: int });
  }
  const bytes = b.build();
  const want = naive(Btf.parse(bytes));
  const check = (btf: Btf, label: string) => {
    const bad: string[] = [];
    for (const [name, ids] of want) {
      for (const kind of ['typedef', 'struct', 'union', 'const', 'ptr', 'enum'] as BtfKindName[]) {
        const exp = ids.find((id) => btf.kindOf(id) === kind);
        const got = btf.typeByName(name, kind)?.id;
        if (got !== exp) bad.push(`${name} ${kind}: got ${got} want ${exp}`);
      }
    }
    assert.equal(bad, [], label);
  };
  check(Btf.parse(bytes), 'fresh');
  const changed = Btf.parse(bytes);
  const first = want.get('n5')!.find((id) => changed.kindOf(id) === 'struct')!;
  changed.setType(first, { ...(changed.typeById(first) as BtfType & { kind: 'struct' }), name: 'renamed' });
  want.set('n5', want.get('n5')!.filter((id) => id !== first));
  want.set('renamed', [first]);
  check(changed, 'after setType');
});

test('split BTF: own types named from the base strings; base ids first', () => {
  const base = new BtfBuilder();
  const int = base.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const shared = base.add({ kind: 'typedef', name: 'shared', type: int });
  const baseBtf = Btf.parse(base.build());
  const b = new BtfBuilder({ base: { length: baseBtf.length, stringsLength: baseBtf.stringsLength } });
  const mine = b.raw([baseBtf.stringOffset('shared')!, (KIND_NAMES.indexOf('typedef') << 24) >>> 0, int]); // a name from the base's strings
  const own = b.add({ kind: 'typedef', name: 'own', type: int });
  const split = Btf.parse(b.build(), { base: baseBtf });
  assert.equal(split.idsByName('shared'), [shared, mine]);
  assert.equal(split.idsByName('own'), [own]);
  assert.equal(split.idsByEssentialName('shared'), [shared, mine]);
  assert.equal(split.typeByName('shared', 'typedef')!.id, shared);
  const kinds: BtfKindName[] = [...new Set(split.idsByName('shared').map((id) => split.kindOf(id)))];
  assert.equal(kinds, ['typedef']);
});

test.run();
