// The spec is plain data a user edits before load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copySpec, getVariable, loadCollectionSpec, setVariable, SpecError, TsbpfError } from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const obj = (n: string) => path.join(root, 'bpf-objs', `${n}.bpf.o`);

test('.rodata variables are listed with their offsets and can be set by name', () => {
  const spec = loadCollectionSpec(obj('global_data'));
  const ro = spec.maps.get('.rodata')!;
  assert.ok(ro.readOnly);
  const scale = ro.variables!.get('scale')!;
  assert.is(scale.size, 4);
  assert.is(new DataView(ro.data!.buffer, ro.data!.byteOffset).getUint32(scale.offset, true), 3);
  setVariable(spec, 'scale', 5);
  assert.is(new DataView(ro.data!.buffer, ro.data!.byteOffset).getUint32(scale.offset, true), 5);
  assert.equal([...getVariable(spec, 'scale')], [5, 0, 0, 0]);
});

test('setVariable rejects what does not fit, names unknown variables, refuses externs', () => {
  const spec = loadCollectionSpec(obj('global_data'));
  assert.throws(() => setVariable(spec, 'scale', 2 ** 33), (e: unknown) => e instanceof SpecError && /does not fit/.test((e as Error).message));
  assert.throws(() => setVariable(spec, 'scale', 1.5), /not an integer/);
  assert.throws(() => setVariable(spec, 'nope', 1), (e: unknown) => e instanceof TsbpfError && /no global variable 'nope'.*known: .*scale/.test((e as Error).message));
  const k = loadCollectionSpec(obj('kconfig'));
  assert.throws(() => setVariable(k, 'LINUX_KERNEL_VERSION', 1), /extern/);
});

test('copySpec is deep: editing the copy leaves the original alone', () => {
  const spec = loadCollectionSpec(obj('tailcall_run'));
  const c = copySpec(spec);
  c.maps.get('run_table')!.maxEntries = 64;
  c.maps.get('run_table')!.contents!.pop();
  c.programs.get('ret_10')!.type = 'socket_filter';
  c.programs.get('ret_10')!.instructions[0]!.imm = 77;
  assert.is(spec.maps.get('run_table')!.maxEntries, 8);
  assert.is(spec.maps.get('run_table')!.contents!.length, 5);
  assert.is(spec.programs.get('ret_10')!.type, 'xdp');
  assert.is.not(spec.programs.get('ret_10')!.instructions[0]!.imm, 77);
});

test('reading from bytes names <buffer>, a missing file names the path', () => {
  assert.throws(() => loadCollectionSpec(new Uint8Array(10)), (e: unknown) => e instanceof TsbpfError && /^<buffer>[,:] /.test((e as Error).message));
  assert.throws(() => loadCollectionSpec('/nonexistent/x.o'), (e: unknown) => e instanceof TsbpfError && /\/nonexistent\/x\.o: cannot read object: no such file/.test((e as Error).message));
});

test('.maps references and data references are recorded on instructions', () => {
  const spec = loadCollectionSpec(obj('tailcall_uretprobe'));
  const entry = spec.programs.get('uretprobe_entry')!;
  const refs = entry.instructions.filter((i) => i.reference).map((i) => i.reference!);
  assert.ok(refs.some((r) => r.kind === 'map' && r.name === 'jmp_table'));
  const gd = loadCollectionSpec(obj('global_data'));
  const dataRefs = [...gd.programs.values()].flatMap((p) => p.instructions).map((i) => i.reference).filter((r) => r?.kind === 'map' && r.value);
  assert.ok(dataRefs.some((r) => r!.name === '.rodata'));
  assert.ok(dataRefs.some((r) => r!.name === '.bss' || r!.name === '.data'));
});

test('callbacks are ld_imm64 with BPF_PSEUDO_FUNC pointing at the callback', () => {
  const spec = loadCollectionSpec(obj('bpf2bpf'));
  const p = spec.programs.get('loop_sock')!;
  const cb = p.instructions.find((i) => i.opcode === 0x18 && i.reference?.kind === 'func');
  assert.ok(cb, 'a function-address load');
  assert.is(cb!.src, 4);
  assert.is(cb!.reference!.name, 'loop_cb');
});


test('DATASEC sizes and variable offsets are fixed up from the ELF as libbpf does', async () => {
  for (const name of ['global_data', 'tailcall_run', 'kconfig', 'map_in_map']) {
    const spec = loadCollectionSpec(obj(name));
    const btf = spec.btf!;
    for (const m of spec.maps.values()) {
      if (m.kind !== 'data') continue;
      const ds = btf.datasecByName(m.section);
      if (!ds) { assert.match(m.section, /^\.rodata\.str/, 'only string sections lack a DATASEC'); continue; }
      assert.is(ds.size, m.valueSize, `${name} ${m.section}: DATASEC size`);
      for (const v of ds.vars) {
        const vt = btf.typeById(v.type);
        assert.is(v.offset, m.variables!.get(vt.name)!.offset, `${name} ${m.section} ${vt.name}: offset`);
      }
      assert.equal(ds.vars.map((v) => v.offset), [...ds.vars.map((v) => v.offset)].sort((a, b) => a - b));
    }
    const maps = btf.datasecByName('.maps');
    if (maps) assert.ok(maps.size > 0, `${name}: .maps DATASEC size`);
    // and the fixed-up BTF still encodes and parses
    const { Btf } = await import('../../src/btf/index.js');
    assert.ok(Btf.parse(btf.encode()).datasecByName('.maps') || !maps);
  }
});
test.run();
