/**
 * What an EventReader reads from: one map's rings (a ring buffer, or a perf event array's
 * per-CPU buffers), with the fds that become readable when records come.
 */
import type { Btf } from '../btf/index.js';
import type { MapInfo } from '../sys/index.js';
import type { BatchRing, RecordBatch, RecordVisitor } from './batch.js';
import type { OpenedMap } from './map-ref.js';

/** One copied record: `buffer[start, start + length)`, a copy this process owns; `cpu` undefined for ring buffers. */
export type CopyVisitor = (cpu: number | undefined, buffer: ArrayBuffer, start: number, length: number) => void;

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
  readonly read: number;
  /** The short loop its consumers take ('wasm': the rings are mapped into a WebAssembly.Memory); undefined: none (a ring buffer mapped once, or not x86-64). */
  readonly walker: 'js' | 'wasm' | undefined;
  /** Records the kernel dropped because the buffer was full (perf buffers; ring buffers do not count them). */
  lost(): number;
  /** Lost records per CPU (perf buffers). */
  lostByCpu(): ReadonlyMap<number, number> | undefined;
  /** Hands up to `max` records to `cb` in batches (zero copy), each released after its call; returns how many. */
  batches(cb: (batch: RecordBatch) => void, max: number): number;
  /** Visits up to `max` records in the ring, one call each (zero copy); returns how many. */
  consume(visit: RecordVisitor, max: number): number;
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
  protected readonly map: OpenedMap;

  constructor(map: OpenedMap) {
    this.map = map;
    this.name = map.name;
    this.info = map.info;
    if (map.btf) this.btf = map.btf;
  }
}

/**
 * Hands up to `max` records of `ring` to `cb`, a batch per call; a batch is released when
 * its call returns (or throws: its records count as read, as libbpf counts a record whose
 * callback failed). A callback that detaches the ring ends the loop. Returns the count.
 */
export function eachBatch(ring: BatchRing, cb: (batch: RecordBatch) => void, max: number): number {
  let n = 0;
  while (n < max) {
    const k = ring.next(max - n);
    if (k === 0) break;
    n += k;
    ring.records += k;
    try { cb(ring.batch); } finally { ring.release(); }
    if (ring.detached) break;
  }
  return n;
}

/** Ring bytes a batch copy aims at: records kept by the caller keep their batch's copy alive. */
const BATCH_BYTES = 64 << 10;

/**
 * Copies up to `max` records of `ring` out: each batch's stretch of the ring is copied once
 * into a new ArrayBuffer, released, then handed to `out` record by record. Returns the
 * number of records.
 */
export function takeCopies(ring: BatchRing, max: number, out: CopyVisitor): number {
  const b = ring.batch;
  let n = 0;
  while (n < max && !ring.detached) {
    const k = ring.next(max - n, BATCH_BYTES);
    if (k === 0) break;
    const copy = b.copy();
    const base = b.offsets[0]!;
    const cpu = b.cpu;
    ring.release();
    n += k;
    ring.records += k;
    for (let i = 0; i < k; i++) out(cpu, copy, b.offsets[i]! - base, b.lengths[i]!);
  }
  return n;
}
