/**
 * The hot loops of the two ring consumers, over typed arrays: the common case of a walk (a
 * run of plain records that need no copy), with everything unusual left to the consumer's
 * general loop (ringbuf.ts, perf-ring.ts). The same loops exist as WebAssembly (walk-wasm.ts)
 * for rings mapped into a WebAssembly.Memory; both implement RingWalker. Pure: no syscalls.
 *
 * The constants of the ring layouts are written as literals in the loops: a module binding
 * (an import, or a `var` of the bundle) is a memory load and a check per use in V8's
 * optimised code, where a literal is an immediate. test/unit/events-ring.test.ts checks them
 * against abi.ts.
 */

/**
 * Which walker a reader's consumers use: 'wasm' maps the rings into a WebAssembly.Memory and
 * walks them there (x86-64), 'js' walks views of ordinary mappings, 'auto' (the default)
 * takes 'wasm' where it can and 'js' otherwise.
 */
export type WalkerChoice = 'auto' | 'js' | 'wasm';

/** Where a walk stopped: the offset after the last record walked, and that record's offset. */
export interface WalkEnd {
  end: number;
  last: number;
}

/**
 * One consumer's fast walks. Offsets are byte offsets in the consumer's data view; records
 * go into the batch's `offsets` (the record data's offset) and `lengths` arrays from index 0.
 */
export interface RingWalker extends WalkEnd {
  /** Which implementation: 'js' or 'wasm'. */
  readonly kind: 'js' | 'wasm';
  /**
   * A BPF ring buffer mapped twice in a row (no record wraps): records from `off` while
   * `off < stop` and fewer than `max` are taken; a busy record (not committed yet) ends the
   * walk; discarded records are walked and not taken. Returns the count; `end` is the offset
   * after the last record walked, `last` that record's offset. The last record may run past
   * `stop` (the consumer checks it against producer_pos).
   */
  ringbuf(off: number, stop: number, max: number): number;
  /**
   * A perf buffer of `size` bytes mapped once: PERF_RECORD_SAMPLE records from `off` while
   * `off < stop` and the count is below `max`, written from index `n` on; the walk ends
   * before any other record type, a record that crosses the ring's end or `stop`, or one
   * whose sizes make no sense (the consumer's general loop deals with it). Returns the new
   * count; `end` is where it stopped.
   */
  perf(off: number, stop: number, n: number, max: number, size: number): number;
}

/** The walks in JavaScript, over views of the data and of the batch's arrays. */
export class JsWalker implements RingWalker {
  readonly kind = 'js' as const;
  end = 0;
  last = 0;
  readonly #words: Int32Array;
  readonly #offsets: Uint32Array;
  readonly #lengths: Uint32Array;

  constructor(words: Int32Array, offsets: Uint32Array, lengths: Uint32Array) {
    this.#words = words;
    this.#offsets = offsets;
    this.#lengths = lengths;
  }

  ringbuf(off: number, stop: number, max: number): number {
    return ringbufWalk(this, this.#words, this.#offsets, this.#lengths, off, stop, max);
  }

  perf(off: number, stop: number, n: number, max: number, size: number): number {
    return perfWalk(this, this.#words, this.#offsets, this.#lengths, off, stop, n, max, size);
  }
}

// RUNS. After the general step has checked one record in full, each walk takes the records
// that follow for as long as their header words are the same as that record's: for a ring
// buffer the same length word (the same length and discard bit, and not busy), for a perf
// buffer a PERF_RECORD_SAMPLE with the same misc / size word and the same raw size. Such a
// record passes every check the step made, so a comparison replaces them, and its address
// comes from a constant stride instead of waiting for the previous header's load. max,
// stop and (perf) the ring's end are checked in the run as in the step; the first record
// that differs goes back to the general step. walk-wasm.ts has the same two loops.

/**
 * One length word per record: the sign bit is BPF_RINGBUF_BUSY_BIT, bit 30
 * BPF_RINGBUF_DISCARD_BIT, the rest the length; a record takes (len + 8 + 7) & ~7 bytes
 * (BPF_RINGBUF_HDR_SZ, 8-aligned) and its data starts 8 bytes in. x86-64 keeps loads in
 * order (see TSO in batch.ts): the consumer uses this loop only there.
 */
function ringbufWalk(at: WalkEnd, words: Int32Array, offsets: Uint32Array, lengths: Uint32Array, off: number, stop: number, max: number): number {
  let n = 0;
  let last = off;
  step: while (n < max && off < stop) {
    const word = words[off >>> 2]!;
    if (word < 0) break; // busy: not committed yet
    const len = word & 0x3fffffff;
    const stride = (len + 15) & ~7;
    const inc = 1 - (word >>> 30); // a discarded record is overwritten by the next one
    offsets[n] = off + 8;
    lengths[n] = len;
    n += inc;
    last = off;
    off += stride;
    // the run: records whose length word is `word` (see RUNS)
    while (n < max && off < stop) {
      if (words[off >>> 2] !== word) continue step;
      offsets[n] = off + 8;
      lengths[n] = len;
      n += inc;
      last = off;
      off += stride;
    }
    break;
  }
  at.end = off;
  at.last = last;
  return n;
}

/**
 * struct perf_event_header { u32 type; u16 misc; u16 size; }, then for PERF_RECORD_SAMPLE (9)
 * with PERF_SAMPLE_RAW the u32 raw size and the raw data (12 bytes in).
 */
function perfWalk(at: WalkEnd, words: Int32Array, offsets: Uint32Array, lengths: Uint32Array, off: number, stop: number, n: number, max: number, size: number): number {
  const end = stop < size ? stop : size;
  step: while (n < max && off < end) {
    const i = off >>> 2;
    if (words[i] !== 9) break; // not a sample
    const head = words[i + 1]!; // misc, and size in the high half
    const recSize = head >>> 16;
    const next = off + recSize;
    // a sample with raw data takes at least 16 bytes (header, size word, data padded to 8)
    if (recSize < 16 || next > end) break;
    const len = words[i + 2]!;
    if (len < 0 || len + 12 > recSize) break;
    offsets[n] = off + 12;
    lengths[n] = len;
    n++;
    off = next;
    // the run: samples with the same header and raw size (see RUNS)
    while (n < max) {
      const j = off >>> 2;
      if (off + recSize > end || words[j] !== 9 || words[j + 1] !== head || words[j + 2] !== len) continue step;
      offsets[n] = off + 12;
      lengths[n] = len;
      n++;
      off += recSize;
    }
    break;
  }
  at.end = off;
  at.last = off;
  return n;
}
