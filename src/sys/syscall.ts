/**
 * The one place that calls the kernel: libc `syscall(SYS_bpf, cmd, attr, size)` and
 * `close(fd)`, bound with koffi on first use (importing this module loads neither koffi
 * nor libc, so the pure layers and their tests run anywhere).
 */
import { createRequire } from 'node:module';
import { BPF_CMD_NAMES } from '../kernel/enums.js';
import { TsbpfError } from '../errors.js';
import { SyscallError } from './error.js';

/** __NR_bpf per Node architecture (asm-generic numbering = 280). */
const SYS_BPF: Readonly<Record<string, number>> = {
  x64: 321,
  arm64: 280,
  riscv64: 280,
  loong64: 280,
};

/** The bpf(2) syscall number for this process's architecture. */
export function sysBpfNumber(arch: string = process.arch): number {
  const nr = SYS_BPF[arch];
  if (nr === undefined) throw new TsbpfError(`bpf(2): syscall number for architecture '${arch}' is not known (supported: ${Object.keys(SYS_BPF).join(', ')})`);
  return nr;
}

interface Libc {
  nr: number;
  // `long syscall(long number, ...)` is variadic in C. On the Linux ABIs above integer and
  // pointer arguments of a variadic call travel exactly like fixed ones (and glibc's
  // syscall() is an assembly stub that only moves registers), so it is bound with a fixed
  // prototype: koffi then parses no per-call type arguments. The attr goes as its address
  // (a u64 from koffi.address), which is cheaper than koffi's `void *` marshalling.
  syscall: (nr: number, cmd: number, attr: bigint, size: number) => number;
  close: (fd: number) => number;
  /** The libc handle, for functions bound on demand (mmap). */
  lib: { func(decl: string): unknown };
}

/** The part of koffi used here (all of it lives in koffi's native module). */
export interface Koffi {
  load(path: string): { func(decl: string): unknown };
  address(buf: unknown): bigint;
  errno(): number;
  view(ptr: unknown, len: number): ArrayBuffer;
}

let koffiMod: Koffi | undefined;

/**
 * koffi, loaded on first use. Its native module is loaded directly when it is where koffi
 * ships it: koffi's index.js also requires https, zlib and crypto for its installer (~9 ms
 * of start-up), and only adds deprecated aliases over the native exports used here.
 * Anything unexpected falls back to `require('koffi')`.
 */
function loadKoffi(): Koffi {
  if (koffiMod) return koffiMod;
  const req = createRequire(import.meta.url);
  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    try {
      const native = req(`koffi/build/koffi/linux_${process.arch}/koffi.node`) as Partial<Koffi>;
      if (typeof native.load === 'function' && typeof native.address === 'function' && typeof native.errno === 'function') {
        return (koffiMod = native as Koffi);
      }
    } catch { /* not there (musl, a bundled koffi...): koffi's own loader finds it */ }
  }
  return (koffiMod = req('koffi') as Koffi);
}

let libc: Libc | undefined;

function bind(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new TsbpfError(`bpf(2) exists only on Linux (this is ${process.platform})`);
  const nr = sysBpfNumber();
  const lib = loadKoffi().load('libc.so.6');
  libc = {
    nr,
    syscall: lib.func('long syscall(long nr, long cmd, uint64_t attr, long size)') as Libc['syscall'],
    close: lib.func('int close(int fd)') as Libc['close'],
    lib,
  };
  return libc;
}

const bound = new Map<string, unknown>();

/**
 * A libc function bound by koffi from its C declaration, once per declaration:
 * `libcFunction<(fd: number) => number>('int close(int fd)')`. Every syscall other than
 * bpf(2) (perf_event_open, ioctl, mmap, epoll, sockets...) is bound here, in src/sys only.
 * A call that fails returns -1 (or MAP_FAILED); read the errno with `lastErrno()` right
 * after it, before any other foreign call.
 */
export function libcFunction<F>(decl: string): F {
  let f = bound.get(decl);
  if (f === undefined) {
    f = (libc ?? bind()).lib.func(decl);
    bound.set(decl, f);
  }
  return f as F;
}

/** errno of the last failed libc call on this thread (koffi.errno()). */
export function lastErrno(): number {
  return (koffiMod ?? loadKoffi()).errno();
}

