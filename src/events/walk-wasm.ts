/**
 * The walks of walk.ts as a WebAssembly module, for rings whose pages are mapped into a
 * WebAssembly.Memory (sys/mmap.ts FixedMapping): the same loops with no typed-array checks
 * per record, at about the speed of libbpf's C loop. The module is a few hundred bytes
 * emitted by the small builder below (no toolchain, no dependency). Pure: no syscalls.
 *
 * Memory layout a WasmWalker expects (addresses in the Memory): a scratch area at `scratch`
 * (the walk's end and last offsets, then the batch's offsets and lengths), and the ring's data
 * at `data`. Offsets written to the batch are relative to `data`, like the JS walker's.
 */
import type { RingWalker } from './walk.js';

/** What is used of a WebAssembly.Memory (the project's lib settings carry no WebAssembly types). */
export interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Pages of a WebAssembly.Memory (64 KiB). */
export const WASM_PAGE = 65536;
/** The most bytes a 32-bit WebAssembly.Memory holds (65536 pages; one page is kept below the limit). */
export const WASM_MAX_BYTES = 2 ** 32 - WASM_PAGE;

/** Whether this runtime can run the walkers (WebAssembly present). */
export function wasmAvailable(): boolean { return wasmApi !== undefined; }

/** A new, never-grown WebAssembly.Memory of at least `bytes` bytes. */
export function newWasmMemory(bytes: number): WasmMemory {
  if (!wasmApi) throw new Error('WebAssembly is not available in this runtime');
  if (bytes > WASM_MAX_BYTES) throw new RangeError(`a WebAssembly.Memory of ${bytes} bytes is above the 4 GiB of a 32-bit memory`);
  return new wasmApi.Memory({ initial: Math.ceil(bytes / WASM_PAGE) });
}

// ---- a minimal WebAssembly binary builder (what the two functions below need)

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const FUNC = 0x60;
const EXTERN_FUNC = 0x00;
const EXTERN_MEMORY = 0x02;
const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
/** Opcodes (WebAssembly core spec, 5.4). */
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, br_if: 0x0d, void: 0x40,
  get: 0x20, set: 0x21, tee: 0x22,
  load: 0x28, load16u: 0x2f, store: 0x36, const: 0x41,
  ne: 0x47, lt_s: 0x48, lt_u: 0x49, gt_u: 0x4b, ge_u: 0x4f,
  add: 0x6a, sub: 0x6b, and: 0x71, shl: 0x74, shr_u: 0x76,
} as const;
const get = (i: number) => [OP.get, i];
const set = (i: number) => [OP.set, i];
const tee = (i: number) => [OP.tee, i];
const i32 = (v: number) => [OP.const, ...sleb(v)];
/** i32.load / i32.store with natural alignment (2^2) and a constant offset. */
const load = (offset = 0) => [OP.load, 2, ...uleb(offset)];
const store = (offset = 0) => [OP.store, 2, ...uleb(offset)];
const load16u = (offset: number) => [OP.load16u, 1, ...uleb(offset)];
/** Leaves the walk's loop (the `block` around it, one level out of the `loop`) when the top of stack is true. */
const breakIf = [OP.br_if, 1];

/** A function: params and locals are i32, the result is one i32. */
function func(params: number, locals: number, body: number[][]): { params: number; code: number[] } {
  const code = [...vec(locals > 0 ? [[...uleb(locals), I32]] : []), ...body.flat(), OP.end];
  return { params, code: [...uleb(code.length), ...code] };
}

/**
 * ringbuf(off, stop, max, offsets, lengths, data, res) -> n: see RingWalker.ringbuf; addresses
 * are absolute; res[0] = end, res[1] = last (absolute).
 */
