/**
 * The walks of walk.ts as a WebAssembly module, for rings whose pages are mapped into a
 * WebAssembly.Memory (sys/mmap.ts FixedMapping): the same loops with no typed-array checks
 * per record, at about the speed of libbpf's C loop. The module is a few hundred bytes
 * emitted by the functions below with src/wasm/encode.ts (no toolchain, no dependency). Pure:
 * no syscalls.
 *
 * Memory layout a WasmWalker expects (addresses in the Memory): a scratch area at `scratch`
 * (the walk's end and last offsets, then the batch's offsets and lengths), and the ring's data
 * at `data`. Offsets written to the batch are relative to `data`, like the JS walker's.
 */
import {
  OP, assemble, funcCode, funcExport, funcType, get, i32, load, memoryImport, set, store, tee,
} from '../wasm/encode.js';
import { wasm, type WasmMemory } from '../wasm/runtime.js';
import type { RingWalker } from './walk.js';

/** Branches out of the walk (the `block` around both loops) from the general step (one level in: its `loop`). */
const doneFromStep = [OP.brIf, 1];
/** The same from the run's loop (two levels in: the run's `loop`, the step's `loop`). */
const doneFromRun = [OP.brIf, 2];
/** Back to the general step from the run's loop (when the next record differs). */
const stepFromRun = [OP.brIf, 1];

/** A function: params and locals are i32, the result is one i32. */
function func(params: number, locals: number, body: number[][]): { params: number; code: number[] } {
  return { params, code: funcCode(locals, body.flat()) };
}

/**
 * Each walk is the general step (one record, checked), then the run's loop (records with the
 * same header, see RUNS in walk.ts).
 *
 * ringbuf(off, stop, max, offsets, lengths, data, res) -> n: see RingWalker.ringbuf; addresses
 * are absolute; res[0] = end, res[1] = last (absolute).
 */
function ringbufFunc() {
  const [OFF, STOP, MAX, OFFS, LENS, DATA, RES, N, W, LEN, LAST, STRIDE, INC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  /** offsets[n] = off + BPF_RINGBUF_HDR_SZ - data; lengths[n] = len; n += inc; last = off; off += stride */
  const take = [
    [...get(OFFS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(OFF), ...i32(8), OP.add, ...get(DATA), OP.sub, ...store()],
    [...get(LENS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(LEN), ...store()],
    [...get(N), ...get(INC), OP.add, ...set(N)],
    [...get(OFF), ...set(LAST)],
    [...get(OFF), ...get(STRIDE), OP.add, ...set(OFF)],
  ];
  return func(7, 6, [
    get(OFF), set(LAST),
    [OP.block, OP.void, OP.loop, OP.void],
    // the general step
    [...get(N), ...get(MAX), OP.geU, ...doneFromStep],
    [...get(OFF), ...get(STOP), OP.geU, ...doneFromStep],
    // the length word: the sign bit is BPF_RINGBUF_BUSY_BIT (not committed yet)
    [...get(OFF), ...load(), ...tee(W), ...i32(0), OP.ltS, ...doneFromStep],
    [...get(W), ...i32(0x3fffffff), OP.and, ...set(LEN)],
    // a record takes (len + 8 + 7) & ~7 bytes; n += 1 - discard bit (a discarded record is overwritten by the next one)
    [...get(LEN), ...i32(15), OP.add, ...i32(-8), OP.and, ...set(STRIDE)],
    [...i32(1), ...get(W), ...i32(30), OP.shrU, OP.sub, ...set(INC)],
    ...take,
    // the run: records whose length word is W (so neither busy nor of another size)
    [OP.loop, OP.void],
    [...get(N), ...get(MAX), OP.geU, ...doneFromRun],
    [...get(OFF), ...get(STOP), OP.geU, ...doneFromRun],
    [...get(OFF), ...load(), ...get(W), OP.ne, ...stepFromRun],
    ...take,
    [OP.br, 0, OP.end],
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
  const [OFF, END, N, MAX, OFFS, LENS, DATA, RES, SIZE, NEXT, LEN, H1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  /** offsets[n] = off + 12 - data; lengths[n] = len; n += 1; off += size */
  const take = [
    [...get(OFFS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(OFF), ...i32(12), OP.add, ...get(DATA), OP.sub, ...store()],
    [...get(LENS), ...get(N), ...i32(2), OP.shl, OP.add, ...get(LEN), ...store()],
    [...get(N), ...i32(1), OP.add, ...set(N)],
    [...get(OFF), ...get(SIZE), OP.add, ...set(OFF)],
  ];
  return func(8, 4, [
    [OP.block, OP.void, OP.loop, OP.void],
    // the general step
    [...get(N), ...get(MAX), OP.geU, ...doneFromStep],
    [...get(OFF), ...get(END), OP.geU, ...doneFromStep],
    // struct perf_event_header: type PERF_RECORD_SAMPLE (9) only; misc and size in the next word
    [...get(OFF), ...load(), ...i32(9), OP.ne, ...doneFromStep],
    [...get(OFF), ...load(4), ...tee(H1), ...i32(16), OP.shrU, ...tee(SIZE), ...get(OFF), OP.add, ...set(NEXT)],
    // a sample with raw data takes at least 16 bytes, and ends inside the walk
    [...get(SIZE), ...i32(16), OP.ltU, ...doneFromStep],
    [...get(NEXT), ...get(END), OP.gtU, ...doneFromStep],
    // the u32 raw size: top bit clear, inside the record
    [...get(OFF), ...load(8), ...tee(LEN), ...i32(0), OP.ltS, ...doneFromStep],
    [...get(LEN), ...i32(12), OP.add, ...get(SIZE), OP.gtU, ...doneFromStep],
    ...take,
    // the run: samples with the same header and raw size, each ending inside the walk
    [OP.loop, OP.void],
    [...get(N), ...get(MAX), OP.geU, ...doneFromRun],
    [...get(OFF), ...get(SIZE), OP.add, ...get(END), OP.gtU, ...stepFromRun],
    [...get(OFF), ...load(), ...i32(9), OP.ne, ...stepFromRun],
    [...get(OFF), ...load(4), ...get(H1), OP.ne, ...stepFromRun],
    [...get(OFF), ...load(8), ...get(LEN), OP.ne, ...stepFromRun],
    ...take,
    [OP.br, 0, OP.end],
    [OP.br, 0, OP.end, OP.end],
    [...get(RES), ...get(OFF), ...store(0), ...get(RES), ...get(OFF), ...store(4)],
    get(N),
  ]);
}

/** The module's bytes: imports memory `m.mem`, exports `ringbuf` and `perf`. */
export function walkerModuleBytes(): Uint8Array {
  const fns = [ringbufFunc(), perfFunc()];
  return assemble({
    types: fns.map((f) => funcType(f.params, 1)),
    imports: [memoryImport('m', 'mem', 1)],
    functions: fns.map((_, i) => i),
    exports: [funcExport('ringbuf', 0), funcExport('perf', 1)],
    code: fns.map((f) => f.code),
  });
}

let compiled: object | undefined;
/** The compiled module, shared by every walker (V8 tiers its code up once for all of them). */
function walkerModule(): object {
  return (compiled ??= new (wasm().Module)(walkerModuleBytes()));
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
    this.#x = new (wasm().Instance)(walkerModule(), { m: { mem: memory } }).exports as unknown as WalkerExports;
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
