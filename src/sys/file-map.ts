/**
 * Kernel BTF files mapped instead of read, for every reader of them (`Btf.parseFile`, the
 * CO-RE target's vmlinux): /sys/kernel/btf/vmlinux is mappable since Linux 6.16 (libbpf
 * maps it too), and a read() of it returns one 4 KiB page per call, ~1350 calls for vmlinux.
 * Installed into src/file.ts's `mapOrReadFile` when this module is loaded (src/sys/index.ts).
 *
 * Only files under /sys/kernel/btf/ are mapped: their size cannot change while mapped. A
 * regular file on disk could be truncated by another process, and a read of the mapping
 * past its new end kills this one (SIGBUS); those are read. Where the kernel refuses the
 * mapping (before 6.16, module BTF files) the file is read too. The mapping lives as long
 * as the returned bytes' ArrayBuffer (see mapReadOnly).
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_INPUT_BYTES, setFileMapper } from '../file.js';
import { mapReadOnly } from './mmap-calls.js';

const KERNEL_BTF_DIR = '/sys/kernel/btf/';

/** The whole of kernel BTF file `file` mapped read-only, or undefined (not one, or the kernel refuses): the caller reads it. */
export function mapKernelBtfFile(file: string): Uint8Array | undefined {
  if (process.platform !== 'linux' || !resolve(file).startsWith(KERNEL_BTF_DIR)) return undefined;
  let fd: number;
  try { fd = openSync(file, constants.O_RDONLY); } catch { return undefined; } // the read says why
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_INPUT_BYTES) return undefined;
    return mapReadOnly(fd, st.size);
  } catch {
    return undefined; // no koffi here: read
  } finally {
    closeSync(fd);
  }
}

setFileMapper(mapKernelBtfFile);
