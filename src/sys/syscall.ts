/**
 * The one place that calls the kernel: libc `syscall(SYS_bpf, cmd, attr, size)`,
 * `close(fd)` and every other libc function (`libcFunction`), bound with koffi on first
 * use (importing this module loads neither koffi nor libc, so the pure layers and their
 * tests run anywhere).
 *
 * Test seam (aya's `override_syscall`): `overrideKernel(fake)` routes every one of those
 * calls to a JavaScript double until the returned function is called, so that unit tests
 * drive the loader's error paths (EPERM, ENOSPC, E2BIG, a failure at any stage) without
 * root. Pointers put in attrs meanwhile are synthetic; `userMemory` gives the double the
 * buffer behind one (to write a verifier log, read a key).
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
  /** The libc handle, for functions bound on demand (libcFunction). */
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
 * What loadKoffi() required, resolved to a path when koffiModulePath() asks: resolving it
 * again after the require costs ~2.5 ms (a third of the first syscall of a CLI start).
 */
let koffiSource: (() => string) | undefined;

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
      const id = `koffi/build/koffi/linux_${process.arch}/koffi.node`;
      const native = req(id) as Partial<Koffi>;
      if (typeof native.load === 'function' && typeof native.address === 'function' && typeof native.errno === 'function') {
        koffiSource = () => req.resolve(id);
        return (koffiMod = native as Koffi);
      }
    } catch { /* not there (musl, a bundled koffi...): koffi's own loader finds it */ }
  }
  koffiSource = () => req.resolve('koffi');
  return (koffiMod = req('koffi') as Koffi);
}

/**
 * The absolute path a worker thread can require() to get the koffi this process uses
 * (its native module, or the koffi package).
 */
