/**
 * What both ring consumers hand out: a RecordBatch, the offsets and lengths of a run of
 * records written into typed arrays by one tight loop over the ring (ringbuf.ts,
 * perf-ring.ts), so that a reader makes ONE call per batch instead of one per record.
 * Pure: no syscalls.
 *
 * A batch is always one contiguous stretch of `bytes`: records[i] is
 * `bytes[offsets[i], offsets[i] + lengths[i])`, and the offsets grow with i. A ring buffer
 * mapped twice in a row lets a batch run on into the second mapping; a ring mapped once
 * (a perf buffer) ends a batch at the ring's end, and a record that wraps there comes alone
 * in a batch whose `bytes` is a scratch copy.
 */
import { TsbpfError } from '../errors.js';
import { EventsError } from './errors.js';

/** The ring's contents make no sense (a record longer than what was produced, a zero-size record). */
export class RingError extends TsbpfError {}

/**
 * Called once per record with its bytes: `bytes[start, start + length)`, a view of the ring
 * (or of a scratch copy) valid only during the call: copy what you keep. `cpu` is the
 * batch's (perf buffers) or undefined (ring buffers).
 */
export type RecordVisitor = (bytes: Uint8Array, start: number, length: number, cpu: number | undefined) => void;

/**
 * Records per batch by default: 4096 records of 64 bytes are 288 KiB of ring, inside L2 (the
 * callback reads them right after the walk did), and the fixed cost of a batch (a call into
 * the walker, the positions, the callback's call) is spread over more records than with 1024
 * (bench/README.md, events: 1.2-1.4 ns a record less on a 128 MiB ring).
 */
export const DEFAULT_BATCH_RECORDS = 4096;
/** The most records a batch may hold (its arrays take 8 bytes a record). */
export const MAX_BATCH_RECORDS = 1 << 20;

/** opts.batchRecords (EventReaderOptions, PerfBufferOptions), checked (an integer from 1 to MAX_BATCH_RECORDS), or the default. */
export function batchRecordsOf(opts: { batchRecords?: number }): number {
  const n = opts.batchRecords ?? DEFAULT_BATCH_RECORDS;
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_RECORDS) {
    throw new EventsError(`event reader: batchRecords ${n} must be an integer from 1 to ${MAX_BATCH_RECORDS}`, {}, { reason: 'options' });
  }
  return n;
}

/**
 * A run of records, reused from one batch to the next: read it inside the call that hands
 * it out, copy what you keep. Its views go dead (zero-length or zero pages) once the reader
 * closes.
 */
export class RecordBatch {
  /** Records in the batch. */
  count = 0;
  /** records[i] starts at bytes[offsets[i]]: always a multiple of 4 (words[offsets[i] >>> 2] is its first 4 bytes). */
  readonly offsets: Uint32Array;
  /** records[i] is lengths[i] bytes long (perf buffers: the kernel's padded raw size). */
  readonly lengths: Uint32Array;
  /** The ring's data (zero copy), or a scratch copy of one wrapped record. */
  bytes: Uint8Array;
  /** `bytes` as host-order 32-bit words. */
  words: Uint32Array;
  /** `bytes` as a DataView (getUint32(offsets[i], true)...). */
  view: DataView;
  /** The CPU whose perf buffer holds the batch; undefined for ring buffers. */
  readonly cpu: number | undefined;
  /** The map's name, set by the reader (empty for a bare consumer). */
  map = '';