function ringbufFunc() {
  const [OFF, STOP, MAX, OFFS, LENS, DATA, RES, N, W, LEN, LAST] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return func(7, 4, [
    get(OFF), set(LAST),
    [OP.block, OP.void, OP.loop, OP.void],
    [...get(N), ...get(MAX), OP.ge_u, ...breakIf],
    [...get(OFF), ...get(STOP), OP.ge_u, ...breakIf],
    // the length word: the sign bit is BPF_RINGBUF_BUSY_BIT (not committed yet)
    [...get(OFF), ...load(), ...tee(W), ...i32(0), OP.lt_s, ...breakIf],
    [...get(W), ...i32(0x3fffffff), OP.and, ...set(LEN)],
    // offsets[n] = off + BPF_RINGBUF_HDR_SZ - data; lengths[n] = len
    [...get(OFFS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(OFF), ...i32(8), OP.add, ...get(DATA), OP.sub, ...store()],
    [...get(LENS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(LEN), ...store()],
    // n += 1 - discard bit (a discarded record is overwritten by the next one)
    [...get(N), ...i32(1), OP.add, ...get(W), ...i32(30), OP.shr_u, OP.sub, ...set(N)],
    [...get(OFF), ...set(LAST)],
    [...get(OFF), ...get(LEN), ...i32(15), OP.add, ...i32(-8), OP.and, OP.add, ...set(OFF)],
    [OP.br, 0, OP.end, OP.end],
    [...get(RES), ...get(OFF), ...store(0), ...get(RES), ...get(LAST), ...store(4)],
    get(N),
  ]);
}

/**
 * perf(off, end, n, max, offsets, lengths, data, res) -> n: see RingWalker.perf, with `end`
 * the smaller of stop and the ring's end (absolute); res[0] = res[1] = where it stopped.
 */
function perfFunc() {
  const [OFF, END, N, MAX, OFFS, LENS, DATA, RES, SIZE, NEXT, LEN] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return func(8, 3, [
    [OP.block, OP.void, OP.loop, OP.void],
    [...get(N), ...get(MAX), OP.ge_u, ...breakIf],
    [...get(OFF), ...get(END), OP.ge_u, ...breakIf],
    // struct perf_event_header: type PERF_RECORD_SAMPLE (9) only
    [...get(OFF), ...load(), ...i32(9), OP.ne, ...breakIf],
    [...get(OFF), ...load16u(6), ...tee(SIZE), ...get(OFF), OP.add, ...set(NEXT)],
    // a sample with raw data takes at least 16 bytes, and ends inside the walk
    [...get(SIZE), ...i32(16), OP.lt_u, ...breakIf],
    [...get(NEXT), ...get(END), OP.gt_u, ...breakIf],
    // the u32 raw size: top bit clear, inside the record
    [...get(OFF), ...load(8), ...tee(LEN), ...i32(0), OP.lt_s, ...breakIf],
    [...get(LEN), ...i32(12), OP.add, ...get(SIZE), OP.gt_u, ...breakIf],
    [...get(OFFS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(OFF), ...i32(12), OP.add, ...get(DATA), OP.sub, ...store()],
    [...get(LENS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(LEN), ...store()],
    [...get(N), ...i32(1), OP.add, ...set(N)],
    [...get(NEXT), ...set(OFF)],
    [OP.br, 0, OP.end, OP.end],
    [...get(RES), ...get(OFF), ...store(0), ...get(RES), ...get(OFF), ...store(4)],
    get(N),
  ]);
}

/** The module's bytes: imports memory `m.mem`, exports `ringbuf` and `perf`. */
export function walkerModuleBytes(): Uint8Array {
  const fns = [ringbufFunc(), perfFunc()];
  const types = fns.map((f) => [FUNC, ...vec(new Array(f.params).fill([I32])), ...vec([[I32]])]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(SECTION.type, vec(types)),
    ...section(SECTION.import, vec([[...name('m'), ...name('mem'), EXTERN_MEMORY, 0x00, ...uleb(1)]])),
    ...section(SECTION.function, vec(fns.map((_, i) => uleb(i)))),
    ...section(SECTION.export, vec([[...name('ringbuf'), EXTERN_FUNC, 0], [...name('perf'), EXTERN_FUNC, 1]])),
    ...section(SECTION.code, vec(fns.map((f) => f.code))),
  ]);
}

let compiled: object | undefined;
/** The compiled module, shared by every walker (V8 tiers its code up once for all of them). */
function walkerModule(): object {
  if (!wasmApi) throw new Error('WebAssembly is not available in this runtime');
  return (compiled ??= new wasmApi.Module(walkerModuleBytes()));
}

interface WalkerExports {
  ringbuf(off: number, stop: number, max: number, offsets: number, lengths: number, data: number, res: number): number;
  perf(off: number, end: number, n: number, max: number, offsets: number, lengths: number, data: number, res: number): number;
}

/** Bytes of the scratch area before the batch arrays: the walk's end and last offsets. */
const RESULT_BYTES = 16;

/** Bytes a WasmWalker's scratch area takes for a batch of `capacity` records. */
export function walkerScratchBytes(capacity: number): number {
  return RESULT_BYTES + 8 * capacity;
}

/** The walks in WebAssembly, over a ring mapped into `memory` at `data`. */
export class WasmWalker implements RingWalker {
  readonly kind = 'wasm' as const;
  end = 0;
  last = 0;
  /** The batch's arrays, in the memory (where the walk writes them). */
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly #x: WalkerExports;
  readonly #res: Uint32Array;
  readonly #scratch: number;
  readonly #offsetsAt: number;
  readonly #lengthsAt: number;
  readonly #data: number;

  /**
   * @param memory the Memory holding the ring (never grown while the walker lives)
   * @param scratch address of walkerScratchBytes(capacity) bytes for the walker (4-aligned)
   * @param data address of the ring's data
   */
  constructor(memory: WasmMemory, scratch: number, capacity: number, data: number) {
    if (scratch % 4 !== 0 || data % 8 !== 0) throw new RangeError(`wasm walker: scratch ${scratch} or data ${data} misaligned`);
    if (scratch + walkerScratchBytes(capacity) > memory.buffer.byteLength) throw new RangeError('wasm walker: scratch area outside the memory');
    this.#x = new wasmApi!.Instance(walkerModule(), { m: { mem: memory } }).exports as unknown as WalkerExports;
    this.#res = new Uint32Array(memory.buffer, scratch, 2);
    this.#scratch = scratch;
    this.#offsetsAt = scratch + RESULT_BYTES;
    this.#lengthsAt = this.#offsetsAt + 4 * capacity;
    this.#data = data;
    this.offsets = new Uint32Array(memory.buffer, this.#offsetsAt, capacity);
    this.lengths = new Uint32Array(memory.buffer, this.#lengthsAt, capacity);
  }

  ringbuf(off: number, stop: number, max: number): number {
    const d = this.#data;
    if (max > this.offsets.length) max = this.offsets.length;
    const n = this.#x.ringbuf(d + off, d + stop, max, this.#offsetsAt, this.#lengthsAt, d, this.#scratch);
    this.end = this.#res[0]! - d;
    this.last = this.#res[1]! - d;
    return n;
  }

  perf(off: number, stop: number, n: number, max: number, size: number): number {
    const d = this.#data;
    if (max > this.offsets.length) max = this.offsets.length;
    const k = this.#x.perf(d + off, d + (stop < size ? stop : size), n, max, this.#offsetsAt, this.#lengthsAt, d, this.#scratch);
    this.end = this.last = this.#res[0]! - d;
    return k;
  }
}
