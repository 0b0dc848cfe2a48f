/**
 * The one place that calls the kernel: libc `syscall(SYS_bpf, cmd, attr, size)` and
 * `close(fd)`, bound with koffi on first use (importing this module does not load libc,
 * so the pure layers and their tests run anywhere).
 */
import koffi from 'koffi';
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
  // prototype: koffi then parses no per-call type arguments.
  syscall: (nr: number, cmd: number, attr: Uint8Array, size: number) => number;
  close: (fd: number) => number;
}

let libc: Libc | undefined;

function bind(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new TsbpfError(`bpf(2) exists only on Linux (this is ${process.platform})`);
  const nr = sysBpfNumber();
  const lib = koffi.load('libc.so.6');
  libc = {
    nr,
    syscall: lib.func('long syscall(long nr, long cmd, void *attr, long size)') as Libc['syscall'],
    close: lib.func('int close(int fd)') as Libc['close'],
  };
  return libc;
}

/** The command's kernel name ('BPF_MAP_CREATE'), or `BPF_CMD_<n>` for unknown numbers. */
export function commandName(cmd: number): string {
  return BPF_CMD_NAMES[cmd] ?? `BPF_CMD_${cmd}`;
}

/** Calls per command since start (cheap counters, for tests and benchmarks). */
export const callCounts = new Map<number, number>();

/**
 * bpf(cmd, attr, attr.length). Returns the kernel's result (an fd for commands that
 * create or open objects, else 0); throws SyscallError on -1. The kernel writes its
 * outputs back into `attr`.
 */
export function bpf(cmd: number, attr: Uint8Array): number {
  const c = libc ?? bind();
  callCounts.set(cmd, (callCounts.get(cmd) ?? 0) + 1);
  const r = c.syscall(c.nr, cmd, attr, attr.length);
  if (r === -1) throw SyscallError.from(commandName(cmd), koffi.errno());
  return r;
}

/** close(2) a raw fd; throws SyscallError ('close', EBADF...) on failure. */
export function closeFd(fd: number): void {
  const c = libc ?? bind();
  if (c.close(fd) === -1) throw SyscallError.from('close', koffi.errno());
}

/** The address of a buffer's first byte, to put in an attr's pointer field. */
export function addressOf(buf: ArrayBufferView): bigint {
  return koffi.address(buf);
}
