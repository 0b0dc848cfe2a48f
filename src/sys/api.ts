/**
 * Typed wrappers over the attr encoders: one function per bpf(2) command. They take raw
 * fds or Fd objects and return raw fds (wrap them in `Fd` to own them). Log handling,
 * retries and BTF fallbacks are the loader's job: these functions only pass fields.
 */
import {
  BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM,
  BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_FREEZE, BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH, BPF_PROG_LOAD,
  BPF_OBJ_PIN, BPF_OBJ_GET, BPF_PROG_TEST_RUN, BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID,
  BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_BTF_LOAD,
  BPF_PROG_BIND_MAP, BPF_BTF_GET_NEXT_ID, BPF_BTF_GET_FD_BY_ID,
  MAP_TYPES, PROG_TYPES, ATTACH_TYPES, MAP_TYPE_NAMES, PROG_TYPE_NAMES,
  type MapTypeName, type ProgTypeName, type AttachTypeName,
} from '../kernel/enums.js';
import { TsbpfError } from '../errors.js';
import { encodeAttr, readU32, readU64, readString, readBytes } from './attr.js';
import { bpf, bpfErrno, checkErrno, addressOf } from './syscall.js';
import { SyscallError } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import {
  MAP_CREATE, MAP_ELEM, MAP_FD, MAP_BATCH, PROG_LOAD, OBJ, PROG_TEST_RUN, GET_ID, OBJ_GET_INFO,
  BTF_LOAD, PROG_BIND_MAP, PROG_INFO, PROG_INFO_SIZE, PROG_INFO_GPL_WORD, MAP_INFO, MAP_INFO_SIZE,
  BTF_INFO, BTF_INFO_SIZE,
} from './layout.js';

/** BPF_MAP_UPDATE_ELEM flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

type Bytes = Uint8Array | ArrayBufferView;

function isErrno(e: unknown, code: string): boolean {
  return e instanceof SyscallError && e.code === code;
}

function typeNumber(kind: string, table: Record<string, number>, t: number | string): number {
  if (typeof t === 'number') return t;
  const n = table[t];
  if (n === undefined) throw new TsbpfError(`unknown ${kind} '${t}'`);
  return n;
}

// ---------------------------------------------------------------- maps

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
const ENOENT = 2;

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

// ---------------------------------------------------------------- programs

export interface ProgLoadOptions {
  type: number | ProgTypeName;
  /** Encoded instructions, 8 bytes each. */
  insns: Bytes;
  license: string;
  name?: string;
  expectedAttachType?: number | AttachTypeName;
  flags?: number;
  kernVersion?: number;
  ifindex?: number;
  logLevel?: number;
  /** The verifier log buffer; its length is sent as log_size. */
  logBuf?: Uint8Array | null;
  btfFd?: FdLike;
  funcInfo?: { recSize: number; data: Bytes; count: number };
  lineInfo?: { recSize: number; data: Bytes; count: number };
  attachBtfId?: number;
  attachProgFd?: FdLike;
  attachBtfObjFd?: FdLike;
  /** int32 fds (BPF_PSEUDO_MAP_IDX / kfunc module BTF). */
  fdArray?: Int32Array | Uint8Array | null;
  /** Linux 6.9+ */
  tokenFd?: FdLike;
}

export interface ProgLoadResult {
  fd: number;
  /** Linux 6.4+: the log size the verifier needed (0 on older kernels). */
  logTrueSize: number;
}

