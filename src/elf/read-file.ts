/**
 * Reading an object file for loadCollectionSpec(path) without its debug info.
 *
 * clang's BPF objects are mostly DWARF: of the 646 KB of bpf-objs/core.bpf.o, 600 KB are
 * .debug_* sections and their relocations, which loading never reads (libbpf maps the
 * file and never touches them either). So a large file is read as: its first 4 KiB (the
 * ELF header) and its end from the section header table on (see HEAD_BYTES), then the
 * section name table and every section that is not debug info, each copied from those
 * two reads when it lies in one, else read with its neighbours in as few reads as the
 * layout allows; the kept sections are packed into one buffer of about their size (~35 KB for
 * core.bpf.o) rather than one of the file's size: zeroing 646 KB for the left-out bytes
 * cost more than all of the reads (~50-130 us, with the GC that V8's accounting of
 * external memory triggers). The copy's section header table says where each section is
 * in the packed buffer (sh_offset, and e_shoff for the table itself); a section left out
 * becomes SHT_NOBITS at offset 0 with its size kept (no bytes, as for .bss). Each kept
 * range starts at its file offset modulo 8, so that sections keep their alignment.
 * Everything else in the headers is the file's, so the parser reads the same object.
 * Anything unusual in the header or the table (not ELF64, out of range, a debug REL
 * section whose header the parser would refuse, small files) reads the whole file
 * instead, so that the parser reports errors on the file's real bytes. Only regular
 * files are read (src/file.ts: FileReadError otherwise).
 */
import { closeSync } from 'node:fs';
import { openRegularFile, readOpened, readRange } from '../file.js';
import { SHT_NOBITS, SHT_NULL, SHT_REL, SHT_SYMTAB } from './types.js';

/** Below this size the whole file is read (one read is cheaper than several). */
const SPARSE_MIN_SIZE = 64 * 1024;
/** Ranges closer than this are read in one call. */
const MERGE_GAP = 4096;
const EHDR_SIZE = 64, SHDR_SIZE = 64;
const ELFCLASS64 = 2, ELFDATA2LSB = 1;
/** Field offsets: e_shoff in the ELF header; sh_type, sh_offset, sh_size in a section header. */
const E_SHOFF = 40, SH_TYPE = 4, SH_OFFSET = 24, SH_SIZE = 32;
/** More section header fields (sh_link, sh_info, sh_entsize) and the size of an Elf64_Rel. */
const SH_LINK = 40, SH_INFO = 44, SH_ENTSIZE = 56, REL_SIZE = 16;
/** Kept ranges start at their file offset modulo this (the largest alignment sections need). */
const ALIGN = 8;

/** The object's bytes: the whole file, or when it is large its non-debug sections packed (see above). */
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

/**
 * The first bytes of the file, and its last bytes from the section header table (or
 * before it) to the end: clang writes the section header table last, after .symtab and
 * .strtab and the small REL sections, so that two reads bring the headers, the names and
 * often most kept ranges (each read through Node's fs is ~2 us here: a read per range
 * was most of a large object's read).
 */
const HEAD_BYTES = 4096, TAIL_BYTES = 8192;
/** A tail read starts at most this far before the end of the file (a table elsewhere is read alone). */
const TAIL_MAX = 64 * 1024;

/** A read made already: file bytes [start, start + bytes.length). */
interface Held { start: number; bytes: Buffer }

/** Bytes [start, end) of the file from a read made already, or undefined. */
function fromHeld(held: readonly Held[], start: number, end: number): Buffer | undefined {
  for (const h of held) if (start >= h.start && end <= h.start + h.bytes.length) return h.bytes.subarray(start - h.start, end - h.start);
  return undefined;
}

