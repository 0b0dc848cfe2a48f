// Pure preparation for the kernel: names as libbpf gives them, map fds patched into
// ld_imm64, BTF rewritten for BPF_BTF_LOAD.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BTF_FEATURES, decode, loadCollectionSpec, sanitizeBtf, Btf } from '../../src/index.js';
import { kernelMapName, kernelProgName, objectName, patchInstructions } from '../../src/load/prepare.js';

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

test.run();
