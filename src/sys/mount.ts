/**
 * The pseudo file systems BPF needs, mounted where they are missing (as bpftool and
 * iproute2 do): bpffs for pins (/sys/fs/bpf) and tracefs for tracepoint ids, kprobe_events
 * and trace_pipe (/sys/kernel/tracing). A fresh machine often has neither.
 *
 * Only the kernel's own mount points are ever mounted on: /sys/fs/bpf (for a path under
 * it) and /sys/kernel/tracing. Both are empty directories that sysfs provides for exactly
 * this, so nothing is hidden. A directory elsewhere that is not on bpffs is refused with
 * the command to mount it; tsbpf never mounts over a directory a user chose.
 *
 * Mounting needs root (CAP_SYS_ADMIN). Each mount is said in one line (stderr by default).
 * Two processes that find the same mount point bare mount it once: the check and the
 * mount happen under flock(2) on the mount point's directory.
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { TsbpfError, type ErrorContext } from '../errors.js';
import { errnoName } from './error.js';
import { addressOf, lastErrno, libcFunction } from './syscall.js';

/** statfs f_type of bpffs (<linux/magic.h> BPF_FS_MAGIC). */
export const BPF_FS_MAGIC = 0xcafe4a11;
/** statfs f_type of tracefs (<linux/magic.h> TRACEFS_MAGIC). */
export const TRACEFS_MAGIC = 0x74726163;
/** Where bpffs is mounted by convention (systemd, bpftool, iproute2). */
export const BPFFS_ROOT = '/sys/fs/bpf';
/** Where tracefs is mounted by convention (Linux 4.1+). */
export const TRACEFS_ROOT = '/sys/kernel/tracing';
/** Where tracefs appears when only debugfs is mounted (older setups). */
export const TRACEFS_IN_DEBUGFS = '/sys/kernel/debug/tracing';

const LOCK_EX = 2;
const LOCK_UN = 8;

export type FsType = 'bpf' | 'tracefs';

/** A file system BPF needs is not mounted where it is needed, and could not be mounted. */
export class MountError extends TsbpfError {
  /** Why: 'not-mountable' for a directory tsbpf does not mount on, 'mount-failed' when mount(2) failed (`code` says how). */
  override readonly reason: 'not-mountable' | 'mount-failed';
  /** The mount(2) errno name (EPERM...) when reason is 'mount-failed'. */
  readonly code?: string;

  constructor(
    detail: string,
    /** The file system wanted. */
    readonly fsType: FsType,
    /** The directory that is not on it. */
    readonly target: string,
    /** The mount(2) errno name, or undefined when tsbpf does not mount on this directory. */
    code: string | undefined,
    ctx: ErrorContext = {},
  ) {
    super(detail, ctx);
    this.reason = code === undefined ? 'not-mountable' : 'mount-failed';
    if (code !== undefined) this.code = code;
  }
}

/** Says one line about a mount that was made (default: `tsbpf: ...` on stderr). */
export type MountNotice = (line: string) => void;

const stderrNotice: MountNotice = (line) => { process.stderr.write(`tsbpf: ${line}\n`); };

/** Bytes for struct statfs (120 on x86_64 and aarch64); f_type is its first field, a long. */
const STATFS_SIZE = 256;

/**
 * The statfs(2) f_type of the file system holding `p`, or undefined when statfs fails.
 * Through libc (not node:fs) so that the test seam's fake kernel answers it too.
 */
export function fsMagic(p: string): number | undefined {
  const statfs = libcFunction<(path: string, buf: bigint) => number>('int statfs(const char *path, uint64_t buf)');
  const buf = new Uint8Array(STATFS_SIZE);
  if (statfs(p, addressOf(buf)) !== 0) return undefined;
  return Number(new DataView(buf.buffer).getBigUint64(0, true) & 0xffffffffn);
}

/** The nearest directory of `p` (itself or an ancestor) that exists. */
function nearestExisting(p: string): string {
  let d = path.resolve(p);
  while (!existsSync(d)) d = path.dirname(d);
  return d;
}

/** Whether `dir` (or, when it does not exist yet, its nearest existing ancestor) is on bpffs. */
export function onBpffs(dir: string): boolean {
  return fsMagic(nearestExisting(dir)) === BPF_FS_MAGIC;
}

/** Whether existing directory `dir` is the root of a mount (its device differs from its parent's). */
export function isMountPoint(dir: string): boolean {
  const abs = path.resolve(dir);
  if (abs === '/') return true;
  return statSync(abs).dev !== statSync(path.dirname(abs)).dev;
}

/** Whether `p` is an existing directory on tracefs. */
function isTracefs(p: string): boolean {
  return fsMagic(p) === TRACEFS_MAGIC;
}

/**
 * mount(2) of a pseudo file system at `target` unless `isMounted()` says it is there,
 * under flock on the target directory (so that concurrent tsbpf processes mount once).
 * Returns whether this call mounted it.
 */