export function koffiModulePath(): string {
  loadKoffi();
  return koffiSource!();
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

/** `int close(int fd)` -> 'close': the function's name in a C declaration. */
function declName(decl: string): string {
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(decl);
  if (!m) throw new TsbpfError(`libcFunction: no function name in '${decl}'`);
  return m[1]!;
}

/**
 * A libc function bound by koffi from its C declaration, once per declaration:
 * `libcFunction<(fd: number) => number>('int close(int fd)')`. Every syscall other than
 * bpf(2) (perf_event_open, ioctl, mmap, epoll, sockets...) is bound here, in src/sys only.
 * A call that fails returns -1 (or MAP_FAILED); read the errno with `lastErrno()` right
 * after it, before any other foreign call. Under `overrideKernel` the call goes to the
 * double's `libc` handler instead (the real function is bound only when first really called).
 */
export function libcFunction<F>(decl: string): F {
  let f = bound.get(decl);
  if (f === undefined) {
    const name = declName(decl);
    let real: ((...args: unknown[]) => unknown) | undefined;
    f = (...args: unknown[]): unknown => {
      if (fake) return fakeLibc(name, decl, args);
      real ??= realLibcFunction<(...a: unknown[]) => unknown>(decl);
      return real(...args);
    };
    bound.set(decl, f);
  }
  return f as F;
}

const realBound = new Map<string, unknown>();

/**
 * The libc function itself, bound once per declaration, whatever double `overrideKernel`
 * has installed: only for work on memory the real kernel gave, which can come while a
 * double is installed (the garbage collector's munmap of a real mapping, mmap-calls.ts
 * unmapWhenUnreachable; a close's zero pages over one, zeroPagesOver). Everything else
 * calls `libcFunction`.
 */
export function realLibcFunction<F>(decl: string): F {
  let f = realBound.get(decl);
  if (f === undefined) {
    f = (libc ?? bind()).lib.func(decl);
    realBound.set(decl, f);
  }
  return f as F;
}

/** errno of the last failed libc call on this thread (koffi.errno()). */
export function lastErrno(): number {
  if (fake) return fakeErrno;
  return (koffiMod ?? loadKoffi()).errno();
}

/** koffi itself, for src/sys files that need address/view/decode over foreign memory. */
export function koffi(): Koffi {
  bind();
  return koffiMod!;
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
  if (fake) return fake.bpf(cmd, attr);
  const c = libc ?? bind();
  let addr: bigint;
  if (attr === lastAttr) addr = lastAddr; // a call repeated with one attr allocates nothing
  else {
    addr = addressOf(attr);
    lastAttr = attr;
    lastAddr = addr;
  }
  // `attr` (and what its pointer fields reference, held by the caller) stays reachable
  // until this synchronous call returns.
  let r: number;
  if (clock === undefined) r = c.syscall(c.nr, cmd, addr, attr.length);
  else {
    const t0 = process.hrtime.bigint();
    r = c.syscall(c.nr, cmd, addr, attr.length);
    clock.ns += process.hrtime.bigint() - t0;
    clock.calls++;
  }
  const result = r === -1 ? -koffiMod!.errno() : r;
  if (observer) observer(cmd, attr, result);
  return result;
}

/** Time spent in bpf(2) calls (with koffi's call overhead) since bpfClock(true); for benchmarks. */
let clock: { ns: bigint; calls: number } | undefined;

/**
 * Benchmarks: `bpfClock(true)` starts counting the wall time spent inside bpf(2) calls
 * (and their number), `bpfClock()` reads it, `bpfClock(false)` stops. Off by default: the
 * chokepoint then pays one comparison.
 */
export function bpfClock(on?: boolean): { ns: bigint; calls: number } {
  if (on === true) clock = { ns: 0n, calls: 0 };
  const now = clock ?? { ns: 0n, calls: 0 };
  if (on === false) clock = undefined;
  return { ns: now.ns, calls: now.calls };
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
  if (fake) {
    const r = fake.close(fd);
    if (r < 0) throw SyscallError.from('close', -r);
    return;
  }
  const c = libc ?? bind();
  if (c.close(fd) === -1) throw SyscallError.from('close', koffiMod!.errno());
}

// Base address per ArrayBuffer. V8 never moves an ArrayBuffer's backing store once it is
// off the JS heap (reading `.buffer` moves a small on-heap typed array off it for good), so
// the address can be cached; a detached buffer has byteLength 0 and is never asked for.
const bases = new WeakMap<ArrayBufferLike, bigint>();
/** The last ArrayBuffer asked about and its base: attrs and their data mostly share a slab (bytes.ts slabBytes). */
let lastBuffer: ArrayBufferLike | undefined;
const LAST_BUFFER_MAX = 64 * 1024;
let lastBase = 0n;

/** The address of a buffer's first byte, to put in an attr's pointer field. */
export function addressOf(buf: ArrayBufferView): bigint {
  if (fake) return fakeAddressOf(buf);
  const ab = buf.buffer; // materializes on-heap typed arrays before their address is taken
  let base = ab === lastBuffer ? lastBase : bases.get(ab);
  if (base === undefined) {
    // koffi takes typed arrays and Buffers, not DataViews.
    const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(ab, buf.byteOffset, buf.byteLength);
    base = (koffiMod ?? loadKoffi()).address(u8) - BigInt(buf.byteOffset);
    bases.set(ab, base);
  }
  if (ab.byteLength <= LAST_BUFFER_MAX) { lastBuffer = ab; lastBase = base; } // not kept alive when large (a verifier log)
  return buf.byteOffset === 0 ? base : base + BigInt(buf.byteOffset);
}

// ---------------------------------------------------------------- test seam

/**
 * A stand-in for the kernel (and libc), for unit tests: see `overrideKernel`. Errors are
 * given as negative errno numbers, as the raw syscall returns them.
 */
export interface FakeKernel {
  /** bpf(cmd, attr): the result (>= 0, an fd for commands that make one) or -errno. Outputs go into `attr` and, through `userMemory`, into the buffers its pointers name. */
  bpf(cmd: number, attr: Uint8Array): number;
  /** close(fd): 0 or -errno. */
  close(fd: number): number;
  /**
   * Any other libc function bound with `libcFunction`, by its name in the declaration
   * ('perf_event_open', 'ioctl'...): its return value, or `libcFailure(errno)` for a call
   * that fails (it then returns -1 and `lastErrno()` gives the errno). Without this
   * handler such a call throws.
   */
  libc?(name: string, args: readonly unknown[], decl: string): unknown;
}

/** What a FakeKernel's `libc` handler returns for a failed call. */
export class LibcFailure {
  constructor(readonly errno: number, readonly result: unknown = -1) {}
}

/** A failed libc call, for FakeKernel.libc: returns `result` (-1) and sets errno. */
export function libcFailure(errno: number, result: unknown = -1): LibcFailure {
  return new LibcFailure(errno, result);
}

let fake: FakeKernel | undefined;
let fakeErrno = 0;
let epoch = 0;

/**
 * Which kernel answers: a number that changes whenever `overrideKernel` installs or
 * removes a double. Caches of kernel answers (feature probes) keep the epoch they were
 * filled in and start over when it changes, so a test double's answers never leak out.
 */
export function kernelEpoch(): number {
  return epoch;
}

/** True while `overrideKernel` has a double installed (it has no memory to map files into). */
export function kernelIsFake(): boolean {
  return fake !== undefined;
}
/** Synthetic user addresses handed out while a double is installed, and the buffers behind them. */
let fakeBases = new WeakMap<ArrayBufferLike, bigint>();
let fakeMemory: Array<{ base: bigint; buffer: ArrayBufferLike }> = [];
let nextFakeBase = 0x10000000n;
const FAKE_PAGE = 4096n;

function fakeLibc(name: string, decl: string, args: unknown[]): unknown {
  if (!fake!.libc) throw new TsbpfError(`overrideKernel: the fake kernel has no libc handler, and ${name}() was called`);
  const r = fake!.libc(name, args, decl);
  if (r instanceof LibcFailure) { fakeErrno = r.errno; return r.result; }
  return r;
}

function fakeAddressOf(buf: ArrayBufferView): bigint {
  const ab = buf.buffer;
  let base = fakeBases.get(ab);
  if (base === undefined) {
    base = nextFakeBase;
    nextFakeBase += ((BigInt(ab.byteLength) + FAKE_PAGE - 1n) / FAKE_PAGE + 1n) * FAKE_PAGE; // a guard page between buffers
    fakeBases.set(ab, base);
    fakeMemory.push({ base, buffer: ab });
  }
  return base + BigInt(buf.byteOffset);
}

/**
 * Routes every kernel call of this process (bpf(2), close(2), libc functions bound with
 * `libcFunction`) to `kernel` until the returned function is called (aya's
 * `override_syscall`). For tests: nothing reaches the real kernel meanwhile, so no root
 * is needed. Overrides do not nest.
 */
export function overrideKernel(kernel: FakeKernel): () => void {
  if (fake) throw new TsbpfError('overrideKernel: a fake kernel is already installed');
  fake = kernel;
  fakeErrno = 0;
  epoch++;
  return () => {
    if (fake !== kernel) return;
    fake = undefined;
    epoch++;
    fakeBases = new WeakMap();
    fakeMemory = [];
  };
}

/** Sees every real bpf(2) call after it returns: command, attr (outputs filled in) and result (>= 0, or -errno). */
export type KernelObserver = (cmd: number, attr: Uint8Array, result: number) => void;
let observer: KernelObserver | undefined;

/**
 * Lets `fn` see every real bpf(2) call of this process until the returned function is
 * called: for kernel tests that must tell the objects they created from those other
 * processes create meanwhile (the ids of the fds BPF_MAP_CREATE / BPF_PROG_LOAD return).
 * `fn` may call bpf() itself (it is not called for those calls). Observers do not nest.
 */
export function observeKernel(fn: KernelObserver): () => void {
  if (observer) throw new TsbpfError('observeKernel: an observer is installed already');
  let inside = false;
  const guarded: KernelObserver = (cmd, attr, result) => {
    if (inside) return;
    inside = true;
    try { fn(cmd, attr, result); } finally { inside = false; }
  };
  observer = guarded;
  return () => { if (observer === guarded) observer = undefined; };
}

/**
 * The bytes at a user address an attr holds, while a fake kernel is installed (the
 * double reads keys, writes logs and info structs through it). Throws for an address
 * that was never handed out or a range past the end of its buffer (the kernel's EFAULT).
 */
export function userMemory(addr: bigint, length: number): Uint8Array {
  if (!fake) throw new TsbpfError('userMemory: no fake kernel is installed');
  for (const m of fakeMemory) {
    const end = m.base + BigInt(m.buffer.byteLength);
    if (addr < m.base || addr > end) continue; // the guard page keeps `end` out of the next buffer
    const off = Number(addr - m.base);
    if (off + length > m.buffer.byteLength) break;
    return new Uint8Array(m.buffer as ArrayBuffer, off, length);
  }
  throw new TsbpfError(`userMemory: 0x${addr.toString(16)} + ${length} is not user memory handed to the fake kernel`);
}
