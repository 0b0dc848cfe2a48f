/**
 * Both sides of a BPF ring buffer, over typed arrays (pure: the readers hand in views of the
 * kernel's mappings, the unit tests plain ArrayBuffers):
 *
 *  - RingbufConsumer: BPF_MAP_TYPE_RINGBUF, read side: batches of records (busy and discard
 *    bits followed; a record never wraps when the data is mapped twice in a row, and comes
 *    alone through a scratch copy when it is mapped once);
 *  - RingbufProducer: BPF_MAP_TYPE_USER_RINGBUF, write side (reserve, submit, discard).
 *
 * Positions are JS numbers (exact up to 2^53 bytes of traffic). Shared words are read and
 * written with Atomics, which are sequentially consistent: at least the acquire and release
 * order the kernel asks for (smp_load_acquire / smp_store_release).
 *
 * A ring can be detached (`detach()`): later calls do nothing and touch no memory. A reader
 * detaches before it unmaps.
 */
import { TsbpfError } from '../errors.js';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RINGBUF_RECORD_ALIGN } from './abi.js';
import { JsWalker, type RingWalker } from './walk.js';
import type { WasmWalker } from './walk-wasm.js';
import {
  DEFAULT_BATCH_RECORDS, RecordBatch, RingError, Scratch, TSO, checkRingSize, consumeRecords, wordsOf,
  type BatchRing, type RecordVisitor,
} from './batch.js';

const LEN_MASK = ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) >>> 0;
/** Header plus padding: a record of `len` data bytes takes (len + RECORD_ROUND) & ~ALIGN_MASK bytes. */
const RECORD_ROUND = BPF_RINGBUF_HDR_SZ + RINGBUF_RECORD_ALIGN - 1;
const ALIGN_MASK = RINGBUF_RECORD_ALIGN - 1;

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
    checkRingSize(size, what);
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
    return (len + RECORD_ROUND) & ~ALIGN_MASK;
  }
}

/** Read side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF). */
export class RingbufConsumer extends RingbufMemory implements BatchRing {
  /** The records next() found: reused from one call to the next. */
  readonly batch: RecordBatch;
  /** Records handed out so far. */
  records = 0;
  /** consumer_pos as last written, and its offset in the data. */
  #cons: number;
  #consOff: number;
  /** Where the last next() stopped: position, and offset in the batch's bytes. */
  #endPos: number;
  #endOff = 0;
  #scratch = new Scratch();
  #bytesWords: Uint32Array;
  #bytesView: DataView;
  /** Mapped twice and plain loads are acquire loads: next() takes the walker's short loop. */
  #walker: RingWalker | undefined;

  /**
   * Views of the consumer page (writable), the producer page and the data pages: see
   * RingbufMemory. `batchRecords`: the most records one batch holds. `wasm`: a walker over
   * a WebAssembly.Memory that holds `data` (walk-wasm.ts), with the batch's arrays; taken
   * where the JS short loop would be (mapped twice, x86-64).
   */
  constructor(consumerPos: BigUint64Array, producerPos: BigUint64Array, data: Uint8Array, size: number, batchRecords = DEFAULT_BATCH_RECORDS, wasm?: WasmWalker) {
    super('ring buffer', consumerPos, producerPos, data, size);
    this.#cons = this.#endPos = Number(Atomics.load(consumerPos, 0));
    this.#consOff = this.#cons % size;
    this.batch = new RecordBatch(batchRecords, data, undefined, wasm);
    this.#bytesWords = this.batch.words;
    this.#bytesView = this.batch.view;
    const fast = this.mirrored && TSO;
    if (wasm && !fast) throw new TsbpfError('ring buffer: the WebAssembly walker needs the data mapped twice, on x86-64');
    this.#walker = fast ? wasm ?? new JsWalker(this.words, this.batch.offsets, this.batch.lengths) : undefined;
  }

