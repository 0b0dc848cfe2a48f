/**
 * Whole-file reads for the parsers (objects, BTF files): open, fstat, readv(2) into one
 * buffer of that size, close. Measured here, a readv call costs about half of what each
 * read of Node's readFileSync costs, which matters for /sys/kernel/btf/vmlinux (sysfs
 * returns at most one 4 KiB page per call: ~1350 calls) and for small objects (where the
 * four calls are most of the time).
 *
 * Only regular files are read, and at most MAX_INPUT_BYTES: `/dev/zero` would be read
 * until memory runs out, a FIFO would block forever, a directory is not an object. A
 * regular file whose size fstat does not know (procfs) is read until EOF, up to the cap.
 */
import { closeSync, constants, fstatSync, openSync, readvSync, type Stats } from 'node:fs';

const UNKNOWN_SIZE_CHUNK = 64 * 1024;

/** The largest input read (objects and BTF files are megabytes; vmlinux BTF ~6 MB). */
export const MAX_INPUT_BYTES = 1 << 30;

/** A file that is not read: its message is the short reason ("is a character device: only regular files are read"). */
export class FileReadError extends Error {
  constructor(why: string, readonly path: string, options?: { cause?: unknown }) {
    super(why, options);
    this.name = 'FileReadError';
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code ?? String((e as Error).message);
}

/**
 * Opens `file` for reading and checks that it is a regular file of at most `maxBytes`;
 * the caller closes the fd. `size` is 0 where fstat does not know it (procfs).
 */
export function openRegularFile(file: string, maxBytes = MAX_INPUT_BYTES): { fd: number; size: number } {
  let fd: number;
  // O_NONBLOCK: opening a FIFO with no writer must not block (it is refused just below)
  try { fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK); } catch (e) { throw new FileReadError(reason(e), file, { cause: e }); }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(`is ${kindOf(st)}: only regular files are read`, file);
    if (st.size > maxBytes) throw new FileReadError(`is ${st.size} bytes, more than the ${maxBytes} read at most`, file);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The bytes of regular file `file` (FileReadError when it is not one, or too large). */
export function readWholeFile(file: string, maxBytes = MAX_INPUT_BYTES): Uint8Array {
  const { fd, size } = openRegularFile(file, maxBytes);
  try {
    return readOpened(fd, size, file, maxBytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of `fd` (opened by openRegularFile, not read yet except with positioned
 * reads) from offset 0: `size` of them, or until EOF when `size` is 0.
 */
export function readOpened(fd: number, size: number, file: string, maxBytes = MAX_INPUT_BYTES): Uint8Array {
  let buf = Buffer.allocUnsafeSlow(size > 0 ? size : UNKNOWN_SIZE_CHUNK);
  let have = 0;
  for (;;) {
    if (have === buf.length) {
      if (size > 0) break;
      if (buf.length >= maxBytes) throw new FileReadError(`is more than the ${maxBytes} bytes read at most`, file);
      const grown = Buffer.allocUnsafeSlow(Math.min(buf.length * 2, maxBytes));
      buf.copy(grown);
      buf = grown;
    }
    let n: number;
    try { n = readvSync(fd, [buf.subarray(have)]); } catch (e) { throw new FileReadError(reason(e), file, { cause: e }); }
    if (n === 0) break;
    have += n;
  }
  return have === buf.length ? buf : buf.subarray(0, have);
}

/** Bytes [start, end) of `fd` into `out` at offset `at` (by default the same offsets; pread); false when the file ended first. */
export function readRange(fd: number, out: Uint8Array, start: number, end: number, file: string, at = start): boolean {
  const shift = at - start;
  for (let p = start; p < end;) {
    let n: number;
    try { n = readvSync(fd, [out.subarray(p + shift, end + shift)], p); } catch (e) { throw new FileReadError(reason(e), file, { cause: e }); }
    if (n === 0) return false;
    p += n;
  }
  return true;
}

/**
 * Maps a whole file read-only instead of reading it, or returns undefined (the caller then
 * reads it). Only src/sys can map (it is the one user of koffi): it installs its mapper when
 * it is loaded (src/sys/file-map.ts). A process that never loads src/sys reads.
 */
export type FileMapper = (file: string) => Uint8Array | undefined;
let fileMapper: FileMapper | undefined;

/** Installs the mapper `mapOrReadFile` asks first (undefined: read always); returns the previous one. */
export function setFileMapper(mapper: FileMapper | undefined): FileMapper | undefined {
  const old = fileMapper;
  fileMapper = mapper;
  return old;
}

/**
 * The bytes of `file`: mapped by the installed mapper when it can (it maps only files that
 * cannot change while mapped, such as /sys/kernel/btf/vmlinux), else read as readWholeFile.
 */
export function mapOrReadFile(file: string, maxBytes = MAX_INPUT_BYTES): Uint8Array {
  return fileMapper?.(file) ?? readWholeFile(file, maxBytes);
}
