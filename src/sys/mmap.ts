/**
 * Shared mappings of kernel objects (ring buffers, perf buffers) as ArrayBuffers, and a
 * close that can never make a later read crash the process.
 *
 * A JS view over unmapped memory kills the process at its first read (SIGSEGV), and a
 * zero-copy record handed to user code may outlive the reader. So `Mapping.close()` does
 * not leave a hole: it maps anonymous zero pages over the same addresses (mmap MAP_FIXED,
 * which replaces the old mapping atomically, releasing the kernel object's pages), and the
 * placeholder itself is unmapped only when the ArrayBuffer over it is garbage (no view
 * can exist any more). A stale view then reads zeros, never freed memory.
 */
import { TsbpfError } from '../errors.js';
import { SyscallError } from './error.js';
import { rawFd, type FdLike } from './fd.js';
import { MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, mmapOverOwned, mmapPtr, zeroPagesOver, systemPageSize, unmapWhenUnreachable } from './mmap-calls.js';
import { kernelIsFake, koffi, lastErrno } from './syscall.js';

export { PROT_READ, PROT_WRITE, systemPageSize } from './mmap-calls.js';

/** A shared mapping of `length` bytes of an fd, viewed through `buffer` (no copy). */
export class Mapping {
  /** The mapped bytes. Valid until close(); after it, reads give zeros. */
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly writable: boolean;
  #addr: bigint;
  #closed = false;

  private constructor(addr: bigint, buffer: ArrayBuffer, length: number, writable: boolean) {
    this.#addr = addr;
    this.buffer = buffer;
    this.length = length;
    this.writable = writable;
    // whatever is at these addresses when nothing can view them any more (the kernel
    // object's pages when nobody closed it, else close()'s zero pages) is unmapped then
    unmapWhenUnreachable(buffer, addr, length);
  }

  /**
   * mmap(NULL, length, prot, MAP_SHARED, fd, offset). `what` names the object in errors
   * ("ring buffer 'events' data pages"). Throws TsbpfError (cause: the SyscallError) when
   * the kernel refuses, and while a kernel double is installed (it has no memory to map).
   */
  static map(fd: FdLike, length: number, prot: number, offset: number, what: string): Mapping {
    if (!Number.isSafeInteger(length) || length <= 0) throw new TsbpfError(`mmap of ${what}: length ${length}`);
    if (kernelIsFake()) throw new TsbpfError(`mmap of ${what}: a kernel double (overrideKernel) is installed, and it has no memory to map`);
    const k = koffi();
    const p = mmapPtr()(null, length, prot, MAP_SHARED, rawFd(fd), offset);
    const addr = p === null || p === undefined ? MAP_FAILED : k.address(p);
    if (addr === MAP_FAILED || addr === 0n) {
      const e = SyscallError.from('mmap', lastErrno());
      throw new TsbpfError(`mmap of ${what} (${length} bytes at offset ${offset}) failed: ${e.code}: ${e.hint}`, {}, { cause: e });
    }
    return new Mapping(addr, k.view(p, length), length, (prot & PROT_WRITE) !== 0);
  }

  get closed(): boolean { return this.#closed; }

  /**
   * Releases the kernel object's pages: anonymous zero pages take their place at the same
   * addresses, unmapped when `buffer` is garbage. A second close does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Not replaced (out of memory for page tables?): the kernel's pages stay mapped rather
    // than leave a hole a stale view could fault on; they go when the buffer is garbage.
    zeroPagesOver(this.#addr, this.length, PROT_READ);
  }
}

/**
 * Pages of an fd mapped over part of a WebAssembly.Memory's bytes (mmap MAP_SHARED |
 * MAP_FIXED at an address inside what the Memory has committed), so that WebAssembly code
 * reads them as its linear memory, and typed arrays over `memory.buffer` see them too.
 *
 * V8 reserves a wasm memory's address space with guard regions and commits the first
 * `initial` pages read-write; nothing there moves as long as the Memory is never grown, and
 * the mappings go with the reservation when the Memory is garbage. close() maps anonymous
 * zero pages back over the range (MAP_FIXED replaces the kernel object's pages atomically),
 * so that a late read through a stale view or the walker sees zeros, never a fault.
 */
export class MemoryMapping {
  readonly length: number;
  #addr: bigint;
  #closed = false;

  private constructor(addr: bigint, length: number) {
    this.#addr = addr;
    this.length = length;
  }

  /**
   * Maps `length` bytes of `fd` at `offset` over memory.buffer[at, at + length) (page-aligned,
   * inside the Memory). `what` names the object in errors. Throws TsbpfError (cause: the
   * SyscallError) when the kernel refuses, and while a kernel double is installed (it has
   * no memory to map into the Memory's).
   */
  static map(memory: { readonly buffer: ArrayBuffer }, at: number, fd: FdLike, length: number, prot: number, offset: number, what: string): MemoryMapping {
    const page = systemPageSize();
    const bytes = memory.buffer.byteLength;
    if (at % page !== 0 || length <= 0 || length % page !== 0 || at + length > bytes) {
      throw new TsbpfError(`mmap of ${what} into a WebAssembly.Memory: [${at}, ${at + length}) is not page-aligned inside its ${bytes} bytes`);
    }
    if (kernelIsFake()) throw new TsbpfError(`mmap of ${what} into a WebAssembly.Memory: a kernel double (overrideKernel) is installed, and it has no memory to map`);
    const base = koffi().address(new Uint8Array(memory.buffer));
    if (base % BigInt(page) !== 0n) throw new TsbpfError(`mmap of ${what}: the WebAssembly.Memory does not start on a page`);
    const addr = base + BigInt(at);
    // a failed MAP_FIXED may have unmapped the range already: mmapOverOwned puts zero pages back
    const errno = mmapOverOwned(addr, length, prot, MAP_SHARED, rawFd(fd), offset);
    if (errno !== 0) {
      const e = SyscallError.from('mmap', errno);
      throw new TsbpfError(`mmap of ${what} (${length} bytes at offset ${offset}) into a WebAssembly.Memory failed: ${e.code}: ${e.hint}`, {}, { cause: e });
    }
    return new MemoryMapping(addr, length);
  }

  get closed(): boolean { return this.#closed; }

  /** Anonymous zero pages (read-write, as the Memory had them) replace the kernel object's. A second close does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    zeroPagesOver(this.#addr, this.length, PROT_READ | PROT_WRITE);
  }
}
