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
 * was (mmap-calls.ts mmapOverOwned, which mmap.ts's MemoryMapping uses too). The mapped
 * pages are read-only: a write to them kills the process (SIGSEGV).
 */
import { MAP_FAILED, MAP_PRIVATE, PROT_READ, mmapAddr, mmapOverOwned, munmap, systemPageSize } from './mmap-calls.js';
import { addressOf, kernelIsFake } from './syscall.js';

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
  const probe = mmapAddr(0n, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (probe === MAP_FAILED) return false;
  munmap(probe, length);
  return mmapOverOwned(addr, length, PROT_READ, MAP_PRIVATE, fd, 0, span) === 0;
}
