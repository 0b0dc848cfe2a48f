/**
 * Whole-file reads for the parsers (objects, BTF files): open, fstat, readv(2) into one
 * buffer of that size, close. Measured here, a readv call costs about half of what each
 * read of Node's readFileSync costs, which matters for /sys/kernel/btf/vmlinux (sysfs
 * returns at most one 4 KiB page per call: ~1350 calls) and for small objects (where the
 * four calls are most of the time). A file whose size fstat does not know (procfs, a
 * pipe) is read until EOF; like readFileSync, a file is read up to the size fstat gave.
 */
import { closeSync, fstatSync, openSync, readvSync } from 'node:fs';

const UNKNOWN_SIZE_CHUNK = 64 * 1024;

export function readWholeFile(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let buf = Buffer.allocUnsafeSlow(size > 0 ? size : UNKNOWN_SIZE_CHUNK);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        if (size > 0) break;
        const grown = Buffer.allocUnsafeSlow(buf.length * 2);
        buf.copy(grown);
        buf = grown;
      }
      const n = readvSync(fd, [buf.subarray(have)]);
      if (n === 0) break;
      have += n;
    }
    return have === buf.length ? buf : buf.subarray(0, have);
  } finally {
    closeSync(fd);
  }
}
