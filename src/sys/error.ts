import { TsbpfError, type ErrorContext } from '../errors.js';
import { ERRNO } from './errno.js';

/** errno number -> name ('EPERM'); `E<n>` for numbers the table does not know. */
export function errnoName(errno: number): string {
  return ERRNO[errno]?.[0] ?? `E${errno}`;
}

/** errno number -> the C library's description ('Operation not permitted'). */
export function errnoDescription(errno: number): string {
  return ERRNO[errno]?.[1] ?? `unknown error ${errno}`;
}

/** errno name -> number; undefined for names the table does not know. */
export function errnoNumber(name: string): number | undefined {
  for (const [n, [nm]] of Object.entries(ERRNO)) if (nm === name) return Number(n);
  return undefined;
}

const PERM_HINT =
  'bpf() needs root or CAP_BPF; most program types also need CAP_PERFMON (tracing) or ' +
  'CAP_NET_ADMIN (networking), and on kernels before 5.11 the locked-memory limit ' +
  '(ulimit -l / RLIMIT_MEMLOCK) must be large enough. Check kernel.unprivileged_bpf_disabled too.';

/**
 * A hint a person can act on for `command` failing with `code`. Specific pairs
 * (command, errno) first, then a generic hint per errno.
 */
export function syscallHint(command: string, code: string): string {
  if (command === 'perf_event_open' || command.startsWith('PERF_EVENT_IOC_')) return perfHint(command, code);
  switch (code) {
    case 'EPERM':
      if (command === 'BPF_MAP_UPDATE_ELEM' || command === 'BPF_MAP_DELETE_ELEM' || command === 'BPF_MAP_UPDATE_BATCH' || command === 'BPF_MAP_DELETE_BATCH')
        return 'the map is frozen (BPF_MAP_FREEZE, e.g. .rodata) or read-only from user space (BPF_F_RDONLY); ' +
          'otherwise: ' + PERM_HINT;
      if (command === 'BPF_MAP_FREEZE')
        return 'the map is mmap()ed writable or its type cannot be frozen; otherwise: ' + PERM_HINT;
      return PERM_HINT;
    case 'EACCES':
      if (command === 'BPF_PROG_LOAD')
        return 'the verifier rejected the program: load it again with log_level 1 and a log buffer to see why';
      if (command === 'BPF_OBJ_PIN' || command === 'BPF_OBJ_GET')
        return 'no permission on the pin path: it must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf) and writable/readable by this user';
      return 'permission denied: the object is read-only/write-only for this fd, or a security module (LSM) refused it';
    case 'E2BIG':
      if (command === 'BPF_PROG_LOAD')
        return 'the program is too large (more than 1M instructions processed or BPF_MAXINSNS for unprivileged), ' +
          'or the attr carries fields this (older) kernel does not know';
      if (command === 'BPF_MAP_UPDATE_ELEM')
        return 'the map is full (max_entries reached) or the index is beyond max_entries';
      return 'the attr is larger than this kernel knows (an older kernel: leave newer fields zero) or a size/value is too big';
    case 'ENOENT':
      if (command === 'BPF_OBJ_GET' || command === 'BPF_OBJ_PIN')
        return 'no such pin path (or its parent directory does not exist on the bpffs mount)';
      if (command.endsWith('_GET_FD_BY_ID') || command.endsWith('_GET_NEXT_ID'))
        return 'no object with that id (it was freed) or no more ids';
      return 'no such element: the key is not in the map (or no next key)';
    case 'EEXIST':
      if (command === 'BPF_OBJ_PIN') return 'the pin path already exists: unlink it first or pick another name';
      return 'the key already exists (BPF_NOEXIST was given)';
    case 'EINVAL':
      if (command === 'BPF_PROG_LOAD')
        return 'the kernel rejected an attr field: prog type / expected_attach_type pair, prog_flags, name ' +
          '(only [A-Za-z0-9_.], at most 15 chars), license, or BTF func_info/line_info; or the verifier ' +
          'rejected the program (load with a log to see)';
      if (command === 'BPF_MAP_CREATE')
        return 'invalid map definition: key/value size or max_entries not allowed for this map type, unknown map_flags, ' +
          'name with characters outside [A-Za-z0-9_.], or BTF key/value types that do not match the sizes';
      if (command === 'BPF_BTF_LOAD') return 'the kernel rejected the BTF blob: load with a log to see which type';
      return 'invalid argument: an attr field, flag or size the kernel does not accept for this command';
    case 'ENOSPC':
      if (command === 'BPF_PROG_LOAD' || command === 'BPF_BTF_LOAD')
        return 'the verifier log buffer is too small: retry with a larger log_size';
      if (command === 'BPF_PROG_TEST_RUN') return 'data_out or ctx_out is too small for the output: give a larger buffer';
      return 'no space left: the map is full';
    case 'EBADF':
      return 'a file descriptor in the attr is not open (closed too early?) or is not a bpf object of the expected kind';
    case 'EFAULT':
      return 'the kernel could not read or write a user buffer: a pointer or length in the attr is wrong';
    case 'ENOMEM':
      return 'the kernel could not allocate memory: smaller max_entries / value_size, or on kernels before 5.11 raise RLIMIT_MEMLOCK';
    case 'EBUSY':
      return 'the object is busy: e.g. freezing a map that has writable mmaps, or a concurrent update';
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
      return 'not supported by this kernel, map type or program type (missing kernel feature or config)';
    case 'ENOTDIR':
      return 'a component of the pin path is not a directory';
    case 'ENOSYS':
      return 'bpf(2) is not available: kernel built without CONFIG_BPF_SYSCALL, or blocked by seccomp';
    case 'EAGAIN':
      return 'temporarily unavailable: retry (the verifier may need more memory, or the operation raced)';
    case 'EINTR':
      return 'interrupted by a signal: retry';
    default:
      return 'see bpf(2) for what this errno means for this command';
  }
}

