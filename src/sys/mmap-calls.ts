/**
 * mmap(2) and munmap(2) bound once (libcFunction), their constants (mman.ts),
 * the page size, and the one way the project maps over pages it already owns: a
 * MAP_FIXED mapping that puts anonymous zero pages back when the kernel refuses it
 * (mmapOverOwned), used by map-over.ts (a file read-only over a BTF arena) and by
 * mmap.ts's MemoryMapping (ring pages shared into a WebAssembly.Memory).
 */
import { TsbpfError } from '../errors.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './mman.js';
import { lastErrno, libcFunction } from './syscall.js';

export * from './mman.js';
/** sysconf(_SC_PAGESIZE) in glibc's <bits/confname.h>. */
const _SC_PAGESIZE = 30;

type MmapPtrFn = (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
type MmapAddrFn = (addr: bigint, len: number, prot: number, flags: number, fd: number, off: number) => bigint | number;

/** mmap(2) returning koffi's pointer (for koffi's view of the mapped bytes). */
export const mmapPtr = (): MmapPtrFn => libcFunction<MmapPtrFn>('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
/** mmap(2) at an address, the result as a bigint (koffi gives a u64 that fits a double as a number). */
export function mmapAddr(addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number): bigint {
  return BigInt(libcFunction<MmapAddrFn>('uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, int64_t offset)')(addr, length, prot, flags, fd, offset));
}
/** munmap(2): 0, or -1 with errno. */
export function munmap(addr: bigint, length: number): number {
  return libcFunction<(addr: bigint, len: number) => number>('int munmap(uint64_t addr, size_t length)')(addr, length);
}

let pageSize: number | undefined;
/** The kernel's page size (sysconf(_SC_PAGESIZE)). */
export function systemPageSize(): number {
  if (pageSize === undefined) {
    const n = libcFunction<(name: number) => number>('long sysconf(int name)')(_SC_PAGESIZE);
    pageSize = n > 0 ? n : 4096;
  }
  return pageSize;
}

/** Anonymous zero pages (private, `prot`) over [addr, addr + length), replacing what is there: true when placed. */
export function zeroPagesOver(addr: bigint, length: number, prot = PROT_READ | PROT_WRITE): boolean {
  return mmapAddr(addr, length, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) === addr;
}

/**
 * mmap(addr, length, prot, flags | MAP_FIXED, fd, offset) over pages the caller owns
 * (read-write anonymous memory, such as a WebAssembly.Memory's committed pages): 0 when
 * mapped, else the errno of the refusal. A MAP_FIXED that fails may have unmapped the range
 * already, and the owner would fault on it: read-write zero pages are then put back over
 * `restore` bytes at `addr` (the whole pages). Throws TsbpfError when even that fails.
 */
export function mmapOverOwned(addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number, restore = length): number {
  if (mmapAddr(addr, length, prot, flags | MAP_FIXED, fd, offset) === addr) return 0;
  const errno = lastErrno();
  if (!zeroPagesOver(addr, restore)) {
    throw new TsbpfError(`mmap of fd ${fd} over memory at 0x${addr.toString(16)} failed and its pages could not be restored`);
  }
  return errno;
}
