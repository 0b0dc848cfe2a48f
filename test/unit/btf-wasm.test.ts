// The WebAssembly record walk (src/btf/wasm-scan.ts): a BTF placed in an arena is scanned
// and searched in WebAssembly, and every answer must be the one the JavaScript walk gives
// for the same bytes outside an arena: record table, names (exact, essential, by kind,
// many at once), errors. On vmlinux and on hand-made BTF big enough for the wasm path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Btf, BTF_INT_SIGNED, KIND_NAMES, btfArena, essentialName } from '../../src/btf/index.js';
import { assembleModule } from '../../src/btf/wasm-module.js';
import { WASM_MIN_BYTES, moduleBytes } from '../../src/btf/wasm-scan.js';
import { BtfError } from '../../src/errors.js';
import { readKernelBtf } from '../../src/load/kernel-btf.js';
import { mapFileOver, overrideKernel } from '../../src/sys/index.js';
import { BtfBuilder } from '../helpers/btf-builder.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const KIND_INT = KIND_NAMES.indexOf('int');
const KIND_STRUCT = KIND_NAMES.indexOf('struct');

/** `bytes` copied to the start of a fresh arena (what src/load does with vmlinux). */
function inArena(bytes: Uint8Array): Uint8Array {
  const a = btfArena(bytes.length);
  a.set(bytes);
  return a;
}

/** A BTF of more than WASM_MIN_BYTES with every kind of name the search must tell apart. */
function bigBtf(): { bytes: Uint8Array; names: string[] } {
  const b = new BtfBuilder();
  const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  const suffixes = ['', '___v1', '___v1___v2', '____x', '___', '_y___z', '___a_b'];
  const stems = ['a', 'ab', 'abc', 'abcd', '_', '__', 'größe', 't', 'task_struct', 'pt_regs'];
  const names = new Set<string>();
  for (let i = 0; names.size < 400 || b.stringsLength < 4096; i++) {
    const name = `${i % 5 === 0 ? '___' : ''}${stems[i % stems.length]}${i % 3 ? i % 41 : ''}${suffixes[i % suffixes.length]}`;
    names.add(name);
    b.add(i % 2 ? { kind: 'typedef', name, type: int } : { kind: 'struct', name, size: 4, members: [{ name: `m${i % 13}`, type: int, bitOffset: 0, bitfieldSize: 0 }] });
  }
  const long = b.str('xpt_regs');
  b.raw([long + 1, (KIND_INT << 24) >>> 0, 4, 32]); // name 'pt_regs', starting inside 'xpt_regs'
  while (b.build().length < 2 * WASM_MIN_BYTES) {
    for (let i = 0; i < 1000; i++) b.add({ kind: 'ptr', name: '', type: int });
    b.add({ kind: 'struct', name: 'a', size: 4, members: [] });
  }
  return { bytes: b.build(), names: [...names, 'a', 'ab', 'a___v1', 'pt_regs', 'xpt_regs', 'nothing', 'x', 'größe', 'gr'] };
}

/**
 * Every difference between a parse of `bytes` and of the same bytes in an arena: record
 * kinds, then each name's answers. Fresh parses every ten names: after 32 searches a Btf
 * answers from its hash index instead of walking the records.
 */
function differences(bytes: Uint8Array, arena: Uint8Array, names: string[]): string[] {
  const bad: string[] = [];
  let js = Btf.parse(bytes), wasm = Btf.parse(arena);
  if (js.length !== wasm.length) return [`length ${js.length} vs ${wasm.length}`];
  for (let id = 1; id < js.length; id++) if (js.kindOf(id) !== wasm.kindOf(id)) bad.push(`kind of ${id}`);
  const same = (what: string, a: unknown, b: unknown) => { if (JSON.stringify(a) !== JSON.stringify(b)) bad.push(`${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`); };
  names.forEach((n, i) => {
    if (i % 10 === 0) { js = Btf.parse(bytes); wasm = Btf.parse(arena); }
    same(`idsByName ${n}`, js.idsByName(n), wasm.idsByName(n));
    same(`idsByEssentialName ${n}`, js.idsByEssentialName(n), wasm.idsByEssentialName(n));
    same(`typeByName ${n} struct`, js.typeByName(n, 'struct')?.id, wasm.typeByName(n, 'struct')?.id);
  });
  return bad;
}

