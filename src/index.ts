/** tsbpf: a pure-TypeScript loader for clang-compiled BPF objects. */
export * from './errors.js';
export * from './spec/index.js';
export { Btf, parseBtfExt } from './btf/index.js';
export type * from './btf/types.js';
export { parseElf } from './elf/index.js';
export type { ElfFile, ElfSection, ElfSymbol, ElfRel, ElfRelSection } from './elf/types.js';
export { decode, encode, disassemble } from './asm/index.js';
export type { Instruction, Reference } from './asm/types.js';
export * from './load/index.js';
export * from './link/index.js';
export * from './events/index.js';
export { SyscallError, Fd, ensureBpffs, ensureTracefs, MountError, MemlockError, getMemlockLimit, type MountNotice, type ResourceLimit } from './sys/index.js';
export { CoreError } from './core/errors.js';
export * from './skeleton/index.js';
export { generateSkeleton, findType, GenError, TUPLE_MAX, type GenOptions, type GenType, type GeneratedSkeleton, type GenErrorReason } from './gen/index.js';
export { TSBPF_VERSION } from './version.js';
