/**
 * Typed event readers of a skeleton: `skel.events.reader('events')` is an EventReader of
 * that map decoding every record as the type the skeleton was generated with, and
 * iterates the decoded values.
 */
import type { Collection } from '../load/collection.js';
import { EventReader, type DrainOptions, type EventReaderOptions, type EventRecord } from '../events/reader.js';
import { GlobalDataError } from './global-data.js';

export class TypedEventReader<T> implements AsyncIterable<T> {
  constructor(
    /** The reader underneath (stats(), lost, close()). */
    readonly reader: EventReader,
  ) {}

  /** Hands out the records there are now, decoded; returns how many. */
  drain(cb: (value: T, record: EventRecord) => void, opts?: DrainOptions): number {
    return this.reader.drain((rec) => cb(rec.value as T, rec), opts);
  }

  /** The next record, waiting up to `timeoutMs` (undefined when none came or the reader closed). */
  async read(opts: { timeoutMs?: number } = {}): Promise<T | undefined> {
    const rec = await this.reader.read(opts);
    return rec === undefined ? undefined : rec.value as T;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const rec of this.reader) yield rec.value as T;
  }

  close(): void { this.reader.close(); }
}

/** Readers of the event maps of a loaded object, each with its record type (`M`: map name -> type). */
export class SkeletonEvents<M extends { [map: string]: unknown }> {
  constructor(private readonly collection: Collection, private readonly types: { [K in keyof M]: string }) {}

  /** A reader of map `name` decoding its records (opts as EventReader.open's; the type is the skeleton's). */
  reader<N extends keyof M & string>(name: N, opts: Omit<EventReaderOptions, 'type'> = {}): TypedEventReader<M[N]> {
    const map = this.collection.maps.get(name);
    if (!map) throw new GlobalDataError(`event map '${name}' was not created`, { file: this.collection.spec.file, symbol: name });
    return new TypedEventReader<M[N]>(EventReader.open(map, { btf: this.collection.spec.btf, ...opts, type: this.types[name] }));
  }
}
