/**
 * EventReader: records from perf event arrays and BPF ring buffers, as libbpf's
 * perf_buffer / ring_buffer (several maps through one reader, as ring_buffer__add):
 *
 *   const reader = EventReader.open(coll.maps.get('events')!).decode('struct event');
 *   for await (const rec of reader) console.log(rec.cpu, rec.value);
 *
 *  - `drain(cb)` hands out what is there now, synchronously, a record per call;
 *  - `drainBatch(cb)` the same, a batch of records per call (offsets and lengths in typed
 *    arrays over a view of the ring): the fast path, the one to use for throughput;
 *  - `read({ timeoutMs })` and `for await` wait without blocking Node's event loop
 *    (epoll on a worker thread, sys/waiter.ts);
 *  - `close()` may be called anywhere, also from a callback or a loop body: the rings are
 *    detached first, so no read of the mapping happens after it, and pending waits end.
 *
 * `rec.data` is a copy; `drain(cb, { zeroCopy: true })` gives a view into the ring, valid
 * only until the callback returns.
 */
import type { Btf } from '../btf/index.js';
import type { Value } from '../load/index.js';
import { closeFd, epollCreate, epollCtl, EPOLLIN, EPOLL_CTL_ADD, waitReady, type Wait } from '../sys/index.js';
import { recordDecoder, type RecordDecoder } from './decode.js';
import { EventsError } from './errors.js';
import { kernelMapBtf, openEventMap, type EventMapRef } from './map-ref.js';
import { PerfBufferSource, type PerfBufferOptions } from './perf-buffer.js';
import { RingBufferSource } from './ring-buffer.js';
import { batchRecordsOf, type RecordBatch } from './batch.js';
import type { EventSource } from './source.js';

/** One record. */
export interface EventRecord {
  /** The map it came from. */
  map: string;
  /** Perf buffers: the CPU whose buffer held it. Ring buffers do not say. */
  cpu?: number;
  /** The record's bytes (perf buffers: as the kernel padded them, up to 7 bytes more than sent). */
  data: Buffer;
  /** The record decoded through BTF, when decode() named its type. */
  value?: Value;
}

export interface EventReaderOptions extends PerfBufferOptions {
  /** Decode every record as this type (see decode()). */
  type?: string | number;
  /** BTF to decode with (default: the map's object's, or the one the kernel holds for it). */
  btf?: Btf;
}

export interface DrainOptions {
  /** At most this many records (default: all there are now). */
  max?: number;
  /** `rec.data` is a view into the ring, valid only until the callback returns (no copy). */
  zeroCopy?: boolean;
}

export interface DrainBatchOptions {
  /** At most this many records (default: all there are now). */
  max?: number;
}

/**
 * A run of records handed to drainBatch's callback: records[i] is
 * `bytes[offsets[i], offsets[i] + lengths[i])`, i < count, in order. `bytes` is a view of the
 * ring itself (or of a scratch copy of one record that wraps in a perf buffer), and the
 * object and its arrays are reused for the next batch: read them inside the callback, copy
 * what you keep. `words[offsets[i] >>> 2]` is a record's first 4 bytes (host order: offsets
 * are multiples of 4), `view` a DataView over `bytes`.
 */
export type EventBatch = RecordBatch;

/** Records read and lost, per map. */
export interface EventStats {
  map: string;
  type: 'perf_event_array' | 'ringbuf';
  read: number;
  /** Records the kernel dropped because the buffer was full (perf buffers; ring buffers do not count drops). */
  lost: number;
  /** Perf buffers: lost records per CPU. */
  lostByCpu?: Record<number, number>;
  /** The walker that reads the map's rings: 'wasm' (mapped into a WebAssembly.Memory) or 'js'. */
  walker?: 'js' | 'wasm';
}

/** Records copied out per refill of the queue. */
const BATCH = 4096;

export class EventReader implements AsyncIterable<EventRecord> {
  readonly #sources: EventSource[] = [];
  readonly #decoders = new Map<EventSource, RecordDecoder>();
  readonly #ep: number;
  #closed = false;
  /** Records copied out and not handed out yet (or the decode error of one, in its place). */
  #queue: Array<EventRecord | Error> = [];
  #qi = 0;
  #wait: Wait | undefined;
  #waitSettled = false;
  #waiters = 0;

