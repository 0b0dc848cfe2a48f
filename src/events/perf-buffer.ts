/**
 * A perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) as an event source, as libbpf's
 * perf_buffer: one PERF_COUNT_SW_BPF_OUTPUT event per online CPU (below the map's
 * max_entries), each with a metadata page and 2^n data pages mapped read-write (so that
 * the kernel never overwrites what was not read), enabled, and stored in the map at the
 * CPU's index, where bpf_perf_event_output(..., BPF_F_CURRENT_CPU, ...) finds it.
 */
import {
  Fd, Mapping, MemoryMapping, PROT_READ, PROT_WRITE, mapUpdate, systemPageSize,
  PERF_COUNT_SW_BPF_OUTPUT, PERF_EVENT_IOC_ENABLE, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE,
  perfEventIoctl, perfEventOpen,
} from '../sys/index.js';
import { PERF_MMAP_DATA_OFFSET, PERF_MMAP_DATA_SIZE } from './abi.js';
import { EventsError } from './errors.js';
import { onlineCpus, type OpenedMap } from './map-ref.js';
import { batchRecordsOf, type RecordBatch, type RecordVisitor } from './batch.js';
import { PerfConsumer } from './perf-ring.js';
import type { WalkerChoice } from './walk.js';
import { WASM_MAX_BYTES, newWasmMemory, wasmAvailable } from '../wasm/runtime.js';
import { WasmWalker, walkerScratchBytes } from './walk-wasm.js';
import { MapSource, eachBatch, takeCopies, type CopyVisitor, type EventSource } from './source.js';

export interface PerfBufferOptions {
  /** Data pages per CPU, a power of two (default 64: 256 KiB with 4 KiB pages). */
  pagesPerCpu?: number;
  /** Wake the reader once this many records are in a CPU's buffer (default 1). */
  wakeupEvents?: number;
  /** Wake the reader once this many bytes are in a CPU's buffer (instead of wakeupEvents). */
  watermark?: number;
  /** Which walker reads the rings (default 'auto': WebAssembly where it can be mapped, see WalkerChoice). */
  walker?: WalkerChoice;
  /** The most records one drainBatch call hands out (default DEFAULT_BATCH_RECORDS). */
  batchRecords?: number;
}

export const DEFAULT_PAGES_PER_CPU = 64;

interface CpuRing { cpu: number; fd: Fd; mapping: Mapping | MemoryMapping; consumer: PerfConsumer }

/** A CPU's buffer mapped: its metadata page at `at` in `buffer`; `wasm` when mapped into a WebAssembly.Memory. */
interface CpuPages { mapping: Mapping | MemoryMapping; buffer: ArrayBuffer; at: number; wasm?: WasmWalker }

/** data_offset of the metadata page at `at` (0 before Linux 4.1: the data follows the first page). */
function dataOffsetOf(buffer: ArrayBuffer, at: number, page: number): number {
  return Number(new BigUint64Array(buffer, at, page / 8)[PERF_MMAP_DATA_OFFSET / 8]) || page;
}

/**
 * A CPU's metadata and data pages (`length` bytes of `fd`) mapped into a new
 * WebAssembly.Memory after the walker's scratch area, with the walker over the data.
 * Undefined when it cannot be done here (no WebAssembly, a buffer too large for a 32-bit
 * memory); throws when the kernel refuses the mapping (nothing stays mapped).
 */
function mapCpuIntoWasm(fd: Fd, length: number, what: string, batchRecords: number): CpuPages | undefined {
  const page = systemPageSize();
  const at = Math.ceil(walkerScratchBytes(batchRecords) / page) * page;
  if (!wasmAvailable() || at + length > WASM_MAX_BYTES) return undefined;
  const memory = newWasmMemory(at + length);
  const mapping = MemoryMapping.map(memory, at, fd, length, PROT_READ | PROT_WRITE, 0, what);
  try {
    return { mapping, buffer: memory.buffer, at, wasm: new WasmWalker(memory, 0, batchRecords, at + dataOffsetOf(memory.buffer, at, page)) };
  } catch (e) {
    mapping.close();
    throw e;
  }
}

export class PerfBufferSource extends MapSource implements EventSource {
  readonly type = 'perf_event_array' as const;
  readonly fds: readonly number[];
  readonly #rings: CpuRing[] = [];

  /** Opens and maps one perf event per CPU for `map`, which this source now owns (closed by close() or a failure here). */
  constructor(map: OpenedMap, opts: PerfBufferOptions = {}) {
    super(map);
    try {
      this.#open(map, opts);
    } catch (e) {
      this.#release();
      throw e;
    }
    this.fds = this.#rings.map((r) => r.fd.value);
  }

