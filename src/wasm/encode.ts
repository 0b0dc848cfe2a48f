/**
 * The WebAssembly binary encoding (core spec, chapter 5) that the project's two hand-written
 * modules are built from: src/btf/wasm-module.ts (BTF record scan, name filter) and
 * src/events/walk-wasm.ts (ring buffer and perf walks). LEB128 numbers, vectors, names,
 * sections, the module header, value and function types, the opcodes those modules use and
 * the few instruction shapes they repeat. Pure: no imports, no WebAssembly API (runtime.ts).
 */

/** "\0asm" and version 1. */
export const MODULE_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** Section ids (5.5.2). */
export const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
/** Value type i32 (5.3.1). */
export const I32 = 0x7f;
/** The function type tag (5.3.6). */
export const FUNC = 0x60;
/** Import and export descriptor kinds (5.5.5, 5.5.10). */
export const EXTERN_FUNC = 0x00;
export const EXTERN_MEMORY = 0x02;
/** Opcodes (5.4); `void` is the empty block type. */
export const OP = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, void: 0x40,
  get: 0x20, set: 0x21, tee: 0x22,
  load: 0x28, load8u: 0x2d, load16u: 0x2f, store: 0x36, store8: 0x3a, const: 0x41,
  eqz: 0x45, eq: 0x46, ne: 0x47, ltS: 0x48, ltU: 0x49, gtS: 0x4a, gtU: 0x4b, geU: 0x4f,
  add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shrU: 0x76,
} as const;

/** Unsigned LEB128 (sizes, counts, indices, offsets). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const's operand). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A name: its length, then its bytes (ASCII here). */
export const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: id, byte size, body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** A function type of `params` i32 parameters and `results` i32 results. */
export const funcType = (params: number, results: number): number[] =>
  [FUNC, ...vec(new Array(params).fill([I32])), ...vec(new Array(results).fill([I32]))];
/** An import of a memory of at least `minPages` pages (no maximum). */
export const memoryImport = (module: string, field: string, minPages: number): number[] =>
  [...name(module), ...name(field), EXTERN_MEMORY, 0x00, ...uleb(minPages)];
/** An export of function `index`. */
export const funcExport = (field: string, index: number): number[] => [...name(field), EXTERN_FUNC, ...uleb(index)];
/** A code entry: its byte size, `locals` i32 locals, the instructions and the function's `end`. */
export function funcCode(locals: number, instructions: number[]): number[] {
  const code = [...vec(locals > 0 ? [[...uleb(locals), I32]] : []), ...instructions, OP.end];
  return [...uleb(code.length), ...code];
}

/** A module of the sections the project's modules have, in the spec's order. */
export function assemble(m: { types: number[][]; imports: number[][]; functions: number[]; exports: number[][]; code: number[][] }): Uint8Array {
  return Uint8Array.from([
    ...MODULE_HEADER,
    ...section(SECTION.type, vec(m.types)),
    ...section(SECTION.import, vec(m.imports)),
    ...section(SECTION.function, vec(m.functions.map(uleb))),
    ...section(SECTION.export, vec(m.exports)),
    ...section(SECTION.code, vec(m.code)),
  ]);
}

// ---- instruction shapes
export const get = (local: number): number[] => [OP.get, local];
export const set = (local: number): number[] => [OP.set, local];
export const tee = (local: number): number[] => [OP.tee, local];
export const i32 = (v: number): number[] => [OP.const, ...sleb(v)];
/** i32.load / i32.store with natural alignment (2^2) and a constant offset. */
export const load = (offset = 0): number[] => [OP.load, 2, ...uleb(offset)];
export const store = (offset = 0): number[] => [OP.store, 2, ...uleb(offset)];
/** i32.load8_u / i32.store8 (alignment 2^0), i32.load16_u (2^1), with a constant offset. */
export const load8u = (offset = 0): number[] => [OP.load8u, 0, ...uleb(offset)];
export const store8 = (offset = 0): number[] => [OP.store8, 0, ...uleb(offset)];
export const load16u = (offset = 0): number[] => [OP.load16u, 1, ...uleb(offset)];
