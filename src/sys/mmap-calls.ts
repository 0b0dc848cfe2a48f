/**
 * mmap(2) and munmap(2) bound once (libcFunction), their constants,
 * the page size, the one way the project maps over pages it already owns: a
 * MAP_FIXED mapping that puts anonymous zero pages back when the kernel refuses it
 * (mmapOverOwned), used by map-over.ts (a file read-only over a BTF arena) and by
 * mmap.ts's MemoryMapping (ring pages shared into a WebAssembly.Memory), and the one
 * way a mapping is unmapped when its bytes are garbage (unmapWhenUnreachable), used by
 * mapReadOnly here and mmap.ts's Mapping, and the one way zero pages are put back over
 * such memory (zeroPagesOver: mmap.ts's closes, mmapOverOwned's restore); both go to the
 * real kernel even while a double is installed.
 */
import { TsbpfError } from '../errors.js';
import { kernelIsFake, koffi, lastErrno, libcFunction, realLibcFunction } from './syscall.js';

// mmap(2)'s constants, from <bits/mman-linux.h> (x86-64 and arm64 alike)
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
/** (void *) -1 as a u64 address. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** sysconf(_SC_PAGESIZE) in glibc's <bits/confname.h>. */
const _SC_PAGESIZE = 30;

type MmapPtrFn = (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
type MmapAddrFn = (addr: bigint, len: number, prot: number, flags: number, fd: number, off: number) => bigint | number;

/** mmap(2) returning koffi's pointer (for koffi's view of the mapped bytes). */
export const mmapPtr = (): MmapPtrFn => libcFunction<MmapPtrFn>('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
const MMAP_ADDR_DECL = 'uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, int64_t offset)';
/** mmap(2) at an address, the result as a bigint (koffi gives a u64 that fits a double as a number). */
export function mmapAddr(addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number): bigint {
  return BigInt(libcFunction<MmapAddrFn>(MMAP_ADDR_DECL)(addr, length, prot, flags, fd, offset));
}
const MUNMAP_DECL = 'int munmap(uint64_t addr, size_t length)';
type MunmapFn = (addr: bigint, len: number) => number;
/** munmap(2): 0, or -1 with errno. */
export function munmap(addr: bigint, length: number): number {
  return libcFunction<MunmapFn>(MUNMAP_DECL)(addr, length);
}

/**
 * The munmap of each mapping whose ArrayBuffer is garbage. The real munmap, bound when
 * the mapping was registered: the collector may get to a real mapping while a test double
 * is installed (overrideKernel), and the double must not receive it (the pages would stay
 * mapped, or a double without a libc handler would throw from the finalizer).
 */
const unmapLater = new FinalizationRegistry<{ addr: bigint; length: number; munmap: MunmapFn }>((m) => {
  m.munmap(m.addr, m.length);
});

/**
 * munmap(addr, length) once `buffer` (the ArrayBuffer over those bytes) is garbage, when
 * no view can read the range any more. Only for memory the real kernel mapped: throws
 * TsbpfError while a double is installed, whose addresses are not this process's memory
 * (nothing is mapped under one; the callers check first).
 */
export function unmapWhenUnreachable(buffer: ArrayBuffer, addr: bigint, length: number): void {
  if (kernelIsFake()) throw new TsbpfError(`unmapWhenUnreachable: 0x${addr.toString(16)} was not mapped by the real kernel (a kernel double is installed)`);
  unmapLater.register(buffer, { addr, length, munmap: realLibcFunction<MunmapFn>(MUNMAP_DECL) });
}

/**
 * mmap(2) `length` bytes of `fd` from offset 0, read-only and private, as a Uint8Array
 * over the mapping (no copy). Returns undefined when the file cannot be mapped, or a
 * kernel double is installed (it has no memory to map): the caller reads it instead. The
 * mapping lives as long as the returned array's ArrayBuffer: it is unmapped after that
 * buffer is garbage collected, so no view can read it after munmap.
 * Meant for files whose size cannot change while mapped (a shrinking regular file would
 * make a read past its new end kill the process with SIGBUS), such as
 * /sys/kernel/btf/vmlinux (mappable since Linux 6.16, as libbpf does; a read() of it
 * returns one page per call). Nothing may write to the returned bytes.
 */
export function mapReadOnly(fd: number, length: number): Uint8Array | undefined {
  if (length <= 0 || kernelIsFake()) return undefined;
  const k = koffi();
  const p = mmapPtr()(null, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p === null || p === undefined) return undefined;
  const addr = k.address(p);
  if (addr === 0n || addr === MAP_FAILED) return undefined;
  const buffer = k.view(p, length);
  unmapWhenUnreachable(buffer, addr, length);
  return new Uint8Array(buffer);
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

/**
 * Anonymous zero pages (private, `prot`) over [addr, addr + length) of memory the real kernel
 * mapped, replacing what is there: true when placed. Used where the owner lets pages go
 * (Mapping.close, MemoryMapping.close) and where a refused MAP_FIXED must be undone
 * (mmapOverOwned). Always through the real mmap, whatever double is installed
 * (overrideKernel), as unmapWhenUnreachable's munmap: a double installed by then must not
 * receive it (the kernel object's pages would stay mapped, and a double without a libc
 * handler would throw from close(), leaving a reader's other mappings and fds open).
 */
export function zeroPagesOver(addr: bigint, length: number, prot: number): boolean {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  return BigInt(realLibcFunction<MmapAddrFn>(MMAP_ADDR_DECL)(addr, length, prot, flags, -1, 0)) === addr;
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
  if (!zeroPagesOver(addr, restore, PROT_READ | PROT_WRITE)) {
    throw new TsbpfError(`mmap of fd ${fd} over memory at 0x${addr.toString(16)} failed and its pages could not be restored`);
  }
  return errno;
}