  /** `arrays`: where offsets and lengths live (a WebAssembly walker's memory); new arrays otherwise. */
  constructor(capacity: number, bytes: Uint8Array, cpu?: number, arrays?: { offsets: Uint32Array; lengths: Uint32Array }) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TsbpfError(`record batch: capacity ${capacity} is not a positive integer`);
    if (arrays && (arrays.offsets.length !== capacity || arrays.lengths.length !== capacity)) throw new TsbpfError(`record batch: arrays of ${arrays.offsets.length} records for a capacity of ${capacity}`);
    this.offsets = arrays?.offsets ?? new Uint32Array(capacity);
    this.lengths = arrays?.lengths ?? new Uint32Array(capacity);
    this.bytes = bytes;
    this.words = wordsOf(bytes);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.cpu = cpu;
  }

  /** Points the batch at other bytes (the ring, a scratch copy, or nothing once detached). */
  use(bytes: Uint8Array, words: Uint32Array, view: DataView): void {
    this.bytes = bytes;
    this.words = words;
    this.view = view;
  }

  /** A copy of the batch's stretch of bytes: records[i] is at `offsets[i] - offsets[0]` in it. */
  copy(): ArrayBuffer {
    if (this.count === 0) return new ArrayBuffer(0);
    const b = this.bytes;
    const from = this.offsets[0]!;
    const to = this.offsets[this.count - 1]! + this.lengths[this.count - 1]!;
    return b.buffer.slice(b.byteOffset + from, b.byteOffset + to) as ArrayBuffer;
  }
}

/** A Uint32Array over the same bytes (their start must be 4-aligned; a trailing partial word is left out). */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

/** A growable, 8-aligned scratch area for a record that wraps in a ring mapped once, with its views. */
export class Scratch {
  bytes: Uint8Array = Buffer.alloc(0);
  words: Uint32Array = new Uint32Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));

  /** ring[from, from + len) of a ring of `size` bytes, wrapped, copied to the start of the scratch. */
  wrapped(ring: Uint8Array, size: number, from: number, len: number): void {
    if (this.bytes.length < len) {
      // a Buffer of its own (not from the pool): aligned, and `bytes` stays a Buffer as the ring's views are
      this.bytes = Buffer.from(new ArrayBuffer(Math.max(256, (len + 7) & ~7)));
      this.words = wordsOf(this.bytes);
      this.view = new DataView(this.bytes.buffer);
    }
    if (from >= size) from -= size;
    const first = Math.min(size - from, len);
    this.bytes.set(ring.subarray(from, from + first), 0);
    if (first < len) this.bytes.set(ring.subarray(0, len - first), first);
  }
}

/** The batch side of a ring consumer (RingbufConsumer, PerfConsumer). */
export interface BatchRing {
  readonly batch: RecordBatch;
  /** Records handed out so far (counted by consumeRecords, eachBatch and takeCopies). */
  records: number;
  readonly detached: boolean;
  /** Fills `batch` with up to `max` records from where the last release() got to; returns the count. */
  next(max?: number, maxBytes?: number): number;
  /** Hands the space of the batch's first `count` records (default all) back to the kernel. */
  release(count?: number): void;
}

/**
 * Visits up to `max` records of `ring`, one call each, batch by batch; each batch is released
 * once its records are visited. A visitor that throws: its record counts as read (as in
 * libbpf), the ones after it stay. A visitor that detaches the ring ends the loop at once,
 * with no further read or write of the ring. Returns the number of records visited.
 */
export function consumeRecords(ring: BatchRing, visit: RecordVisitor, max: number): number {
  const b = ring.batch;
  let n = 0;
  while (n < max) {
    const k = ring.next(Math.min(max - n, b.offsets.length));
    if (k === 0) break;
    const { bytes, offsets, lengths, cpu } = b;
    let i = 0;
    let threw = true;
    try {
      while (i < k) {
        visit(bytes, offsets[i]!, lengths[i]!, cpu);
        i++;
        if (ring.detached) break;
      }
      threw = false;
    } finally {
      const done = threw ? i + 1 : i; // a visitor that threw: its record counts as read
      ring.records += done;
      if (!ring.detached) ring.release(done);
    }
    if (i < k) return n + i;
    n += k;
  }
  return n;
}

/**
 * x86-64 keeps loads in program order (TSO), and V8 keeps typed-array loads in program order
 * on its effect chain, so a plain load of a record's length word already has the acquire
 * order the ring needs, and costs a third of an Atomics.load per record. Elsewhere (arm64...)
 * the length word is read with Atomics.load.
 */
export const TSO = typeof process !== 'undefined' && process.arch === 'x64';

export function checkRingSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 8 || !Number.isInteger(Math.log2(size)))
    throw new TsbpfError(`${what}: ring size ${size} is not a power of two of at least 8 bytes`);
}
