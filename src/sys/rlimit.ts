/**
 * RLIMIT_MEMLOCK through prlimit(2). Before Linux 5.11 the kernel charges BPF maps,
 * programs and BTF to the locked-memory limit of the user (RLIMIT_MEMLOCK); from 5.11 on
 * to the memory cgroup instead. The loader raises the limit where it still matters
 * (src/load/memlock.ts), as libbpf and cilium/ebpf do.
 */
import type { ErrorContext } from '../errors.js';
import { SyscallError } from './error.js';
import { layout, u64 } from './layout.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

/** <sys/resource.h> (asm-generic numbering, x86_64 and arm64 alike). */
export const RLIMIT_MEMLOCK = 8;
/** rlim_t of "no limit" ((rlim_t) -1). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** struct rlimit: two rlim_t (unsigned long). Checked against <sys/resource.h> in test/unit/sys-offsets.test.ts. */
export const RLIMIT = layout('rlimit', 'struct rlimit', '', { rlim_cur: u64(0), rlim_max: u64(8) }, 'sys/resource.h');

/** A resource limit in bytes: `soft` (rlim_cur, what the kernel checks) and `hard` (rlim_max). */
export interface ResourceLimit {
  soft: bigint;
  hard: bigint;
}

const PRLIMIT_DECL = 'int prlimit(int pid, int resource, uint64_t new_limit, uint64_t old_limit)';
type Prlimit = (pid: number, resource: number, newLimit: bigint, oldLimit: bigint) => number;

/** This process's RLIMIT_MEMLOCK (prlimit(0, RLIMIT_MEMLOCK, NULL, &old)). */
export function getMemlockLimit(): ResourceLimit {
  const buf = new Uint8Array(RLIMIT.size);
  const prlimit = libcFunction<Prlimit>(PRLIMIT_DECL);
  if (prlimit(0, RLIMIT_MEMLOCK, 0n, addressOf(buf)) !== 0) throw new SyscallError('prlimit', lastErrno(), {}, { hint: 'reading RLIMIT_MEMLOCK failed' });
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { soft: dv.getBigUint64(RLIMIT.fields.rlim_cur.off, true), hard: dv.getBigUint64(RLIMIT.fields.rlim_max.off, true) };
}

/**
 * Sets this process's RLIMIT_MEMLOCK. Raising the hard limit needs CAP_SYS_RESOURCE (root
 * has it); throws SyscallError ('prlimit', EPERM) without it.
 */
export function setMemlockLimit(limit: ResourceLimit, ctx: ErrorContext = {}): void {
  const buf = new Uint8Array(RLIMIT.size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setBigUint64(RLIMIT.fields.rlim_cur.off, limit.soft, true);
  dv.setBigUint64(RLIMIT.fields.rlim_max.off, limit.hard, true);
  const prlimit = libcFunction<Prlimit>(PRLIMIT_DECL);
  if (prlimit(0, RLIMIT_MEMLOCK, addressOf(buf), 0n) !== 0) {
    const errno = lastErrno();
    throw new SyscallError('prlimit', errno, ctx, {
      hint: `setting RLIMIT_MEMLOCK to ${formatLimit(limit.soft)} (soft) / ${formatLimit(limit.hard)} (hard) failed: raising the hard limit needs CAP_SYS_RESOURCE (root); or raise it before starting the process (ulimit -l unlimited, systemd LimitMEMLOCK=infinity)`,
    });
  }
}

/** 'unlimited', '8 MiB', '64 KiB', '1000 bytes'. */
export function formatLimit(v: bigint): string {
  if (v === RLIM_INFINITY) return 'unlimited';
  for (const [unit, shift] of [['GiB', 30n], ['MiB', 20n], ['KiB', 10n]] as const) {
    if (v >= 1n << shift && v % (1n << shift) === 0n) return `${v >> shift} ${unit}`;
  }
  return `${v} bytes`;
}

/**
 * BPF_MAP_CREATE / BPF_PROG_LOAD / BPF_BTF_LOAD refused with EPERM by the locked-memory
 * limit: the process has the BPF capabilities, and the kernel (before Linux 5.11) charges
 * BPF memory to RLIMIT_MEMLOCK. A SyscallError (same command, errno and code) whose hint
 * names the limit; `limit` is RLIMIT_MEMLOCK when the call failed (undefined if unreadable).
 */
export class MemlockError extends SyscallError {
  readonly limit: ResourceLimit | undefined;
  override readonly reason = 'memlock-limit';

  constructor(command: string, errno: number, limit: ResourceLimit | undefined, cause: unknown, options: { hint: string; ctx?: ErrorContext }) {
    super(command, errno, options.ctx ?? {}, { cause, hint: options.hint });
    this.limit = limit;
  }
}
