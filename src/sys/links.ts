/**
 * The bpf(2) link commands: BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_CREATE in each of its forms
 * (plain, iterator, perf event, kprobe_multi, uprobe_multi, tcx), BPF_LINK_UPDATE,
 * BPF_LINK_DETACH, BPF_PROG_ATTACH / _DETACH, link ids, and the kernel's view of a link
 * (struct bpf_link_info decoded by link type).
 */
import {
  ATTACH_TYPES, ATTACH_TYPE_NAMES, BPF_ITER_CREATE, BPF_LINK_CREATE, BPF_LINK_DETACH, BPF_LINK_GET_FD_BY_ID,
  BPF_LINK_GET_NEXT_ID, BPF_LINK_UPDATE, BPF_PROG_ATTACH, BPF_PROG_DETACH, BPF_PROG_QUERY, BPF_RAW_TRACEPOINT_OPEN,
  LINK_TYPE_NAMES, type AttachTypeName, type LinkTypeName,
} from '../kernel/enums.js';
import { TsbpfError } from '../errors.js';
import { cString, encodeAttr, readU32, readU64, type AttrValues } from './attr.js';
import { addressOf, bpf } from './syscall.js';
import { SyscallError } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { objGetInfo } from './api.js';
import { GET_ID, ITER_CREATE, LINK_CREATE, LINK_INFO, RAW_TRACEPOINT_OPEN, type Layout } from './layout.js';
import {
  BPF_PERF_EVENT_TYPES, LINK_CREATE_KPROBE_MULTI, LINK_CREATE_PERF_EVENT, LINK_CREATE_TCX, LINK_CREATE_UPROBE_MULTI,
  LINK_DETACH, LINK_INFO_BUF_SIZE, LINK_INFO_CGROUP, LINK_INFO_ITER, LINK_INFO_KPROBE_MULTI, LINK_INFO_NETNS,
  LINK_INFO_PERF_EVENT, LINK_INFO_RAW_TRACEPOINT, LINK_INFO_SOCKMAP, LINK_INFO_STRUCT_OPS, LINK_INFO_TCX,
  LINK_INFO_TRACING, LINK_INFO_UPROBE_MULTI, LINK_INFO_XDP, LINK_UPDATE, PROG_ATTACH, PROG_QUERY,
} from './link-layout.js';

function attachTypeNumber(t: number | AttachTypeName): number {
  if (typeof t === 'number') return t;
  const n = ATTACH_TYPES[t];
  if (n === undefined) throw new TsbpfError(`unknown attach type '${t}'`);
  return n;
}

/**
 * BPF_RAW_TRACEPOINT_OPEN: attaches a raw_tp program to the tracepoint `name`, or, with no
 * name, a BTF-attached program (tp_btf, fentry, fexit, fmod_ret, lsm, freplace) to the
 * target it was loaded for. Returns the link fd.
 */
export function rawTracepointOpen(prog: FdLike, name?: string): number {
  return bpf(BPF_RAW_TRACEPOINT_OPEN, encodeAttr(RAW_TRACEPOINT_OPEN, {
    name: name === undefined ? null : Buffer.from(name + '\0', 'latin1'),
    prog_fd: rawFd(prog),
  }).bytes);
}

export interface LinkCreateOptions {
  /** The program, or for attach type struct_ops the struct_ops map. */
  fd: FdLike;
  /** The object attached to: a cgroup or netns fd, an ifindex (XDP), a target program. */
  targetFd?: FdLike;
  attachType: number | AttachTypeName;
  flags?: number;
  targetBtfId?: number;
  /** BPF_TRACE_ITER: the map of a map iterator (union bpf_iter_link_info .map.map_fd); excludes targetBtfId. */
  iterMapFd?: FdLike;
}

/** sizeof(union bpf_iter_link_info): its largest member is cgroup { order, cgroup_fd, cgroup_id }. */
const ITER_LINK_INFO_SIZE = 16;

