/**
 * Pure parsing of the two event rings, over typed arrays: the readers hand in views of
 * the kernel's mappings, the unit tests plain ArrayBuffers. No syscalls here.
 *
 *  - RingbufConsumer: BPF_MAP_TYPE_RINGBUF, read side (busy and discard bits, wrap through
 *    the double mapping or through a copy when the data is mapped once).
 *  - RingbufProducer: BPF_MAP_TYPE_USER_RINGBUF, write side (reserve, submit, discard).
 *  - PerfConsumer: one CPU's perf buffer (PERF_RECORD_SAMPLE raw data, PERF_RECORD_LOST).
 *
 * Positions are JS numbers (exact up to 2^53 bytes of traffic). Shared words are read and
 * written with Atomics, which are sequentially consistent: at least the acquire and release
 * order the kernel asks for (smp_load_acquire / smp_store_release, smp_rmb / smp_mb).
 *
 * Every ring can be detached (`detach()`): later calls do nothing and touch no memory. A
 * reader detaches before it unmaps, and a consume loop checks after each visit, so a
 * visitor that closes the reader ends the loop without another read of the mapping.
 */
import { TsbpfError } from '../errors.js';
import {
  BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RINGBUF_RECORD_ALIGN,
  PERF_MMAP_DATA_HEAD, PERF_MMAP_DATA_TAIL, PERF_EVENT_HEADER_SIZE, PERF_EVENT_HEADER_SIZE_OFFSET,
  PERF_RECORD_LOST, PERF_RECORD_SAMPLE, PERF_LOST_COUNT_OFFSET, PERF_SAMPLE_RAW_DATA_OFFSET,
} from './abi.js';

/** The ring's contents make no sense (a record longer than what was produced, a zero-size record). */
export class RingError extends TsbpfError {}

/**
 * Called once per record with its bytes: `bytes[start, start + length)`. `bytes` is a view
 * of the ring (or of a scratch copy when the record wraps in a ring mapped once) and is
 * valid only during the call: copy what you keep.
 */
export type RecordVisitor = (bytes: Uint8Array, start: number, length: number) => void;

const LEN_MASK = ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) >>> 0;

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 8 || !Number.isInteger(Math.log2(size)))
    throw new TsbpfError(`${what}: ring size ${size} is not a power of two of at least 8 bytes`);
}

/** A growable scratch buffer for records that wrap in a ring mapped once. */
class Scratch {
  buf = new Uint8Array(256);
  /** bytes[from, from + len) of a ring of `size` bytes, wrapped, copied into the scratch. */
  wrapped(ring: Uint8Array, size: number, from: number, len: number): Uint8Array {
    if (this.buf.length < len) this.buf = new Uint8Array(Math.max(len, this.buf.length * 2));
    const first = size - from;
    this.buf.set(ring.subarray(from, size), 0);
    this.buf.set(ring.subarray(0, len - first), first);
    return this.buf;
  }
}

/** Read side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF). */
export class RingbufConsumer {
  readonly size: number;
  #consumerPos: BigUint64Array;
  #producerPos: BigUint64Array;
  #data: Uint8Array;
  #words: Int32Array;
  #mirrored: boolean;
  #cons: number;
  #off: number;
  #detached = false;
  #scratch = new Scratch();

  /**
   * @param consumerPos a view whose element 0 is consumer_pos (the consumer page, writable)
   * @param producerPos a view whose element 0 is producer_pos (the producer page)
   * @param data the data pages: `size` bytes, or `2 * size` when mapped twice in a row
   * @param size the ring's data size (the map's max_entries, a power of two)
   */
  constructor(consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number) {
    checkSize(size, 'ring buffer');
    if (data.length !== size && data.length !== 2 * size) throw new TsbpfError(`ring buffer: data view of ${data.length} bytes for a ring of ${size} (expected ${size} or ${2 * size})`);
    if (data.byteOffset % 4 !== 0) throw new TsbpfError('ring buffer: data view not 4-byte aligned');
    this.size = size;
    this.#consumerPos = consumerPos;
    this.#producerPos = producerPos;
    this.#data = data;
    this.#words = new Int32Array(data.buffer, data.byteOffset, data.length >>> 2);
    this.#mirrored = data.length === 2 * size;
    this.#cons = Number(Atomics.load(consumerPos, 0));
    this.#off = this.#cons % size;
  }

