/**
 * What an EventReader reads from: one map's rings (a ring buffer, or a perf event array's
 * per-CPU buffers), with the fds that become readable when records come.
 */
import type { Btf } from '../btf/index.js';
import type { MapInfo } from '../sys/index.js';

/** One record: `bytes[start, start + length)`, valid only during the call; `cpu` is -1 for ring buffers. */
export type SourceVisitor = (bytes: Uint8Array, start: number, length: number, cpu: number) => void;

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
  /** Visits up to `max` records; returns how many. */
  consume(visit: SourceVisitor, max: number): number;
  /** Whether unread bytes are waiting. */
  pending(): boolean;
  /** Never touch the mapped memory again (before close, and from a callback that closes). */
  detach(): void;
  /** Releases mappings and fds (after detach). */
  close(): void;
}