/** BPF_LINK_CREATE; returns the link fd. */
export function linkCreate(o: LinkCreateOptions): number {
  if (o.iterMapFd !== undefined && o.targetBtfId) throw new TsbpfError('BPF_LINK_CREATE: iter_info and target_btf_id share one field; give one');
  let iterInfo: Uint8Array | undefined;
  if (o.iterMapFd !== undefined) {
    iterInfo = new Uint8Array(ITER_LINK_INFO_SIZE);
    new DataView(iterInfo.buffer).setUint32(0, rawFd(o.iterMapFd), true); // .map.map_fd
  }
  return bpf(BPF_LINK_CREATE, encodeAttr(LINK_CREATE, {
    prog_fd: rawFd(o.fd),
    target_fd: o.targetFd === undefined ? 0 : rawFd(o.targetFd),
    attach_type: attachTypeNumber(o.attachType),
    flags: o.flags ?? 0,
    ...(iterInfo ? { iter_info: iterInfo, iter_info_len: iterInfo.length } : { target_btf_id: o.targetBtfId ?? 0 }),
  }).bytes);
}

/** BPF_LINK_CREATE of a kprobe / uprobe / tracepoint / perf_event program on a perf event fd (Linux 5.15+). */
export function linkCreatePerfEvent(prog: FdLike, perfFd: FdLike, cookie: bigint = 0n): number {
  return bpf(BPF_LINK_CREATE, encodeAttr(LINK_CREATE_PERF_EVENT, {
    prog_fd: rawFd(prog), target_fd: rawFd(perfFd), attach_type: ATTACH_TYPES.perf_event, 'perf_event.bpf_cookie': cookie,
  }).bytes);
}

export interface KprobeMultiOptions {
  /** Kernel function names (exclusive with addrs). */
  syms?: readonly string[];
  addrs?: readonly bigint[];
  cookies?: readonly bigint[];
  /** BPF_F_KPROBE_MULTI_RETURN */
  flags?: number;
}

/** BPF_LINK_CREATE with BPF_TRACE_KPROBE_MULTI (Linux 5.18+). */
export function linkCreateKprobeMulti(prog: FdLike, o: KprobeMultiOptions): number {
  const cnt = o.syms?.length ?? o.addrs?.length ?? 0;
  const strs = o.syms?.map((s) => Buffer.from(s + '\0', 'latin1')) ?? [];
  const syms = o.syms ? new BigUint64Array(strs.map((b) => addressOf(b))) : null;
  const a = encodeAttr(LINK_CREATE_KPROBE_MULTI, {
    prog_fd: rawFd(prog), attach_type: ATTACH_TYPES.trace_kprobe_multi, flags: 0,
    'kprobe_multi.flags': o.flags ?? 0, 'kprobe_multi.cnt': cnt,
    'kprobe_multi.syms': syms, 'kprobe_multi.addrs': o.addrs ? BigUint64Array.from(o.addrs) : null,
    'kprobe_multi.cookies': o.cookies ? BigUint64Array.from(o.cookies) : null,
  });
  const r = bpf(BPF_LINK_CREATE, a.bytes);
  void strs; // the names stay alive until the call returned
  return r;
}

export interface UprobeMultiOptions {
  path: string;
  /** File offsets of the probed instructions. */
  offsets: readonly number[];
  refCtrOffsets?: readonly number[];
  cookies?: readonly bigint[];
  /** BPF_F_UPROBE_MULTI_RETURN */
  flags?: number;
  /** Only this process (0: every process). */
  pid?: number;
}

/** BPF_LINK_CREATE with BPF_TRACE_UPROBE_MULTI (Linux 6.6+). */
export function linkCreateUprobeMulti(prog: FdLike, o: UprobeMultiOptions): number {
  return bpf(BPF_LINK_CREATE, encodeAttr(LINK_CREATE_UPROBE_MULTI, {
    prog_fd: rawFd(prog), attach_type: ATTACH_TYPES.trace_uprobe_multi,
    'uprobe_multi.path': Buffer.from(o.path + '\0'),
    'uprobe_multi.offsets': BigUint64Array.from(o.offsets, BigInt),
    'uprobe_multi.ref_ctr_offsets': o.refCtrOffsets ? BigUint64Array.from(o.refCtrOffsets, BigInt) : null,
    'uprobe_multi.cookies': o.cookies ? BigUint64Array.from(o.cookies) : null,
    'uprobe_multi.cnt': o.offsets.length, 'uprobe_multi.flags': o.flags ?? 0, 'uprobe_multi.pid': o.pid ?? 0,
  }).bytes);
}