function encodeProgLoad(o: ProgLoadOptions) {
  const insns = o.insns;
  if (insns.byteLength % 8 !== 0) throw new TsbpfError(`BPF_PROG_LOAD: ${insns.byteLength} instruction bytes is not a multiple of 8`);
  const license = Buffer.from(o.license + '\0', 'latin1');
  const logBuf = o.logBuf ?? null;
  if (o.attachProgFd !== undefined && o.attachBtfObjFd !== undefined)
    throw new TsbpfError('BPF_PROG_LOAD: attach_prog_fd and attach_btf_obj_fd share one field; give one');
  const attachFd = o.attachProgFd ?? o.attachBtfObjFd;
  return encodeAttr(PROG_LOAD, {
    prog_type: typeNumber('program type', PROG_TYPES, o.type),
    insn_cnt: insns.byteLength / 8,
    insns,
    license,
    log_level: o.logLevel ?? 0,
    log_size: logBuf ? logBuf.length : 0,
    log_buf: logBuf,
    kern_version: o.kernVersion ?? 0,
    prog_flags: o.flags ?? 0,
    prog_name: o.name ?? '',
    prog_ifindex: o.ifindex ?? 0,
    expected_attach_type: o.expectedAttachType === undefined ? 0 : typeNumber('attach type', ATTACH_TYPES, o.expectedAttachType),
    prog_btf_fd: o.btfFd === undefined ? 0 : rawFd(o.btfFd),
    func_info_rec_size: o.funcInfo?.recSize ?? 0,
    func_info: o.funcInfo?.data ?? null,
    func_info_cnt: o.funcInfo?.count ?? 0,
    line_info_rec_size: o.lineInfo?.recSize ?? 0,
    line_info: o.lineInfo?.data ?? null,
    line_info_cnt: o.lineInfo?.count ?? 0,
    attach_btf_id: o.attachBtfId ?? 0,
    attach_prog_fd: attachFd === undefined ? 0 : rawFd(attachFd),
    fd_array: o.fdArray ?? null,
    prog_token_fd: o.tokenFd === undefined ? 0 : rawFd(o.tokenFd),
  });
}

/** BPF_PROG_LOAD: returns the program fd. */
export function progLoad(o: ProgLoadOptions): number {
  return bpf(BPF_PROG_LOAD, encodeProgLoad(o).bytes);
}

/**
 * BPF_PROG_LOAD returning log_true_size too. On failure the SyscallError is thrown as by
 * progLoad; read `logTrueSize` of the attr with `progLoadDetailed(...)` in a retry loop.
 */
export function progLoadDetailed(o: ProgLoadOptions): ProgLoadResult {
  const a = encodeProgLoad(o);
  const fd = bpf(BPF_PROG_LOAD, a.bytes);
  return { fd, logTrueSize: readU32(PROG_LOAD, a.bytes, 'log_true_size') };
}

