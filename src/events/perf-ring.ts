/**
 * Read side of one CPU's perf buffer (a PERF_COUNT_SW_BPF_OUTPUT event with sample_type
 * PERF_SAMPLE_RAW), over typed arrays (pure: the reader hands in views of the kernel's
 * mapping, the unit tests plain ArrayBuffers). Samples come out in batches with their raw
 * data (its length is the kernel's, padded so that the record is 8-aligned: up to 7 bytes
 * past what the program sent); PERF_RECORD_LOST counts go to `lost`; other record types are
 * skipped. The data is mapped once: a batch ends at the ring's end, and a sample that wraps
 * there comes alone in a batch of a scratch copy.
 */
import { TsbpfError } from '../errors.js';
import {
  PERF_MMAP_DATA_HEAD, PERF_MMAP_DATA_TAIL, PERF_EVENT_HEADER_SIZE, PERF_EVENT_HEADER_SIZE_OFFSET,
  PERF_RECORD_LOST, PERF_RECORD_SAMPLE, PERF_LOST_COUNT_OFFSET, PERF_SAMPLE_RAW_DATA_OFFSET,
} from './abi.js';
import { JsWalker, type RingWalker } from './walk.js';
import type { WasmWalker } from './walk-wasm.js';
import {
  DEFAULT_BATCH_RECORDS, RecordBatch, RingError, Scratch, checkRingSize, consumeRecords, wordsOf,
  type BatchRing, type RecordVisitor,
} from './batch.js';

const HEAD = PERF_MMAP_DATA_HEAD / 8;
const TAIL = PERF_MMAP_DATA_TAIL / 8;
/** The word holding misc (low half) and size (high half) of struct perf_event_header. */
const SIZE_WORD_OFFSET = PERF_EVENT_HEADER_SIZE_OFFSET - 2;
/** The u32 raw size of a PERF_SAMPLE_RAW sample follows the header. */
const RAW_SIZE_OFFSET = PERF_EVENT_HEADER_SIZE;

export class PerfConsumer implements BatchRing {
  readonly size: number;
  /** The samples next() found: reused from one call to the next. */
  readonly batch: RecordBatch;
  /** Records handed out so far. */
  records = 0;
  /** Records the kernel could not write because the buffer was full (sum of PERF_RECORD_LOST). */
  lost = 0;
  /** Called with each PERF_RECORD_LOST count as next() passes it (once per record, also when it is walked again). */
  onLost: ((n: number) => void) | undefined;
  #meta: BigUint64Array;
  #data: Uint8Array;
  #words: Uint32Array;
  #view: DataView;
  /** data_tail as last written, and its offset in the data. */
  #tail: number;
  #tailOff: number;
  /** Where the last next() stopped: position, and offset in the batch's bytes. */
  #endPos: number;
  #endOff = 0;
  /** Lost records before this position are counted already (next() may walk them again). */
  #lostTo: number;
  #detached = false;
  #scratch = new Scratch();
  #walker: RingWalker;

  /**
   * @param meta a view over the struct perf_event_mmap_page (at least up to data_tail)
   * @param data the data pages (data_size bytes, a power of two)
   * @param cpu the CPU the buffer belongs to (labels the batches)
   * @param batchRecords the most samples one batch holds
   * @param wasm a walker over the WebAssembly.Memory that holds `data` (walk-wasm.ts), with the batch's arrays
   */
  constructor(meta: BigUint64Array, data: Uint8Array, cpu?: number, batchRecords = DEFAULT_BATCH_RECORDS, wasm?: WasmWalker) {
    checkRingSize(data.length, 'perf buffer');
    if (data.byteOffset % 8 !== 0) throw new TsbpfError('perf buffer: data view not 8-byte aligned');
    if (meta.length * 8 < PERF_MMAP_DATA_TAIL + 8) throw new TsbpfError('perf buffer: the metadata view ends before data_tail');
    this.size = data.length;
    this.#meta = meta;
    this.#data = data;
    this.batch = new RecordBatch(batchRecords, data, cpu, wasm);
    this.#words = this.batch.words;
    this.#walker = wasm ?? new JsWalker(new Int32Array(data.buffer, data.byteOffset, data.length >>> 2), this.batch.offsets, this.batch.lengths);
    this.#view = this.batch.view;
    this.#tail = this.#endPos = this.#lostTo = Number(Atomics.load(meta, TAIL));
    this.#tailOff = this.#tail % this.size;
  }