  #open(map: OpenedMap, opts: PerfBufferOptions): void {
    const ctx = { symbol: map.name };
    const pages = opts.pagesPerCpu ?? DEFAULT_PAGES_PER_CPU;
    if (!Number.isInteger(pages) || pages < 1 || !Number.isInteger(Math.log2(pages))) {
      throw new EventsError(`perf buffer '${map.name}': pagesPerCpu ${pages} is not a power of two`, ctx, { reason: 'options' });
    }
    const page = systemPageSize();
    const watermark = opts.watermark !== undefined;
    const wakeup = watermark ? opts.watermark! : opts.wakeupEvents ?? 1;
    if (!Number.isInteger(wakeup) || wakeup < 1 || watermark && wakeup >= pages * page) {
      throw new EventsError(`perf buffer '${map.name}': ${watermark ? `watermark ${wakeup} must be between 1 and the buffer size (${pages * page} bytes)` : `wakeupEvents ${wakeup} must be at least 1`}`, ctx, { reason: 'options' });
    }
    const walkerChoice = opts.walker ?? 'auto';
    const batchRecords = batchRecordsOf(opts);
    const cpus = onlineCpus().filter((c) => c < map.info.maxEntries);
    const key = new Uint8Array(4);
    const value = new Uint8Array(4);
    for (const cpu of cpus) {
      let fd: Fd;
      try {
        fd = new Fd(perfEventOpen({
          attr: { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sample_type: PERF_SAMPLE_RAW, sample_period: 1, wakeup_events: wakeup },
          ...(watermark ? { flags: ['watermark' as const] } : {}),
          pid: -1, cpu,
        }), `perf buffer ${map.name} cpu ${cpu}`);
      } catch (e) {
        throw new EventsError(`perf buffer '${map.name}': perf_event_open on CPU ${cpu} failed: ${(e as Error).message}`, ctx, { cause: e, reason: 'kernel' });
      }
      const length = (1 + pages) * page;
      const what = `perf buffer '${map.name}' of CPU ${cpu}`;
      let mapped: CpuPages | undefined;
      try {
        if (walkerChoice !== 'js') {
          try {
            mapped = mapCpuIntoWasm(fd, length, what, batchRecords);
          } catch (e) {
            if (walkerChoice === 'wasm') throw e;
          }
          if (!mapped && walkerChoice === 'wasm') {
            throw new EventsError(`perf buffer '${map.name}': the WebAssembly walker needs WebAssembly and a buffer below 4 GiB`, ctx, { reason: 'options' });
          }
        }
        if (!mapped) {
          const mapping = Mapping.map(fd, length, PROT_READ | PROT_WRITE, 0, what);
          mapped = { mapping, buffer: mapping.buffer, at: 0 };
        }
      } catch (e) { fd.close(); throw e instanceof EventsError ? e : new EventsError((e as Error).message, ctx, { cause: e, reason: 'kernel' }); }
      const { mapping, buffer, at, wasm } = mapped;
      const meta = new BigUint64Array(buffer, at, page / 8);
      const dataOffset = dataOffsetOf(buffer, at, page);
      const dataSize = Number(meta[PERF_MMAP_DATA_SIZE / 8]) || pages * page;
      const consumer = new PerfConsumer(meta, Buffer.from(buffer, at + dataOffset, dataSize), cpu, batchRecords, wasm);
      consumer.batch.map = map.name;
      this.#rings.push({ cpu, fd, mapping, consumer });
      try {
        perfEventIoctl(fd, PERF_EVENT_IOC_ENABLE);
        new DataView(key.buffer).setUint32(0, cpu, true);
        new DataView(value.buffer).setUint32(0, fd.value, true);
        mapUpdate(map.fd, key, value);
      } catch (e) {
        throw new EventsError(`perf buffer '${map.name}': setting up CPU ${cpu} failed: ${(e as Error).message}`, ctx, { cause: e, reason: 'kernel' });
      }
    }
  }

  /** The short loop the consumers take first. */
  get walker(): 'js' | 'wasm' | undefined { return this.#rings[0]?.consumer.walker; }

  /** The CPUs this buffer has a ring for. */
  get cpus(): number[] { return this.#rings.map((r) => r.cpu); }

  get read(): number {
    let n = 0;
    for (const r of this.#rings) n += r.consumer.records;
    return n;
  }

  lost(): number {
    let n = 0;
    for (const r of this.#rings) n += r.consumer.lost;
    return n;
  }

  lostByCpu(): ReadonlyMap<number, number> {
    return new Map(this.#rings.map((r) => [r.cpu, r.consumer.lost]));
  }

  batches(cb: (batch: RecordBatch) => void, max: number): number {
    let n = 0;
    for (const r of this.#rings) {
      if (n >= max || r.consumer.detached) break;
      n += eachBatch(r.consumer, cb, max - n);
    }
    return n;
  }

  consume(visit: RecordVisitor, max: number): number {
    let n = 0;
    for (const r of this.#rings) {
      if (n >= max || r.consumer.detached) break;
      n += r.consumer.consume(visit, max - n);
    }
    return n;
  }

  take(max: number, out: CopyVisitor): number {
    let n = 0;
    for (const r of this.#rings) {
      if (n >= max || r.consumer.detached) break;
      n += takeCopies(r.consumer, max - n, out);
    }
    return n;
  }

  pending(): boolean {
    for (const r of this.#rings) if (r.consumer.available() > 0) return true;
    return false;
  }

  detach(): void {
    for (const r of this.#rings) r.consumer.detach();
  }

  close(): void { this.#release(); }

  /**
   * Detach, unmap, close the perf events, then our map file: the kernel removes the
   * entries this file stored when it is released (perf_event_fd_array_release).
   */
  #release(): void {
    for (const r of this.#rings) {
      r.consumer.detach();
      r.mapping.close();
      r.fd.close();
    }
    this.map.fd.close();
  }
}
