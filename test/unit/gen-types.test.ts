// src/gen/types.ts on BTF built by hand: what the fixtures do not have (bitfields,
// anonymous members, unions, enums, enum64, floats, long arrays, forward declarations,
// names TypeScript reserves, a tag and a typedef of the same name). The declarations and
// values decodeValue returns for random bytes are compiled together with tsc --strict;
// bitfields written by encodeValue read back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Btf } from '../../src/btf/index.js';
import { BTF_INT_BOOL, BTF_INT_SIGNED } from '../../src/btf/types.js';
import { TypeEmitter } from '../../src/gen/types.js';
import { decodeValue, encodeValue } from '../../src/load/values.js';
import { BtfBuilder } from '../helpers/btf-builder.js';
import { literal, pseudoRandomBytes, root } from '../helpers/skeletons.js';

function build() {
  const b = new BtfBuilder();
  const u32 = b.add({ kind: 'int', name: 'unsigned int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  const s64 = b.add({ kind: 'int', name: 'long long', size: 8, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 64 });
  const char = b.add({ kind: 'int', name: 'char', size: 1, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 8 });
  const u8 = b.add({ kind: 'int', name: 'unsigned char', size: 1, encoding: 0, bitOffset: 0, bits: 8 });
  const bool = b.add({ kind: 'int', name: '_Bool', size: 1, encoding: BTF_INT_BOOL, bitOffset: 0, bits: 8 });
  const dbl = b.add({ kind: 'float', name: 'double', size: 8 });
  const name = b.add({ kind: 'array', name: '', type: char, indexType: u32, nelems: 8 });
  const bytes40 = b.add({ kind: 'array', name: '', type: u8, indexType: u32, nelems: 40 });
  const pair = b.add({ kind: 'array', name: '', type: s64, indexType: u32, nelems: 2 });
  const color = b.add({ kind: 'enum', name: 'color', size: 4, signed: false, values: [{ name: 'RED', value: 0 }, { name: 'BLUE', value: 7 }] });
  const big = b.add({ kind: 'enum64', name: 'big', size: 8, signed: false, values: [{ name: 'HUGE', value: 1n << 40n }] });
  const anon = b.add({ kind: 'struct', name: '', size: 8, members: [{ name: 'lo', type: u32, bitOffset: 0, bitfieldSize: 0 }, { name: 'hi', type: u32, bitOffset: 32, bitfieldSize: 0 }] });
  const un = b.add({ kind: 'union', name: 'num', size: 8, members: [{ name: 'i', type: s64, bitOffset: 0, bitfieldSize: 0 }, { name: 'd', type: dbl, bitOffset: 0, bitfieldSize: 0 }] });
  const fwd = b.add({ kind: 'fwd', name: 'opaque', union: false });
  const ptr = b.add({ kind: 'ptr', name: '', type: fwd });
  // `struct type` (a TS keyword) and `typedef unsigned int type` want the same name
  const kw = b.add({ kind: 'struct', name: 'type', size: 4, members: [{ name: 'v', type: u32, bitOffset: 0, bitfieldSize: 0 }] });
  const tdef = b.add({ kind: 'typedef', name: 'type', type: u32 });
  const rec = b.add({ kind: 'struct', name: 'rec', size: 112, members: [
    { name: 'flags', type: u32, bitOffset: 0, bitfieldSize: 3 },
    { name: 'mode', type: u32, bitOffset: 3, bitfieldSize: 29 },
    { name: 'name', type: name, bitOffset: 32, bitfieldSize: 0 },
    { name: '', type: anon, bitOffset: 96, bitfieldSize: 0 },
    { name: 'u', type: un, bitOffset: 160, bitfieldSize: 0 },
    { name: 'c', type: color, bitOffset: 224, bitfieldSize: 0 },
    { name: 'ok', type: bool, bitOffset: 256, bitfieldSize: 0 },
    { name: 'raw', type: bytes40, bitOffset: 264, bitfieldSize: 0 },
    { name: 'two', type: pair, bitOffset: 576, bitfieldSize: 0 },
    { name: 'p', type: ptr, bitOffset: 704, bitfieldSize: 0 },
    { name: 'k', type: kw, bitOffset: 768, bitfieldSize: 0 },
    { name: 't', type: tdef, bitOffset: 800, bitfieldSize: 0 },
    { name: 'e', type: big, bitOffset: 832, bitfieldSize: 0 },
  ] });
  return { btf: Btf.parse(b.build()), rec, fwd };
}

test('declarations: escaping, collisions, inline anonymous types, enums as alias + const', () => {
  const { btf, rec } = build();
  const t = new TypeEmitter(btf, new Set(['rec_']));
  t.reach(rec);
  const text = t.declarations().join('\n');
  assert.match(text, 'export type type_ = {\n  v: number;\n};', 'struct type -> type_');
  assert.match(text, 'export type type__2 = number;', 'typedef type after the tag -> type__2');
  assert.match(text, 'export type color = number;\nexport const color = { RED: 0, BLUE: 7 } as const;');
  assert.match(text, 'export type big = bigint;\nexport const big = { HUGE: 1099511627776n } as const;');
  assert.match(text, '  _3: { lo: number; hi: number };', 'anonymous member, inline type');
  assert.match(text, '  flags: number;\n  mode: number;', 'bitfields');
  assert.match(text, '  raw: number[];', 'arrays longer than TUPLE_MAX');
  assert.match(text, '  two: [bigint, bigint];');
  assert.match(text, '  p: bigint;', 'a pointer is an address');
  assert.is(t.expr(rec), 'rec');
});

test('the declarations accept what decodeValue returns (tsc --strict); a forward declaration falls back to Uint8Array with a warning', () => {
  const { btf, rec, fwd } = build();
  const t = new TypeEmitter(btf, new Set());
  t.reach(rec);
  assert.is(t.expr(fwd), 'Uint8Array');
  assert.equal(t.warnings.length, 1);
  assert.match(t.warnings[0]!, `type id ${fwd} (fwd opaque): a forward declaration`);
  const lines = [...t.declarations()];
  for (let seed = 1; seed <= 5; seed++) lines.push(`export const v${seed}: rec = ${literal(decodeValue(btf, rec, pseudoRandomBytes(112, seed)))};`);
  const dir = mkdtempSync(path.join(root, 'test', '.gen-'));
  try {
    writeFileSync(path.join(dir, 'types.ts'), lines.join('\n') + '\n');
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], skipLibCheck: true }, include: ['*.ts'] }));
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encodeValue writes bitfields next to each other (neither clobbers the other); a value that does not fit is refused', () => {
  const { btf, rec } = build();
  const out = encodeValue(btf, rec, { flags: 5, mode: (1 << 29) - 2, name: 'ab', c: 7, ok: true }, 112);
  const back = decodeValue(btf, rec, out) as Record<string, unknown>;
  assert.is(back.flags, 5);
  assert.is(back.mode, (1 << 29) - 2);
  assert.is(back.name, 'ab');
  assert.is(back.c, 7);
  assert.is(back.ok, true);
  // a decoded value goes back as it came (lookup, change one member, update)
  const again = decodeValue(btf, rec, encodeValue(btf, rec, { ...back, flags: 2 } as never, 112)) as Record<string, unknown>;
  assert.equal({ ...again, flags: 5 }, back);
  assert.is((decodeValue(btf, rec, encodeValue(btf, rec, { flags: -1 }, 112)) as Record<string, unknown>).flags, 7, '-1 in 3 bits');
  assert.throws(() => encodeValue(btf, rec, { flags: 8 }, 112), /3-bit bitfield; 8 does not fit/);
  assert.throws(() => encodeValue(btf, rec, { flags: 'x' as never }, 112), /a bitfield takes an integer/);
});

test.run();
