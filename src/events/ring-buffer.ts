/**
 * A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) as an event source: the consumer page mapped
 * read-write, the producer page and the data pages (twice in a row) read-only.
 */
import { Mapping, PROT_READ, PROT_WRITE, systemPageSize } from '../sys/mmap.js';
import { EventsError } from './errors.js';
import type { OpenedMap } from './map-ref.js';
import { RingbufConsumer } from './ring.js';
import { takeCopies, type CopyVisitor, type EventSource, type SourceVisitor } from './source.js';

export class RingBufferSource implements EventSource {
  readonly type = 'ringbuf' as const;
  readonly name: string;
  readonly info: OpenedMap['info'];
  readonly btf?: OpenedMap['btf'];
  readonly fds: readonly number[];
  read = 0;
  readonly #map: OpenedMap;
  readonly #mappings: Mapping[] = [];
  readonly #ring: RingbufConsumer;

  /** Maps the ring of `map`, which this source now owns: close() closes its fd, and so does a failure here. */
  constructor(map: OpenedMap) {
    this.#map = map;
    this.name = map.name;
    this.info = map.info;
    if (map.btf) this.btf = map.btf;
    const size = map.info.maxEntries;
    const page = systemPageSize();
    try {
      const cons = Mapping.map(map.fd, page, PROT_READ | PROT_WRITE, 0, `ring buffer '${map.name}' consumer page`);
      this.#mappings.push(cons);
      const prod = Mapping.map(map.fd, page + 2 * size, PROT_READ, page, `ring buffer '${map.name}' producer and data pages`);
      this.#mappings.push(prod);
      this.#ring = new RingbufConsumer(new BigUint64Array(cons.buffer, 0, 1), new BigUint64Array(prod.buffer, 0, 1),
        Buffer.from(prod.buffer, page, 2 * size), size);
    } catch (e) {
      for (const m of this.#mappings) m.close();
      map.fd.close();
      throw e instanceof EventsError ? e : new EventsError((e as Error).message, { symbol: map.name }, { cause: e, reason: 'kernel' });
    }
    this.fds = [map.fd.value];
  }

  lost(): number { return 0; }
  lostByCpu(): undefined { return undefined; }

  consume(visit: SourceVisitor, max: number): number {
    return this.#ring.consume((b, s, l) => { this.read++; visit(b, s, l, -1); }, max);
  }

  take(max: number, out: CopyVisitor): number {
    const n = takeCopies(this.#ring, -1, max, out);
    this.read += n;
    return n;
  }

  pending(): boolean { return this.#ring.available() > 0; }

  detach(): void { this.#ring.detach(); }

  close(): void {
    this.#ring.detach();
    for (const m of this.#mappings) m.close();
    this.#map.fd.close();
  }
}
