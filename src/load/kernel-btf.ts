/**
 * The running kernel's BTF for loads: core's KernelBtf (cached per process), with
 * /sys/kernel/btf/vmlinux placed in a WebAssembly arena (src/btf/wasm-scan.ts), so that
 * parsing it and searching its 126k records for the names CO-RE asks for run as
 * WebAssembly instead of cold JavaScript (~5 ms of a one-shot load). The file is mapped
 * read-only over the arena's first pages where the kernel allows it (Linux 6.16+, as
 * libbpf maps it): a read() of it returns one page per call, ~1350 calls. Elsewhere it is
 * read into the arena. Module BTF files are read (or mapped, as Btf.parseFile does).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { btfArena } from '../btf/index.js';
import { kernelBtf, type KernelBtf } from '../core/index.js';
import { mapOrReadFile, readRange } from '../file.js';
import { mapFileOver } from '../sys/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

export function runningKernelBtf(): KernelBtf {
  return kernelBtf({ read: readKernelBtf });
}

/** A kernel BTF file's bytes: vmlinux in an arena when possible, anything else mapped when possible, else read. */
export function readKernelBtf(file: string): Uint8Array {
  return (file === VMLINUX ? inArena(file) : undefined) ?? mapOrReadFile(file);
}

/** The whole file in a fresh arena (mapped, else read), or undefined (not Linux, the file changed size): the caller reads it. */
function inArena(file: string): Uint8Array | undefined {
  if (process.platform !== 'linux') return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (size <= 0) return undefined;
    const arena = btfArena(size);
    return mapFileOver(fd, size, arena) || readRange(fd, arena, 0, size, file) ? arena : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* nothing to do */ }
  }
}