/** BPF_LINK_CREATE of a tcx link (Linux 6.6+) on `ifindex`; appended after the others. */
export function linkCreateTcx(prog: FdLike, ifindex: number, attachType: 'tcx_ingress' | 'tcx_egress', flags = 0): number {
  return bpf(BPF_LINK_CREATE, encodeAttr(LINK_CREATE_TCX, {
    prog_fd: rawFd(prog), target_ifindex: ifindex, attach_type: ATTACH_TYPES[attachType], flags,
  }).bytes);
}

/** BPF_LINK_UPDATE: the link runs `newProg` from now on (with `oldProg`: only if it still runs that one, BPF_F_REPLACE). */
export function linkUpdate(link: FdLike, newProg: FdLike, oldProg?: FdLike): void {
  bpf(BPF_LINK_UPDATE, encodeAttr(LINK_UPDATE, {
    link_fd: rawFd(link), new_prog_fd: rawFd(newProg),
    ...(oldProg === undefined ? {} : { flags: 4 /* BPF_F_REPLACE */, old_prog_fd: rawFd(oldProg) }),
  }).bytes);
}

/** BPF_LINK_DETACH: detaches the link's program now; the fd stays open, defunct (Linux 5.9+). */
export function linkDetach(link: FdLike): void {
  bpf(BPF_LINK_DETACH, encodeAttr(LINK_DETACH, { link_fd: rawFd(link) }).bytes);
}

export interface ProgAttachOptions {
  /** The cgroup, map (sockmap) or netns fd. */
  target: FdLike;
  prog: FdLike;
  attachType: number | AttachTypeName;
  flags?: number;
}

/** BPF_PROG_ATTACH (no link: the attachment stays until BPF_PROG_DETACH). */
export function progAttach(o: ProgAttachOptions): void {
  bpf(BPF_PROG_ATTACH, encodeAttr(PROG_ATTACH, {
    target_fd: rawFd(o.target), attach_bpf_fd: rawFd(o.prog), attach_type: attachTypeNumber(o.attachType), attach_flags: o.flags ?? 0,
  }).bytes);
}

/** BPF_PROG_DETACH of `prog` from `target`. */
export function progDetach(o: Omit<ProgAttachOptions, 'flags'>): void {
  bpf(BPF_PROG_DETACH, encodeAttr(PROG_ATTACH, {
    target_fd: rawFd(o.target), attach_bpf_fd: rawFd(o.prog), attach_type: attachTypeNumber(o.attachType),
  }).bytes);
}

/** BPF_PROG_QUERY: ids of the programs attached to `target` (a cgroup, sockmap, netns fd or an ifindex) for one attach type. */
export function progQuery(target: FdLike, attachType: number | AttachTypeName, max = 64): number[] {
  const ids = new Uint32Array(max);
  const a = encodeAttr(PROG_QUERY, { target_fd: rawFd(target), attach_type: attachTypeNumber(attachType), prog_ids: ids, prog_cnt: max });
  bpf(BPF_PROG_QUERY, a.bytes);
  return Array.from(ids.subarray(0, Math.min(max, readU32(PROG_QUERY, a.bytes, 'prog_cnt'))));
}

/** BPF_ITER_CREATE: a new fd on an iterator link; each read() runs the program over the next objects. */
export function iterCreate(link: FdLike): number {
  return bpf(BPF_ITER_CREATE, encodeAttr(ITER_CREATE, { link_fd: rawFd(link), flags: 0 }).bytes);
}

