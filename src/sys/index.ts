export {
  bpf, bpfErrno, checkErrno, closeFd, commandName, sysBpfNumber, addressOf, libcFunction, lastErrno, bpfClock,
  overrideKernel, userMemory, kernelEpoch, observeKernel, type KernelObserver, libcFailure, LibcFailure, type FakeKernel,
} from './syscall.js';
export { mapKernelBtfFile } from './file-map.js';
export { mapFileOver } from './map-over.js';
export { mapReadOnly, systemPageSize } from './mmap-calls.js';
export { Mapping, MemoryMapping, PROT_READ, PROT_WRITE } from './mmap.js';
export { epollCreate, epollCtl, EPOLLIN, EPOLLOUT, EPOLL_CTL_ADD } from './epoll.js';
export { waitReady, type Wait } from './waiter.js';
export { SyscallError, errnoName, errnoNumber, errnoDescription, syscallHint } from './error.js';
export { encodeAttr, readU32, readU64, readString, readBytes, cString } from './attr.js';
export type { Attr, AttrValues, FieldValue } from './attr.js';
export * as layouts from './layout.js';
export { Fd, rawFd, setFdDebug, leakedFdCount } from './fd.js';
export type { FdLike } from './fd.js';
export * from './api.js';
export * from './links.js';
export * as linkLayouts from './link-layout.js';
export * from './perf.js';
export * from './netns.js';
export * from './netlink.js';
export { ensureBpffs, ensureTracefs, isMountPoint, makeDirs, onBpffs, MountError, BPF_FS_MAGIC, TRACEFS_MAGIC, BPFFS_ROOT, TRACEFS_ROOT } from './mount.js';
export type { EnsureOptions, FsType, MountNotice } from './mount.js';
export {
  BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BPF_F_KPROBE_MULTI_RETURN, BPF_F_UPROBE_MULTI_RETURN,
  XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE,
} from './link-layout.js';
export { getMemlockLimit, setMemlockLimit, formatLimit, MemlockError, RLIMIT, RLIMIT_MEMLOCK, RLIM_INFINITY } from './rlimit.js';
export type { ResourceLimit } from './rlimit.js';