/** Hints for perf_event_open(2) and the perf ioctls (kprobes, uprobes, tracepoints, perf events). */
function perfHint(command: string, code: string): string {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'perf events need root or CAP_PERFMON (CAP_SYS_ADMIN before Linux 5.8); see also kernel.perf_event_paranoid';
    case 'ENOENT':
      return 'no such event: the kernel function, tracepoint, probed file or PMU does not exist';
    case 'EINVAL':
      return command === 'PERF_EVENT_IOC_SET_BPF'
        ? 'the program type does not fit the event (kprobe programs on kprobes and uprobes, tracepoint programs on tracepoints, perf_event programs on perf events)'
        : 'the kernel refused the event: a function or offset that cannot be probed, a file offset that is not an instruction, or an attr field this kernel does not know';
    case 'EEXIST':
      return 'a BPF program is already attached to this perf event';
    case 'ENODEV':
    case 'EOPNOTSUPP':
      return 'the PMU cannot count or sample this event here (e.g. no hardware counters in a VM: use a software event)';
    case 'E2BIG':
      return 'perf_event_attr is larger than this kernel knows with non-zero newer fields';
    case 'EMFILE':
      return 'too many open files: raise the fd limit (ulimit -n)';
    default:
      return 'see perf_event_open(2) for what this errno means';
  }
}

/** A system call (bpf(2), close(2), perf_event_open(2), an ioctl, a netlink request...) that failed. */
export class SyscallError extends TsbpfError {
  /** The command's kernel name, e.g. 'BPF_MAP_CREATE' (or 'close', 'perf_event_open'...). */
  readonly command: string;
  /** The errno number. */
  readonly errno: number;
  /** The errno name, e.g. 'EPERM'. */
  readonly code: string;
  /** What to do about it. */
  readonly hint: string;

  /** `hint` defaults to syscallHint(command, code). */
  constructor(command: string, errno: number, ctx: ErrorContext = {}, options?: { cause?: unknown; hint?: string }) {
    const code = errnoName(errno);
    const hint = options?.hint ?? syscallHint(command, code);
    super(`${command} failed: ${code} (${errno}, ${errnoDescription(errno)}); hint: ${hint}`, ctx, options?.cause === undefined ? undefined : { cause: options.cause });
    this.command = command;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
  }

  static from(command: string, errno: number, ctx: ErrorContext = {}): SyscallError {
    return new SyscallError(command, errno, ctx);
  }
}

/** Whether `e` is a SyscallError with errno name `code` ('ENOENT'...). */
export function isErrno(e: unknown, code: string): boolean {
  return e instanceof SyscallError && e.code === code;
}
