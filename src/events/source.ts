/**
 * What an EventReader reads from: one map's rings (a ring buffer, or a perf event array's
 * per-CPU buffers), with the fds that become readable when records come.
 */
import type { Btf } from '../btf/index.js';
import type { MapInfo } from '../sys/index.js';
import type { OpenedMap } from './map-ref.js';
import type { RecordVisitor } from './ring.js';

/** One record: `bytes[start, start + length)`, valid only during the call; `cpu` is -1 for ring buffers. */
export type SourceVisitor = (bytes: Uint8Array, start: number, length: number, cpu: number) => void;

/** One copied record: `buffer[start, start + length)`, a copy this process owns. */
export type CopyVisitor = (cpu: number, buffer: ArrayBuffer, start: number, length: number) => void;

export interface EventSource {
  /** The map's name. */
  readonly name: string;
  readonly type: 'perf_event_array' | 'ringbuf';
  readonly info: MapInfo;
  /** The object's BTF, when the map came with one. */
  readonly btf?: Btf;
  /** Fds to watch for readability. */
  readonly fds: readonly number[];
  /** Records handed out so far. */
  read: number;
  /** Records the kernel dropped because the buffer was full (perf buffers; ring buffers do not count them). */
  lost(): number;
  /** Lost records per CPU (perf buffers). */
  lostByCpu(): ReadonlyMap<number, number> | undefined;
  /** Visits up to `max` records in the ring (zero copy); returns how many. */
  consume(visit: SourceVisitor, max: number): number;
  /** Copies up to `max` records out (in batches: one copy of the ring bytes per batch), then hands them to `out`; returns how many. */
  take(max: number, out: CopyVisitor): number;
  /** Whether unread bytes are waiting. */
  pending(): boolean;
  /** Never touch the mapped memory again (before close, and from a callback that closes). */
  detach(): void;
  /** Releases mappings and fds (after detach). */
  close(): void;
}

/** What every source holds of its map (which it owns: its close() closes the map's fd). */
export abstract class MapSource {
  readonly name: string;
  readonly info: MapInfo;
  readonly btf?: Btf;
  read = 0;
  protected readonly map: OpenedMap;

  constructor(map: OpenedMap) {
    this.map = map;
    this.name = map.name;
    this.info = map.info;
    if (map.btf) this.btf = map.btf;
  }
}

/** The consumer side both ring kinds share (ring.ts). */
export interface Ring {
  read(visit: RecordVisitor, max: number): number;
  commit(): void;
  copyRange(from: number, to: number): ArrayBuffer;
  readonly detached: boolean;
}

/** Bytes a batch copy aims at: records kept by the caller keep their batch's copy alive. */
const BATCH_BYTES = 64 << 10;
const rel: number[] = [];
const lens: number[] = [];

/**
 * Copies up to `max` records of `ring` out: each batch is read (no copy), its byte range
 * copied once into a new ArrayBuffer, committed, then handed to `out` record by record.
 * Returns the number of records.
 */
export function takeCopies(ring: Ring, cpu: number, max: number, out: CopyVisitor): number {
  let n = 0;
  let batch = 256;
  while (n < max && !ring.detached) {
    const want = Math.min(batch, max - n);
    let base = -1, k = 0, bytes = 0;
    const got = ring.read((_b, _s, len, pos) => {
      if (base < 0) base = pos;
      rel[k] = pos - base;
      lens[k++] = len;
      bytes += len;
    }, want);
    if (got === 0) { ring.commit(); break; }
    const copy = ring.copyRange(base, base + rel[k - 1]! + lens[k - 1]!);
    ring.commit();
    for (let i = 0; i < k; i++) out(cpu, copy, rel[i]!, lens[i]!);
    n += got;
    if (got < want) break; // the ring is empty
    batch = Math.max(16, Math.min(4096, Math.floor(BATCH_BYTES / Math.max(1, bytes / got))));
  }
  return n;
}
