/**
 * perf_event_open(2) and the perf ioctls: the kernel side of kprobe, uprobe, tracepoint
 * and perf_event attachments (and of perf buffers). `struct perf_event_attr` is laid out
 * from <linux/perf_event.h> and checked against it by test/unit/sys-offsets.test.ts.
 */
import { TsbpfError } from '../errors.js';
import { encodeAttr, type AttrValues } from './attr.js';
import { SyscallError } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { layout, ptr, u32, u64, u16 } from './layout.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

const HEADER = 'linux/perf_event.h';

/** struct perf_event_attr (the fields tsbpf sets; the flag bits are PERF_ATTR_FLAG_BITS). */
export const PERF_EVENT_ATTR = layout('perf_event_attr', 'struct perf_event_attr', '', {
  type: u32(0),
  size: u32(4),
  config: u64(8),
  sample_period: u64(16),
  sample_freq: u64(16),
  sample_type: u64(24),
  read_format: u64(32),
  wakeup_events: u32(48),
  wakeup_watermark: u32(48),
  bp_type: u32(52),
  config1: u64(56),
  kprobe_func: ptr(56),
  uprobe_path: ptr(56),
  config2: u64(64),
  kprobe_addr: u64(64),
  probe_offset: u64(64),
  branch_sample_type: u64(72),
  sample_regs_user: u64(80),
  sample_stack_user: u32(88),
  clockid: u32(92),
  sample_regs_intr: u64(96),
  aux_watermark: u32(104),
  sample_max_stack: u16(108),
  aux_sample_size: u32(112),
  sig_data: u64(120),
}, HEADER);
/** Offset of the u64 of one-bit flags after read_format (disabled, inherit, ..., freq...). */
export const PERF_ATTR_FLAGS_WORD = 40;
/** sizeof(struct perf_event_attr) in the header: sent as attr.size (PERF_ATTR_SIZE_VER7). */
export const PERF_ATTR_SIZE = 128;

/** Bit of each one-bit flag in the word at PERF_ATTR_FLAGS_WORD (precise_ip is 2 bits at 15). */
export const PERF_ATTR_FLAG_BITS = {
  disabled: 0, inherit: 1, pinned: 2, exclusive: 3, exclude_user: 4, exclude_kernel: 5,
  exclude_hv: 6, exclude_idle: 7, mmap: 8, comm: 9, freq: 10, inherit_stat: 11,
  enable_on_exec: 12, task: 13, watermark: 14, mmap_data: 17, sample_id_all: 18,
  exclude_host: 19, exclude_guest: 20,
} as const;
export type PerfAttrFlag = keyof typeof PERF_ATTR_FLAG_BITS;

/** enum perf_type_id */
export const PERF_TYPE_HARDWARE = 0;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_TYPE_TRACEPOINT = 2;
export const PERF_TYPE_HW_CACHE = 3;
export const PERF_TYPE_RAW = 4;
export const PERF_TYPE_BREAKPOINT = 5;

/** enum perf_sw_ids (the ones tsbpf names). */
export const PERF_COUNT_SW_CPU_CLOCK = 0;
export const PERF_COUNT_SW_TASK_CLOCK = 1;
export const PERF_COUNT_SW_BPF_OUTPUT = 10;
/** enum perf_hw_id */
export const PERF_COUNT_HW_CPU_CYCLES = 0;
export const PERF_COUNT_HW_INSTRUCTIONS = 1;

/** PERF_SAMPLE_RAW (perf buffers of BPF output). */
export const PERF_SAMPLE_RAW = 1 << 10;

/** perf_event_open flags. */
export const PERF_FLAG_FD_CLOEXEC = 8;

/** The perf ioctls tsbpf uses (_IO / _IOW('$', n, ...), checked against the header). */
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

/** __NR_perf_event_open per Node architecture. */
const SYS_PERF_EVENT_OPEN: Readonly<Record<string, number>> = { x64: 298, arm64: 241, riscv64: 241, loong64: 241 };

