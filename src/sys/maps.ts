/**
 * bpf(2) map commands, one typed function each: create, element lookup / update / delete,
 * next key, freeze, the batch forms. They take raw fds or Fd objects and return raw fds
 * (wrap them in `Fd` to own them); retries and fallbacks are the loader's job.
 */
import {
  BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_FREEZE, BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH, MAP_TYPES,
  type MapTypeName,
} from '../kernel/enums.js';
import { encodeAttr, readU32, typeNumber, type Bytes } from './attr.js';
import { bpf, bpfErrno, checkErrno, addressOf } from './syscall.js';
import { errnoNumber, isErrno } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { MAP_CREATE, MAP_ELEM, MAP_FD, MAP_BATCH } from './layout.js';

/** BPF_MAP_UPDATE_ELEM flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;


export interface MapCreateOptions {
  type: number | MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** Kernel-visible name (at most 15 chars are sent; the kernel allows [A-Za-z0-9_.]). */
  name?: string;
  innerMapFd?: FdLike;
  numaNode?: number;
  ifindex?: number;
  btfFd?: FdLike;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: number | bigint;
  /** Linux 6.9+ */
  valueTypeBtfObjFd?: FdLike;
  /** Linux 6.9+ */
  tokenFd?: FdLike;
}

/** BPF_MAP_CREATE: returns the new map's fd. */
export function mapCreate(o: MapCreateOptions): number {
  const a = encodeAttr(MAP_CREATE, {
    map_type: typeNumber('map type', MAP_TYPES, o.type),
    key_size: o.keySize,
    value_size: o.valueSize,
    max_entries: o.maxEntries,
    map_flags: o.flags ?? 0,
    inner_map_fd: o.innerMapFd === undefined ? 0 : rawFd(o.innerMapFd),
    numa_node: o.numaNode ?? 0,
    map_name: o.name ?? '',
    map_ifindex: o.ifindex ?? 0,
    btf_fd: o.btfFd === undefined ? 0 : rawFd(o.btfFd),
    btf_key_type_id: o.btfKeyTypeId ?? 0,
    btf_value_type_id: o.btfValueTypeId ?? 0,
    btf_vmlinux_value_type_id: o.btfVmlinuxValueTypeId ?? 0,
    map_extra: o.mapExtra ?? 0,
    value_type_btf_obj_fd: o.valueTypeBtfObjFd === undefined ? 0 : rawFd(o.valueTypeBtfObjFd),
    map_token_fd: o.tokenFd === undefined ? 0 : rawFd(o.tokenFd),
  });
  return bpf(BPF_MAP_CREATE, a.bytes);
}

// The *_ELEM commands are the hot path (lookups in loops): one reused attr, no object
// per call, no Error for ENOENT. Safe because bpf() is synchronous and nothing else can
// run between filling the attr and the call.
const elem = new Uint8Array(MAP_ELEM.size);
const elemView = new DataView(elem.buffer);
const ENOENT = errnoNumber('ENOENT')!;

function ptrOf(b: Bytes | null): bigint {
  return b && b.byteLength > 0 ? addressOf(b) : 0n;
}

function elemCall(cmd: number, fd: FdLike, key: Bytes | null, value: Bytes | null, flags: number | bigint): number {
  elemView.setUint32(MAP_ELEM.fields.map_fd.off, rawFd(fd), true);
  elemView.setBigUint64(MAP_ELEM.fields.key.off, ptrOf(key), true);
  elemView.setBigUint64(MAP_ELEM.fields.value.off, ptrOf(value), true);
  elemView.setBigUint64(MAP_ELEM.fields.flags.off, BigInt(flags), true);
  return bpfErrno(cmd, elem);
}

