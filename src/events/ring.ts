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
 * valid only during the call: copy what you keep. `pos` is the ring position of the first
 * byte (for copyRange).
 */
export type RecordVisitor = (bytes: Uint8Array, start: number, length: number, pos: number) => void;

const LEN_MASK = ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) >>> 0;

/**
 * x86-64 keeps loads in program order (TSO), and V8 keeps typed-array loads in program order
 * on its effect chain, so a plain load of a record's length word already has the acquire
 * order the ring needs, and costs a third of an Atomics.load per record. Elsewhere (arm64...)
 * the length word is read with Atomics.load.
 */
const TSO = typeof process !== 'undefined' && process.arch === 'x64';

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 8 || !Number.isInteger(Math.log2(size)))
    throw new TsbpfError(`${what}: ring size ${size} is not a power of two of at least 8 bytes`);
}

/** A growable scratch buffer (a Buffer, as the readers' ring views) for records that wrap in a ring mapped once. */
class Scratch {
  buf: Uint8Array = Buffer.alloc(256);
  /** bytes[from, from + len) of a ring of `size` bytes, wrapped, copied into the scratch. */
  wrapped(ring: Uint8Array, size: number, from: number, len: number): Uint8Array {
    if (this.buf.length < len) this.buf = Buffer.alloc(Math.max(len, this.buf.length * 2));
    const first = size - from;
    this.buf.set(ring.subarray(from, size), 0);
    this.buf.set(ring.subarray(0, len - first), first);
    return this.buf;
  }
}

/** What both sides of a BPF ring buffer see: the two positions and the data pages. */
abstract class RingbufMemory {
  readonly size: number;
  protected consumerPos: BigUint64Array;
  protected producerPos: BigUint64Array;
  protected data: Uint8Array;
  protected words: Int32Array;
  /** The data mapped twice in a row (2 * size bytes): a record that wraps is contiguous. */
  protected readonly mirrored: boolean;
  #detached = false;

  /**
   * @param consumerPos a view whose element 0 is consumer_pos
   * @param producerPos a view whose element 0 is producer_pos
   * @param data the data pages: `size` bytes, or `2 * size` when mapped twice in a row
   * @param size the ring's data size (the map's max_entries, a power of two)
   */
  constructor(what: string, consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number) {
    checkSize(size, what);
    if (data.length !== size && data.length !== 2 * size) throw new TsbpfError(`${what}: data view of ${data.length} bytes for a ring of ${size} (expected ${size} or ${2 * size})`);
    if (data.byteOffset % 4 !== 0) throw new TsbpfError(`${what}: data view not 4-byte aligned`);
    this.size = size;
    this.consumerPos = consumerPos;
    this.producerPos = producerPos;
    this.data = data;
    this.words = new Int32Array(data.buffer, data.byteOffset, data.length >>> 2);
    this.mirrored = data.length === 2 * size;
  }

  get detached(): boolean { return this.#detached; }

  /** Never touch the memory again (the reader or writer is about to unmap it). */
  detach(): void {
    this.#detached = true;
    this.data = new Uint8Array(0);
    this.words = new Int32Array(0);
    this.consumerPos = new BigUint64Array(1);
    this.producerPos = new BigUint64Array(1);
  }

  /** Bytes a record of `len` data bytes takes in the ring (header included, 8-aligned). */
  static recordBytes(len: number): number {
    return (len + BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1) & ~(RINGBUF_RECORD_ALIGN - 1);
  }
}

/** Read side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF). */
export class RingbufConsumer extends RingbufMemory {
  /** consumer_pos as last written. */
  #cons: number;
  /** Where read() has got to (committed by commit()), and its offset in the data. */
  #pos: number;
  #off: number;
  #scratch = new Scratch();

  /** Views of the consumer page (writable), the producer page and the data pages: see RingbufMemory. */
  constructor(consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number) {
    super('ring buffer', consumerPos, producerPos, data, size);
    this.#cons = this.#pos = Number(Atomics.load(consumerPos, 0));
    this.#off = this.#pos % size;
  }