function mountOnce(fsType: FsType, target: string, isMounted: () => boolean, options: string, ctx: ErrorContext = {}): boolean {
  const flock = libcFunction<(fd: number, op: number) => number>('int flock(int fd, int op)');
  let lockFd: number | undefined;
  try { lockFd = openSync(target, 'r'); } catch { /* not readable: mount(2) below says why */ }
  try {
    if (lockFd !== undefined) flock(lockFd, LOCK_EX); // a failed lock only loses the race protection: go on
    if (isMounted()) return false;
    const mount = libcFunction<(src: string, target: string, fs: string, flags: number, data: string) => number>(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
    if (mount(fsType === 'bpf' ? 'bpf' : 'tracefs', target, fsType, 0, options) !== 0) {
      const code = errnoName(lastErrno());
      const how = `mount -t ${fsType} ${fsType === 'bpf' ? 'bpf' : 'tracefs'} ${target}`;
      const why = code === 'EPERM' ? 'mounting needs root (CAP_SYS_ADMIN)' : `mount(2) failed with ${code}`;
      throw new MountError(`${target} is not a ${fsType === 'bpf' ? 'bpffs' : 'tracefs'} mount and tsbpf could not mount it: ${why}; run \`${how}\` as root`, fsType, target, code, ctx);
    }
    return true;
  } finally {
    if (lockFd !== undefined) {
      flock(lockFd, LOCK_UN);
      closeSync(lockFd);
    }
  }
}

export interface EnsureOptions {
  /** Create `dir` (and missing parents) once it is on bpffs. */
  create?: boolean;
  /** Told about a mount that was made; default: one line on stderr. */
  notice?: MountNotice;
  /** Where the pin comes from (object, map), for the error. */
  ctx?: ErrorContext;
}

/**
 * Makes sure pins can be made in `dir`: when `dir` (or its nearest existing ancestor) is
 * not on bpffs and `dir` is /sys/fs/bpf or under it, mounts bpffs at /sys/fs/bpf, as
 * bpftool does, and says so. Elsewhere a directory not on bpffs is a MountError naming the
 * command that would mount it. With `create`, makes the missing directories one at a
 * time (a recursive mkdirSync on sysfs spins forever in Node 20: ENOENT, then EEXIST).
 * Returns the mount point when this call mounted bpffs.
 */
export function ensureBpffs(dir: string, opts: EnsureOptions = {}): string | undefined {
  const abs = path.resolve(dir);
  let mounted: string | undefined;
  if (!onBpffs(abs)) {
    const underRoot = abs === BPFFS_ROOT || abs.startsWith(`${BPFFS_ROOT}/`);
    if (!underRoot || !existsSync(BPFFS_ROOT)) {
      throw new MountError(`${dir} is not on a bpffs mount (pins live on bpffs: use a directory under ${BPFFS_ROOT}, or mount -t bpf bpf DIR first)`, 'bpf', abs, undefined, opts.ctx);
    }
    if (mountOnce('bpf', BPFFS_ROOT, () => onBpffs(abs), 'mode=0700', opts.ctx)) {
      mounted = BPFFS_ROOT;
      (opts.notice ?? stderrNotice)(`mounted bpffs at ${BPFFS_ROOT} (it was not mounted; pins need it)`);
    }
  }
  if (opts.create) makeDirs(abs);
  return mounted;
}

/** mkdir -p, one component at a time, with errors that name the directory. */
export function makeDirs(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && existsSync(d)) continue; // made by someone else meanwhile
      throw new TsbpfError(`cannot create directory ${d}: ${code ?? (e as Error).message}`);
    }
  }
}

/**
 * The tracefs directory (tracepoint ids under events/, kprobe_events, trace_pipe):
 * /sys/kernel/tracing when tracefs is there, else /sys/kernel/debug/tracing when debugfs
 * carries it (as libbpf looks), else tracefs is mounted at /sys/kernel/tracing (root) and
 * that is said in one line. A MountError when it cannot be mounted.
 */
export function ensureTracefs(opts: { notice?: MountNotice } = {}): string {
  if (isTracefs(TRACEFS_ROOT)) return TRACEFS_ROOT;
  if (isTracefs(TRACEFS_IN_DEBUGFS)) return TRACEFS_IN_DEBUGFS;
  if (!existsSync(TRACEFS_ROOT)) {
    throw new MountError(`tracefs is not mounted and ${TRACEFS_ROOT} does not exist (kernel without CONFIG_TRACING?)`, 'tracefs', TRACEFS_ROOT, undefined);
  }
  if (mountOnce('tracefs', TRACEFS_ROOT, () => isTracefs(TRACEFS_ROOT), 'mode=0700')) {
    (opts.notice ?? stderrNotice)(`mounted tracefs at ${TRACEFS_ROOT} (it was not mounted; tracing needs it)`);
  }
  return TRACEFS_ROOT;
}
