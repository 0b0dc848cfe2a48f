/**
 * Btf.linkageOf: a VAR's or FUNC's linkage read from its record (the loader's BTF sanitizing
 * asks it of every VAR and FUNC at each load) agrees with typeById on every fixture and
 * on hand-made records, follows setType, and throws what a decode throws.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { Btf } from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';
import { loadCollectionSpec } from '../../src/spec/index.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const linkageOfType = (btf: Btf, id: number): number | undefined => {
  const t = btf.typeById(id);
  return t.kind === 'var' || t.kind === 'func' ? t.linkage : undefined;
};

test('linkageOf agrees with typeById on every type of every fixture, before and after a decode', () => {
  let checked = 0;
  for (const f of readdirSync('bpf-objs').filter((n) => n.endsWith('.bpf.o')).sort()) {
    let btf: Btf | undefined;
    try { btf = loadCollectionSpec(`bpf-objs/${f}`).btf; } catch { continue; } // objects the spec refuses have their own tests
    if (!btf) continue;
    const first = Array.from({ length: btf.length }, (_, id) => btf!.linkageOf(id));
    for (let id = 0; id < btf.length; id++) {
      assert.is(first[id], linkageOfType(btf, id), `${f} type ${id}`);
      assert.is(btf.linkageOf(id), first[id], `${f} type ${id}, decoded`);
      if (first[id] !== undefined) checked++;
    }
  }
  assert.ok(checked > 50, `VARs and FUNCs checked: ${checked}`);
});

test('linkageOf reads a changed type from its new self, and throws a decode\'s errors', () => {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  const proto = b.add({ kind: 'func_proto', name: '', type: int, params: [] });
  const func = b.add({ kind: 'func', name: 'f', type: proto, linkage: 2 });
  const v = b.add({ kind: 'var', name: 'v', type: int, linkage: 2 });
  b.add({ kind: 'var', name: 'bad_var', type: 99, linkage: 1 }); // 5
  b.add({ kind: 'func', name: 'bad_func', type: 77, linkage: 1 }); // 6
  b.raw([0, (14 << 24) | 2, int, 1]); // 7: a var with vlen 2
  for (let pass = 0; pass < 2; pass++) {
    const btf = Btf.parse(b.build());
    if (pass === 1) for (const id of [5, 6, 7]) { try { btf.typeById(id); } catch { /* the same errors below */ } }
    assert.is(btf.linkageOf(func), 2);
    assert.is(btf.linkageOf(v), 2);
    assert.is(btf.linkageOf(int), undefined);
    assert.is(btf.linkageOf(0), undefined);
    for (const [id, re] of [[5, /type id 5.*references type id 99/], [6, /type id 6.*references type id 77/], [7, /vlen 2 on a var record, expected 0/]] as const) {
      try { btf.linkageOf(id); assert.unreachable(`type ${id} should throw`); } catch (e) {
        assert.instance(e, BtfError);
        assert.match((e as Error).message, re);
      }
    }
    assert.throws(() => btf.linkageOf(btf.length), (e: unknown) => e instanceof BtfError && /out of range/.test((e as Error).message));
    btf.setType(v, { id: v, name: 'v', kind: 'var', type: int, linkage: 1 });
    btf.setType(func, { id: func, name: 'f', kind: 'func', type: proto, linkage: 0 });
    assert.is(btf.linkageOf(v), 1);
    assert.is(btf.linkageOf(func), 0);
  }
});

test.run();
