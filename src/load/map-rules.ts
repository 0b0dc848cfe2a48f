/**
 * What BPF_MAP_CREATE refuses with a bare EINVAL, named by field. The kernel checks each
 * map type's attributes in its alloc_check / alloc function (kernel/bpf/hashtab.c,
 * arraymap.c, stackmap.c, ringbuf.c, queue_stack_maps.c, bloom_filter.c, lpm_trie.c,
 * devmap.c, cpumap.c, xskmap.c, sock_map.c, bpf_local_storage.c, local_storage.c) and says
 * only EINVAL. The rules here are the ones every kernel from 5.10 to 7.x applies the same
 * way, so a map that breaks one is refused before the call, naming the field, its value
 * and what the kernel wants (test/kernel/parity.test.ts sends each broken shape to the
 * running kernel and checks it says EINVAL). A rule must never refuse what some kernel
 * accepts: what depends on the kernel (a sysctl, a page size, a map type it lacks) is
 * explained after the kernel's refusal instead (explainMapEinval), with its errno kept.
 *
 * Pure: no syscalls (explainMapEinval reads one sysctl file).
 */
import { readFileSync } from 'node:fs';
import { TsbpfError, type ErrorContext } from '../errors.js';
import { BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_STACK_BUILD_ID, type MapTypeName } from '../kernel/enums.js';

/** The fields of a map definition, by their names in `union bpf_attr` (and `extra`: a legacy definition's bytes past them). */
export type MapField = 'max_entries' | 'key_size' | 'value_size' | 'map_flags' | 'extra';

export type MapDefinitionErrorReason =
  /** A field the kernel needs non-zero is 0: the object left it for the user to set (max_entries of a ring buffer), or forgot it. */
  | 'field-zero'
  /** A field is set, to a value this map type does not take (an array's key_size 8, a stack trace value_size not a multiple of 8). */
  | 'field-out-of-range'
  /** A legacy `SEC("maps")` definition has non-zero bytes past the fields any loader reads (cilium's "extra contains unhandled non-zero bytes"). */
  | 'unknown-fields';

/** A map definition BPF_MAP_CREATE refuses (or would refuse), by field. */
export class MapDefinitionError extends TsbpfError {
  override readonly reason: MapDefinitionErrorReason;
  /** The map's name in the object. */
  readonly map: string;
  readonly mapType: MapTypeName;
  readonly field: MapField;
  /** The field's value (for `extra`: the first non-zero byte). */
  readonly value: number;
  /** The kernel's errno when it refused the map ('EINVAL'); undefined when tsbpf refused it before BPF_MAP_CREATE. */
  readonly errnoName?: string;

  constructor(detail: string, ctx: ErrorContext, f: { reason: MapDefinitionErrorReason; map: string; mapType: MapTypeName; field: MapField; value: number; errnoName?: string }, cause?: unknown) {
    super(detail, ctx, cause === undefined ? undefined : { cause });
    this.reason = f.reason;
    this.map = f.map;
    this.mapType = f.mapType;
    this.field = f.field;
    this.value = f.value;
    if (f.errnoName !== undefined) this.errnoName = f.errnoName;
  }
}