test('the module is what wasm-module.ts assembles, and valid WebAssembly', () => {
  assert.equal(Buffer.from(moduleBytes()).toString('base64'), Buffer.from(assembleModule()).toString('base64'), 'paste the new base64 into MODULE_BASE64');
  assert.ok((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(moduleBytes()));
});

test('hand-made BTF in an arena: the same record table and name answers as outside one (flavours, short and non-ASCII names, names inside other strings)', () => {
  const { bytes, names } = bigBtf();
  assert.ok(bytes.length > WASM_MIN_BYTES);
  assert.equal(differences(bytes, inArena(bytes), names), []);
  // many names in one pass
  const js = Btf.parse(bytes), wasm = Btf.parse(inArena(bytes));
  js.prefetchNames(names, { essential: true });
  wasm.prefetchNames(names, { essential: true });
  js.prefetchNames(names);
  wasm.prefetchNames(names);
  for (const n of names) {
    assert.equal(wasm.idsByEssentialName(n), js.idsByEssentialName(n), n);
    assert.equal(wasm.idsByName(n), js.idsByName(n), n);
  }
  // and against the names decoded one by one
  const want = new Map<string, number[]>();
  for (let id = 1; id < js.length; id++) {
    const e = essentialName(js.typeById(id).name);
    if (e) want.set(e, [...(want.get(e) ?? []), id]);
  }
  for (const n of names) assert.equal(wasm.idsByEssentialName(n), want.get(n) ?? [], n);
  assert.equal(wasm.idsByName('pt_regs').length, js.idsByName('pt_regs').length);
  assert.ok(wasm.idsByName('pt_regs').length > 1, 'the name inside xpt_regs is found too');
});

test('hand-made BTF in an arena: a bad record is the same BtfError (message, type id, offset) as outside one', () => {
  const { bytes } = bigBtf();
  const typeLen = new DataView(bytes.buffer).getUint32(12, true);
  const strLen = new DataView(bytes.buffer).getUint32(20, true);
  const js = Btf.parse(bytes);
  // the byte offset of the record of id 5000
  let pos = 24;
  for (let id = 1; id < 5000; id++) {
    const info = new DataView(bytes.buffer).getUint32(pos + 4, true);
    const kind = (info >>> 24) & 31, vlen = info & 0xffff;
    pos += 12 + (kind === KIND_INT ? 4 : kind === KIND_STRUCT ? 12 * vlen : 0);
  }
  assert.ok(js.length > 5000);
  const broken = (edit: (v: DataView) => void): Uint8Array => { const c = bytes.slice(); edit(new DataView(c.buffer)); return c; };
  const cases = {
    'unknown kind': broken((v) => v.setUint32(pos + 4, (31 << 24) >>> 0, true)),
    'name offset out of range': broken((v) => v.setUint32(pos, strLen + 7, true)),
    'vlen past the end': broken((v) => v.setUint32(pos + 4, ((KIND_STRUCT << 24) | 0xffff) >>> 0, true)),
    'truncated section': broken((v) => v.setUint32(12, typeLen - 4, true)),
  };
  for (const [what, c] of Object.entries(cases)) {
    const err = (b: Uint8Array) => { try { Btf.parse(b); } catch (e) { return e; } return undefined; };
    const a = err(c), w = err(inArena(c));
    assert.ok(a instanceof BtfError && w instanceof BtfError, what);
    assert.is((w as BtfError).message, (a as BtfError).message, what);
    assert.is((w as BtfError).typeId, (a as BtfError).typeId, what);
    assert.is((w as BtfError).offset, (a as BtfError).offset, what);
  }
});

test('vmlinux in an arena (as a load reads it): the same record table and answers as read into a buffer', () => {
  if (!existsSync(VMLINUX)) return;
  const plain = readFileSync(VMLINUX);
  const arena = readKernelBtf(VMLINUX);
  assert.equal(Buffer.compare(Buffer.from(arena.buffer, arena.byteOffset, arena.byteLength), plain), 0);
  const names = ['pt_regs', 'task_struct', 'u8', 'sk_buff', 'bpf_map', 'int', 'long unsigned int', 'no_such_type', 'p', 'list_head', 'file'];
  assert.equal(differences(plain, arena, names), []);
  const js = Btf.parse(plain), wasm = Btf.parse(arena);
  js.prefetchNames(names, { essential: true });
  wasm.prefetchNames(names, { essential: true });
  for (const n of names) assert.equal(wasm.idsByEssentialName(n), js.idsByEssentialName(n), n);
  assert.equal(wasm.typeById(wasm.idsByName('task_struct')[0]!), js.typeById(js.idsByName('task_struct')[0]!));
});

test('mapFileOver: a file mapped over an arena reads as the file; with a fake kernel nothing is mapped', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsbpf-map-over-'));
  const file = path.join(dir, 'blob');
  const data = Buffer.alloc(3 * 4096 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  writeFileSync(file, data);
  const fd = openSync(file, 'r');
  try {
    const restore = overrideKernel({ bpf: () => -1, close: () => 0 });
    try {
      const a = btfArena(data.length);
      assert.is(mapFileOver(fd, data.length, a), false);
      assert.ok(a.every((x) => x === 0));
    } finally { restore(); }
    if (process.platform !== 'linux') return;
    const a = btfArena(data.length);
    assert.is(mapFileOver(fd, data.length, a), true);
    assert.equal(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), data), 0);
    assert.is(mapFileOver(fd, data.length, a.subarray(1)), false, 'not page-aligned');
  } finally {
    closeSync(fd);
  }
});

test.run();