export function sysPerfEventOpenNumber(arch: string = process.arch): number {
  const nr = SYS_PERF_EVENT_OPEN[arch];
  if (nr === undefined) throw new TsbpfError(`perf_event_open(2): syscall number for architecture '${arch}' is not known (supported: ${Object.keys(SYS_PERF_EVENT_OPEN).join(', ')})`);
  return nr;
}

export type PerfAttrField = keyof typeof PERF_EVENT_ATTR.fields;

export interface PerfEventOpenOptions {
  /** attr fields by their C name (`type`, `config`, `config1`, `sample_period`, ...). */
  attr: AttrValues<PerfAttrField>;
  /** One-bit flags to set (`disabled`, `freq`, ...). */
  flags?: readonly PerfAttrFlag[];
  /** -1: every process (then cpu >= 0); else a pid (or tid). */
  pid: number;
  /** -1: every CPU (then pid >= 0); else a CPU number. */
  cpu: number;
  groupFd?: FdLike;
  /** perf_event_open flags; PERF_FLAG_FD_CLOEXEC is always added. */
  openFlags?: number;
}

/** The attr bytes for perf_event_open (attr.size set to the header's size). */
export function encodePerfEventAttr(attr: AttrValues<PerfAttrField>, flags: readonly PerfAttrFlag[] = []) {
  const a = encodeAttr(PERF_EVENT_ATTR, { ...attr, size: PERF_ATTR_SIZE });
  const bytes = new Uint8Array(PERF_ATTR_SIZE);
  bytes.set(a.bytes.subarray(0, Math.min(a.bytes.length, PERF_ATTR_SIZE)));
  let word = 0n;
  for (const f of flags) word |= 1n << BigInt(PERF_ATTR_FLAG_BITS[f]);
  new DataView(bytes.buffer).setBigUint64(PERF_ATTR_FLAGS_WORD, word, true);
  return { bytes, refs: a.refs };
}

type PerfOpenFn = (nr: number, attr: bigint, pid: number, cpu: number, group: number, flags: number) => number;
type IoctlFn = (fd: number, req: number, arg: bigint) => number;

/**
 * perf_event_open(2): returns the new perf event fd (close-on-exec). Throws SyscallError
 * ('perf_event_open', errno) with a hint for the usual causes.
 */
export function perfEventOpen(o: PerfEventOpenOptions): number {
  const a = encodePerfEventAttr(o.attr, o.flags);
  // `long syscall(long, ...)` is bound with a fixed prototype as for bpf(2) (see syscall.ts).
  const call = libcFunction<PerfOpenFn>('long syscall(long nr, uint64_t attr, long pid, long cpu, long group, long flags)');
  const r = call(sysPerfEventOpenNumber(), addressOf(a.bytes), o.pid, o.cpu, o.groupFd === undefined ? -1 : rawFd(o.groupFd), (o.openFlags ?? 0) | PERF_FLAG_FD_CLOEXEC);
  void a.refs; // the strings config1 points to stay alive until the call returned
  if (r < 0) throw SyscallError.from('perf_event_open', lastErrno());
  return r;
}

/** ioctl(2) on a perf event fd: PERF_EVENT_IOC_ENABLE / _DISABLE / _SET_BPF (arg: the program fd). */
export function perfEventIoctl(fd: FdLike, request: number, arg = 0): void {
  const ioctl = libcFunction<IoctlFn>('int ioctl(int fd, unsigned long request, uint64_t arg)');
  if (ioctl(rawFd(fd), request, BigInt(arg)) < 0) throw SyscallError.from(ioctlName(request), lastErrno());
}

function ioctlName(request: number): string {
  switch (request) {
    case PERF_EVENT_IOC_ENABLE: return 'PERF_EVENT_IOC_ENABLE';
    case PERF_EVENT_IOC_DISABLE: return 'PERF_EVENT_IOC_DISABLE';
    case PERF_EVENT_IOC_SET_BPF: return 'PERF_EVENT_IOC_SET_BPF';
    default: return `ioctl 0x${request.toString(16)}`;
  }
}

/** The tables here, for the offset probe. */
export const PERF_LAYOUTS = [PERF_EVENT_ATTR];
