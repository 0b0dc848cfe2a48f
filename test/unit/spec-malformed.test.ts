// Objects that are valid ELF but wrong as a BPF collection: each must give a
// TsbpfError whose message names the problem and where it is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec, SpecError, TsbpfError, type CollectionSpec } from '../../src/index.js';
import { tailcallObject } from '../helpers/bpf-object.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function rejects(bytes: Uint8Array, re: RegExp, cls: Function = SpecError): void {
  let spec: CollectionSpec | undefined;
  try { spec = loadCollectionSpec(bytes, { file: 't.o' }); } catch (e) {
    assert.instance(e, TsbpfError);
    assert.instance(e, cls);
    assert.match((e as Error).message, re);
    assert.match((e as Error).message, /^t\.o[,:]/, 'names the file');
    return;
  }
  assert.unreachable(`expected ${re}, got a spec with maps ${[...spec!.maps.keys()]}`);
}

test('the synthetic object itself is fine: contents, subprogram, mixed types absent', () => {
  const spec = loadCollectionSpec(tailcallObject().bytes);
  assert.equal(spec.maps.get('jmp_table')!.contents, [{ key: 0, value: 'a' }, { key: 1, value: 'b' }]);
  assert.equal(spec.programs.get('a')!.subprograms, ['sub']);
  assert.is(spec.programs.get('a')!.instructions.length, 4);
  assert.is(spec.programs.get('c')!.type, 'socket_filter');
});

test('.values slot at max_entries', () => {
  rejects(tailcallObject({ maxEntries: 2, slots: { 0: 'a', 2: 'b' } }).bytes, /section \.maps, symbol jmp_table.*slot 2 \(-> 'b'\) is at or beyond max_entries 2/);
});

test('relocation not on an 8-byte slot boundary', () => {
  rejects(tailcallObject({ slots: { 1: 'a' }, relSkew: 4, span: 3 }).bytes, /offset 44 .*relocation against 'a' at byte 12 of 'values' is not on an 8-byte slot boundary/);
});

test('slot pointing at a subprogram', () => {
  rejects(tailcallObject({ slots: { 0: 'sub' } }).bytes, /slot 0 points at 'sub', a subprogram in \.text, not a program/);
});

test('slot pointing at a symbol in no program', () => {
  rejects(tailcallObject({ slots: { 1: 'counter' } }).bytes, /slot 1 points at 'counter', a symbol in no program/);
});

test('prog array mixing program types', () => {
  rejects(tailcallObject({ slots: { 0: 'a', 3: 'c' } }).bytes, /slot 3 holds 'c' of type socket_filter, but slot 0 holds 'a' of type xdp/);
});

test('relocation against a symbol in a section that holds nothing a program can use', () => {
  const o = tailcallObject();
  o.setRel('xdp', 0, 'sym', o.symbolIndex('odd'));
  rejects(o.bytes, /section xdp.*offset 0 .*call relocated against 'odd' in non-executable section \.foo/);
});

test('relocation inside the map definition header', () => {
  const o = tailcallObject({ slots: { 0: 'a' } });
  o.setRel('.maps', 0, 'offset', 8);
  rejects(o.bytes, /map 'jmp_table': relocation against 'a' inside the definition|lies before the 'values' member/);
});

test('a relocation on an instruction that is neither ld_imm64 nor call', () => {
  const o = tailcallObject();
  o.setRel('xdp', 0, 'offset', 8); // move the relocation of 'call sub' onto the exit instruction
  rejects(o.bytes, /neither ld_imm64 nor call/);
});

test('unknown member in a map definition', () => {
  const src = readFileSync(path.join(root, 'bpf-objs/tailcall_run.bpf.o'));
  const bytes = Uint8Array.from(src);
  // rename the BTF string 'max_entries' to 'max_entriez'
  for (let at = Buffer.from(bytes).indexOf('max_entries\0'); at >= 0; at = Buffer.from(bytes).indexOf('max_entries\0', at + 1)) {
    bytes[at + 10] = 'z'.charCodeAt(0);
  }
  rejects(bytes, /map 'run_table': unknown member 'max_entriez'/);
});

test('.maps without BTF', () => {
  const src = readFileSync(path.join(root, 'bpf-objs/tailcall_run.bpf.o'));
  const bytes = Uint8Array.from(src);
  const at = Buffer.from(bytes).indexOf('.BTF\0');
  bytes[at + 1] = 'X'.charCodeAt(0); // '.XTF': the object has no .BTF any more
  rejects(bytes, /\.maps section needs BTF|\.BTF\.ext but no \.BTF/);
});

test('a static program is refused as libbpf refuses it', () => {
  const o = tailcallObject({ slots: {} });
  o.setSymbol('b', 'info', (0 << 4) | 2); // STB_LOCAL, STT_FUNC
  rejects(o.bytes, /program 'b' is static/);
});

test('a program in an unknown section is kept without a type, with a warning, as libbpf keeps it', () => {
  const o = tailcallObject({ slots: {} });
  const bytes = o.bytes;
  const at = Buffer.from(bytes).indexOf('socket\0');
  bytes.set(Buffer.from('sockez'), at);
  const spec = loadCollectionSpec(bytes);
  const c = spec.programs.get('c')!;
  assert.is(c.section, 'sockez');
  assert.is(c.type, undefined);
  assert.ok(c.autoload);
  assert.match(spec.warnings.join('\n'), /section 'sockez': no program type is known for this section name; 'c' is kept without a type/);
});

test.run();