/** Open a link by id; returns a new fd. */
export function linkGetFdById(id: number): number {
  return bpf(BPF_LINK_GET_FD_BY_ID, encodeAttr(GET_ID, { link_id: id }).bytes);
}

/** The next link id after `start` (0: the first), or null at the end. */
export function linkGetNextId(start = 0): number | null {
  const a = encodeAttr(GET_ID, { start_id: start });
  try { bpf(BPF_LINK_GET_NEXT_ID, a.bytes); } catch (e) {
    if (e instanceof SyscallError && e.code === 'ENOENT') return null;
    throw e;
  }
  return readU32(GET_ID, a.bytes, 'next_id');
}

export { LINK_TYPE_NAMES, type LinkTypeName };

export type PerfEventTypeName = (typeof BPF_PERF_EVENT_TYPES)[number];

/** The kernel's view of a link: the common head plus what its type tells. */
export interface LinkInfo {
  /** enum bpf_link_type number. */
  type: number;
  /** Its name ('perf_event', 'xdp', ...); undefined for a type newer than this table. */
  typeName: LinkTypeName | undefined;
  id: number;
  progId: number;
  /** raw_tracepoint: the tracepoint; iter: the target; perf_event (6.6+): the function, file or tracepoint. */
  name?: string;
  /** xdp, tcx, netkit: the interface. */
  ifindex?: number;
  /** cgroup, netns, tracing, tcx, netkit, sockmap: the attach type. */
  attachType?: AttachTypeName | number;
  /** cgroup: the cgroup id. */
  cgroupId?: bigint;
  /** netns: the namespace's inode number. */
  netnsIno?: number;
  /** tracing: the target's BTF object (or program for freplace) and BTF type id. */
  targetObjId?: number;
  targetBtfId?: number;
  /** struct_ops, sockmap: the map. */
  mapId?: number;
  /** perf_event (6.6+): the event's kind. */
  perfEventType?: PerfEventTypeName;
  /** perf_event kprobe / uprobe: offset from the function / in the file; kprobe: address. */
  offset?: number;
  addr?: bigint;
  /** perf_event of kind 'event': the perf event's type and config. */
  eventType?: number;
  config?: bigint;
  /** kprobe_multi, uprobe_multi: how many functions / offsets. */
  count?: number;
  /** kprobe_multi / uprobe_multi flags (1: return probes); uprobe_multi: pid. */
  flags?: number;
  pid?: number;
  /** uprobe_multi: the binary. */
  path?: string;
}

const NAME_BUF = 256;

function attachTypeOf(n: number): AttachTypeName | number {
  return ATTACH_TYPE_NAMES[n] ?? n;
}

