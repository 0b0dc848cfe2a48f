/**
 * The two walks over every record of a large BTF (the record scan of `Btf.parse`, and the
 * name search's first filter) as a tiny WebAssembly module, for BTF that lives in an
 * arena: a WebAssembly.Memory made by `btfArena()` to hold the bytes of one BTF file
 * (src/load maps /sys/kernel/btf/vmlinux into it, or reads the file into it).
 *
 * Why: a process that parses vmlinux once (`node bin/load.js`, any one-shot loader) runs
 * these loops over 126k records while V8 still interprets them (Ignition, then Sparkplug,
 * until a TurboFan compile of the loop is ready): ~4 ms for the scan and ~4 ms for one name
 * search, against ~0.3 ms each once optimised. WebAssembly is compiled at once by Liftoff
 * (~0.1 ms for this module) and runs the loops at near machine speed from the first record.
 * The module is assembled byte by byte in wasm-module.ts (no toolchain, no dependency):
 * two functions of about thirty instructions each, commented as text format.
 *
 * The arena's memory never grows (views over it stay valid) and the wasm code only writes
 * past the BTF bytes: the bytes may be a read-only file mapping placed over the arena's
 * first pages. A BTF that is not in an arena is walked in JavaScript as before.
 */
import { WASM_PAGE, newWasmMemory, wasm, type WasmMemory } from '../wasm/runtime.js';
import { FIXED_WORDS, KIND_SLOTS, WORDS_PER_VLEN } from './kinds.js';

/** Bits of the name-prefix filter (a bitmap of 2^16 bits, 8 KiB). */
export const FILTER_BITS = 16;
/** Knuth's multiplicative hash constant: spreads a 24-bit name prefix over the filter's bits. */
export const PREFIX_HASH = 0x9e3779b1 | 0;
/** A record is at least three words: at most this many records per byte of type section. */
const RECORD_BYTES = 12;
/** Below this many bytes a JavaScript walk is as quick as instantiating the module. */
export const WASM_MIN_BYTES = 256 * 1024;

/**
 * The module's bytes, as assembled by wasm-module.ts (its source, commented as text
 * format; test/unit/btf-wasm.test.ts checks that these are its output). Kept as a literal:
 * running the assembler costs a cold process ~0.8 ms, compiling the module ~0.2 ms.
 */
const MODULE_BASE64 =
  'AGFzbQEAAAABGAJgBn9/f39/fwF/YAl/f39/f39/f38BfwIIAQFtAW0CAAADAwIAAQcRAgRzY2FuAAAGZmlsdGVyAAEKhwMCpAEBCH8gAUEDayEIAkADQCAHIAhKDQEgBCAGQQJ0aiAHNgIAIAAgB0ECdGoiDSgCBCEJIAlBGHZBH3EhCiADIApqLQAAIQsgByALaiAJQf//A3EgAyAKai0AIGxqIQwgC0H/AUYgDCABS3IgDSgCACACT3IEQCAGQX9zDwsgBSAGaiAKOgAAIAZBAWohBiAMIQcMAAsLIAQgBkECdGogBzYCACAGC94BAQd/IAFFBEBBAA8LA0ACQCAIQX9HBEAgByAJai0AACAIRw0BCyACIAAgCUECdGooAgBBAnRqKAIAIgsgBEkEQCALRQ0BIAYgCkECdGogCTYCACAKQQFqIQoMAQsgAyALaiAEayIMLQAAIg1FDQAgDC0AASIOBEAgDSAOQQh0ciENIAwtAAIiDgRAIA0gDkEQdHIhDQsLIA1BsfPd8XlsQRB2Ig9BA3YgBWotAAAgD0EHcXZBAXFFDQAgBiAKQQJ0aiAJNgIAIApBAWohCgsgCUEBaiIJIAFJDQALIAoL';

/** The module's bytes (see MODULE_BASE64). */
export function moduleBytes(): Uint8Array {
  return Buffer.from(MODULE_BASE64, 'base64');
}

interface Exports {
  scan(typeStart: number, end: number, strTotal: number, tables: number, offsets: number, kinds: number): number;
  filter(offsets: number, count: number, typeStart: number, strAt: number, strStart: number, bitmap: number, out: number, kinds: number, kind: number): number;
}

let compiled: object | undefined;

/** Where things are in an arena's memory, past the BTF bytes (byte offsets). */
interface Arena {
  readonly memory: WasmMemory;
  readonly buffer: ArrayBuffer;
  /** Bytes of BTF at the start of the memory. */
  readonly size: number;
  readonly tables: number;
  readonly bitmap: number;
  readonly offsets: number;
  readonly kinds: number;
  readonly candidates: number;
  /** Records the offsets / kinds areas can hold. */
  readonly maxRecords: number;
  exports?: Exports;
  /** Byte offset of the type section the record table was made for (one BTF per arena). */
  scannedAt?: number;
}

const arenas = new WeakMap<ArrayBuffer, Arena>();

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * A WebAssembly memory for one BTF blob of `size` bytes, which the caller puts at its
 * start (writes, reads a file into it, or maps a file over it): returns the view of those
 * bytes. A `Btf.parse` of that view (or of a subarray holding the BTF) scans and searches
 * its records in WebAssembly. The memory's pages past the BTF are touched only as the
 * record table and searches use them.
 */
