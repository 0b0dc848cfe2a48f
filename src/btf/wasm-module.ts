/**
 * The assembler source of wasm-scan.ts's module: its two functions written as WebAssembly
 * instructions (encoded by src/wasm/encode.ts, shared with src/events/walk-wasm.ts), with
 * the text format in comments. Not used at run time
 * (wasm-scan.ts keeps the output as a literal, which test/unit/btf-wasm.test.ts checks
 * against `assembleModule()`): change the functions here, then paste the new
 * `Buffer.from(assembleModule()).toString('base64')` into MODULE_BASE64.
 *
 * The module imports its memory as m.m (the arena) and exports:
 *  - scan: records.ts's scanTypes (the record table of Btf.parse);
 *  - filter: the records whose name may match a search (names.ts compares the bytes).
 */
import { OP, assemble, funcCode, funcExport, funcType, get, i32, load, load8u, memoryImport, set, store, store8 } from '../wasm/encode.js';
import { KIND_SLOTS } from './kinds.js';
import { FILTER_BITS, PREFIX_HASH } from './wasm-scan.js';

/**
 * scan(typeStart, end, strTotal, tables, offsets, kinds) -> count, or ~n at a bad record n.
 * The loop of records.ts's scanTypes: offsets[n] = word of record n, kinds[n] = its kind;
 * offsets[count] = the word where the walk stopped (the caller checks it is `end`).
 */
function scanBody(): number[] {
  const [typeStart, end, strTotal, tables, offsets, kinds] = [0, 1, 2, 3, 4, 5];
  const [n, pos, last, info, kind, fixed, next, at] = [6, 7, 8, 9, 10, 11, 12, 13];
  return funcCode(8, [ // eight i32 locals
    ...get(end), ...i32(3), OP.sub, ...set(last), // last = end - 3 (a record is >= 3 words)
    OP.block, OP.void, OP.loop, OP.void,
    ...get(pos), ...get(last), OP.gtS, OP.brIf, 1, // while (pos <= last)
    ...get(offsets), ...get(n), ...i32(2), OP.shl, OP.add, ...get(pos), ...store(), // offsets[n] = pos
    ...get(typeStart), ...get(pos), ...i32(2), OP.shl, OP.add, OP.tee, at, ...load(4), ...set(info), // info = w[pos + 1]
    ...get(info), ...i32(24), OP.shrU, ...i32(KIND_SLOTS - 1), OP.and, ...set(kind),
    ...get(tables), ...get(kind), OP.add, ...load8u(), ...set(fixed), // FIXED_WORDS[kind]
    // next = pos + fixed + vlen * WORDS_PER_VLEN[kind]
    ...get(pos), ...get(fixed), OP.add, ...get(info), ...i32(0xffff), OP.and,
    ...get(tables), ...get(kind), OP.add, ...load8u(KIND_SLOTS), OP.mul, OP.add, ...set(next),
    // invalid kind, past the end, or name offset out of range: return ~n
    ...get(fixed), ...i32(0xff), OP.eq, ...get(next), ...get(end), OP.gtU, OP.or,
    ...get(at), ...load(), ...get(strTotal), OP.geU, OP.or,
    OP.if, OP.void, ...get(n), ...i32(-1), OP.xor, OP.return, OP.end,
    ...get(kinds), ...get(n), OP.add, ...get(kind), ...store8(), // kinds[n] = kind
    ...get(n), ...i32(1), OP.add, ...set(n),
    ...get(next), ...set(pos),
    OP.br, 0,
    OP.end, OP.end,
    ...get(offsets), ...get(n), ...i32(2), OP.shl, OP.add, ...get(pos), ...store(), // offsets[n] = pos
    ...get(n),
  ]);
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
  const emit = [...get(out), ...get(m), ...i32(2), OP.shl, OP.add, ...get(i), ...store(), ...get(m), ...i32(1), OP.add, ...set(m)];
  return funcCode(7, [
    ...get(count), OP.eqz, OP.if, OP.void, ...i32(0), OP.return, OP.end,
    OP.loop, OP.void,
    OP.block, OP.void, // br 0 = next record
    // of another kind: next record
    ...get(kind), ...i32(-1), OP.ne, OP.if, OP.void,
    ...get(kinds), ...get(i), OP.add, ...load8u(), ...get(kind), OP.ne, OP.brIf, 1,
    OP.end,
    // off = name_off of record i
    ...get(typeStart), ...get(offsets), ...get(i), ...i32(2), OP.shl, OP.add, ...load(), ...i32(2), OP.shl, OP.add, ...load(), OP.tee, off,
    ...get(strStart), OP.ltU, OP.if, OP.void, // a base string (or the empty name)
    ...get(off), OP.eqz, OP.brIf, 1,
    ...emit, OP.br, 1,
    OP.end,
    ...get(strAt), ...get(off), OP.add, ...get(strStart), OP.sub, OP.tee, p, ...load8u(), OP.tee, key,
    OP.eqz, OP.brIf, 0, // empty name
    ...get(p), ...load8u(1), OP.tee, b, OP.if, OP.void,
    ...get(key), ...get(b), ...i32(8), OP.shl, OP.or, ...set(key),
    ...get(p), ...load8u(2), OP.tee, b, OP.if, OP.void,
    ...get(key), ...get(b), ...i32(16), OP.shl, OP.or, ...set(key),
    OP.end,
    OP.end,
    ...get(key), ...i32(PREFIX_HASH), OP.mul, ...i32(32 - FILTER_BITS), OP.shrU, OP.tee, h,
    ...i32(3), OP.shrU, ...get(bitmap), OP.add, ...load8u(), ...get(h), ...i32(7), OP.and, OP.shrU, ...i32(1), OP.and,
    OP.eqz, OP.brIf, 0,
    ...emit,
    OP.end,
    ...get(i), ...i32(1), OP.add, OP.tee, i, ...get(count), OP.ltU, OP.brIf, 0,
    OP.end,
    ...get(m),
  ]);
}

/** The module's bytes: imports memory m.m, exports scan and filter. */
export function assembleModule(): Uint8Array {
  return assemble({
    types: [funcType(6, 1), funcType(9, 1)],
    imports: [memoryImport('m', 'm', 0)], // at least 0 pages
    functions: [0, 1],
    exports: [funcExport('scan', 0), funcExport('filter', 1)],
    code: [scanBody(), filterBody()],
  });
}