  /** The short loop next() takes: 'js', 'wasm', or undefined (the general loop only). */
  get walker(): 'js' | 'wasm' | undefined { return this.#walker?.kind; }

  /** consumer_pos as this consumer last wrote it (or found it). */
  get position(): number { return this.#cons; }

  /** Bytes produced (committed or not) past consumer_pos. */
  available(): number {
    if (this.detached) return 0;
    return Number(Atomics.load(this.producerPos, 0)) - this.#cons;
  }

  /**
   * Fills `batch` with the committed records from consumer_pos on, in order: at most `max`
   * (and the batch's capacity), and no more once `maxBytes` of the ring are walked;
   * discarded records are skipped, and the first record still busy (reserved, not yet
   * committed) ends the batch. Returns the count. Nothing is handed back to the kernel until
   * release(): a next() without release() sees the same records again. A record that makes
   * no sense is a RingError (after the records before it were handed out).
   */
  next(max = Infinity, maxBytes = Infinity): number {
    const b = this.batch;
    b.count = 0;
    if (this.detached) return 0;
    const offsets = b.offsets;
    const lengths = b.lengths;
    if (max > offsets.length) max = offsets.length;
    const size = this.size;
    const words = this.words;
    const limit = this.mirrored ? 2 * size : size;
    const start = this.#cons;
    // producer_pos with acquire order: the length words of the records before it are written
    const avail = Number(Atomics.load(this.producerPos, 0)) - start;
    const budget = avail < maxBytes ? avail : maxBytes;
    b.use(this.data, this.#bytesWords, this.#bytesView);
    let off = this.#consOff;
    let used = 0;
    let n = 0;
    let endOff = -1;
    const walker = this.#walker;
    if (walker) {
      // mapped twice, x86-64: no record wraps, plain loads have acquire order (see TSO): the
      // hot loop of every reader (walk.ts), one length word per record
      const from = off;
      n = walker.ringbuf(off, off + budget, max);
      off = walker.end;
      used = off - from;
      if (used > avail) {
        // the last record runs past producer_pos: leave it, or refuse it when it is the first
        const last = walker.last;
        if ((words[last >>> 2]! & BPF_RINGBUF_DISCARD_BIT) === 0) n--;
        if (n === 0) {
          const len = words[last >>> 2]! & LEN_MASK;
          throw new RingError(`ring buffer: a record of ${len} bytes at position ${start + last - from} runs past the producer position ${start + avail}`);
        }
        off = last;
        used = off - from;
      }
    } else {
      while (n < max && used < budget) {
        // the length word with acquire order: its busy bit (the sign bit) clear means the data is there
        const word = TSO ? words[off >>> 2]! : Atomics.load(words, off >>> 2);
        if (word < 0) break;
        const len = word & LEN_MASK;
        const total = (len + RECORD_ROUND) & ~ALIGN_MASK;
        if (total > avail - used) {
          if (n > 0) break;
          throw new RingError(`ring buffer: a record of ${len} bytes at position ${start + used} runs past the producer position ${start + avail}`);
        }
        const end = off + total;
        if (end > limit) {
          // mapped once: the record's data crosses the end of the ring
          if (n > 0) break;
          used += total;
          off = end - size;
          if ((word & BPF_RINGBUF_DISCARD_BIT) !== 0) continue;
          const s = this.#scratch;
          s.wrapped(this.data, size, end - total + BPF_RINGBUF_HDR_SZ, len);
          b.use(s.bytes, s.words, s.view);
          offsets[0] = 0;
          lengths[0] = len;
          n = 1;
          endOff = (len + ALIGN_MASK) & ~ALIGN_MASK;
          break;
        }
        if ((word & BPF_RINGBUF_DISCARD_BIT) === 0) {
          offsets[n] = off + BPF_RINGBUF_HDR_SZ;
          lengths[n] = len;
          n++;
        }
        used += total;
        off = end;
        if (off >= limit) {
          // mapped once, at the ring's end: a batch stays contiguous, the next one starts at 0
          if (n > 0) break;
          off -= size;
        }
      }
    }
    this.#endPos = start + used;
    this.#endOff = endOff < 0 ? off : endOff;
    b.count = n;
    if (n === 0 && used > 0) this.release(0, true); // only discarded records: their space goes back now
    return n;
  }

  /**
   * Writes consumer_pos past the batch's first `count` records (default: the whole batch,
   * with the discarded records after it): the kernel may reuse that space.
   */
  release(count = this.batch.count, all = count >= this.batch.count): void {
    if (this.detached) return;
    let pos = this.#endPos;
    if (!all) {
      if (count <= 0) return;
      const b = this.batch;
      const recEnd = b.offsets[count - 1]! + ((b.lengths[count - 1]! + ALIGN_MASK) & ~ALIGN_MASK);
      pos -= this.#endOff - recEnd;
    }
    if (pos === this.#cons) return;
    this.#cons = pos;
    this.#consOff = pos % this.size;
    Atomics.store(this.consumerPos, 0, BigInt(pos));
  }

  /**
   * Visits up to `max` committed records in order, one call each (batch by batch, each
   * released once visited). A visitor that throws: its record counts as read (as in libbpf).
   * Returns the count.
   */
  consume(visit: RecordVisitor, max = Infinity): number {
    return consumeRecords(this, visit, max);
  }

  override detach(): void {
    super.detach();
    if (this.#walker) this.#walker = new JsWalker(this.words, new Uint32Array(0), new Uint32Array(0));
    const b = this.batch;
    b.count = 0;
    const none = new Uint8Array(0);
    b.use(none, wordsOf(none), new DataView(none.buffer));
  }
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

