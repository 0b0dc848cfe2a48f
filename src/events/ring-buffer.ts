/**
 * A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) as an event source: the consumer page mapped
 * read-write, the producer page and the data pages (twice in a row) read-only. mapRingbuf
 * also maps user ring buffers for their writer (the other way round).
 */
import { Mapping, MemoryMapping, PROT_READ, PROT_WRITE, systemPageSize } from '../sys/index.js';
import { EventsError } from './errors.js';
import type { OpenedMap } from './map-ref.js';
import { DEFAULT_BATCH_RECORDS, TSO, type RecordBatch, type RecordVisitor } from './batch.js';
import { RingbufConsumer } from './ringbuf.js';
import type { WalkerChoice } from './walk.js';
import { WASM_MAX_BYTES, newWasmMemory, wasmAvailable } from '../wasm/runtime.js';
import { WasmWalker, walkerScratchBytes } from './walk-wasm.js';
import { MapSource, eachBatch, takeCopies, type CopyVisitor, type EventSource } from './source.js';

/** The views a ring buffer map's two mappings give: see mapRingbuf. */
export interface RingbufPages {
  mappings: Array<Mapping | MemoryMapping>;
  consumerPos: BigUint64Array;
  producerPos: BigUint64Array;
  /** The data pages, mapped twice in a row (2 * size bytes). */
  data: Buffer;
  /** The walker over the WebAssembly.Memory the pages are mapped into (mapRingbufIntoWasm). */
  wasm?: WasmWalker;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * A ring buffer's pages mapped into a new WebAssembly.Memory, for the WebAssembly walker:
 * the walker's scratch area (batch arrays) at 0, then at the next page the consumer page
 * (read-write), the producer page and the data pages twice in a row (read-only), as
 * mapRingbuf maps them. Undefined when it cannot be done here (not x86-64, no WebAssembly, a
 * ring too large for a 32-bit memory); throws when the kernel refuses a mapping (nothing
 * stays mapped; `map`'s fd stays open).
 */
export function mapRingbufIntoWasm(map: OpenedMap, batchRecords = DEFAULT_BATCH_RECORDS): RingbufPages | undefined {
  const size = map.info.maxEntries;
  const page = systemPageSize();
  const cons = roundUp(walkerScratchBytes(batchRecords), page);
  const prod = cons + page;
  const data = prod + page;
  if (!TSO || !wasmAvailable() || data + 2 * size > WASM_MAX_BYTES) return undefined;
  const memory = newWasmMemory(data + 2 * size);
  const mappings: MemoryMapping[] = [];
  try {
    mappings.push(MemoryMapping.map(memory, cons, map.fd, page, PROT_READ | PROT_WRITE, 0, `ring buffer '${map.name}' consumer page`));
    mappings.push(MemoryMapping.map(memory, prod, map.fd, page + 2 * size, PROT_READ, page, `ring buffer '${map.name}' producer and data pages`));
  } catch (e) {
    for (const m of mappings) m.close();
    throw e;
  }
  const buffer = memory.buffer;
  return {
    mappings,
    consumerPos: new BigUint64Array(buffer, cons, 1),
    producerPos: new BigUint64Array(buffer, prod, 1),
    data: Buffer.from(buffer, data, 2 * size),
    wasm: new WasmWalker(memory, 0, batchRecords, data),
  };
}

/**
 * The two mappings of a BPF ring buffer map: the consumer page, then the producer page and
 * the data pages twice in a row. For a ring buffer the consumer page is writable (the reader
 * moves consumer_pos); for a user ring buffer (`user`) the producer side is (the writer moves
 * producer_pos and fills records). On failure nothing stays mapped and `map`'s fd is closed.
 */
export function mapRingbuf(map: OpenedMap, user: boolean): RingbufPages {
  const size = map.info.maxEntries;
  const page = systemPageSize();
  const what = user ? 'user ring buffer' : 'ring buffer';
  const mappings: Mapping[] = [];
  try {
    const cons = Mapping.map(map.fd, page, user ? PROT_READ : PROT_READ | PROT_WRITE, 0, `${what} '${map.name}' consumer page`);
    mappings.push(cons);
    const prod = Mapping.map(map.fd, page + 2 * size, user ? PROT_READ | PROT_WRITE : PROT_READ, page, `${what} '${map.name}' producer and data pages`);
    mappings.push(prod);
    return {
      mappings,
      consumerPos: new BigUint64Array(cons.buffer, 0, 1),
      producerPos: new BigUint64Array(prod.buffer, 0, 1),
      data: Buffer.from(prod.buffer, page, 2 * size),
    };
  } catch (e) {
    for (const m of mappings) m.close();
    map.fd.close();
    throw e instanceof EventsError ? e : new EventsError((e as Error).message, { symbol: map.name }, { cause: e, reason: 'kernel' });
  }
}

export class RingBufferSource extends MapSource implements EventSource {
  readonly type = 'ringbuf' as const;
  readonly fds: readonly number[];
  readonly #mappings: Array<Mapping | MemoryMapping>;
  readonly #ring: RingbufConsumer;

  /**
   * Maps the ring of `map`, which this source now owns: close() closes its fd, and so does a
   * failure here. `walker`: see WalkerChoice ('auto' falls back to 'js' when the WebAssembly
   * mapping cannot be made).
   */
  constructor(map: OpenedMap, walker: WalkerChoice = 'auto', batchRecords = DEFAULT_BATCH_RECORDS) {
    super(map);
    let pages: RingbufPages | undefined;
    if (walker !== 'js') {
      try {
        pages = mapRingbufIntoWasm(map, batchRecords);
        if (!pages && walker === 'wasm') throw new EventsError(`ring buffer '${map.name}': the WebAssembly walker needs x86-64, WebAssembly and a ring below 2 GiB`, { symbol: map.name }, { reason: 'options' });
      } catch (e) {
        if (walker === 'wasm') {
          map.fd.close();
          throw e instanceof EventsError ? e : new EventsError((e as Error).message, { symbol: map.name }, { cause: e, reason: 'kernel' });
        }
      }
    }
    pages ??= mapRingbuf(map, false);
    this.#mappings = pages.mappings;
    this.#ring = new RingbufConsumer(pages.consumerPos, pages.producerPos, pages.data, map.info.maxEntries, batchRecords, pages.wasm);
    this.#ring.batch.map = map.name;
    this.fds = [map.fd.value];
  }

  get read(): number { return this.#ring.records; }

  get walker(): 'js' | 'wasm' | undefined { return this.#ring.walker; }

  lost(): number { return 0; }
  lostByCpu(): undefined { return undefined; }

  batches(cb: (batch: RecordBatch) => void, max: number): number {
    return eachBatch(this.#ring, cb, max);
  }

  consume(visit: RecordVisitor, max: number): number {
    return this.#ring.consume(visit, max);
  }

  take(max: number, out: CopyVisitor): number {
    return takeCopies(this.#ring, max, out);
  }

  pending(): boolean { return this.#ring.available() > 0; }

  detach(): void { this.#ring.detach(); }

  close(): void {
    this.#ring.detach();
    for (const m of this.#mappings) m.close();
    this.map.fd.close();
  }
}
