/**
 * A file mapped read-only over the first pages of memory the caller already owns, so that
 * code which can only read that memory sees the file without a copy: src/btf's WebAssembly
 * record walk reads /sys/kernel/btf/vmlinux this way (src/load/kernel-btf.ts), where
 * copying its 5.5 MB into the wasm memory would cost ~3 ms, most of it faulting in fresh
 * pages.
 *
 * mmap(addr, length, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd) replaces the pages at
 * `addr` atomically. A MAP_FIXED call that fails may leave the range unmapped, and the
 * memory's owner (V8) would then fault on it: so the file is first mapped anywhere (a
 * plain mmap that fails leaves nothing behind) and unmapped, and if the fixed mapping
 * still fails, anonymous read-write zero pages are put back over the range, as the memory
 * was. The mapped pages are read-only: a write to them kills the process (SIGSEGV).
 */
import { TsbpfError } from '../errors.js';
import { systemPageSize } from './mmap.js';
import { addressOf, kernelIsFake, libcFunction } from './syscall.js';

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

type MmapAddrFn = (addr: bigint, len: number, prot: number, flags: number, fd: number, off: number) => bigint | number;
const mmapFn = () => libcFunction<MmapAddrFn>('uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, int64_t offset)');
/** mmap(2) returning the address as a bigint (koffi gives a u64 that fits a double as a number). */
const mmapAddr = (addr: bigint, len: number, prot: number, flags: number, fd: number) => BigInt(mmapFn()(addr, len, prot, flags, fd, 0));
const munmap = () => libcFunction<(addr: bigint, len: number) => number>('int munmap(uint64_t addr, size_t length)');

/**
 * Maps the first `length` bytes of `fd` read-only over `target` (page-aligned, in a
 * buffer that goes on to the end of the last page, memory the caller owns and never
 * writes at those pages again). True when mapped; false when not (not Linux, a test double, the
 * kernel refuses to map the file): `target` then holds zeros, read-write, and the caller reads.
 */
export function mapFileOver(fd: number, length: number, target: Uint8Array): boolean {
  if (process.platform !== 'linux' || kernelIsFake() || length <= 0) return false;
  const page = systemPageSize();
  const span = Math.ceil(length / page) * page;
  const addr = addressOf(target);
  if (addr % BigInt(page) !== 0n || target.buffer.byteLength - target.byteOffset < span) return false;
  const probe = mmapAddr(0n, length, PROT_READ, MAP_PRIVATE, fd);
  if (probe === MAP_FAILED) return false;
  munmap()(probe, length);
  if (mmapAddr(addr, length, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd) === addr) return true;
  if (mmapAddr(addr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1) !== addr) {
    throw new TsbpfError(`mapFileOver: mapping fd ${fd} over memory at 0x${addr.toString(16)} failed and its pages could not be restored`);
  }
  return false;
}
