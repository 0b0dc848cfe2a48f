/**
 * bpf(2) commands on any BPF object: BTF load, pins (BPF_OBJ_PIN / BPF_OBJ_GET), ids
 * (GET_NEXT_ID, GET_FD_BY_ID) and BPF_OBJ_GET_INFO_BY_FD with its decoded program, map
 * and BTF infos.
 */
import {
  BPF_OBJ_PIN, BPF_OBJ_GET, BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID,
  BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_BTF_LOAD, BPF_BTF_GET_NEXT_ID,
  BPF_BTF_GET_FD_BY_ID, MAP_TYPE_NAMES, PROG_TYPE_NAMES, type MapTypeName, type ProgTypeName,
} from '../kernel/enums.js';
import { slabBytes, viewOver } from '../bytes.js';
import { TsbpfError } from '../errors.js';
import { cString, encodeAttr, readU32, readU64, readString, readBytes, type AttrValues, type Bytes } from './attr.js';
import { bpf, bpfErrno, checkErrno } from './syscall.js';
import { errnoNumber, isErrno } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import {
  type Layout, OBJ, GET_ID, OBJ_GET_INFO, BTF_LOAD, PROG_INFO, PROG_INFO_SIZE, PROG_INFO_GPL_WORD, MAP_INFO,
  MAP_INFO_SIZE, BTF_INFO, BTF_INFO_SIZE,
} from './layout.js';

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

const ENOENT = errnoNumber('ENOENT')!;

const utf8 = new TextEncoder();

/**
 * `path` as the NUL-terminated UTF-8 the kernel reads, in a slab view (bytes.ts): no Buffer
 * from the pool (whose slab's address is a native call each time the pool moves on) and
 * no concatenated string. Used once, for the call at hand. A path holding a NUL is
 * refused (reason 'nul-in-path'): the kernel would stop there and pin or open another path.
 */
function cPath(path: string): Uint8Array {
  if (path.includes('\0')) throw new TsbpfError(`path ${JSON.stringify(path)} holds a NUL character: the kernel would read it only up to there`, {}, { reason: 'nul-in-path' });
  const b = slabBytes(path.length * 3 + 1);
  const { written } = utf8.encodeInto(path, b);
  return b.subarray(0, written + 1); // slabBytes is zeroed: the NUL is there
}

/** BPF_OBJ_PIN: pin a map/program/link/BTF fd at `path` on a bpffs mount. */
export function objPin(fd: FdLike, path: string): void {
  const p = cPath(path);
  bpf(BPF_OBJ_PIN, encodeAttr(OBJ, { pathname: p, bpf_fd: rawFd(fd) }).bytes);
}

/** BPF_OBJ_GET: open a pinned object (flags: BPF_F_RDONLY / BPF_F_WRONLY). Returns a new fd. */
export function objGet(path: string, flags = 0): number {
  const p = cPath(path);
  return bpf(BPF_OBJ_GET, encodeAttr(OBJ, { pathname: p, file_flags: flags }).bytes);
}

/** BPF_OBJ_GET that answers undefined, without making an Error, when nothing is at `path` (ENOENT); other errors throw. */
export function objGetIfPinned(path: string, flags = 0): number | undefined {
  const p = cPath(path);
  const r = bpfErrno(BPF_OBJ_GET, encodeAttr(OBJ, { pathname: p, file_flags: flags }).bytes);
  return r === -ENOENT ? undefined : checkErrno(BPF_OBJ_GET, r);
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

/**
 * BPF_OBJ_GET_INFO_BY_FD into a new `size`-byte info struct of `layout`, with `ask` (the
 * buffers the kernel is to fill and their lengths) written in first. The buffers in `ask`
 * are the caller's: it reads them afterwards.
 */
function infoOf<F extends string>(fd: FdLike, layout: Layout<F>, size: number, ask: AttrValues<F> = {}): Uint8Array {
  // a slab view (bytes.ts): read and dropped by the callers here, never kept
  const buf = slabBytes(size);
  buf.set(encodeAttr(layout, ask).bytes.subarray(0, size));
  objGetInfo(fd, buf);
  return buf;
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
  let buf = infoOf(fd, PROG_INFO, PROG_INFO_SIZE);
  const nrMaps = readU32(PROG_INFO, buf, 'nr_map_ids');
  let mapIds: number[] = [];
  if (nrMaps > 0) {
    const ids = new Uint32Array(nrMaps);
    buf = infoOf(fd, PROG_INFO, PROG_INFO_SIZE, { nr_map_ids: nrMaps, map_ids: ids });
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
    gplCompatible: (viewOver(buf).getUint32(buf.byteOffset + PROG_INFO_GPL_WORD, true) & 1) === 1,
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
  const buf = infoOf(fd, MAP_INFO, MAP_INFO_SIZE);
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
  let buf: Uint8Array;
  try {
    buf = infoOf(fd, BTF_INFO, BTF_INFO_SIZE, { name, name_len: name.length });
  } catch (e) {
    // before Linux 5.11 struct bpf_btf_info ends at id: a name asked for is a non-zero
    // tail the kernel refuses (E2BIG); such a kernel has no named (kernel or module) BTF
    if (!isErrno(e, 'E2BIG')) throw e;
    buf = infoOf(fd, BTF_INFO, BTF_INFO_SIZE);
  }
  return {
    id: readU32(BTF_INFO, buf, 'id'),
    name: cString(name),
    kernelBtf: readU32(BTF_INFO, buf, 'kernel_btf') !== 0,
    size: readU32(BTF_INFO, buf, 'btf_size'),
  };
}

/** The raw blob of a BTF object in the kernel (e.g. the BTF a loaded program was verified with). */
export function btfRaw(fd: FdLike): Uint8Array {
  const { size } = btfInfo(fd);
  const data = new Uint8Array(size);
  const buf = infoOf(fd, BTF_INFO, BTF_INFO_SIZE, { btf: data, btf_size: size });
  const got = readU32(BTF_INFO, buf, 'btf_size');
  if (got > size) throw new TsbpfError(`BTF object grew from ${size} to ${got} bytes between two info calls`);
  return data.subarray(0, got);
}