/** What the rules look at: the fields as BPF_MAP_CREATE gets them. */
export interface MapShape {
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** A broken rule: the field, what the kernel wants, and whether the field is 0 where it must not be. */
export interface MapFieldProblem {
  field: MapField;
  value: number;
  want: string;
  reason: MapDefinitionErrorReason;
}

const PAGE_4K = 4096;
const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

type Check = (m: MapShape) => MapFieldProblem | undefined;

const nonZero = (field: 'max_entries' | 'key_size' | 'value_size', want?: string): Check => (m) => {
  const value = field === 'max_entries' ? m.maxEntries : field === 'key_size' ? m.keySize : m.valueSize;
  return value === 0 ? { field, value, want: want ?? 'not 0', reason: 'field-zero' } : undefined;
};
const exactly = (field: 'max_entries' | 'key_size' | 'value_size', ...ok: number[]): Check => (m) => {
  const value = field === 'max_entries' ? m.maxEntries : field === 'key_size' ? m.keySize : m.valueSize;
  if (ok.includes(value)) return undefined;
  return { field, value, want: ok.join(' or '), reason: value === 0 ? 'field-zero' : 'field-out-of-range' };
};
const flagSet = (flag: number, name: string): Check => (m) =>
  (m.flags & flag) === 0 ? { field: 'map_flags', value: m.flags, want: `${name} set`, reason: 'field-out-of-range' } : undefined;

/** max_entries: how many elements (ring buffers: bytes). */
const ENTRIES = nonZero('max_entries', 'the number of elements, not 0');
const HASH: Check[] = [ENTRIES, nonZero('key_size'), nonZero('value_size')];
const ARRAY: Check[] = [ENTRIES, exactly('key_size', 4), nonZero('value_size')];
/** prog array, perf event array, cgroup array, array of maps: the value is an fd (u32). */
const FD_ARRAY: Check[] = [ENTRIES, exactly('key_size', 4), exactly('value_size', 4)];
const KEYLESS: Check[] = [ENTRIES, exactly('key_size', 0), nonZero('value_size')];
const RING: Check[] = [
  (m) => (m.maxEntries === 0
    ? { field: 'max_entries', value: 0, want: 'the size in bytes, a power of two and a multiple of the page size (e.g. 256 * 1024)', reason: 'field-zero' }
    : !isPow2(m.maxEntries) || m.maxEntries < PAGE_4K
      ? { field: 'max_entries', value: m.maxEntries, want: 'a power of two and a multiple of the page size (4096 and up)', reason: 'field-out-of-range' }
      : undefined),
  exactly('key_size', 0), exactly('value_size', 0),
];
/** Storage attached to a kernel object (socket, inode, task, cgroup): sized by those objects, max_entries must be 0. */
const LOCAL_STORAGE: Check[] = [exactly('max_entries', 0), exactly('key_size', 4), nonZero('value_size')];

const STACK_TRACE: Check[] = [
  ENTRIES, exactly('key_size', 4),
  (m) => {
    const frame = (m.flags & BPF_F_STACK_BUILD_ID) !== 0 ? 32 : 8; // struct bpf_stack_build_id, or one u64 ip per frame
    const what = frame === 32 ? 'struct bpf_stack_build_id (32 bytes) per frame (BPF_F_STACK_BUILD_ID)' : 'one u64 per frame';
    if (m.valueSize === 0) return { field: 'value_size', value: 0, want: `a non-zero multiple of ${frame}: ${what}, e.g. 127 * ${frame}`, reason: 'field-zero' };
    if (m.valueSize % frame !== 0) return { field: 'value_size', value: m.valueSize, want: `a multiple of ${frame}: ${what}`, reason: 'field-out-of-range' };
    return undefined;
  },
];

const RULES: Partial<Record<MapTypeName, readonly Check[]>> = {
  hash: HASH, percpu_hash: HASH, lru_hash: HASH, lru_percpu_hash: HASH,
  hash_of_maps: [ENTRIES, nonZero('key_size'), exactly('value_size', 4)],
  array: ARRAY, percpu_array: ARRAY,
  prog_array: FD_ARRAY, perf_event_array: FD_ARRAY, cgroup_array: FD_ARRAY, array_of_maps: FD_ARRAY,
  stack_trace: STACK_TRACE,
  queue: KEYLESS, stack: KEYLESS, bloom_filter: KEYLESS,
  ringbuf: RING, user_ringbuf: RING,
  lpm_trie: [ENTRIES, nonZero('key_size'), nonZero('value_size'), flagSet(BPF_F_NO_PREALLOC, 'BPF_F_NO_PREALLOC')],
  devmap: [ENTRIES, exactly('key_size', 4), exactly('value_size', 4, 8)],
  devmap_hash: [ENTRIES, exactly('key_size', 4), exactly('value_size', 4, 8)],
  cpumap: [ENTRIES, exactly('key_size', 4), exactly('value_size', 4, 8)],
  xskmap: [ENTRIES, exactly('key_size', 4), exactly('value_size', 4)],
  sockmap: [ENTRIES, exactly('key_size', 4), exactly('value_size', 4, 8)],
  sockhash: [ENTRIES, nonZero('key_size'), exactly('value_size', 4, 8)],
  sk_storage: LOCAL_STORAGE, inode_storage: LOCAL_STORAGE, task_storage: LOCAL_STORAGE, cgrp_storage: LOCAL_STORAGE,
  cgroup_storage: [exactly('max_entries', 0), exactly('key_size', 8, 16), nonZero('value_size')],
  percpu_cgroup_storage: [exactly('max_entries', 0), exactly('key_size', 8, 16), nonZero('value_size')],
  arena: [ENTRIES, exactly('key_size', 0), exactly('value_size', 0), flagSet(BPF_F_MMAPABLE, 'BPF_F_MMAPABLE')],
};

/** The first rule of its type that `m` breaks (fields as BPF_MAP_CREATE would get them), or undefined. */
export function mapFieldProblem(m: MapShape): MapFieldProblem | undefined {
  for (const check of RULES[m.type] ?? []) {
    const p = check(m);
    if (p) return p;
  }
  return undefined;
}

/** The sentence for a broken rule: what is wrong and what to do. */
export function mapFieldMessage(name: string, type: MapTypeName, p: MapFieldProblem, kernelSaid?: string): string {
  const said = kernelSaid ? `the kernel refused it (BPF_MAP_CREATE: ${kernelSaid})` : 'the kernel refuses that (EINVAL)';
  if (p.field === 'max_entries' && p.reason === 'field-zero') {
    return `map '${name}' (${type}) has max_entries 0, and ${said}: the object leaves the size for you to set before loading ` +
      `(spec.maps.get('${name}').maxEntries = N, as libbpf's bpf_map__set_max_entries); ${type} wants ${p.want}`;
  }
  return `map '${name}' (${type}) has ${p.field} ${p.field === 'map_flags' ? `0x${p.value.toString(16)}` : p.value}, and ${said}: ${type} wants ${p.field} ${p.want}`;
}

/**
 * A ring buffer's size as libbpf creates it (adjust_ringbuf_sz): the kernel wants a power of
 * two times the page size; a size that is not is rounded up to the smallest one above it
 * (10000 -> 16384 with 4 KiB pages). 0 stays 0 (the user must set it: 'field-zero'), and so
 * does a size no such product above it fits in a u32 (the kernel then refuses it).
 */
export function ringbufSize(size: number, pageSize: number): number {
  if (size === 0) return 0;
  if (size % pageSize === 0 && isPow2(size / pageSize)) return size;
  for (let n = pageSize; n <= 0xffffffff; n *= 2) if (n > size) return n;
  return size;
}

/** kernel.perf_event_max_stack (default 127), or undefined where it cannot be read. */
function perfEventMaxStack(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/perf_event_max_stack', 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch { return undefined; }
}

/**
 * A field that explains an EINVAL the rules above did not foresee, where tsbpf can see it:
 * a stack trace map deeper than kernel.perf_event_max_stack. Undefined otherwise.
 */
export function explainMapEinval(m: MapShape): MapFieldProblem | undefined {
  if (m.type === 'stack_trace') {
    const max = perfEventMaxStack();
    const frame = (m.flags & BPF_F_STACK_BUILD_ID) !== 0 ? 32 : 8;
    if (max !== undefined && m.valueSize / frame > max) {
      return { field: 'value_size', value: m.valueSize, want: `at most kernel.perf_event_max_stack (${max}) frames of ${frame} bytes, ${max * frame}; it asks for ${m.valueSize / frame}`, reason: 'field-out-of-range' };
    }
  }
  return undefined;
}

/** iproute2's `struct bpf_elf_map` after struct bpf_map_def's fields: id, pinning, inner_id, inner_idx (u32 each). */
const BPF_ELF_MAP_EXTRA = 16;

/**
 * A legacy definition's first non-zero byte past the fields loaders read (index in
 * `extra`), or undefined. iproute2's 36-byte struct bpf_elf_map is not refused: its four
 * more fields are iproute2's own (kept in `extra`, not acted on).
 */
export function legacyExtraByte(extra: Uint8Array | undefined): { index: number; value: number } | undefined {
  if (!extra || extra.length === BPF_ELF_MAP_EXTRA) return undefined;
  const index = extra.findIndex((b) => b !== 0);
  return index < 0 ? undefined : { index, value: extra[index]! };
}
