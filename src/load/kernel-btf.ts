/**
 * The running kernel's BTF for loads: core's KernelBtf (cached per process), with
 * /sys/kernel/btf/vmlinux mapped read-only instead of read where the kernel allows it
 * (Linux 6.16+, as libbpf does): a read() of it returns one page per call, ~1350 calls,
 * where the mapping costs well under a millisecond. Module BTF files are read.
 */
import { kernelBtf, readBtfFile, type KernelBtf } from '../core/index.js';
import { mapKernelBtfFile } from '../sys/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

export function runningKernelBtf(): KernelBtf {
  return kernelBtf({ read: readKernelBtf });
}

/** A kernel BTF file's bytes: vmlinux mapped when possible (as Btf.parseFile does), anything else read. */
export function readKernelBtf(file: string): Uint8Array {
  return (file === VMLINUX ? mapKernelBtfFile(file) : undefined) ?? readBtfFile(file);
}
