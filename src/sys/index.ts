export {
  bpf, bpfErrno, checkErrno, closeFd, commandName, sysBpfNumber, addressOf, libcFunction, lastErrno,
  overrideKernel, userMemory, kernelEpoch, libcFailure, LibcFailure, type FakeKernel,
} from './syscall.js';
export { SyscallError, errnoName, errnoNumber, errnoDescription, syscallHint } from './error.js';
export { encodeAttr, readU32, readU64, readString, readBytes } from './attr.js';
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
export { ensureBpffs, ensureTracefs, makeDirs, onBpffs, MountError, BPF_FS_MAGIC, TRACEFS_MAGIC, BPFFS_ROOT, TRACEFS_ROOT } from './mount.js';
export type { EnsureOptions, FsType, MountNotice } from './mount.js';
