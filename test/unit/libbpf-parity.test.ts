// What libbpf does at open time that changes what the kernel is given, checked on the
// fixtures made for it (issue 13): hidden subprograms, overridden weak functions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec } from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);

function funcLinkage(spec: ReturnType<typeof loadCollectionSpec>, name: string): number[] {
  const btf = spec.btf!;
  return btf.idsByName(name).map((id) => btf.typeById(id)).filter((t) => t.kind === 'func').map((t) => (t as { linkage: number }).linkage);
}

test('__hidden global and weak subprograms get BTF FUNC linkage static (libbpf mark_btf_static); visible ones and programs stay global', () => {
  const spec = loadCollectionSpec(obj('hidden_func'));
  assert.equal(funcLinkage(spec, 'fill'), [0], 'fill: __weak __hidden -> static');
  assert.equal(funcLinkage(spec, 'twice'), [0], 'twice: __hidden -> static');
  assert.equal(funcLinkage(spec, 'exposed'), [1], 'exposed: global, default visibility');
  assert.equal(funcLinkage(spec, 'hidden_calls'), [1], 'a program keeps its linkage');
  // the programs' func_info point at those FUNCs
  const p = spec.programs.get('hidden_calls')!;
  const names = p.funcInfo.map((f) => spec.btf!.typeById(f.typeId).name);
  assert.equal(names, ['hidden_calls', 'fill', 'twice']);
});

test('a weak function overridden at static link time: its leftover code and relocation are skipped, calls go to the strong copy', () => {
  const spec = loadCollectionSpec(obj('weak_override'));
  for (const name of ['use_pick', 'use_pick_too']) {
    const p = spec.programs.get(name)!;
    assert.equal(p.subprograms, ['pick']);
    const start = p.instructions.findIndex((i) => i.symbol === 'pick');
    // the strong pick: r0 = r1; r0 += 100; exit (the weak one adds 1 and counts in .bss)
    assert.equal(p.instructions.slice(start).map((i) => [i.opcode, i.imm]), [[0xbf, 0], [0x07, 100], [0x95, 0]], name);
    assert.ok(!p.instructions.some((i) => i.reference?.kind === 'map'), `${name}: no reference to weak_calls`);
  }
});

test.run();