/** BPF_MAP_LOOKUP_ELEM into `value` (flags: BPF_F_LOCK); false when the key is absent (ENOENT). */
export function mapLookup(fd: FdLike, key: Bytes | null, value: Bytes, flags = 0): boolean {
  const r = elemCall(BPF_MAP_LOOKUP_ELEM, fd, key, value, flags);
  if (r === -ENOENT) return false;
  checkErrno(BPF_MAP_LOOKUP_ELEM, r);
  return true;
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM (queues/stacks: key null); false on ENOENT. */
export function mapLookupAndDelete(fd: FdLike, key: Bytes | null, value: Bytes, flags = 0): boolean {
  const r = elemCall(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, key, value, flags);
  if (r === -ENOENT) return false;
  checkErrno(BPF_MAP_LOOKUP_AND_DELETE_ELEM, r);
  return true;
}

/** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK). Key null for queues/stacks. */
export function mapUpdate(fd: FdLike, key: Bytes | null, value: Bytes, flags = BPF_ANY): void {
  checkErrno(BPF_MAP_UPDATE_ELEM, elemCall(BPF_MAP_UPDATE_ELEM, fd, key, value, flags));
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent (ENOENT). */
export function mapDelete(fd: FdLike, key: Bytes): boolean {
  const r = elemCall(BPF_MAP_DELETE_ELEM, fd, key, null, 0);
  if (r === -ENOENT) return false;
  checkErrno(BPF_MAP_DELETE_ELEM, r);
  return true;
}

/** BPF_MAP_GET_NEXT_KEY (key null: the first key) into `next`; false when there is none. */
export function mapGetNextKey(fd: FdLike, key: Bytes | null, next: Bytes): boolean {
  const r = elemCall(BPF_MAP_GET_NEXT_KEY, fd, key, next, 0);
  if (r === -ENOENT) return false;
  checkErrno(BPF_MAP_GET_NEXT_KEY, r);
  return true;
}

/** BPF_MAP_FREEZE: no more writes from user space. */
export function mapFreeze(fd: FdLike): void {
  bpf(BPF_MAP_FREEZE, encodeAttr(MAP_FD, { map_fd: rawFd(fd) }).bytes);
}

export interface MapBatchOptions {
  /** Opaque cursor from the previous call's outBatch; null to start. */
  inBatch?: Bytes | null;
  /** Receives the cursor for the next call (at least key_size bytes; 4 for arrays). */
  outBatch?: Bytes | null;
  keys: Bytes;
  values?: Bytes | null;
  /** Number of elements the buffers hold. */
  count: number;
  elemFlags?: number | bigint;
  flags?: number | bigint;
}

export interface MapBatchResult {
  /** Elements processed (the kernel's count output). */
  count: number;
  /** The map has no more elements (lookup forms: ENOENT). */
  done: boolean;
}

function batch(cmd: number, fd: FdLike, o: MapBatchOptions, enoentIsDone: boolean): MapBatchResult {
  const a = encodeAttr(MAP_BATCH, {
    map_fd: rawFd(fd), in_batch: o.inBatch ?? null, out_batch: o.outBatch ?? null, keys: o.keys,
    values: o.values ?? null, count: o.count, elem_flags: o.elemFlags ?? 0, flags: o.flags ?? 0,
  });
  try {
    bpf(cmd, a.bytes);
    return { count: readU32(MAP_BATCH, a.bytes, 'count'), done: false };
  } catch (e) {
    if (enoentIsDone && isErrno(e, 'ENOENT')) return { count: readU32(MAP_BATCH, a.bytes, 'count'), done: true };
    throw e;
  }
}

/** BPF_MAP_LOOKUP_BATCH */
export function mapLookupBatch(fd: FdLike, o: MapBatchOptions): MapBatchResult {
  return batch(BPF_MAP_LOOKUP_BATCH, fd, o, true);
}
/** BPF_MAP_LOOKUP_AND_DELETE_BATCH */
export function mapLookupAndDeleteBatch(fd: FdLike, o: MapBatchOptions): MapBatchResult {
  return batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, o, true);
}
/** BPF_MAP_UPDATE_BATCH */
export function mapUpdateBatch(fd: FdLike, o: MapBatchOptions): MapBatchResult {
  return batch(BPF_MAP_UPDATE_BATCH, fd, o, false);
}
/** BPF_MAP_DELETE_BATCH */
export function mapDeleteBatch(fd: FdLike, o: MapBatchOptions): MapBatchResult {
  return batch(BPF_MAP_DELETE_BATCH, fd, o, false);
}
