/**
 * UserRingBuffer: the write side of a BPF_MAP_TYPE_USER_RINGBUF (Linux 6.1+), as libbpf's
 * user_ring_buffer: user space produces records, a BPF program consumes them with
 * bpf_user_ringbuf_drain(). The consumer page is mapped read-only, the producer page and
 * the data pages (twice in a row) read-write.
 *
 *   const w = UserRingBuffer.open(coll.maps.get('user_ring')!);
 *   w.write(Buffer.from(...));                 // false when the ring is full now
 *   await w.writeWait(bytes, { timeoutMs });   // waits for room without blocking the loop
 *   const r = w.reserve(16); r.data.writeUInt32LE(7); r.submit();
 */
import { EPOLLOUT, waitReady, type Wait } from '../sys/index.js';
import { EventsError } from './errors.js';
import { openEventMap, type EventMapRef, type OpenedMap } from './map-ref.js';
import { RingbufProducer } from './ringbuf.js';
import { mapRingbuf } from './ring-buffer.js';

/** A reserved record: fill `data`, then submit() or discard() it (one of the two, once). */
export interface ReservedRecord {
  /** The record's bytes in the ring (valid until submit / discard / close). */
  readonly data: Buffer;
  submit(): void;
  discard(): void;
}

export class UserRingBuffer {
  readonly name: string;
  /** The ring's data size (the map's max_entries). */
  readonly size: number;
  readonly #map: OpenedMap;
  readonly #mappings: Array<{ close(): void }>;
  readonly #ring: RingbufProducer;
  readonly #data: Buffer;
  #closed = false;
  #waits = new Set<Wait>();

  private constructor(map: OpenedMap) {
    this.#map = map;
    this.name = map.name;
    this.size = map.info.maxEntries;
    const pages = mapRingbuf(map, true);
    this.#mappings = pages.mappings;
    this.#data = pages.data;
    this.#ring = new RingbufProducer(pages.consumerPos, pages.producerPos, pages.data, this.size);
  }

  /** A writer of a user ring buffer map (a loaded map, a pin path or an fd). */
  static open(ref: EventMapRef): UserRingBuffer {
    return new UserRingBuffer(openEventMap(ref, ['user_ringbuf'], 'a user ring buffer writer'));
  }

  get closed(): boolean { return this.#closed; }

  /** Bytes free now (a record of n bytes takes n + 8, rounded up to 8). */
  get free(): number { return this.#closed ? 0 : this.#ring.free(); }

  /**
   * Reserves a record of `length` bytes, or undefined when the ring has no room now.
   * Records are consumed in reserve order: one left reserved stops the BPF side's drain.
   */
  reserve(length: number): ReservedRecord | undefined {
    this.#check();
    const off = this.#wrap(() => this.#ring.reserve(length));
    if (off === undefined) return undefined;
    const data = this.#data.subarray(off, off + length);
    let done = false;
    const end = (discard: boolean) => {
      if (done) throw new EventsError(`user ring buffer '${this.name}': the record was already ${discard ? 'ended' : 'submitted or discarded'}`, { symbol: this.name }, { reason: 'options' });
      this.#check();
      done = true;
      this.#ring.submit(off, discard);
    };
    return { data, submit: () => end(false), discard: () => end(true) };
  }

  /** Copies `bytes` into a new record and submits it; false when the ring has no room now. */
  write(bytes: Uint8Array): boolean {
    this.#check();
    return this.#wrap(() => this.#ring.write(bytes));
  }

  /**
   * write(), waiting for room when the ring is full (the BPF program's drain wakes it),
   * for at most `timeoutMs`. Resolves false on timeout or when the writer is closed.
   */
  async writeWait(bytes: Uint8Array, opts: { timeoutMs?: number } = {}): Promise<boolean> {
    const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
    for (;;) {
      if (this.#closed) return false;
      if (this.write(bytes)) return true;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return false;
      const w = waitReady(this.#map.fd.value, { events: EPOLLOUT, ...(left !== undefined ? { timeoutMs: left } : {}) });
      this.#waits.add(w);
      try { await w.ready; } finally { this.#waits.delete(w); }
    }
  }

  /** Unmaps the ring and closes the map file; pending writeWait()s resolve false. A second close() is an EventsError ('closed'). */
  close(): void {
    if (this.#closed) throw new EventsError(`user ring buffer '${this.name}' is already closed`, { symbol: this.name }, { reason: 'closed' });
    this.#closed = true;
    this.#ring.detach();
    for (const w of this.#waits) w.cancel();
    for (const m of this.#mappings) m.close();
    this.#map.fd.close();
  }

  #check(): void {
    if (this.#closed) throw new EventsError(`user ring buffer '${this.name}' is closed`, { symbol: this.name }, { reason: 'closed' });
  }

  /** Producer errors (sizes) as EventsErrors naming the map. */
  #wrap<T>(f: () => T): T {
    try { return f(); } catch (e) {
      if (e instanceof EventsError) throw e;
      throw new EventsError(`user ring buffer '${this.name}': ${(e as Error).message.replace(/^user ring buffer: /, '')}`, { symbol: this.name }, { cause: e, reason: 'options' });
    }
  }
}
