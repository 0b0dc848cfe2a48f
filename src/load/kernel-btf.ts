/**
 * The running kernel's BTF for loads: core's KernelBtf (cached per process), with
 * /sys/kernel/btf/vmlinux mapped read-only instead of read where the kernel allows it
 * (Linux 6.16+, as libbpf does): a read() of it returns one page per call, ~1350 calls,
 * where the mapping costs well under a millisecond. Module BTF files are read.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { kernelBtf, readBtfFile, type KernelBtf } from '../core/index.js';
import { mapReadOnly } from '../sys/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

export function runningKernelBtf(): KernelBtf {
  return kernelBtf({ read: readKernelBtf });
}

/** A kernel BTF file's bytes: vmlinux mapped when possible, anything else read. */
export function readKernelBtf(file: string): Uint8Array {
  return (file === VMLINUX ? mapWhole(file) : undefined) ?? readBtfFile(file);
}

/** The whole file mapped read-only, or undefined (not Linux, no koffi, the kernel refuses): the caller reads it. */
function mapWhole(file: string): Uint8Array | undefined {
  if (process.platform !== 'linux') return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    return mapReadOnly(fd, fstatSync(fd).size);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* nothing to do */ }
  }
}
