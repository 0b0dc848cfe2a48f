// Every recursive walk over BTF types against types that contain themselves (damaged or
// hostile BTF) and against nesting that branches at every level: a BtfError naming the
// type ids, fast, where the walks used to take ~branches^depth steps (issue 14 item 6).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Btf } from '../../src/btf/index.js';

import { TypeWalk } from '../../src/btf/walk.js';
import { matchSpec, parseSpec, typesAreCompat, typesMatch } from '../../src/core/index.js';
import { BPF_CORE_FIELD_BYTE_OFFSET, BTF_INT_SIGNED } from '../../src/btf/types.js';
import { BtfError } from '../../src/errors.js';
import { decodeValue, encodeValue } from '../../src/load/values.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const INT = { kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 } as const;
const member = (name: string, type: number, bitOffset = 0) => ({ name, type, bitOffset, bitfieldSize: 0 });

/** `fn` throws a BtfError whose message matches `re`, within `ms`. */
function fastBtfError(fn: () => unknown, re: RegExp, ms = 2000): BtfError {
  const t0 = performance.now();
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  const dt = performance.now() - t0;
  assert.instance(err, BtfError, String(err));
  assert.match((err as Error).message, re);
  assert.ok(dt < ms, `took ${dt.toFixed(0)} ms`);
  return err as BtfError;
}

/** struct s (id 2) { t a, b, c, d, e, f; } with typedef t (id 3) -> struct s: the shape of the flipped byte. */
function selfStruct(): Btf {
  const b = new BtfBuilder();
  b.add(INT); // 1
  b.add({ kind: 'struct', name: 's', size: 24, members: ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => member(n, 3, i * 32)) }); // 2
  b.add({ kind: 'typedef', name: 't', type: 2 }); // 3
  return Btf.parse(b.build());
}

/** Structs 2..n+1 of `fan` anonymous members each, all at offset 0, each the struct before (the first: int). */
function branching(levels: number, fan: number, named = false): { btf: Btf; top: number } {
  const b = new BtfBuilder();
  let prev = b.add(INT);
  for (let l = 0; l < levels; l++) {
    prev = b.add({ kind: 'struct', name: named ? `s${l}` : '', size: 4, members: Array.from({ length: fan }, (_, i) => member(named ? `m${i}` : '', prev)) });
  }
  return { btf: Btf.parse(b.build()), top: prev };
}

test('TypeWalk: a key entered twice on one path is a cycle naming the path; the budget stops a branching walk', () => {
  const w = new TypeWalk('test walk');
  w.enter(5); w.enter(7);
  const e = fastBtfError(() => w.enter(5), /test walk: type id cycle: 5 -> 7 -> 5/);
  assert.is(e.typeId, 5);
  w.leave(); w.leave();
  w.enter(5); // closed again: not a cycle
  const small = new TypeWalk('budgeted', 3);
  small.within(1, () => small.within(2, () => undefined));
  small.enter(3);
  fastBtfError(() => small.enter(4), /budgeted: more than 3 steps/);
});

test('decodeValue / encodeValue: a struct that contains itself is a BtfError, not 6^32 steps', () => {
  const btf = selfStruct();
  fastBtfError(() => decodeValue(btf, 2, new Uint8Array(24)), /decoding a value of type id 2: type id cycle: 2 -> 2/);
  fastBtfError(() => encodeValue(btf, 2, { a: { b: 1 } }, 24), /type id cycle: 2 -> 2/);
  // nesting that branches 4 ways at each of 30 levels (no cycle): the budget, not 4^30 steps
  const { btf: wide, top } = branching(30, 4, true);
  fastBtfError(() => decodeValue(wide, top, new Uint8Array(4)), /more than \d+ steps through nested types/);
});

test('decodeValue: a member placed past the bytes of the value is a BtfError, not a RangeError', () => {
  const b = new BtfBuilder();
  b.add(INT);
  b.add({ kind: 'struct', name: 'far', size: 4, members: [member('x', 1, 8 * 64)] });
  fastBtfError(() => decodeValue(Btf.parse(b.build()), 2, new Uint8Array(4)), /type id 2 places data past the 4 bytes of the value/);
});

test('CO-RE typesAreCompat / typesMatch: prototypes and structs that contain themselves end in a BtfError', () => {
  // func_proto (id 2) of 8 parameters, each a pointer (id 3) back to it: 8^32 comparisons before
  const b = new BtfBuilder();
  b.add(INT);
  b.add({ kind: 'func_proto', name: '', type: 1, params: Array.from({ length: 8 }, () => ({ name: '', type: 3 })) });
  b.add({ kind: 'ptr', name: '', type: 2 });
  const proto = Btf.parse(b.build());
  fastBtfError(() => typesAreCompat(proto, 2, proto, 2), /CO-RE types compatibility: type id cycle/);
  fastBtfError(() => typesMatch(proto, 2, proto, 2), /CO-RE types match: type id cycle/);
  const s = selfStruct();
  fastBtfError(() => typesMatch(s, 2, s, 2), /CO-RE types match: type id cycle: 3:3:false -> 3:3:false/);
  // branching without a cycle: each pair compared once
  const { btf: wide, top } = branching(30, 4, true);
  assert.ok(typesMatch(wide, top, wide, top));
});

test('CO-RE member search through anonymous members: cycles refused, shared members searched once', () => {
  const lb = new BtfBuilder();
  lb.add(INT);
  lb.add({ kind: 'struct', name: 'anon_host', size: 4, members: [member('x', 1)] });
  const local = parseSpec(Btf.parse(lb.build()), { insnOff: 0, typeId: 2, accessStr: '0:0', kind: BPF_CORE_FIELD_BYTE_OFFSET });
  // target: anon_host { <anon struct id 3> ... } where the anonymous struct holds itself 8 times
  const tb = new BtfBuilder();
  tb.add(INT);
  tb.add({ kind: 'struct', name: 'anon_host', size: 4, members: [member('', 3)] });
  tb.add({ kind: 'struct', name: '', size: 4, members: Array.from({ length: 8 }, () => member('', 3)) });
  fastBtfError(() => matchSpec(local, Btf.parse(tb.build()), 2), /CO-RE member 'x': type id cycle: 3 -> 3/);
  // 8 anonymous members at each of 20 levels, 'x' nowhere: 8^20 searches before, one per type now
  const { btf: wide, top } = branching(20, 8);
  const t0 = performance.now();
  assert.is(matchSpec(local, wide, top), undefined);
  assert.ok(performance.now() - t0 < 1000);
});

test.run();