export interface ProgTestRunOptions {
  data?: Bytes | null;
  /** Size of the data_out buffer; default data length + 256. 0: no data_out. */
  dataSizeOut?: number;
  ctx?: Bytes | null;
  /** Size of ctx_out; default the ctx length (0 without ctx). */
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface ProgTestRunResult {
  retval: number;
  /** Average ns per run, as the kernel reports it. */
  duration: number;
  dataOut: Uint8Array;
  ctxOut: Uint8Array | null;
}

/** BPF_PROG_TEST_RUN (a.k.a. BPF_PROG_RUN). Retries once with the size the kernel asks for on ENOSPC. */
export function progTestRun(fd: FdLike, o: ProgTestRunOptions = {}): ProgTestRunResult {
  const data = o.data ?? null;
  let dataOutSize = o.dataSizeOut ?? (data ? data.byteLength + 256 : 0);
  let ctxOutSize = o.ctxSizeOut ?? (o.ctx ? o.ctx.byteLength : 0);
  for (let attempt = 0; ; attempt++) {
    const dataOut = new Uint8Array(dataOutSize);
    const ctxOut = ctxOutSize > 0 ? new Uint8Array(ctxOutSize) : null;
    const a = encodeAttr(PROG_TEST_RUN, {
      prog_fd: rawFd(fd),
      data_size_in: data ? data.byteLength : 0,
      data_size_out: dataOutSize,
      data_in: data,
      data_out: dataOutSize > 0 ? dataOut : null,
      repeat: o.repeat ?? 0,
      ctx_size_in: o.ctx ? o.ctx.byteLength : 0,
      ctx_size_out: ctxOutSize,
      ctx_in: o.ctx ?? null,
      ctx_out: ctxOut,
      flags: o.flags ?? 0,
      cpu: o.cpu ?? 0,
      batch_size: o.batchSize ?? 0,
    });
    try {
      bpf(BPF_PROG_TEST_RUN, a.bytes);
    } catch (e) {
      const wantData = readU32(PROG_TEST_RUN, a.bytes, 'data_size_out');
      const wantCtx = readU32(PROG_TEST_RUN, a.bytes, 'ctx_size_out');
      if (attempt === 0 && isErrno(e, 'ENOSPC') && (wantData > dataOutSize || wantCtx > ctxOutSize)) {
        dataOutSize = Math.max(dataOutSize, wantData);
        ctxOutSize = Math.max(ctxOutSize, wantCtx);
        continue;
      }
      throw e;
    }
    const outLen = Math.min(readU32(PROG_TEST_RUN, a.bytes, 'data_size_out'), dataOutSize);
    const ctxLen = ctxOut ? Math.min(readU32(PROG_TEST_RUN, a.bytes, 'ctx_size_out'), ctxOutSize) : 0;
    return {
      retval: readU32(PROG_TEST_RUN, a.bytes, 'retval'),
      duration: readU32(PROG_TEST_RUN, a.bytes, 'duration'),
      dataOut: dataOut.subarray(0, outLen),
      ctxOut: ctxOut ? ctxOut.subarray(0, ctxLen) : null,
    };
  }
}

/** BPF_PROG_BIND_MAP: keep `map` alive as long as `prog` (e.g. .rodata not referenced by code). */
export function progBindMap(prog: FdLike, map: FdLike, flags = 0): void {
  bpf(BPF_PROG_BIND_MAP, encodeAttr(PROG_BIND_MAP, { prog_fd: rawFd(prog), map_fd: rawFd(map), flags }).bytes);
}

// ---------------------------------------------------------------- BTF

export interface BtfLog {
  level: number;
  buf: Uint8Array;
}

/** BPF_BTF_LOAD: returns the BTF object's fd. */
export function btfLoad(btf: Bytes, log?: BtfLog): number {
  const a = encodeAttr(BTF_LOAD, {
    btf,
    btf_size: btf.byteLength,
    btf_log_buf: log?.buf ?? null,
    btf_log_size: log ? log.buf.length : 0,
    btf_log_level: log?.level ?? 0,
  });
  return bpf(BPF_BTF_LOAD, a.bytes);
}

// ---------------------------------------------------------------- pins

/** BPF_OBJ_PIN: pin a map/program/link/BTF fd at `path` on a bpffs mount. */
export function objPin(fd: FdLike, path: string): void {
  const p = Buffer.from(path + '\0');
  bpf(BPF_OBJ_PIN, encodeAttr(OBJ, { pathname: p, bpf_fd: rawFd(fd) }).bytes);
}

/** BPF_OBJ_GET: open a pinned object (flags: BPF_F_RDONLY / BPF_F_WRONLY). Returns a new fd. */
export function objGet(path: string, flags = 0): number {
  const p = Buffer.from(path + '\0');
  return bpf(BPF_OBJ_GET, encodeAttr(OBJ, { pathname: p, file_flags: flags }).bytes);
}

// ---------------------------------------------------------------- ids

function nextId(cmd: number, start: number): number | null {
  const a = encodeAttr(GET_ID, { start_id: start });
  try {
    bpf(cmd, a.bytes);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  return readU32(GET_ID, a.bytes, 'next_id');
}

/** The next program id after `start` (0: the first), or null at the end. */
export function progGetNextId(start = 0): number | null {
  return nextId(BPF_PROG_GET_NEXT_ID, start);
}
/** The next map id after `start` (0: the first), or null at the end. */
export function mapGetNextId(start = 0): number | null {
  return nextId(BPF_MAP_GET_NEXT_ID, start);
}
/** The next BTF object id after `start`, or null at the end. */
export function btfGetNextId(start = 0): number | null {
  return nextId(BPF_BTF_GET_NEXT_ID, start);
}
/** Open a program by id; returns a new fd. */
export function progGetFdById(id: number): number {
  return bpf(BPF_PROG_GET_FD_BY_ID, encodeAttr(GET_ID, { prog_id: id }).bytes);
}
/** Open a map by id (openFlags: BPF_F_RDONLY / BPF_F_WRONLY); returns a new fd. */
export function mapGetFdById(id: number, openFlags = 0): number {
  return bpf(BPF_MAP_GET_FD_BY_ID, encodeAttr(GET_ID, { map_id: id, open_flags: openFlags }).bytes);
}
/** Open a BTF object by id; returns a new fd. */
export function btfGetFdById(id: number): number {
  return bpf(BPF_BTF_GET_FD_BY_ID, encodeAttr(GET_ID, { btf_id: id }).bytes);
}

/** Every id the kernel lists (progs, maps or BTF); for tests that count kernel objects. */
export function allIds(kind: 'prog' | 'map' | 'btf'): number[] {
  const next = kind === 'prog' ? progGetNextId : kind === 'map' ? mapGetNextId : btfGetNextId;
  const ids: number[] = [];
  for (let id = next(0); id !== null; id = next(id)) ids.push(id);
  return ids;
}

// ---------------------------------------------------------------- info

/** BPF_OBJ_GET_INFO_BY_FD into `info`; returns the info_len the kernel filled. */
export function objGetInfo(fd: FdLike, info: Uint8Array): number {
  const a = encodeAttr(OBJ_GET_INFO, { bpf_fd: rawFd(fd), info_len: info.length, info });
  bpf(BPF_OBJ_GET_INFO_BY_FD, a.bytes);
  return readU32(OBJ_GET_INFO, a.bytes, 'info_len');
}

export interface ProgInfo {
  type: number;
  /** 'xdp', 'kprobe', ... (undefined for types newer than the enum table). */
  typeName: ProgTypeName | undefined;
  id: number;
  /** 8-byte program tag as hex. */
  tag: string;
  name: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  ifindex: number;
  gplCompatible: boolean;
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
}

/** The kernel's view of a program (two calls when it uses maps: the second fetches map ids). */
export function progInfo(fd: FdLike): ProgInfo {
  let buf = new Uint8Array(PROG_INFO_SIZE);
  objGetInfo(fd, buf);
  const nrMaps = readU32(PROG_INFO, buf, 'nr_map_ids');
  let mapIds: number[] = [];
  if (nrMaps > 0) {
    const ids = new Uint32Array(nrMaps);
    buf = new Uint8Array(PROG_INFO_SIZE);
    buf.set(encodeAttr(PROG_INFO, { nr_map_ids: nrMaps, map_ids: ids }).bytes);
    objGetInfo(fd, buf);
    mapIds = Array.from(ids.subarray(0, Math.min(nrMaps, readU32(PROG_INFO, buf, 'nr_map_ids'))));
  }
  const type = readU32(PROG_INFO, buf, 'type');
  return {
    type,
    typeName: PROG_TYPE_NAMES[type],
    id: readU32(PROG_INFO, buf, 'id'),
    tag: Buffer.from(readBytes(PROG_INFO, buf, 'tag')).toString('hex'),
    name: readString(PROG_INFO, buf, 'name'),
    jitedProgLen: readU32(PROG_INFO, buf, 'jited_prog_len'),
    xlatedProgLen: readU32(PROG_INFO, buf, 'xlated_prog_len'),
    loadTime: readU64(PROG_INFO, buf, 'load_time'),
    createdByUid: readU32(PROG_INFO, buf, 'created_by_uid'),
    mapIds,
    ifindex: readU32(PROG_INFO, buf, 'ifindex'),
    gplCompatible: (new DataView(buf.buffer).getUint32(PROG_INFO_GPL_WORD, true) & 1) === 1,
    btfId: readU32(PROG_INFO, buf, 'btf_id'),
    nrFuncInfo: readU32(PROG_INFO, buf, 'nr_func_info'),
    nrLineInfo: readU32(PROG_INFO, buf, 'nr_line_info'),
    runTimeNs: readU64(PROG_INFO, buf, 'run_time_ns'),
    runCnt: readU64(PROG_INFO, buf, 'run_cnt'),
    recursionMisses: readU64(PROG_INFO, buf, 'recursion_misses'),
    verifiedInsns: readU32(PROG_INFO, buf, 'verified_insns'),
    attachBtfObjId: readU32(PROG_INFO, buf, 'attach_btf_obj_id'),
    attachBtfId: readU32(PROG_INFO, buf, 'attach_btf_id'),
  };
}

export interface MapInfo {
  type: number;
  typeName: MapTypeName | undefined;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

/** The kernel's view of a map. */
export function mapInfo(fd: FdLike): MapInfo {
  const buf = new Uint8Array(MAP_INFO_SIZE);
  objGetInfo(fd, buf);
  const type = readU32(MAP_INFO, buf, 'type');
  return {
    type,
    typeName: MAP_TYPE_NAMES[type],
    id: readU32(MAP_INFO, buf, 'id'),
    keySize: readU32(MAP_INFO, buf, 'key_size'),
    valueSize: readU32(MAP_INFO, buf, 'value_size'),
    maxEntries: readU32(MAP_INFO, buf, 'max_entries'),
    flags: readU32(MAP_INFO, buf, 'map_flags'),
    name: readString(MAP_INFO, buf, 'name'),
    ifindex: readU32(MAP_INFO, buf, 'ifindex'),
    btfVmlinuxValueTypeId: readU32(MAP_INFO, buf, 'btf_vmlinux_value_type_id'),
    btfId: readU32(MAP_INFO, buf, 'btf_id'),
    btfKeyTypeId: readU32(MAP_INFO, buf, 'btf_key_type_id'),
    btfValueTypeId: readU32(MAP_INFO, buf, 'btf_value_type_id'),
    mapExtra: readU64(MAP_INFO, buf, 'map_extra'),
  };
}

export interface BtfInfo {
  id: number;
  /** 'vmlinux', a module name, or '' for a BTF loaded by a program loader. */
  name: string;
  /** The kernel's own BTF (vmlinux or a module), not one loaded with BPF_BTF_LOAD. */
  kernelBtf: boolean;
  /** Size of the raw BTF blob. */
  size: number;
}

/** The kernel's view of a BTF object (name and id; `btfRaw` fetches the blob itself). */
export function btfInfo(fd: FdLike): BtfInfo {
  const name = new Uint8Array(64);
  const buf = new Uint8Array(BTF_INFO_SIZE);
  buf.set(encodeAttr(BTF_INFO, { name, name_len: name.length }).bytes);
  objGetInfo(fd, buf);
  const end = name.indexOf(0);
  return {
    id: readU32(BTF_INFO, buf, 'id'),
    name: Buffer.from(name.subarray(0, end < 0 ? name.length : end)).toString('latin1'),
    kernelBtf: readU32(BTF_INFO, buf, 'kernel_btf') !== 0,
    size: readU32(BTF_INFO, buf, 'btf_size'),
  };
}

/** The raw blob of a BTF object in the kernel (e.g. the BTF a loaded program was verified with). */
export function btfRaw(fd: FdLike): Uint8Array {
  const { size } = btfInfo(fd);
  const data = new Uint8Array(size);
  const buf = new Uint8Array(BTF_INFO_SIZE);
  buf.set(encodeAttr(BTF_INFO, { btf: data, btf_size: size }).bytes);
  objGetInfo(fd, buf);
  const got = readU32(BTF_INFO, buf, 'btf_size');
  if (got > size) throw new TsbpfError(`BTF object grew from ${size} to ${got} bytes between two info calls`);
  return data.subarray(0, got);
}