  private constructor() {
    this.#ep = epollCreate();
  }

  /** A reader of one map or several (perf event arrays and ring buffers may be mixed). */
  static open(maps: EventMapRef | readonly EventMapRef[], opts: EventReaderOptions = {}): EventReader {
    const r = new EventReader();
    try {
      for (const m of Array.isArray(maps) ? maps : [maps as EventMapRef]) r.add(m, opts);
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  /** Adds a map: a perf event array (one buffer per CPU) or a ring buffer. Nothing stays open when it fails. */
  add(ref: EventMapRef, opts: EventReaderOptions = {}): this {
    this.#check();
    const batchRecords = batchRecordsOf(opts); // checked before anything is opened
    const map = openEventMap(ref, ['perf_event_array', 'ringbuf'], 'an event reader');
    const src = map.info.typeName === 'ringbuf' ? new RingBufferSource(map, opts.walker, batchRecords) : new PerfBufferSource(map, opts);
    try {
      for (const fd of src.fds) epollCtl(this.#ep, EPOLL_CTL_ADD, fd, EPOLLIN, this.#sources.length);
      if (opts.type !== undefined) this.#decoders.set(src, this.#decoder(src, opts.type, opts.btf));
    } catch (e) {
      src.close();
      throw e;
    }
    this.#sources.push(src);
    return this;
  }

  /** The maps read, by name. */
  get maps(): string[] { return this.#sources.map((s) => s.name); }

  get closed(): boolean { return this.#closed; }

  /**
   * Decode records as `type` ('struct event', 'union u', a typedef name, or a BTF type id)
   * from now on: `rec.value` holds the result. `map` limits it to one map of the reader;
   * `btf` overrides the map's object's BTF. An unknown type is refused here; a record whose
   * size does not fit the type is an EventsError ('type-size') when it is read.
   */
  decode(type: string | number, opts: { map?: string; btf?: Btf } = {}): this {
    this.#check();
    const targets = this.#sources.filter((s) => opts.map === undefined || s.name === opts.map);
    if (targets.length === 0) throw new EventsError(`decode: the reader has no map '${opts.map}' (it reads ${this.maps.join(', ') || 'nothing'})`, { symbol: opts.map }, { reason: 'options' });
    const made = targets.map((s) => [s, this.#decoder(s, type, opts.btf)] as const);
    for (const [s, d] of made) this.#decoders.set(s, d);
    return this;
  }

  #decoder(src: EventSource, type: string | number, btf?: Btf): RecordDecoder {
    return recordDecoder(btf ?? src.btf ?? kernelMapBtf(src.info), type, src.name, src.type === 'perf_event_array');
  }

  /**
   * Calls `cb` for every record there is now (at most `max`), in order per ring, and
   * returns how many. Never waits. For throughput use drainBatch (one call per batch, no
   * record object): several times faster. Records are copied out in batches (the records of one
   * batch share one copy of up to 64 KiB); with `zeroCopy` they are views of the ring,
   * valid only until `cb` returns. A callback that throws: the records after it stay for the
   * next drain / read.
   */
  drain(cb: (rec: EventRecord) => void, opts: DrainOptions = {}): number {
    this.#check();
    const max = opts.max ?? Infinity;
    let n = this.#deliver(cb, max);
    if (opts.zeroCopy) {
      for (const src of this.#sources) {
        if (n >= max || this.#closed) break;
        const dec = this.#decoders.get(src);
        const map = src.name;
        n += src.consume((bytes, start, length, cpu) => {
          const data = new RecordBytes(bytes.buffer as ArrayBuffer, bytes.byteOffset + start, length) as Buffer;
          const rec: EventRecord = cpu !== undefined ? { map, cpu, data } : { map, data };
          if (dec) rec.value = dec.decode(data, 0, length);
          cb(rec);
        }, max - n);
      }
      return n;
    }
    while (n < max && !this.#closed && this.#fill(Math.min(BATCH, max - n)) > 0) n += this.#deliver(cb, max - n);
    return n;
  }

  /** Hands queued records to `cb` (at most `max`); a decode error queued in their place is thrown. */
  #deliver(cb: (rec: EventRecord) => void, max: number): number {
    let n = 0;
    while (this.#qi < this.#queue.length && n < max && !this.#closed) {
      const r = this.#queue[this.#qi++]!;
      if (r instanceof Error) throw r;
      n++;
      cb(r);
    }
    return n;
  }

  /** Copies up to `max` records of every map into the queue (after what it still holds); returns how many. */
  #fill(max: number): number {
    if (this.#qi >= this.#queue.length) { this.#queue = []; this.#qi = 0; }
    const q = this.#queue;
    let n = 0;
    for (const src of this.#sources) {
      if (n >= max || this.#closed) break;
      const dec = this.#decoders.get(src);
      const map = src.name;
      n += src.take(max - n, (cpu, buffer, start, length) => {
        const data = new RecordBytes(buffer, start, length) as Buffer;
        const rec: EventRecord = cpu !== undefined ? { map, cpu, data } : { map, data };
        if (dec) {
          try { rec.value = dec.decode(data, 0, length); } catch (e) { q.push(e as Error); return; }
        }
        q.push(rec);
      });
    }
    return n;
  }

  /**
   * Calls `cb` once per batch of the records there are now (at most `max` in all), in order
   * per ring: no record object, no copy, one call for up to DEFAULT_BATCH_RECORDS records.
   * The batch (see EventBatch) views the ring and is valid only inside `cb`; its space goes
   * back to the kernel when `cb` returns, also when it throws (its records count as read).
   * Records are raw: decode() does not apply here. Records that read() or `for await`
   * already copied out of the rings stay queued for them. Returns the number of records.
   */
  drainBatch(cb: (batch: EventBatch) => void, opts: DrainBatchOptions = {}): number {
    this.#check();
    const max = opts.max ?? Infinity;
    let n = 0;
    for (const src of this.#sources) {
      if (n >= max || this.#closed) break;
      n += src.batches(cb, max - n);
    }
    return n;
  }

  /**
   * A drain with no record object: `cb(bytes, start, length, cpu, map)` per record, with
   * `bytes` a view of the ring valid only during the call (cpu -1 for ring buffers).
   */
  drainRaw(cb: (bytes: Buffer, start: number, length: number, cpu: number, map: string) => void, max = Infinity): number {
    this.#check();
    let n = 0;
    for (const src of this.#sources) {
      if (n >= max || this.#closed) break;
      const map = src.name;
      n += src.consume((b, s, l, c) => cb(b as Buffer, s, l, c ?? -1, map), max - n);
    }
    return n;
  }

  /**
   * The next record, waiting for one for at most `timeoutMs` (none: until one comes).
   * Resolves undefined on timeout, or when the reader is closed meanwhile.
   */
  async read(opts: { timeoutMs?: number } = {}): Promise<EventRecord | undefined> {
    this.#check();
    const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
    for (;;) {
      if (this.#qi < this.#queue.length) return this.#next();
      if (this.#closed) return undefined;
      if (this.#fill(BATCH) > 0) continue;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return undefined;
      await this.#readable(left);
    }
  }

  /**
   * `for await (const rec of reader)`: waits for records until the reader is closed (a
   * close() from the loop body ends the loop). Leaving the loop early (break) does not close
   * the reader: close() it.
   */
  [Symbol.asyncIterator](): AsyncIterator<EventRecord> {
    return {
      next: async (): Promise<IteratorResult<EventRecord>> => {
        for (;;) {
          if (this.#qi < this.#queue.length) return { value: this.#next(), done: false };
          if (this.#closed) return { value: undefined, done: true };
          if (this.#fill(BATCH) > 0) continue;
          await this.#readable(undefined);
        }
      },
      return: async (): Promise<IteratorResult<EventRecord>> => ({ value: undefined, done: true }),
    };
  }

  /** The next queued record (a queued decode error is thrown). */
  #next(): EventRecord {
    const r = this.#queue[this.#qi++]!;
    if (r instanceof Error) throw r;
    return r;
  }

  /** Waits until a ring is readable (true), or the time is up / the reader closed (false). One epoll wait is shared by every caller. */
  async #readable(timeoutMs: number | undefined): Promise<boolean> {
    for (const s of this.#sources) {
      if (s.pending()) {
        // a ring buffer record reserved and not committed yet (or one that came meanwhile):
        // look again on the next turn of the event loop, letting everything else run
        await new Promise((res) => setImmediate(res));
        return true;
      }
    }
    if (!this.#wait) {
      const w = waitReady(this.#ep);
      // Arming the wait polled our epoll fd, and a perf event's readiness goes to the first
      // poll (perf_poll clears it): a record that came since the rings were read was seen
      // by that poll, and the waiter thread's own poll then finds nothing. Records that come
      // from now on wake the waiter: look at the rings once more.
      if (this.#sources.some((s) => s.pending())) { w.cancel(); return true; }
      this.#wait = w;
      this.#waitSettled = false;
      void w.ready.then(() => { if (this.#wait === w) this.#waitSettled = true; }, () => {});
    }
    const w = this.#wait;
    this.#waiters++;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (timeoutMs === undefined) return await w.ready;
      return await Promise.race([w.ready, new Promise<false>((res) => { timer = setTimeout(() => res(false), timeoutMs); })]);
    } finally {
      if (timer) clearTimeout(timer);
      this.#waiters--;
      if (this.#wait === w && (this.#waitSettled || this.#waiters === 0)) {
        this.#wait = undefined;
        w.cancel();
      }
    }
  }

  /** Records read and lost, per map. */
  stats(): EventStats[] {
    return this.#sources.map((s) => {
      const stats: EventStats = { map: s.name, type: s.type, read: s.read, lost: s.lost() };
      if (s.walker) stats.walker = s.walker;
      const per = s.lostByCpu();
      if (per) stats.lostByCpu = Object.fromEntries(per);
      return stats;
    });
  }

  /** Records lost over all maps (perf buffers). */
  get lost(): number {
    let n = 0;
    for (const s of this.#sources) n += s.lost();
    return n;
  }

  /**
   * Stops reading and frees everything: the rings are detached (no read of their memory
   * after this), the mappings replaced, the perf events and map files closed (the perf
   * event array entries go with them), pending read()s resolve undefined and the iterator
   * ends. Safe from a drain callback and from a `for await` body. A second close() is an
   * EventsError ('closed').
   */
  close(): void {
    if (this.#closed) throw new EventsError(`event reader of ${this.maps.join(', ') || 'no map'} is already closed`, {}, { reason: 'closed' });
    this.#closed = true;
    for (const s of this.#sources) s.detach();
    this.#queue = [];
    this.#qi = 0;
    const w = this.#wait;
    this.#wait = undefined;
    w?.cancel(); // leaves the master epoll set before our epoll fd is closed
    let first: unknown;
    for (const s of this.#sources) {
      try { s.close(); } catch (e) { first ??= e; }
    }
    try { closeFd(this.#ep); } catch (e) { first ??= e; }
    if (first) throw first;
  }

  #check(): void {
    if (this.#closed) throw new EventsError(`event reader of ${this.maps.join(', ') || 'no map'} is closed`, {}, { reason: 'closed' });
  }
}

/**
 * The bytes of a record: a Uint8Array whose prototype chain has Buffer.prototype, so that it
 * is a Buffer (Buffer.isBuffer, toString('hex'), readUInt32LE...) made at the cost of a plain
 * typed-array view (Buffer.from(arrayBuffer, offset, length) costs about three times more).
 * An anonymous class made by a function: the bundle's keepNames would otherwise redefine its
 * `name` (esbuild's __name), and V8 then builds every instance on its slow path, ~10x slower
 * (drain 1.6M instead of 18M records per CPU second in bench/events.ts).
 */
const RecordBytes = (() => class extends Uint8Array {})();
Object.setPrototypeOf(RecordBytes.prototype, Buffer.prototype);
