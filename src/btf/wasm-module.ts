/**
 * The assembler source of wasm-scan.ts's module: its two functions written as WebAssembly
 * instructions, byte by byte, with the text format in comments. Not used at run time
 * (wasm-scan.ts keeps the output as a literal, which test/unit/btf-wasm.test.ts checks
 * against `assembleModule()`): change the functions here, then paste the new
 * `Buffer.from(assembleModule()).toString('base64')` into MODULE_BASE64.
 *
 * The module imports its memory as m.m (the arena) and exports:
 *  - scan: records.ts's scanTypes (the record table of Btf.parse);
 *  - filter: the records whose name may match a search (names.ts compares the bytes).
 */
import { FILTER_BITS, KIND_SLOTS, PREFIX_HASH } from './wasm-scan.js';


const I32 = 0x7f;
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, load8: 0x2d, store: 0x36, store8: 0x3a, const: 0x41,
  eqz: 0x45, eq: 0x46, ne: 0x47, gtS: 0x4a, gtU: 0x4b, geU: 0x4f, ltU: 0x49,
  add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shrU: 0x76,
  void: 0x40,
} as const;

function leb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7; // signed: i32.const takes a signed LEB128; sizes and indices here are small and positive
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}
const uleb = (n: number): number[] => { const o: number[] = []; do { const b = n & 0x7f; n >>>= 7; o.push(n ? b | 0x80 : b); } while (n); return o; };
const get = (l: number) => [OP.get, l];
const set = (l: number) => [OP.set, l];
const k = (n: number) => [OP.const, ...leb(n)];
/** i32.load / load8_u / store / store8 with a static byte offset. */
const load = (off = 0) => [OP.load, 2, ...uleb(off)];
const load8 = (off = 0) => [OP.load8, 0, ...uleb(off)];
const store = () => [OP.store, 2, 0];
const store8 = () => [OP.store8, 0, 0];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

/**
 * scan(typeStart, end, strTotal, tables, offsets, kinds) -> count, or ~n at a bad record n.
 * The loop of records.ts's scanTypes: offsets[n] = word of record n, kinds[n] = its kind;
 * offsets[count] = the word where the walk stopped (the caller checks it is `end`).
 */
function scanBody(): number[] {
  const [typeStart, end, strTotal, tables, offsets, kinds] = [0, 1, 2, 3, 4, 5];
  const [n, pos, last, info, kind, fixed, next, at] = [6, 7, 8, 9, 10, 11, 12, 13];
  return [
    1, 8, I32, // eight i32 locals
    ...get(end), ...k(3), OP.sub, ...set(last), // last = end - 3 (a record is >= 3 words)
    OP.block, OP.void, OP.loop, OP.void,
    ...get(pos), ...get(last), OP.gtS, OP.brIf, 1, // while (pos <= last)
    ...get(offsets), ...get(n), ...k(2), OP.shl, OP.add, ...get(pos), ...store(), // offsets[n] = pos
    ...get(typeStart), ...get(pos), ...k(2), OP.shl, OP.add, OP.tee, at, ...load(4), ...set(info), // info = w[pos + 1]
    ...get(info), ...k(24), OP.shrU, ...k(KIND_SLOTS - 1), OP.and, ...set(kind),
    ...get(tables), ...get(kind), OP.add, ...load8(), ...set(fixed), // FIXED_WORDS[kind]
    // next = pos + fixed + vlen * WORDS_PER_VLEN[kind]
    ...get(pos), ...get(fixed), OP.add, ...get(info), ...k(0xffff), OP.and,
    ...get(tables), ...get(kind), OP.add, ...load8(KIND_SLOTS), OP.mul, OP.add, ...set(next),
    // invalid kind, past the end, or name offset out of range: return ~n
    ...get(fixed), ...k(0xff), OP.eq, ...get(next), ...get(end), OP.gtU, OP.or,
    ...get(at), ...load(), ...get(strTotal), OP.geU, OP.or,
    OP.if, OP.void, ...get(n), ...k(-1), OP.xor, OP.return, OP.end,
    ...get(kinds), ...get(n), OP.add, ...get(kind), ...store8(), // kinds[n] = kind
    ...get(n), ...k(1), OP.add, ...set(n),
    ...get(next), ...set(pos),
    OP.br, 0,
    OP.end, OP.end,
    ...get(offsets), ...get(n), ...k(2), OP.shl, OP.add, ...get(pos), ...store(), // offsets[n] = pos
    ...get(n), OP.end,
  ];
}

