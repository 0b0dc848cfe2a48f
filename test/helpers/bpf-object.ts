/**
 * Test helper: a small but complete BPF object with a BTF-defined prog array, built from
 * scratch (elf-builder + btf-builder), so a test can break one thing at a time.
 *
 *   const o = tailcallObject({ maxEntries: 4, slots: { 0: 'a', 2: 'b' } });
 *   loadCollectionSpec(o.bytes)
 *
 * Programs: 'a' and 'b' in section 'xdp', 'c' in 'socket' (a socket filter), 'sub' in
 * '.text' (a subprogram that 'a' calls), and a data object 'counter' in '.data'.
 * Every function is `r0 = <n>; exit`, except 'a' which is `call sub; exit`.
 */
import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, STT_FUNC, STT_OBJECT, R_BPF_64_ABS64, R_BPF_64_32 } from '../../src/elf/types.js';
import { BtfBuilder } from './btf-builder.js';
import { buildElf, cstr, type BuiltElf } from './elf-builder.js';

function insns(...words: Array<[number, number, number, number, number]>): Uint8Array {
  const b = new Uint8Array(words.length * 8);
  const dv = new DataView(b.buffer);
  words.forEach(([op, dst, src, off, imm], i) => {
    b[i * 8] = op; b[i * 8 + 1] = (src << 4) | dst; dv.setInt16(i * 8 + 2, off, true); dv.setInt32(i * 8 + 4, imm, true);
  });
  return b;
}
const ret = (n: number) => insns([0xb7, 0, 0, 0, n], [0x95, 0, 0, 0, 0]);

export interface TailcallObjectOptions {
  /** max_entries of the prog array (default 4). */
  maxEntries?: number;
  /** slot -> symbol name the .values slot points at. */
  slots?: Record<number, string>;
  /** Extra bytes added to a relocation's offset (misalign it). */
  relSkew?: number;
  /** How many slots the 'values' array of the variable spans (default: highest slot + 1). */
  span?: number;
}

export function tailcallObject(o: TailcallObjectOptions = {}): BuiltElf {
  const maxEntries = o.maxEntries ?? 4;
  const slots = o.slots ?? { 0: 'a', 1: 'b' };
  const keys = Object.keys(slots).map(Number);
  const span = o.span ?? (keys.length ? Math.max(...keys) + 1 : 0);

  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  const uint = (n: number) => {
    const arr = b.add({ kind: 'array', name: '', type: int, indexType: int, nelems: n });
    return b.add({ kind: 'ptr', name: '', type: arr });
  };
  const proto = b.add({ kind: 'func_proto', name: '', type: int, params: [{ name: '', type: 0 }] });
  const pproto = b.add({ kind: 'ptr', name: '', type: proto });
  const values = b.add({ kind: 'array', name: '', type: pproto, indexType: int, nelems: 0 });
  const def = b.add({
    kind: 'struct', name: '', size: 32, members: [
      { name: 'type', type: uint(3), bitOffset: 0, bitfieldSize: 0 },
      { name: 'max_entries', type: uint(maxEntries), bitOffset: 64, bitfieldSize: 0 },
      { name: 'key_size', type: uint(4), bitOffset: 128, bitfieldSize: 0 },
      { name: 'value_size', type: uint(4), bitOffset: 192, bitfieldSize: 0 },
      { name: 'values', type: values, bitOffset: 256, bitfieldSize: 0 },
    ],
  });
  const v = b.add({ kind: 'var', name: 'jmp_table', type: def, linkage: 1 });
  const size = 32 + 8 * span;
  b.add({ kind: 'datasec', name: '.maps', size: 0, vars: [{ type: v, offset: 0, size }] });

  return buildElf({
    sections: [
      { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: ret(7) },
      { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: new Uint8Array([...insns([0x85, 0, 1, 0, -1], [0x95, 0, 0, 0, 0]), ...ret(2)]) },
      { name: 'socket', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: ret(3) },
      { name: '.maps', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(size) },
      { name: '.data', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(8) },
      { name: '.foo', type: SHT_PROGBITS, flags: SHF_ALLOC, data: new Uint8Array(8) },
      { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: cstr('GPL') },
      { name: '.BTF', type: SHT_PROGBITS, data: b.build() },
    ],
    symbols: [
      { name: 'sub', section: '.text', type: STT_FUNC, value: 0, size: 16 },
      { name: 'a', section: 'xdp', type: STT_FUNC, value: 0, size: 16 },
      { name: 'b', section: 'xdp', type: STT_FUNC, value: 16, size: 16 },
      { name: 'c', section: 'socket', type: STT_FUNC, value: 0, size: 16 },
      { name: 'jmp_table', section: '.maps', type: STT_OBJECT, value: 0, size },
      { name: 'counter', section: '.data', type: STT_OBJECT, value: 0, size: 8 },
      { name: 'odd', section: '.foo', type: STT_OBJECT, value: 0, size: 8 },
    ],
    rels: [
      { section: 'xdp', offset: 0, symbol: 'sub', type: R_BPF_64_32 },
      ...keys.map((k, i) => ({ section: '.maps', offset: 32 + 8 * k + (i === 0 ? o.relSkew ?? 0 : 0), symbol: slots[k]!, type: R_BPF_64_ABS64 })),
    ],
  });
}