/** The kernel's view of a link (a second call fetches the names the type has). */
export function linkInfo(fd: FdLike): LinkInfo {
  let buf = new Uint8Array(LINK_INFO_BUF_SIZE);
  objGetInfo(fd, buf);
  const type = readU32(LINK_INFO, buf, 'type');
  const typeName = LINK_TYPE_NAMES[type];
  const out: LinkInfo = { type, typeName, id: readU32(LINK_INFO, buf, 'id'), progId: readU32(LINK_INFO, buf, 'prog_id') };
  /** Again, with a name buffer in the (ptr, len) pair of `l`. */
  const withName = <F extends string>(l: Layout<F>, p: F, len: F): string => {
    const name = new Uint8Array(NAME_BUF);
    const b = new Uint8Array(LINK_INFO_BUF_SIZE);
    b.set(encodeAttr(l, { [p]: name, [len]: name.length } as AttrValues<F>).bytes.subarray(0, LINK_INFO_BUF_SIZE));
    objGetInfo(fd, b);
    buf = b;
    return cString(name);
  };
  switch (typeName) {
    case 'raw_tracepoint':
      out.name = withName(LINK_INFO_RAW_TRACEPOINT, 'raw_tracepoint.tp_name', 'raw_tracepoint.tp_name_len');
      break;
    case 'iter':
      out.name = withName(LINK_INFO_ITER, 'iter.target_name', 'iter.target_name_len');
      break;
    case 'tracing':
      out.attachType = attachTypeOf(readU32(LINK_INFO_TRACING, buf, 'tracing.attach_type'));
      out.targetObjId = readU32(LINK_INFO_TRACING, buf, 'tracing.target_obj_id');
      out.targetBtfId = readU32(LINK_INFO_TRACING, buf, 'tracing.target_btf_id');
      break;
    case 'cgroup':
      out.cgroupId = readU64(LINK_INFO_CGROUP, buf, 'cgroup.cgroup_id');
      out.attachType = attachTypeOf(readU32(LINK_INFO_CGROUP, buf, 'cgroup.attach_type'));
      break;
    case 'netns':
      out.netnsIno = readU32(LINK_INFO_NETNS, buf, 'netns.netns_ino');
      out.attachType = attachTypeOf(readU32(LINK_INFO_NETNS, buf, 'netns.attach_type'));
      break;
    case 'xdp':
      out.ifindex = readU32(LINK_INFO_XDP, buf, 'xdp.ifindex');
      break;
    case 'tcx':
    case 'netkit':
      out.ifindex = readU32(LINK_INFO_TCX, buf, 'tcx.ifindex');
      out.attachType = attachTypeOf(readU32(LINK_INFO_TCX, buf, 'tcx.attach_type'));
      break;
    case 'struct_ops':
      out.mapId = readU32(LINK_INFO_STRUCT_OPS, buf, 'struct_ops.map_id');
      break;
    case 'sockmap':
      out.mapId = readU32(LINK_INFO_SOCKMAP, buf, 'sockmap.map_id');
      out.attachType = attachTypeOf(readU32(LINK_INFO_SOCKMAP, buf, 'sockmap.attach_type'));
      break;
    case 'kprobe_multi':
      out.count = readU32(LINK_INFO_KPROBE_MULTI, buf, 'kprobe_multi.count');
      out.flags = readU32(LINK_INFO_KPROBE_MULTI, buf, 'kprobe_multi.flags');
      break;
    case 'uprobe_multi': {
      out.count = readU32(LINK_INFO_UPROBE_MULTI, buf, 'uprobe_multi.count');
      out.flags = readU32(LINK_INFO_UPROBE_MULTI, buf, 'uprobe_multi.flags');
      out.pid = readU32(LINK_INFO_UPROBE_MULTI, buf, 'uprobe_multi.pid');
      // the path needs a buffer and its size (path_size); offsets would need count slots: not asked
      const path = new Uint8Array(4096);
      const b = new Uint8Array(LINK_INFO_BUF_SIZE);
      b.set(encodeAttr(LINK_INFO_UPROBE_MULTI, { 'uprobe_multi.path': path, 'uprobe_multi.path_size': path.length }).bytes.subarray(0, LINK_INFO_BUF_SIZE));
      try {
        objGetInfo(fd, b);
        out.path = cString(path, 'utf8');
      } catch { /* kernels before 6.8 have no uprobe_multi info */ }
      break;
    }
    case 'perf_event': {
      const kind = BPF_PERF_EVENT_TYPES[readU32(LINK_INFO_PERF_EVENT, buf, 'perf_event.type')];
      if (!kind || kind === 'unspec') break; // before 6.6 the kernel fills nothing
      out.perfEventType = kind;
      if (kind === 'event') {
        out.config = readU64(LINK_INFO_PERF_EVENT, buf, 'perf_event.event.config');
        out.eventType = readU32(LINK_INFO_PERF_EVENT, buf, 'perf_event.event.type');
        break;
      }
      out.name = withName(LINK_INFO_PERF_EVENT, 'perf_event.name', 'perf_event.name_len');
      if (kind !== 'tracepoint') out.offset = readU32(LINK_INFO_PERF_EVENT, buf, 'perf_event.offset');
      if (kind === 'kprobe' || kind === 'kretprobe') out.addr = readU64(LINK_INFO_PERF_EVENT, buf, 'perf_event.addr');
      break;
    }
    default:
      break;
  }
  return out;
}
