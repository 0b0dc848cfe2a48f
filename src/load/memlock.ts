/**
 * RLIMIT_MEMLOCK for kernels that charge BPF memory to it (before Linux 5.11; from 5.11 on
 * the memory cgroup is charged instead). As libbpf does (bump_rlimit_memlock): probe once
 * whether the kernel has memcg accounting, and only where it does not, raise the limit
 * before the first BPF object is created. Without that, every map create fails with EPERM
 * as root on 5.10 once a few pages are charged (the default limit is 64 KiB or 8 MiB).
 */
import { readFileSync } from 'node:fs';
import { encode, HELPER_NAMES, OP_CALL, OP_EXIT } from '../asm/index.js';
import {
  closeFd, formatLimit, getMemlockLimit, kernelEpoch, MemlockError, progLoad, RLIM_INFINITY, setMemlockLimit, SyscallError, type ResourceLimit,
} from '../sys/index.js';

/** The helper whose presence tells memcg accounting apart (Linux 5.11, d05512618056). */
const KTIME_GET_COARSE_NS = HELPER_NAMES.indexOf('bpf_ktime_get_coarse_ns');

/** What LoadOptions.memlock asks for: 'auto' raises the limit where the kernel needs it (default), 'keep' leaves it. */
export type MemlockMode = 'auto' | 'keep';

let memcg: { epoch: number; value: boolean } | undefined;

/**
 * Whether the kernel charges BPF memory to the memory cgroup instead of RLIMIT_MEMLOCK
 * (Linux 5.11+). libbpf's probe (FEAT_MEMCG_ACCOUNT): bpf_ktime_get_coarse_ns came in the
 * same release, so a socket filter calling it loads exactly on kernels with memcg
 * accounting. Any failure, EPERM included (the limit may be exhausted already), means no.
 * Probed once per process.
 */
export function hasMemcgAccounting(): boolean {
  if (memcg?.epoch === kernelEpoch()) return memcg.value;
  let value = false;
  try {
    closeFd(progLoad({
      type: 'socket_filter', license: 'GPL',
      insns: encode([
        { opcode: OP_CALL, dst: 0, src: 0, off: 0, imm: KTIME_GET_COARSE_NS },
        { opcode: OP_EXIT, dst: 0, src: 0, off: 0, imm: 0 },
      ]),
    }));
    value = true;
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
  }
  memcg = { epoch: kernelEpoch(), value };
  return value;
}

/** What removeMemlockLimit() found and did. */
export interface MemlockResult {
  /** The kernel charges BPF memory to the memory cgroup (5.11+): the limit does not matter and was left alone. */
  memcgAccounting: boolean;
  /** RLIMIT_MEMLOCK before. */
  before: ResourceLimit;
  /** RLIMIT_MEMLOCK after. */
  after: ResourceLimit;
}

/**
 * Removes this process's locked-memory limit (RLIMIT_MEMLOCK = unlimited) when the kernel
 * charges BPF memory to it (before Linux 5.11); a no-op on kernels with memcg accounting
 * (cilium/ebpf's rlimit.RemoveMemlock). Throws SyscallError ('prlimit') when the limit
 * cannot be raised (raising the hard limit needs CAP_SYS_RESOURCE).
 */
export function removeMemlockLimit(): MemlockResult {
  const before = getMemlockLimit();
  if (hasMemcgAccounting()) return { memcgAccounting: true, before, after: before };
  const want = { soft: RLIM_INFINITY, hard: RLIM_INFINITY };
  if (before.soft !== RLIM_INFINITY || before.hard !== RLIM_INFINITY) setMemlockLimit(want);
  return { memcgAccounting: false, before, after: want };
}

let raisedAtEpoch: number | undefined;

/**
 * LoadOptions.memlock 'auto': before the first object of the process is created, the
 * limit is removed where the kernel charges BPF memory to it, once per process (as
 * libbpf's memlock_bumped). A limit that cannot be raised is left as it is (libbpf ignores
 * that failure too): an EPERM then says why (explainEperm).
 */
export function raiseMemlockOnce(mode: MemlockMode = 'auto'): void {
  if (mode === 'keep' || raisedAtEpoch === kernelEpoch()) return;
  raisedAtEpoch = kernelEpoch();
  // the probe first, as libbpf: with memcg accounting the limit is not even read (binding
  // prlimit through koffi costs a CLI start ~2 ms)
  if (hasMemcgAccounting()) return;
  try {
    removeMemlockLimit();
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    // no CAP_SYS_RESOURCE: at least the soft limit up to the hard one
    try {
      const l = getMemlockLimit();
      if (l.soft < l.hard) setMemlockLimit({ soft: l.hard, hard: l.hard });
    } catch (e2) { if (!(e2 instanceof SyscallError)) throw e2; }
  }
}

const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

/** Whether this process has CAP_SYS_ADMIN or CAP_BPF (CapEff of /proc/self/status); root when that cannot be read. */
export function hasBpfCapability(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) {
      const caps = BigInt(`0x${m[1]}`);
      return ((caps >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n || ((caps >> BigInt(CAP_BPF)) & 1n) === 1n;
    }
  } catch { /* no procfs */ }
  return process.geteuid?.() === 0;
}

/** What decides whether an EPERM is the locked-memory limit (injectable for tests). */
export interface EpermFacts {
  privileged: boolean;
  memcgAccounting: boolean;
  limit: ResourceLimit | undefined;
}

function currentFacts(): EpermFacts {
  let limit: ResourceLimit | undefined;
  try { limit = getMemlockLimit(); } catch { /* unknown */ }
  return { privileged: hasBpfCapability(), memcgAccounting: hasMemcgAccounting(), limit };
}

const CHARGED = new Set(['BPF_MAP_CREATE', 'BPF_PROG_LOAD', 'BPF_BTF_LOAD']);

/**
 * An EPERM from creating a map, program or BTF that the locked-memory limit explains (the
 * process is privileged and the kernel charges RLIMIT_MEMLOCK) becomes a MemlockError
 * (a SyscallError, same command and errno) naming RLIMIT_MEMLOCK and its value; any other
 * error is returned as it is.
 */
export function explainEperm(e: unknown, facts: () => EpermFacts = currentFacts): unknown {
  if (!(e instanceof SyscallError) || e.code !== 'EPERM' || !CHARGED.has(e.command) || e instanceof MemlockError) return e;
  const f = facts();
  // a privileged process, a kernel that charges RLIMIT_MEMLOCK, and a limit there is
  if (!f.privileged || f.memcgAccounting || f.limit?.soft === RLIM_INFINITY) return e;
  const value = f.limit ? `${formatLimit(f.limit.soft)} (soft) / ${formatLimit(f.limit.hard)} (hard)` : 'unknown';
  return new MemlockError(e.command, e.errno, f.limit, e, {
    ctx: { file: e.file, section: e.section, symbol: e.symbol, offset: e.offset, typeId: e.typeId },
    hint: `this process has the BPF capabilities, so the refusal is the locked-memory limit: before Linux 5.11 the kernel charges BPF maps, programs and BTF to RLIMIT_MEMLOCK, which is ${value} here. ` +
      `Load with LoadOptions.memlock 'auto' (the default) as root, call removeMemlockLimit(), or raise it before starting the process (ulimit -l unlimited; systemd LimitMEMLOCK=infinity)`,
  });
}
