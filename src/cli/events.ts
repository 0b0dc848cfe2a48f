/**
 * `--events [MAP[=TYPE]]`, `--trace`, `--count N`: what the loaded programs send, printed as
 * it comes, then one line per map with the records read and lost.
 *
 *   events cpu 1: {slot: 146, pid: 4321, rc: 94025771024528, line: "ls"}       (TYPE given)
 *   events cpu 1: 84 bytes 92000000 e1100000 ...  |........ls......|           (no TYPE)
 *   trace bash-4321 [001] 1234.567890: hello                                  (--trace)
 *   events: 12 read, 0 lost                                                   (at the end)
 *
 * With --json, one JSON document per line: {"event":{"map","cpu","data":"<hex>","value"}},
 * {"trace":{...}}, {"eventStats":{"map","read","lost"}}.
 */
import type { Collection } from '../load/collection.js';
import type { Value } from '../load/values.js';
import { EventReader, type EventRecord, type EventStats } from '../events/reader.js';
import { TracePipe, type TraceLine } from '../events/trace.js';
import { EventsError } from '../events/errors.js';
import { UsageError } from './args.js';

/** One --events argument: a map (all perf/ring maps when absent) and the type to decode with. */
export interface EventsRequest { map?: string; type?: string }

const EVENT_MAPS = new Set(['perf_event_array', 'ringbuf']);

/** JSON-safe form of a decoded value: bigints as numbers when exact, else strings; bytes as hex. */
export function jsonValue(v: Value): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

/** A decoded value on one line: {a: 1, s: "x", arr: [1, 2]}. */
export function textValue(v: Value): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return `[${v.map(textValue).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}: ${textValue(x)}`).join(', ')}}`;
}

/** Bytes as hex words of 4 bytes, then the printable ones (others as '.'). */
export function hexDump(b: Uint8Array): string {
  const hex: string[] = [];
  for (let i = 0; i < b.length; i += 4) hex.push(Buffer.from(b.subarray(i, i + 4)).toString('hex'));
  let text = '';
  for (const c of b) text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  return `${b.length} bytes ${hex.join(' ')}  |${text}|`;
}

export function formatRecord(rec: EventRecord, json: boolean): string {
  if (json) {
    const e: Record<string, unknown> = { map: rec.map };
    if (rec.cpu !== undefined) e.cpu = rec.cpu;
    e.data = Buffer.from(rec.data).toString('hex');
    if (rec.value !== undefined) e.value = jsonValue(rec.value);
    return JSON.stringify({ event: e });
  }
  const where = rec.cpu === undefined ? rec.map : `${rec.map} cpu ${rec.cpu}`;
  return `${where}: ${rec.value !== undefined ? textValue(rec.value) : hexDump(rec.data)}`;
}

export function formatTrace(l: TraceLine, json: boolean): string {
  if (json) return JSON.stringify({ trace: l });
  return `trace ${l.comm}-${l.pid} [${String(l.cpu).padStart(3, '0')}] ${l.timestamp.toFixed(6)}: ${l.message}`;
}

export function formatStats(stats: readonly EventStats[], json: boolean): string[] {
  return stats.map((s) => (json
    ? JSON.stringify({ eventStats: { map: s.map, read: s.read, lost: s.lost } })
    : `${s.map}: ${s.read} read, ${s.lost} lost${s.type === 'ringbuf' ? ' (ring buffers do not count drops: the program sees them as failed outputs)' : ''}`));
}

export interface StreamOptions {
  /** Stop after this many records (events, or trace lines when only --trace). */
  count?: number;
  json: boolean;
  /** Stops the stream (SIGINT, --duration). */
  signal?: AbortSignal;
  write(line: string): void;
}

/**
 * The readers for the requests over the loaded collections. A MAP no object has, a map that
 * is not a perf event array or ring buffer, or a TYPE not in the object's BTF is a UsageError
 * (nothing is left open).
 */
export class EventStream {
  readonly #reader?: EventReader;
  readonly #trace?: TracePipe;
  #closed = false;

  private constructor(reader: EventReader | undefined, trace: TracePipe | undefined) {
    if (reader) this.#reader = reader;
    if (trace) this.#trace = trace;
  }

  static open(collections: readonly Collection[], requests: readonly EventsRequest[], trace: boolean): EventStream {
    const picked: Array<{ map: NonNullable<ReturnType<Collection['maps']['get']>>; type?: string }> = [];
    const seen = new Set<unknown>();
    for (const rq of requests) {
      if (rq.map === undefined) {
        for (const c of collections) for (const m of c.maps.values()) {
          if (EVENT_MAPS.has(m.type) && !seen.has(m)) { seen.add(m); picked.push({ map: m }); }
        }
        continue;
      }
      const m = collections.map((c) => c.maps.get(rq.map!)).find((x) => x !== undefined);
      if (!m) throw new UsageError(`--events ${rq.map}: no map '${rq.map}' in ${collections.length === 1 ? 'the object' : 'the objects'}`);
      if (!EVENT_MAPS.has(m.type)) throw new UsageError(`--events ${rq.map}: '${rq.map}' is a ${m.type} map, not a perf_event_array or ringbuf`);
      if (seen.has(m)) { const p = picked.find((x) => x.map === m)!; if (rq.type) p.type = rq.type; continue; }
      seen.add(m);
      picked.push(rq.type ? { map: m, type: rq.type } : { map: m });
    }
    if (requests.length > 0 && picked.length === 0) throw new UsageError('--events: the object has no perf_event_array or ringbuf map');
    let reader: EventReader | undefined;
    try {
      if (picked.length) {
        reader = EventReader.open(picked.map((p) => p.map));
        for (const p of picked) {
          if (!p.type) continue;
          try { reader.decode(p.type, { map: p.map.name }); } catch (e) {
            throw e instanceof EventsError ? new UsageError(`--events ${p.map.name}=${p.type}: ${e.detail.replace(/^map '[^']*': /, '')}`) : e;
          }
        }
      }
      return new EventStream(reader, trace ? TracePipe.open() : undefined);
    } catch (e) {
      if (reader && !reader.closed) reader.close();
      throw e;
    }
  }

  /** Prints records and trace lines as they come until `count`, the signal, or close(). */
  async run(o: StreamOptions): Promise<number> {
    let n = 0;
    const stop = () => this.#stop();
    o.signal?.addEventListener('abort', stop, { once: true });
    const counted = this.#reader ? 'events' : 'trace';
    const seen = (what: 'events' | 'trace') => {
      if (what !== counted) return;
      n++;
      if (o.count !== undefined && n >= o.count) stop();
    };
    try {
      if (o.signal?.aborted || o.count === 0) return 0;
      await Promise.all([
        this.#reader && (async () => { for await (const rec of this.#reader!) { o.write(formatRecord(rec, o.json)); seen('events'); } })(),
        this.#trace && (async () => { for await (const l of this.#trace!) { o.write(formatTrace(l, o.json)); seen('trace'); } })(),
      ]);
    } finally {
      o.signal?.removeEventListener('abort', stop);
    }
    return n;
  }

  /** Records read and lost per map. */
  stats(): EventStats[] { return this.#reader?.stats() ?? []; }

  #stop(): void {
    if (this.#reader && !this.#reader.closed) this.#reader.close();
    if (this.#trace && !this.#trace.closed) this.#trace.close();
  }

  get closed(): boolean { return this.#closed; }

  /** Stops (if running) and frees the readers; returns the stats. */
  close(): EventStats[] {
    this.#closed = true;
    const s = this.stats();
    this.#stop();
    return s;
  }
}
