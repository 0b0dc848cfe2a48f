// What libbpf does at open time that changes what the kernel is given, checked on the
// fixtures made for it (issue 13): hidden subprograms.
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

test.run();
