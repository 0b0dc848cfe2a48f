/**
 * mmap(2)'s constants, from <bits/mman-linux.h> (x86-64 and arm64 alike), in one place for
 * the binding in mmap-calls.ts and syscall.ts's mapReadOnly. No imports.
 */
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
/** (void *) -1 as a u64 address. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