/** koffi itself, for src/sys files that need address/view/decode over foreign memory. */
export function koffi(): Koffi {
  bind();
  return koffiMod!;
}

const PROT_READ = 1;
const MAP_PRIVATE = 2;
let mmapFn: ((addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown) | undefined;

/**
 * mmap(2) `length` bytes of `fd` from offset 0, read-only and private, as a Uint8Array
 * over the mapping (no copy). Returns undefined when the file cannot be mapped (the caller
 * reads it instead). The mapping is never unmapped: meant for data kept for the life of
 * the process, such as /sys/kernel/btf/vmlinux (mappable since Linux 6.16, as libbpf does;
 * a read() of it returns one page per call). Nothing may write to the returned bytes.
 */
export function mapReadOnly(fd: number, length: number): Uint8Array | undefined {
  if (length <= 0) return undefined;
  const c = libc ?? bind();
  mmapFn ??= c.lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)') as typeof mmapFn;
  const k = koffiMod!;
  const p = mmapFn!(null, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p === null || p === undefined) return undefined;
  const addr = k.address(p);
  if (addr === 0n || addr === 0xffffffffffffffffn) return undefined; // MAP_FAILED
  return new Uint8Array(k.view(p, length));
}

/** The command's kernel name ('BPF_MAP_CREATE'), or `BPF_CMD_<n>` for unknown numbers. */
export function commandName(cmd: number): string {
  return BPF_CMD_NAMES[cmd] ?? `BPF_CMD_${cmd}`;
}

let lastAttr: Uint8Array | undefined;
let lastAddr = 0n;

/**
 * The kernel call itself: bpf(cmd, attr, attr.length) returning the result (>= 0) or
 * -errno. Never throws for kernel errors; `bpf()` is the throwing form. Wrappers that
 * treat an errno as an answer (ENOENT: no such key) use this to skip building an Error.
 */
export function bpfErrno(cmd: number, attr: Uint8Array): number {
  const c = libc ?? bind();
  let addr: bigint;
  if (attr === lastAttr) addr = lastAddr;
  else {
    addr = (koffiMod ?? loadKoffi()).address(attr);
    lastAttr = attr;
    lastAddr = addr;
  }
  // `attr` (and what its pointer fields reference, held by the caller) stays reachable
  // until this synchronous call returns.
  const r = c.syscall(c.nr, cmd, addr, attr.length);
  return r === -1 ? -koffiMod!.errno() : r;
}

/** Throw the SyscallError for a negative bpfErrno() result; pass other results through. */
export function checkErrno(cmd: number, r: number): number {
  if (r < 0) throw SyscallError.from(commandName(cmd), -r);
  return r;
}

/**
 * bpf(cmd, attr, attr.length). Returns the kernel's result (an fd for commands that
 * create or open objects, else 0); throws SyscallError (command name, errno name, hint)
 * on failure. The kernel writes its outputs back into `attr`.
 */
export function bpf(cmd: number, attr: Uint8Array): number {
  const r = bpfErrno(cmd, attr);
  if (r < 0) throw SyscallError.from(commandName(cmd), -r);
  return r;
}

/** close(2) a raw fd; throws SyscallError ('close', EBADF...) on failure. */
export function closeFd(fd: number): void {
  const c = libc ?? bind();
  if (c.close(fd) === -1) throw SyscallError.from('close', koffiMod!.errno());
}

// Base address per ArrayBuffer. V8 never moves an ArrayBuffer's backing store once it is
// off the JS heap (reading `.buffer` moves a small on-heap typed array off it for good), so
// the address can be cached; a detached buffer has byteLength 0 and is never asked for.
const bases = new WeakMap<ArrayBufferLike, bigint>();

/** The address of a buffer's first byte, to put in an attr's pointer field. */
export function addressOf(buf: ArrayBufferView): bigint {
  const ab = buf.buffer; // materializes on-heap typed arrays before their address is taken
  let base = bases.get(ab);
  if (base === undefined) {
    // koffi takes typed arrays and Buffers, not DataViews.
    const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(ab, buf.byteOffset, buf.byteLength);
    base = (koffiMod ?? loadKoffi()).address(u8) - BigInt(buf.byteOffset);
    bases.set(ab, base);
  }
  return buf.byteOffset === 0 ? base : base + BigInt(buf.byteOffset);
}
