/**
 * Why an attach failed, as a field code can branch on (never the message text).
 */
import { TsbpfError, type ErrorContext } from '../errors.js';
import { SyscallError } from '../sys/index.js';

export type AttachErrorReason =
  /** The kernel has no such hook (too old, or built without it); `since` says which release brings it. */
  | 'unsupported'
  /** The section names no target and none was given. */
  | 'no-target'
  /** The target given does not fit the program's hook, or is malformed. */
  | 'bad-target'
  /** The interface, symbol, file, kernel function, tracepoint or cgroup does not exist. */
  | 'not-found'
  /** The binary to probe is not an ELF file tsbpf can read. */
  | 'not-elf'
  /** Not allowed: root or capabilities missing. */
  | 'permission'
  /** Something is attached there already in a way that excludes this attach. */
  | 'busy'
  /** This kind of link cannot do that (pin a legacy perf event, update a TC filter...). */
  | 'not-supported-by-link'
  /** The kernel refused for another reason: see `cause` (a SyscallError). */
  | 'kernel';

export interface AttachErrorInfo {
  reason: AttachErrorReason;
  /** The hook: 'kprobe', 'uprobe', 'xdp', 'tcx', ... */
  hook?: string;
  /** For 'unsupported': the Linux release that brings the hook. */
  since?: string;
  /** For a kprobe the kernel will not place on an existing function: why (see KprobeRefusal). */
  kprobeRefusal?: KprobeRefusal;
  cause?: unknown;
}

/**
 * Why the kernel refuses a kprobe on a function it has: 'blacklist', the function is on the
 * kprobe blacklist (entry code, noinstr, kprobes' own code); 'notrace', it has no ftrace
 * entry (compiled without the fentry call, not in available_filter_functions), which
 * trace_kprobe refuses with EINVAL unless the kernel has CONFIG_KPROBE_EVENTS_ON_NOTRACE.
 */
export type KprobeRefusal = 'blacklist' | 'notrace';

export class AttachError extends TsbpfError {
  override readonly reason: AttachErrorReason;
  readonly hook?: string;
  readonly since?: string;
  readonly kprobeRefusal?: KprobeRefusal;
  /** The program that was being attached (set by program.attach() / collection.attach()). */
  program?: string;

  constructor(detail: string, ctx: ErrorContext = {}, info: AttachErrorInfo = { reason: 'kernel' }) {
    super(detail, ctx, info.cause === undefined ? undefined : { cause: info.cause });
    this.reason = info.reason ?? 'kernel';
    if (info.hook !== undefined) this.hook = info.hook;
    if (info.since !== undefined) this.since = info.since;
    if (info.kprobeRefusal !== undefined) this.kprobeRefusal = info.kprobeRefusal;
  }
}

/**
 * An AttachError for a failed kernel call: EPERM / EACCES -> 'permission', ENOENT /
 * ENODEV / ENXIO -> 'not-found', EBUSY / EEXIST -> 'busy', else 'kernel'. The detail says
 * what was being done; the kernel's error and hint follow.
 */
export function kernelRefusal(what: string, e: unknown, ctx: ErrorContext, hook: string): unknown {
  if (!(e instanceof SyscallError)) return e instanceof TsbpfError ? TsbpfError.wrap(e, ctx) : e;
  const reason: AttachErrorReason = e.code === 'EPERM' || e.code === 'EACCES' ? 'permission'
    : e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'ENXIO' ? 'not-found'
      : e.code === 'EBUSY' || e.code === 'EEXIST' ? 'busy' : 'kernel';
  return new AttachError(`${what}: ${e.detail}`, ctx, { reason, hook, cause: e });
}