  /** The position read() has reached. */
  get position(): number { return this.#pos; }

  /** Bytes produced (committed or not) past what read() has reached. */
  available(): number {
    if (this.detached) return 0;
    return Number(Atomics.load(this.producerPos, 0)) - this.#pos;
  }

  /**
   * Visits committed records in order from where the last read() stopped, at most `max` of
   * them (discarded ones are skipped and not counted), stopping at the first record still
   * busy (reserved, not yet committed). The kernel may not reuse their space until commit().
   * A visitor that throws: its record counts as read (as in libbpf). Returns the count.
   */
  read(visit: RecordVisitor, max = Infinity): number {
    if (this.detached) return 0;
    const size = this.size;
    const words = this.words;
    const data = this.data;
    const mirrored = this.mirrored;
    let prod = Number(Atomics.load(this.producerPos, 0));
    let pos = this.#pos;
    let off = this.#off;
    let n = 0;
    try {
      while (n < max) {
        if (pos >= prod) {
          prod = Number(Atomics.load(this.producerPos, 0)); // more may have come meanwhile
          if (pos >= prod) break;
        }
        // the length word with acquire order: its busy bit cleared means the data is there
        const word = (TSO ? words[off >>> 2]! : Atomics.load(words, off >>> 2)) >>> 0;
        if (word & BPF_RINGBUF_BUSY_BIT) break;
        const len = word & LEN_MASK;
        const total = (len + BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1) & ~(RINGBUF_RECORD_ALIGN - 1);
        if (total > prod - pos) throw new RingError(`ring buffer: a record of ${len} bytes at position ${pos} runs past the producer position ${prod}`);
        let start = off + BPF_RINGBUF_HDR_SZ;
        if (start >= size) start -= size;
        const dataPos = pos + BPF_RINGBUF_HDR_SZ;
        pos += total;
        off += total;
        if (off >= size) off -= size;
        if ((word & BPF_RINGBUF_DISCARD_BIT) === 0) {
          n++;
          if (mirrored || start + len <= size) visit(data, start, len, dataPos);
          else visit(this.#scratch.wrapped(data, size, start, len), 0, len, dataPos);
          if (this.detached) return n;
        }
      }
    } finally {
      if (!this.detached) {
        this.#pos = pos;
        this.#off = off;
      }
    }
    return n;
  }

  /** Writes consumer_pos up to where read() has got: the kernel may reuse that space. */
  commit(): void {
    if (this.detached || this.#pos === this.#cons) return;
    this.#cons = this.#pos;
    Atomics.store(this.consumerPos, 0, BigInt(this.#pos));
  }

  /**
   * read() then commit(), once, also when the visitor throws. Returns the number of
   * records visited.
   */
  consume(visit: RecordVisitor, max = Infinity): number {
    try { return this.read(visit, max); } finally { this.commit(); }
  }

  /** A copy of the ring's bytes between two positions read() has reached and not committed (`to - from` at most the ring size). */
  copyRange(from: number, to: number): ArrayBuffer {
    return copyOut(this.data, this.size, this.mirrored, from, to);
  }
}

/** Bytes [from, to) of a ring (positions), copied into a new ArrayBuffer. */
function copyOut(data: Uint8Array, size: number, mirrored: boolean, from: number, to: number): ArrayBuffer {
  const len = to - from;
  if (len < 0 || len > size) throw new TsbpfError(`ring: cannot copy ${len} bytes of a ring of ${size}`);
  const a = from % size;
  if (mirrored || a + len <= size) return data.buffer.slice(data.byteOffset + a, data.byteOffset + a + len) as ArrayBuffer;
  const out = new Uint8Array(len);
  out.set(data.subarray(a, size), 0);
  out.set(data.subarray(0, len - (size - a)), size - a);
  return out.buffer;
}

/** Write side of a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, Linux 6.1+): user space produces, a BPF program drains. */
export class RingbufProducer extends RingbufMemory {
  /** Views of the consumer page (written by the kernel), the producer page and the data pages (writable): see RingbufMemory. */
  constructor(consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number) {
    super('user ring buffer', consumerPos, producerPos, data, size);
  }

  /** Free bytes (records take recordBytes(len) each). */
  free(): number {
    if (this.detached) return 0;
    return this.size - (Number(Atomics.load(this.producerPos, 0)) - Number(Atomics.load(this.consumerPos, 0)));
  }

  /**
   * Reserves a record of `len` bytes: writes its header with the busy bit and moves
   * producer_pos past it. Returns the record's data offset in the data view, or undefined
   * when the ring has no room now. Submit or discard it next, in reserve order for the
   * kernel to move on (a busy record stops its drain).
   */
  reserve(len: number): number | undefined {
    if (this.detached) throw new TsbpfError('user ring buffer: closed');
    if (!Number.isInteger(len) || len < 0 || len & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) || len > LEN_MASK)
      throw new TsbpfError(`user ring buffer: a record of ${len} bytes cannot be written (the two top bits of the length word are flags)`);
    const total = RingbufMemory.recordBytes(len);
    if (total > this.size) throw new TsbpfError(`user ring buffer: a record of ${len} bytes (${total} with its header) does not fit in a ring of ${this.size}`);
    const cons = Number(Atomics.load(this.consumerPos, 0));
    const prod = Number(Atomics.load(this.producerPos, 0));
    if (this.size - (prod - cons) < total) return undefined;
    const off = prod % this.size;
    Atomics.store(this.words, off >>> 2, (len | BPF_RINGBUF_BUSY_BIT) | 0);
    Atomics.store(this.words, (off >>> 2) + 1, 0);
    Atomics.store(this.producerPos, 0, BigInt(prod + total));
    return off + BPF_RINGBUF_HDR_SZ;
  }

  /** The writable bytes of a reserved record (mirrored rings only: a view that may run into the mirror). */
  view(offset: number, len: number): Uint8Array {
    if (!this.mirrored) throw new TsbpfError('user ring buffer: views need the data mapped twice; use write()');
    return this.data.subarray(offset, offset + len);
  }

  /** Copies `bytes` into a reserved record at `offset` (wrapping in a ring mapped once). */
  fill(offset: number, bytes: Uint8Array): void {
    if (this.detached) throw new TsbpfError('user ring buffer: closed');
    const size = this.size;
    const start = offset >= size ? offset - size : offset;
    if (this.mirrored || start + bytes.length <= size) this.data.set(bytes, start);
    else {
      const first = size - start;
      this.data.set(bytes.subarray(0, first), start);
      this.data.set(bytes.subarray(first), 0);
    }
  }

  /** Commits (or discards) the record whose data starts at `offset`: clears the busy bit. */
  submit(offset: number, discard = false): void {
    if (this.detached) throw new TsbpfError('user ring buffer: closed');
    const hdr = (offset - BPF_RINGBUF_HDR_SZ) % this.size;
    const word = Atomics.load(this.words, hdr >>> 2) >>> 0;
    if (!(word & BPF_RINGBUF_BUSY_BIT)) throw new TsbpfError(`user ring buffer: the record at ${offset} is not reserved (submitted twice?)`);
    const next = (word & ~BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0);
    Atomics.exchange(this.words, hdr >>> 2, next | 0);
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
  /** data_tail as last written, and where read() has got to. */
  #tail: number;
  #pos: number;
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
    this.#tail = this.#pos = Number(Atomics.load(meta, PERF_MMAP_DATA_TAIL / 8));
  }

  get detached(): boolean { return this.#detached; }

  detach(): void {
    this.#detached = true;
    this.#data = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#meta = new BigUint64Array(PERF_MMAP_DATA_TAIL / 8 + 1);
  }

  /** Bytes written by the kernel past what read() has reached. */
  available(): number {
    if (this.#detached) return 0;
    return Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8)) - this.#pos;
  }

  /**
   * Visits up to `max` samples in order from where the last read() stopped;
   * PERF_RECORD_LOST records add to `lost` and call `onLost`. The kernel may not reuse their
   * space until commit(). Returns the number of samples visited.
   */
  read(visit: RecordVisitor, max = Infinity, onLost?: (n: number) => void): number {
    if (this.#detached) return 0;
    const size = this.size;
    const mask = size - 1;
    const words = this.#words;
    const data = this.#data;
    const big = size > 0x4000_0000;
    // data_head with acquire order (the kernel's smp_rmb() pairing): the records before it are there
    let head = Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8));
    let pos = this.#pos;
    let n = 0;
    try {
      while (n < max) {
        if (pos >= head) {
          head = Number(Atomics.load(this.#meta, PERF_MMAP_DATA_HEAD / 8));
          if (pos >= head) break;
        }
        const off = big ? pos % size : pos & mask;
        const type = words[off >>> 2]!;
        // the second word of the header holds misc (low half) and size (high half)
        const recSize = words[(off + PERF_EVENT_HEADER_SIZE_OFFSET - 2) >>> 2]! >>> 16;
        if (recSize < PERF_EVENT_HEADER_SIZE || recSize > head - pos)
          throw new RingError(`perf buffer: a record of ${recSize} bytes at position ${pos} (head ${head})`);
        const recordPos = pos;
        pos += recSize;
        if (type === PERF_RECORD_SAMPLE) {
          const len = words[((off + PERF_EVENT_HEADER_SIZE) & mask) >>> 2]!;
          if (len + PERF_SAMPLE_RAW_DATA_OFFSET > recSize) throw new RingError(`perf buffer: a sample of ${len} raw bytes in a record of ${recSize} at position ${recordPos}`);
          const start = (off + PERF_SAMPLE_RAW_DATA_OFFSET) & mask;
          n++;
          if (start + len <= size) visit(data, start, len, recordPos + PERF_SAMPLE_RAW_DATA_OFFSET);
          else visit(this.#scratch.wrapped(data, size, start, len), 0, len, recordPos + PERF_SAMPLE_RAW_DATA_OFFSET);
          if (this.#detached) return n;
        } else if (type === PERF_RECORD_LOST) {
          const w = ((off + PERF_LOST_COUNT_OFFSET) & mask) >>> 2;
          const count = words[w]! + words[w + 1]! * 2 ** 32;
          this.lost += count;
          onLost?.(count);
          if (this.#detached) return n;
        }
      }
    } finally {
      if (!this.#detached) this.#pos = pos;
    }
    return n;
  }

  /** Writes data_tail up to where read() has got (a full barrier, the smp_mb() the kernel asks for). */
  commit(): void {
    if (this.#detached || this.#pos === this.#tail) return;
    this.#tail = this.#pos;
    Atomics.store(this.#meta, PERF_MMAP_DATA_TAIL / 8, BigInt(this.#pos));
  }

  /** read() then commit(), once, also when the visitor throws. */
  consume(visit: RecordVisitor, max = Infinity, onLost?: (n: number) => void): number {
    try { return this.read(visit, max, onLost); } finally { this.commit(); }
  }

  /** A copy of the bytes between two positions read() has reached and not committed. */
  copyRange(from: number, to: number): ArrayBuffer {
    return copyOut(this.#data, this.size, false, from, to);
  }
}
