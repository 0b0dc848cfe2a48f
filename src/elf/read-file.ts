/**
 * Reading an object file for loadCollectionSpec(path) without its debug info.
 *
 * clang's BPF objects are mostly DWARF: of the 646 KB of bpf-objs/core.bpf.o, 600 KB are
 * .debug_* sections and their relocations, which loading never reads (libbpf maps the
 * file and never touches them either). So the file is read as: ELF header, section header
 * table, section name table, then every section that is not debug info, in as few reads
 * as the layout allows. The result has the file's size; the bytes of the sections left
 * out are zero. Anything unusual in the header or the table (not ELF64, out of range,
 * small files) reads the whole file instead, so that the parser reports errors on the
 * file's real bytes. Only regular files are read (src/file.ts: FileReadError otherwise).
 */
import { closeSync } from 'node:fs';
import { openRegularFile, readOpened, readRange } from '../file.js';
import { SHT_NOBITS, SHT_NULL } from './types.js';

/** Below this size the whole file is read (one read is cheaper than several). */
const SPARSE_MIN_SIZE = 64 * 1024;
/** Ranges closer than this are read in one call. */
const MERGE_GAP = 4096;
const EHDR_SIZE = 64, SHDR_SIZE = 64;
const ELFCLASS64 = 2, ELFDATA2LSB = 1;

/** The object's bytes, with the debug sections' bytes left out (zero) when it is large. */
export function readObjectFile(file: string): Uint8Array {
  const { fd, size } = openRegularFile(file);
  try {
    if (size < SPARSE_MIN_SIZE) return readOpened(fd, size, file);
    return readSparse(fd, size, file) ?? readOpened(fd, size, file);
  } finally {
    closeSync(fd);
  }
}

function isDebug(name: string): boolean {
  return name.startsWith('.debug_') || name.startsWith('.rel.debug_') || name.startsWith('.rela.debug_');
}

function readSparse(fd: number, size: number, file: string): Uint8Array | undefined {
  const out = new Uint8Array(size);
  if (!readRange(fd, out, 0, EHDR_SIZE, file)) return undefined;
  const dv = new DataView(out.buffer);
  if (dv.getUint32(0, false) !== 0x7f454c46 || out[4] !== ELFCLASS64 || out[5] !== ELFDATA2LSB) return undefined;
  const shoffHi = dv.getUint32(44, true), shoff = dv.getUint32(40, true);
  const shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true), shstrndx = dv.getUint16(62, true);
  const tableEnd = shoff + shnum * SHDR_SIZE;
  if (shoffHi !== 0 || shentsize !== SHDR_SIZE || shnum === 0 || shstrndx >= shnum || shoff < EHDR_SIZE || tableEnd > size) return undefined;
  if (!readRange(fd, out, shoff, tableEnd, file)) return undefined;
  const sh = (i: number, field: number) => dv.getUint32(shoff + i * SHDR_SIZE + field, true);
  // offset and size of section i, or undefined when they need more than 32 bits (then read it all)
  const range = (i: number): [number, number] | undefined => {
    if (sh(i, 28) !== 0 || sh(i, 36) !== 0) return undefined;
    const off = sh(i, 24), len = sh(i, 32);
    return off + len <= size ? [off, off + len] : undefined;
  };
  const strRange = range(shstrndx);
  if (!strRange || !readRange(fd, out, strRange[0], strRange[1], file)) return undefined;
  const names = Buffer.from(out.buffer, strRange[0], strRange[1] - strRange[0]);
  const want: [number, number][] = [];
  for (let i = 1; i < shnum; i++) {
    const type = sh(i, 4);
    if (type === SHT_NULL || type === SHT_NOBITS) continue;
    const r = range(i);
    if (!r) return undefined;
    const nameOff = sh(i, 0);
    const nul = names.indexOf(0, nameOff);
    if (nameOff >= names.length || nul < 0) return undefined;
    if (isDebug(names.toString('latin1', nameOff, nul))) continue;
    if (r[1] > r[0]) want.push(r);
  }
  want.sort((a, b) => a[0] - b[0]);
  for (let k = 0; k < want.length;) {
    const start = want[k]![0];
    let end = want[k]![1];
    for (k++; k < want.length && want[k]![0] <= end + MERGE_GAP; k++) end = Math.max(end, want[k]![1]);
    if (!readRange(fd, out, start, end, file)) return undefined;
  }
  return out;
}