  get detached(): boolean { return this.#detached; }

  /** Never touch the memory again (the reader is about to unmap it). */
  detach(): void {
    this.#detached = true;
    this.#data = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#meta = new BigUint64Array(TAIL + 1);
    this.#walker = new JsWalker(new Int32Array(0), new Uint32Array(0), new Uint32Array(0));
    this.batch.count = 0;
    this.batch.use(this.#data, wordsOf(this.#data), new DataView(this.#data.buffer));
  }

  /** The short loop next() takes first: 'js' or 'wasm'. */
  get walker(): 'js' | 'wasm' { return this.#walker.kind; }

  /** data_tail as this consumer last wrote it (or found it). */
  get position(): number { return this.#tail; }

  /** Bytes written by the kernel past data_tail. */
  available(): number {
    if (this.#detached) return 0;
    return Number(Atomics.load(this.#meta, HEAD)) - this.#tail;
  }

  /**
   * Fills `batch` with the samples from data_tail on, in order: at most `max` (and the
   * batch's capacity), and no more once `maxBytes` of the ring are walked. PERF_RECORD_LOST
   * records add to `lost` (and call onLost) the first time they are walked. Returns the
   * count. Nothing is handed back to the kernel until release(). A record that makes no
   * sense is a RingError (after the samples before it were handed out).
   */
  next(max = Infinity, maxBytes = Infinity): number {
    const b = this.batch;
    b.count = 0;
    if (this.#detached) return 0;
    const offsets = b.offsets;
    const lengths = b.lengths;
    if (max > offsets.length) max = offsets.length;
    const size = this.size;
    const words = this.#words;
    const start = this.#tail;
    // data_head with acquire order (the kernel's smp_rmb() pairing): the records before it are there
    const avail = Number(Atomics.load(this.#meta, HEAD)) - start;
    const budget = avail < maxBytes ? avail : maxBytes;
    b.use(this.#data, words, this.#view);
    let off = this.#tailOff;
    let used = 0;
    let n = 0;
    let endOff = -1;
    const walker = this.#walker;
    while (n < max && used < budget) {
      // the common case first: a run of samples in one piece (walk.ts)
      const k = walker.perf(off, off + (budget - used), n, max, size);
      if (k > n) {
        used += walker.end - off;
        off = walker.end;
        n = k;
        if (off >= size || n >= max || used >= budget) break; // at the ring's end a batch stays contiguous
      }
      const type = words[off >>> 2]!;
      const recSize = words[(off + SIZE_WORD_OFFSET) >>> 2]! >>> 16;
      if (recSize < PERF_EVENT_HEADER_SIZE || recSize > avail - used) {
        if (n > 0) break;
        throw new RingError(`perf buffer: a record of ${recSize} bytes at position ${start + used} (head ${start + avail})`);
      }
      const end = off + recSize;
      if (end > size) {
        // the record crosses the end of the ring
        if (n > 0) break;
        if (type === PERF_RECORD_SAMPLE) {
          const len = this.#rawSize(off, recSize, start + used);
          const s = this.#scratch;
          s.wrapped(this.#data, size, off + PERF_SAMPLE_RAW_DATA_OFFSET, len);
          b.use(s.bytes, s.words, s.view);
          offsets[0] = 0;
          lengths[0] = len;
          n = 1;
          endOff = len;
        } else if (type === PERF_RECORD_LOST && !this.#countLost(off, start + used, recSize)) return 0;
        used += recSize;
        off = end - size;
        if (n > 0) break;
        continue;
      }
      if (type === PERF_RECORD_SAMPLE) {
        const len = words[(off + RAW_SIZE_OFFSET) >>> 2]!;
        if (len + PERF_SAMPLE_RAW_DATA_OFFSET > recSize) {
          if (n > 0) break;
          this.#rawSize(off, recSize, start + used); // throws
        }
        offsets[n] = off + PERF_SAMPLE_RAW_DATA_OFFSET;
        lengths[n] = len;
        n++;
      } else if (type === PERF_RECORD_LOST && !this.#countLost(off, start + used, recSize)) return 0;
      used += recSize;
      off = end;
      if (off >= size) {
        // the ring's end: a batch stays contiguous, the next one starts at 0
        if (n > 0) break;
        off = 0;
      }
    }
    this.#endPos = start + used;
    this.#endOff = endOff < 0 ? off : endOff;
    b.count = n;
    if (n === 0 && used > 0) this.release(0, true); // only lost (or other) records: their space goes back now
    return n;
  }

  /** The raw size of the sample at `off` (its size word may wrap), checked against its record. */
  #rawSize(off: number, recSize: number, pos: number): number {
    const len = this.#words[((off + RAW_SIZE_OFFSET) & (this.size - 1)) >>> 2]!;
    if (len + PERF_SAMPLE_RAW_DATA_OFFSET > recSize) throw new RingError(`perf buffer: a sample of ${len} raw bytes in a record of ${recSize} at position ${pos}`);
    return len;
  }

  /** Adds a PERF_RECORD_LOST's count (once per record); false when onLost detached the ring. */
  #countLost(off: number, pos: number, recSize: number): boolean {
    if (pos < this.#lostTo) return true;
    this.#lostTo = pos + recSize;
    const w = ((off + PERF_LOST_COUNT_OFFSET) & (this.size - 1)) >>> 2;
    const count = this.#words[w]! + this.#words[w + 1]! * 2 ** 32;
    this.lost += count;
    this.onLost?.(count);
    return !this.#detached;
  }

  /**
   * Writes data_tail past the batch's first `count` samples (default: the whole batch, with
   * the other records after it), a full barrier (the smp_mb() the kernel asks for): the
   * kernel may reuse that space.
   */
  release(count = this.batch.count, all = count >= this.batch.count): void {
    if (this.#detached) return;
    let pos = this.#endPos;
    if (!all) {
      if (count <= 0) return;
      const b = this.batch;
      pos -= this.#endOff - (b.offsets[count - 1]! + b.lengths[count - 1]!);
    }
    if (pos === this.#tail) return;
    this.#tail = pos;
    this.#tailOff = pos % this.size;
    Atomics.store(this.#meta, TAIL, BigInt(pos));
  }

  /**
   * Visits up to `max` samples in order, one call each (batch by batch, each released once
   * visited). A visitor that throws: its sample counts as read. Returns the count.
   */
  consume(visit: RecordVisitor, max = Infinity): number {
    return consumeRecords(this, visit, max);
  }
}
