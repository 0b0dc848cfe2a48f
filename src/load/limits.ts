/**
 * Limits on what an object may make the kernel allocate. A map definition is a few bytes
 * of ELF, but `max_entries 268435456` on a prog array took 3.8 s and 2 GiB to create, and a
 * kernel worker more than 20 minutes of CPU to clear after close. Objects that nobody has
 * reviewed (an acceptance run in CI) must not be able to do that: a map whose estimated
 * size is over the limit is refused before BPF_MAP_CREATE.
 *
 * The estimate follows the kernel's allocations (kernel/bpf/arraymap.c, hashtab.c, ...):
 * what a map takes when it is full, as most maps are preallocated.
 */
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { MapTypeName } from '../kernel/enums.js';

export interface LoadLimits {
  /** Largest estimated kernel memory of one map, in bytes (default 1 GiB; Infinity: no limit). */
  maxMapBytes?: number;
}

export const DEFAULT_MAX_MAP_BYTES = 2 ** 30;

const POINTER = 8;
const PAGE = 4096;
/** sizeof(struct htab_elem) without key and value, rounded up (hash maps' per-entry header). */
const HTAB_ELEM = 48;
/** sizeof(struct bucket): a hash map's buckets are a power of two >= max_entries. */
const HTAB_BUCKET = 16;
/** LPM trie node header (struct lpm_trie_node without the key data). */
const LPM_NODE = 40;

const round8 = (n: number): number => Math.ceil(n / 8) * 8;
const pow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

/** What the estimate needs of a map. */
export interface MapShapeForSize {
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_MAP_CREATE's map_extra (bloom filters: number of hashes in the low 4 bits). */
  mapExtra?: bigint;
}

/** The kernel memory a map takes when full, estimated as the kernel allocates it. */
export function mapMemoryBytes(m: MapShapeForSize, cpus: number): number {
  const n = m.maxEntries, k = round8(m.keySize), v = round8(m.valueSize);
  switch (m.type) {
    case 'array': return n * v;
    case 'percpu_array': return n * (POINTER + v * cpus);
    // fd arrays keep one pointer per slot whatever value_size says
    case 'prog_array': case 'perf_event_array': case 'cgroup_array': case 'array_of_maps':
    case 'devmap': case 'cpumap': case 'xskmap': case 'sockmap':
      return n * POINTER;
    case 'hash': case 'lru_hash': case 'hash_of_maps': case 'devmap_hash': case 'sockhash':
      return n * (HTAB_ELEM + k + v) + pow2(n) * HTAB_BUCKET;
    case 'percpu_hash': case 'lru_percpu_hash':
      return n * (HTAB_ELEM + k + POINTER + v * cpus) + pow2(n) * HTAB_BUCKET;
    case 'lpm_trie': return n * (LPM_NODE + m.keySize + v);
    case 'stack_trace': return n * (HTAB_ELEM + m.valueSize) + pow2(n) * POINTER;
    case 'queue': case 'stack': return (n + 1) * m.valueSize;
    case 'ringbuf': case 'user_ringbuf': return n;
    case 'bloom_filter': {
      const hashes = Number((m.mapExtra ?? 0n) & 0xfn) || 5;
      return Math.ceil((n * hashes * 2) / 8); // bits: entries x hashes / ln 2, rounded up to a power of two
    }
    case 'arena': return n * PAGE;
    default: return n * (k + v);
  }
}

function human(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0, x = bytes;
  while (x >= 1024 && u < units.length - 1) { x /= 1024; u++; }
  return u === 0 ? `${bytes} bytes` : `${bytes} bytes, ${x.toFixed(1)} ${units[u]}`;
}

/**
 * Refuses a map whose estimated size is over `limits.maxMapBytes` (TsbpfError, reason
 * 'map-too-large'), naming the map, its size and the option that lifts the limit.
 */
export function checkMapSize(name: string, m: MapShapeForSize, cpus: number, limits: LoadLimits | undefined, ctx: ErrorContext): void {
  const limit = limits?.maxMapBytes ?? DEFAULT_MAX_MAP_BYTES;
  const bytes = mapMemoryBytes(m, cpus);
  if (bytes <= limit) return;
  throw new TsbpfError(
    `map '${name}' (${m.type}, max_entries ${m.maxEntries}, key ${m.keySize}, value ${m.valueSize}) would take about ${human(bytes)} of kernel memory, ` +
    `over the limit of ${human(limit)}: not created. Raise the limit if the object is trusted: LoadOptions.limits.maxMapBytes (CLI: --max-map-bytes N)`,
    ctx, { reason: 'map-too-large' });
}