export function btfArena(size: number): Uint8Array {
  const maxRecords = Math.floor(size / RECORD_BYTES) + 1;
  const tables = align(size, WASM_PAGE);
  const bitmap = tables + 2 * KIND_SLOTS;
  const offsets = bitmap + (1 << FILTER_BITS) / 8;
  const kinds = offsets + 4 * (maxRecords + 1);
  const candidates = align(kinds + maxRecords + 1, 4);
  const pages = align(candidates + 4 * maxRecords, WASM_PAGE) / WASM_PAGE;
  const memory = newWasmMemory(pages * WASM_PAGE, { capped: true });
  const buffer = memory.buffer;
  const u8 = new Uint8Array(buffer);
  u8.set(FIXED_WORDS.subarray(0, KIND_SLOTS), tables);
  u8.set(WORDS_PER_VLEN.subarray(0, KIND_SLOTS), tables + KIND_SLOTS);
  arenas.set(buffer, { memory, buffer, size, tables, bitmap, offsets, kinds, candidates, maxRecords });
  return u8.subarray(0, size);
}

function instance(a: Arena): Exports {
  if (a.exports) return a.exports;
  const w = wasm();
  compiled ??= new w.Module(moduleBytes());
  a.exports = new w.Instance(compiled, { m: { m: a.memory } }).exports as unknown as Exports;
  return a.exports;
}

/** The arena holding `view` whole, for a walk worth doing in WebAssembly; else undefined. */
function arenaOf(view: ArrayBufferView): Arena | undefined {
  if (view.byteLength < WASM_MIN_BYTES) return undefined;
  const a = arenas.get(view.buffer as ArrayBuffer);
  return a && view.byteOffset + view.byteLength <= a.size ? a : undefined;
}

/**
 * records.ts's scanTypes in WebAssembly, when `w` (the type section's words, little-endian)
 * lies in an arena: the record count (or ~n at a bad record n, as scanTypes) and the record
 * table as views over the arena. Undefined otherwise: the caller walks in JavaScript.
 */
export function wasmScanTypes(w: Uint32Array, typeLen: number, strTotal: number): { r: number; offsets: Uint32Array; kinds: Uint8Array } | undefined {
  const a = arenaOf(w);
  if (!a || (a.scannedAt !== undefined && a.scannedAt !== w.byteOffset) || typeLen / RECORD_BYTES + 1 > a.maxRecords) return undefined;
  a.scannedAt = w.byteOffset;
  const end = typeLen >>> 2;
  let r = instance(a).scan(w.byteOffset, end, strTotal | 0, a.tables, a.offsets, a.kinds);
  const n = r < 0 ? ~r : r;
  const offsets = new Uint32Array(a.buffer, a.offsets, n + 1);
  if (r >= 0 && (offsets[n] !== end || (typeLen & 3) !== 0)) r = ~n; // a truncated record, or 1-3 stray bytes after the last one
  return { r, offsets, kinds: new Uint8Array(a.buffer, a.kinds, n) };
}

/** The filter's key of a name's first three bytes (fewer for a shorter name), hashed to a bit index. */
function prefixBit(b0: number, b1: number, b2: number): number {
  const key = b0 | (b1 === 0 ? 0 : (b1 << 8) | (b2 << 16));
  return Math.imul(key, PREFIX_HASH) >>> (32 - FILTER_BITS);
}

/**
 * The records whose name may match one of `queries` (UTF-8, non-empty, no NUL), ascending:
 * a superset the caller narrows by comparing bytes. Only for a record table made by
 * wasmScanTypes over the arena that holds `strings` (own string section bytes) too; else
 * undefined. `kind` >= 0: records of that kind only. Names in a base's strings (split BTF)
 * are always candidates.
 */
export function wasmCandidates(
  w: Uint32Array, offsets: Uint32Array, count: number, strings: Uint8Array, strStart: number,
  queries: readonly Uint8Array[], essential: boolean, kind: number,
): Uint32Array | undefined {
  const a = arenaOf(w);
  if (!a || a.scannedAt !== w.byteOffset || offsets.buffer !== a.buffer || offsets.byteOffset !== a.offsets || strings.buffer !== a.buffer) return undefined;
  const bits = new Uint8Array(a.buffer, a.bitmap, (1 << FILTER_BITS) / 8);
  bits.fill(0);
  const mark = (h: number) => { bits[h >>> 3]! |= 1 << (h & 7); };
  const UNDERSCORE = 0x5f;
  for (const q of queries) {
    mark(prefixBit(q[0]!, q[1] ?? 0, q.length > 2 ? q[2]! : 0));
    // q___flavour: a name whose essential name is a query shorter than three bytes goes on with underscores
    if (essential && q.length < 3) mark(prefixBit(q[0]!, q[1] ?? UNDERSCORE, UNDERSCORE));
  }
  const m = instance(a).filter(a.offsets, count, w.byteOffset, strings.byteOffset, strStart, a.bitmap, a.candidates, a.kinds, kind);
  return new Uint32Array(a.buffer, a.candidates, m);
}