/**
 * filter(offsets, count, typeStart, strAt, strStart, bitmap, out, kinds, kind) -> m.
 * Writes to out[0..m) the records (ascending) whose name may match a query: the name's
 * first three bytes (fewer for a shorter name) hash to a bit set in `bitmap`, or the name
 * is in the base's strings (split BTF: below `strStart`, left to the caller). Only records
 * of kind `kind` when it is >= 0. The caller compares the candidates' names byte by byte.
 */
function filterBody(): number[] {
  const [offsets, count, typeStart, strAt, strStart, bitmap, out, kinds, kind] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, m, off, p, key, b, h] = [9, 10, 11, 12, 13, 14, 15];
  const emit = [...get(out), ...get(m), ...k(2), OP.shl, OP.add, ...get(i), ...store(), ...get(m), ...k(1), OP.add, ...set(m)];
  return [
    1, 7, I32,
    ...get(count), OP.eqz, OP.if, OP.void, ...k(0), OP.return, OP.end,
    OP.loop, OP.void,
    OP.block, OP.void, // br 0 = next record
    // of another kind: next record
    ...get(kind), ...k(-1), OP.ne, OP.if, OP.void,
    ...get(kinds), ...get(i), OP.add, ...load8(), ...get(kind), OP.ne, OP.brIf, 1,
    OP.end,
    // off = name_off of record i
    ...get(typeStart), ...get(offsets), ...get(i), ...k(2), OP.shl, OP.add, ...load(), ...k(2), OP.shl, OP.add, ...load(), OP.tee, off,
    ...get(strStart), OP.ltU, OP.if, OP.void, // a base string (or the empty name)
    ...get(off), OP.eqz, OP.brIf, 1,
    ...emit, OP.br, 1,
    OP.end,
    ...get(strAt), ...get(off), OP.add, ...get(strStart), OP.sub, OP.tee, p, ...load8(), OP.tee, key,
    OP.eqz, OP.brIf, 0, // empty name
    ...get(p), ...load8(1), OP.tee, b, OP.if, OP.void,
    ...get(key), ...get(b), ...k(8), OP.shl, OP.or, ...set(key),
    ...get(p), ...load8(2), OP.tee, b, OP.if, OP.void,
    ...get(key), ...get(b), ...k(16), OP.shl, OP.or, ...set(key),
    OP.end,
    OP.end,
    ...get(key), ...k(PREFIX_HASH), OP.mul, ...k(32 - FILTER_BITS), OP.shrU, OP.tee, h,
    ...k(3), OP.shrU, ...get(bitmap), OP.add, ...load8(), ...get(h), ...k(7), OP.and, OP.shrU, ...k(1), OP.and,
    OP.eqz, OP.brIf, 0,
    ...emit,
    OP.end,
    ...get(i), ...k(1), OP.add, OP.tee, i, ...get(count), OP.ltU, OP.brIf, 0,
    OP.end,
    ...get(m), OP.end,
  ];
}

const FN_SCAN = [0x60, 6, I32, I32, I32, I32, I32, I32, 1, I32];
const FN_FILTER = [0x60, 9, I32, I32, I32, I32, I32, I32, I32, I32, I32, 1, I32];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/** The module's bytes: imports memory m.m, exports scan and filter. */
export function assembleModule(): Uint8Array {
  const bodies = [scanBody(), filterBody()].map((b) => [...uleb(b.length), ...b]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
    ...section(1, vec([FN_SCAN, FN_FILTER])),
    ...section(2, vec([[...name('m'), ...name('m'), 0x02, 0x00, 0x00]])), // memory, at least 0 pages
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name('scan'), 0x00, 0], [...name('filter'), 0x00, 1]])),
    ...section(10, vec(bodies)),
  ]);
}