function readSparse(fd: number, size: number, file: string): Uint8Array | undefined {
  const head = Buffer.allocUnsafeSlow(Math.min(size, HEAD_BYTES));
  if (!readRange(fd, head, 0, head.length, file, 0)) return undefined;
  const eh = head; // the ELF header
  if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== ELFCLASS64 || eh[5] !== ELFDATA2LSB) return undefined;
  const shoffHi = eh.readUInt32LE(E_SHOFF + 4), shoff = eh.readUInt32LE(E_SHOFF);
  const shentsize = eh.readUInt16LE(58), shnum = eh.readUInt16LE(60), shstrndx = eh.readUInt16LE(62);
  const tableEnd = shoff + shnum * SHDR_SIZE;
  if (shoffHi !== 0 || shentsize !== SHDR_SIZE || shnum === 0 || shstrndx >= shnum || shoff < EHDR_SIZE || tableEnd > size) return undefined;
  // the table, with the file's end when the table is near it
  const nearEnd = size - shoff <= TAIL_MAX;
  const tailStart = nearEnd ? Math.min(shoff, size - TAIL_BYTES) : shoff;
  const tailEnd = nearEnd ? size : tableEnd;
  const tail = Buffer.allocUnsafeSlow(tailEnd - tailStart);
  if (!readRange(fd, tail, tailStart, tailEnd, file, 0)) return undefined;
  const held: Held[] = [{ start: 0, bytes: head }, { start: tailStart, bytes: tail }];
  const table = tail.subarray(shoff - tailStart, tableEnd - tailStart);
  const sh = (i: number, field: number) => table.readUInt32LE(i * SHDR_SIZE + field);
  // offset and size of section i, or undefined when they need more than 32 bits (then read it all)
  const range = (i: number): [number, number] | undefined => {
    if (sh(i, SH_OFFSET + 4) !== 0 || sh(i, SH_SIZE + 4) !== 0) return undefined;
    const off = sh(i, SH_OFFSET), len = sh(i, SH_SIZE);
    return off + len <= size ? [off, off + len] : undefined;
  };
  // an SHT_REL header as parseRelSection accepts it: Elf64_Rel entries, the symbol table, a target section
  const plainRelHeader = (i: number): boolean => {
    const link = sh(i, SH_LINK), info = sh(i, SH_INFO);
    return sh(i, SH_ENTSIZE) === REL_SIZE && sh(i, SH_ENTSIZE + 4) === 0 && sh(i, SH_SIZE) % REL_SIZE === 0 &&
      link < shnum && sh(link, SH_TYPE) === SHT_SYMTAB && info > 0 && info < shnum && sh(info, SH_TYPE) !== SHT_NULL;
  };
  const strRange = range(shstrndx);
  if (!strRange) return undefined;
  let names = fromHeld(held, strRange[0], strRange[1]);
  if (!names) {
    names = Buffer.allocUnsafeSlow(strRange[1] - strRange[0]);
    if (!readRange(fd, names, strRange[0], strRange[1], file, 0)) return undefined;
  }
  // the ranges to keep: the header, the table, and every section with bytes that is not debug info
  const want: [number, number][] = [[0, EHDR_SIZE], [shoff, tableEnd]];
  const leftOut: number[] = [];
  for (let i = 1; i < shnum; i++) {
    const type = sh(i, SH_TYPE);
    if (type === SHT_NULL || type === SHT_NOBITS) continue;
    const r = range(i);
    if (!r) return undefined;
    const nameOff = sh(i, 0);
    const nul = names.indexOf(0, nameOff);
    if (nameOff >= names.length || nul < 0) return undefined;
    if (isDebug(names.toString('latin1', nameOff, nul))) {
      // the parser checks every REL section's header at open (src/elf/relocations.ts), and a
      // left-out one is REL no more: one it would refuse is read whole (the bytes' error)
      if (type === SHT_REL && !plainRelHeader(i)) return undefined;
      leftOut.push(i);
    }
    else if (r[1] > r[0]) want.push(r);
  }
  want.sort((a, b) => a[0] - b[0]);
  // merged ranges: file start, file end, start in the packed buffer
  const merged: { start: number; end: number; at: number }[] = [];
  let total = 0;
  for (let k = 0; k < want.length;) {
    const start = want[k]![0];
    let end = want[k]![1];
    for (k++; k < want.length && want[k]![0] <= end + MERGE_GAP; k++) end = Math.max(end, want[k]![1]);
    const at = total + ((start - total) % ALIGN + ALIGN) % ALIGN;
    merged.push({ start, end, at });
    total = at + end - start;
  }
  const out = Buffer.allocUnsafeSlow(total);
  let filled = 0;
  for (const m of merged) {
    out.fill(0, filled, m.at); // alignment padding
    const have = fromHeld(held, m.start, m.end);
    if (have) out.set(have, m.at);
    else if (!readRange(fd, out, m.start, m.end, file, m.at)) return undefined;
    filled = m.at + m.end - m.start;
  }
  // where a file offset is in the packed buffer (an offset at the end of a kept range included)
  const packed = (off: number): number | undefined => {
    for (const m of merged) if (off >= m.start && off <= m.end) return m.at + off - m.start;
    return undefined;
  };
  const tableAt = packed(shoff)!;
  out.writeUInt32LE(tableAt, E_SHOFF);
  const left = new Set(leftOut);
  for (let i = 1; i < shnum; i++) {
    const h = tableAt + i * SHDR_SIZE;
    const type = out.readUInt32LE(h + SH_TYPE);
    if (type === SHT_NULL || type === SHT_NOBITS) continue;
    if (left.has(i)) {
      out.writeUInt32LE(SHT_NOBITS, h + SH_TYPE);
      out.writeUInt32LE(0, h + SH_OFFSET);
      continue;
    }
    // kept, or empty (then anywhere its zero bytes fit: offset 0 when not in a kept range)
    out.writeUInt32LE(packed(out.readUInt32LE(h + SH_OFFSET)) ?? 0, h + SH_OFFSET);
  }
  return out;
}