  get detached(): boolean { return this.#detached; }

  /** Never touch the memory again (the reader is about to unmap it). */
  detach(): void {
    this.#detached = true;
    this.#data = new Uint8Array(0);
    this.#words = new Int32Array(0);
    this.#consumerPos = new BigUint64Array(1);
    this.#producerPos = new BigUint64Array(1);
  }

  /** The consumer position this reader has reached (and committed). */
  get position(): number { return this.#cons; }

  /** Bytes produced (committed or not) that this reader has not consumed. */
  available(): number {
    if (this.#detached) return 0;
    return Number(Atomics.load(this.#producerPos, 0)) - this.#cons;
  }

  /**
   * Visits committed records in order, at most `max` of them (discarded ones are skipped and
   * not counted), stopping at the first record still busy (reserved, not yet committed).
   * consumer_pos is written once at the end, also when the visitor throws (the record that
   * threw counts as consumed, as in libbpf). Returns the number of records visited.
   */
  consume(visit: RecordVisitor, max = Infinity): number {
    if (this.#detached) return 0;
    const size = this.size;
    let prod = Number(Atomics.load(this.#producerPos, 0));
    let cons = this.#cons;
    let off = this.#off;
    let n = 0;
    try {
      while (n < max) {
        if (cons >= prod) {
          prod = Number(Atomics.load(this.#producerPos, 0)); // more may have come meanwhile
          if (cons >= prod) break;
        }
        const word = Atomics.load(this.#words, off >>> 2) >>> 0;
        if (word & BPF_RINGBUF_BUSY_BIT) break;
        const len = word & LEN_MASK;
        const total = (len + BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1) & ~(RINGBUF_RECORD_ALIGN - 1);
        if (total > prod - cons) throw new RingError(`ring buffer: a record of ${len} bytes at position ${cons} runs past the producer position ${prod}`);
        let start = off + BPF_RINGBUF_HDR_SZ;
        if (start >= size) start -= size;
        cons += total;
        off += total;
        if (off >= size) off -= size;
        if ((word & BPF_RINGBUF_DISCARD_BIT) === 0) {
          n++;
          if (this.#mirrored || start + len <= size) visit(this.#data, start, len);
          else visit(this.#scratch.wrapped(this.#data, size, start, len), 0, len);
          if (this.#detached) return n;
        }
      }
    } finally {
      if (!this.#detached && cons !== this.#cons) {
        this.#cons = cons;
        this.#off = off;
        Atomics.store(this.#consumerPos, 0, BigInt(cons));
      }
    }
    return n;
  }
}

/** Write side of a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, Linux 6.1+): user space produces, a BPF program drains. */
export class RingbufProducer {
  readonly size: number;
  #consumerPos: BigUint64Array;
  #producerPos: BigUint64Array;
  #data: Uint8Array;
  #words: Int32Array;
  #mirrored: boolean;
  #detached = false;

  /**
   * @param consumerPos element 0 is consumer_pos (written by the kernel)
   * @param producerPos element 0 is producer_pos (written here)
   * @param data the data pages, `size` or `2 * size` bytes (mapped twice in a row)
   */
  constructor(consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number) {
    checkSize(size, 'user ring buffer');
    if (data.length !== size && data.length !== 2 * size) throw new TsbpfError(`user ring buffer: data view of ${data.length} bytes for a ring of ${size}`);
    this.size = size;
    this.#consumerPos = consumerPos;
    this.#producerPos = producerPos;
    this.#data = data;
    this.#words = new Int32Array(data.buffer, data.byteOffset, data.length >>> 2);
    this.#mirrored = data.length === 2 * size;
  }

  get detached(): boolean { return this.#detached; }

  detach(): void {
    this.#detached = true;
    this.#data = new Uint8Array(0);
    this.#words = new Int32Array(0);
    this.#consumerPos = new BigUint64Array(1);
    this.#producerPos = new BigUint64Array(1);
  }

  /** Bytes a record of `len` data bytes takes in the ring. */
  static recordBytes(len: number): number {
    return (len + BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1) & ~(RINGBUF_RECORD_ALIGN - 1);
  }

  /** Free bytes (records take recordBytes(len) each). */
  free(): number {
    if (this.#detached) return 0;
    return this.size - (Number(Atomics.load(this.#producerPos, 0)) - Number(Atomics.load(this.#consumerPos, 0)));
  }

  /**
   * Reserves a record of `len` bytes: writes its header with the busy bit and moves
   * producer_pos past it. Returns the record's data offset in the data view, or undefined
   * when the ring has no room now. Submit or discard it next, in reserve order for the
   * kernel to move on (a busy record stops its drain).
   */
  reserve(len: number): number | undefined {
    if (this.#detached) throw new TsbpfError('user ring buffer: closed');
    if (!Number.isInteger(len) || len < 0 || len & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) || len > LEN_MASK)
      throw new TsbpfError(`user ring buffer: a record of ${len} bytes cannot be written (the two top bits of the length word are flags)`);
    const total = RingbufProducer.recordBytes(len);
    if (total > this.size) throw new TsbpfError(`user ring buffer: a record of ${len} bytes (${total} with its header) does not fit in a ring of ${this.size}`);
    const cons = Number(Atomics.load(this.#consumerPos, 0));
    const prod = Number(Atomics.load(this.#producerPos, 0));
    if (this.size - (prod - cons) < total) return undefined;
    const off = prod % this.size;
    Atomics.store(this.#words, off >>> 2, (len | BPF_RINGBUF_BUSY_BIT) | 0);
    Atomics.store(this.#words, (off >>> 2) + 1, 0);
    Atomics.store(this.#producerPos, 0, BigInt(prod + total));
    return off + BPF_RINGBUF_HDR_SZ;
  }

  /** The writable bytes of a reserved record (mirrored rings only: a view that may run into the mirror). */
  view(offset: number, len: number): Uint8Array {
    if (!this.#mirrored) throw new TsbpfError('user ring buffer: views need the data mapped twice; use write()');
    return this.#data.subarray(offset, offset + len);
  }

  /** Copies `bytes` into a reserved record at `offset` (wrapping in a ring mapped once). */
  fill(offset: number, bytes: Uint8Array): void {
    if (this.#detached) throw new TsbpfError('user ring buffer: closed');
    const size = this.size;
    const start = offset >= size ? offset - size : offset;
    if (this.#mirrored || start + bytes.length <= size) this.#data.set(bytes, start);
    else {
      const first = size - start;
      this.#data.set(bytes.subarray(0, first), start);
      this.#data.set(bytes.subarray(first), 0);
    }
  }

  /** Commits (or discards) the record whose data starts at `offset`: clears the busy bit. */
  submit(offset: number, discard = false): void {
    if (this.#detached) throw new TsbpfError('user ring buffer: closed');
    const hdr = (offset - BPF_RINGBUF_HDR_SZ) % this.size;
    const word = Atomics.load(this.#words, hdr >>> 2) >>> 0;
    if (!(word & BPF_RINGBUF_BUSY_BIT)) throw new TsbpfError(`user ring buffer: the record at ${offset} is not reserved (submitted twice?)`);
    const next = (word & ~BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0);
    Atomics.exchange(this.#words, hdr >>> 2, next | 0);
  }

  /** Reserve, copy and submit one record; false when the ring has no room now. */
  write(bytes: Uint8Array): boolean {
    const off = this.reserve(bytes.length);
    if (off === undefined) return false;
    this.fill(off, bytes);
    this.submit(off);
    return true;
  }
}

/**
 * Read side of one CPU's perf buffer (a PERF_COUNT_SW_BPF_OUTPUT event with sample_type
 * PERF_SAMPLE_RAW): samples are visited with their raw data (its length is the kernel's,
 * padded so that the record is 8-aligned: up to 7 bytes past what the program sent),
 * PERF_RECORD_LOST counts go to `lost`, other record types are skipped.
 */
export class PerfConsumer {
  readonly size: number;
  /** Records the kernel could not write because the buffer was full (sum of PERF_RECORD_LOST). */
  lost = 0;
  #meta: BigUint64Array;
  #data: Uint8Array;
  #words: Uint32Array;
  #tail: number;
  #detached = false;
  #scratch = new Scratch();

  /**
   * @param meta a view over the struct perf_event_mmap_page (at least up to data_tail)
   * @param data the data pages (data_size bytes, a power of two)
   */
  constructor(meta: BigUint64Array, data: Uint8Array) {
    checkSize(data.length, 'perf buffer');
    if (data.byteOffset % 4 !== 0) throw new TsbpfError('perf buffer: data view not 4-byte aligned');
    if (meta.length * 8 < PERF_MMAP_DATA_TAIL + 8) throw new TsbpfError('perf buffer: the metadata view ends before data_tail');
    this.size = data.length;
    this.#meta = meta;
    this.#data = data;
    this.#words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    this.#tail = Number(Atomics.load(meta, PERF_MMAP_DATA_TAIL / 8));
  }

  get detached(): boolean { return this.#detached; }

  detach(): void {
    this.#detached = true;
    this.#data = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#meta = new BigUint64Array(PERF_MMAP_DATA_TAIL / 8 + 1);
  }

  /** Bytes written by the kernel that this reader has not consumed. */
  available(): number {
    if (this.#detached) return 0;
    return Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8)) - this.#tail;
  }

  /**
   * Visits up to `max` samples in order; PERF_RECORD_LOST records add to `lost` and call
   * `onLost`. data_tail is written once at the end, also when the visitor throws. Returns
   * the number of samples visited.
   */
  consume(visit: RecordVisitor, max = Infinity, onLost?: (n: number) => void): number {
    if (this.#detached) return 0;
    const size = this.size;
    const mask = size - 1;
    let head = Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8));
    let tail = this.#tail;
    let n = 0;
    try {
      while (n < max) {
        if (tail >= head) {
          head = Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8));
          if (tail >= head) break;
        }
        const off = size > 0x4000_0000 ? tail % size : tail & mask;
        const type = this.#words[off >>> 2]!;
        // the second word of the header holds misc (low half) and size (high half)
        const recSize = this.#words[(off + PERF_EVENT_HEADER_SIZE_OFFSET - 2) >>> 2]! >>> 16;
        if (recSize < PERF_EVENT_HEADER_SIZE || recSize > head - tail)
          throw new RingError(`perf buffer: a record of ${recSize} bytes at position ${tail} (head ${head})`);
        const at = tail;
        tail += recSize;
        if (type === PERF_RECORD_SAMPLE) {
          const len = this.#words[((off + PERF_EVENT_HEADER_SIZE) & mask) >>> 2]!;
          if (len + PERF_SAMPLE_RAW_DATA_OFFSET > recSize) throw new RingError(`perf buffer: a sample of ${len} raw bytes in a record of ${recSize} at position ${at}`);
          const start = (off + PERF_SAMPLE_RAW_DATA_OFFSET) & mask;
          n++;
          if (start + len <= size) visit(this.#data, start, len);
          else visit(this.#scratch.wrapped(this.#data, size, start, len), 0, len);
          if (this.#detached) return n;
        } else if (type === PERF_RECORD_LOST) {
          const w = ((off + PERF_LOST_COUNT_OFFSET) & mask) >>> 2;
          const count = this.#words[w]! + this.#words[w + 1]! * 2 ** 32;
          this.lost += count;
          onLost?.(count);
          if (this.#detached) return n;
        }
      }
    } finally {
      if (!this.#detached && tail !== this.#tail) {
        this.#tail = tail;
        Atomics.store(this.#meta, PERF_MMAP_DATA_TAIL / 8, BigInt(tail));
      }
    }
    return n;
  }
}
