/**
 * The ELF header and the section header table, read from the bytes and checked, as
 * `ElfSection`s.
 *
 * tsbpf first read them through the npm package `elfy` (1.0.0) behind an adapter, which
 * re-read most fields from the raw bytes anyway (test/unit/elf-adapter.test.ts still shows
 * each of elfy's defects next to the answer here); elfy was about half of the parse time
 * of a small object, so the remaining fields (sh_name, sh_link, sh_info) are read here too
 * and elfy is only asked for the name of an unusual e_machine in an error message.
 * What elfy got wrong, and what is done instead:
 *
 *  1. ELF64 sh_addralign / sh_entsize are read at offsets 46 / 54 of the section header
 *     instead of 48 / 56 (so they mix sh_info's high half into the value: .symtab with
 *     addralign 8, entsize 24 reads back as 524288 / 1572864).
 *     -> read at 48 / 56.
 *  2. SHT_NOBITS sections (.bss) get `data = buf.slice(off, off + size)`: whatever file
 *     bytes happen to follow sh_offset (or fewer, at the end of the file).
 *     -> `data` is always a view of the input; empty for SHT_NOBITS (and SHT_NULL).
 *  3. e_machine 247 (EM_BPF) is not in its machine table: `header.machine` is undefined
 *     (x86-64 comes out as 'amd64'). It also maps sh_type / sh_flags / e_type to names
 *     and drops unknown ones to numbers.
 *     -> e_machine, e_type, sh_type and sh_flags are numbers; our own names for errors.
 *  4. Buffer-only input: it calls `buf.slice(0, 4).toString()` and `buf.readUInt16LE`, so
 *     a plain Uint8Array fails with "Invalid magic: 127,69,76,70".
 *     -> any Uint8Array; sections are views over the same memory (no copy).
 *  5. 64-bit reads (endian-reader readUInt64) are `lo + hi * 2^32` in doubles: exact up
 *     to 2^53, silently rounded above (2^53 + 1 reads as 2^53), never reported.
 *     -> e_shoff, sh_offset, sh_size, sh_addralign, sh_entsize are read exactly (two u32
 *        reads; values above Number.MAX_SAFE_INTEGER are an ElfError quoting the exact
 *        value).
 *  6. Errors are plain Error / RangeError / TypeError / AssertionError without the file
 *     name ("Failed to slice chunks", "Cannot read properties of undefined" for an
 *     e_shstrndx out of range, an assert for a non-STRTAB one, RangeError for a header
 *     shorter than 64 bytes).
 *     -> every check is an ElfError with the file.
 *  7. Section `data` slices running past the end of the file are silently truncated;
 *     offsets and sizes are never bounds-checked; resolveStr turns a name offset beyond
 *     .shstrtab into '' and reads an unterminated name on to the end of the table.
 *     -> every section's [sh_offset, sh_offset + sh_size) is checked; names are decoded
 *        after checking the offset and the NUL terminator.
 *  8. Smaller ones: e_ident is misread (osabi from EI_VERSION, abiversion from EI_OSABI,
 *     `version` key overwritten by e_version); it parses program headers too (which a
 *     relocatable does not have and which could make it throw); big-endian and ELF32 are
 *     accepted. -> program headers are never read; ELF32 and big-endian are refused.
 *
 * SHT_RELA sections are kept in the section list but not interpreted (BPF uses SHT_REL
 * only; libbpf ignores other relocation section types, so do we).
 */
// Only elfy's constants module: its parser requires node:assert, ~10 ms of every CLI start.
import elfyConstants from 'elfy/lib/elfy/constants.js';
import { ElfError } from '../errors.js';
import { EM_BPF, SHN_XINDEX, SHT_NOBITS, SHT_NULL, SHT_STRTAB, type ElfSection } from './types.js';
import { asBuffer, StringTable, u64, u64Text, viewOf } from './read.js';

export const ELF64_EHDR_SIZE = 64;
export const ELF64_SHDR_SIZE = 64;
const ELFCLASS32 = 1, ELFCLASS64 = 2, ELFDATA2LSB = 1, ELFDATA2MSB = 2, ET_REL = 1;

const MACHINES: Record<number, string> = {
  0: 'EM_NONE', 2: 'SPARC', 3: 'i386', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 's390',
  40: 'ARM', 43: 'SPARC V9', 50: 'IA-64', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V',
  247: 'BPF', 258: 'LoongArch',
};
const ELF_TYPES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };

export function machineName(machine: number): string {
  return MACHINES[machine] ?? elfyConstants.machine[machine] ?? 'unknown';
}

export interface ElfHeaderInfo {
  /** e_flags */
  flags: number;
  /** e_shstrndx */
  shstrndx: number;
  /** e_shoff */
  shoff: number;
}

export interface SectionTable {
  header: ElfHeaderInfo;
  sections: ElfSection[];
  /** The section name table's names (the symbol table's too when it shares it, as clang's objects do). */
  names: StringTable;
  /** A view of the whole object, for the readers that follow (one per parse). */
  dv: DataView;
}

/**
 * A section header. `data`, a view of the object's bytes, is made on first read: a BPF
 * object has ~30 sections, half of them debug info that loading never reads.
 */
class Section implements ElfSection {
  name = '';
  private view: Uint8Array | undefined;
  constructor(
    readonly index: number, public type: number, public flags: number, public offset: number, public size: number,
    public link: number, public info: number, public addralign: number, public entsize: number,
    private readonly bytes: Uint8Array,
  ) {}
  get data(): Uint8Array {
    if (this.view === undefined) {
      // no file bytes for SHT_NOBITS and SHT_NULL; the bounds were checked with the table
      const hasBytes = this.type !== SHT_NOBITS && this.type !== SHT_NULL && this.size > 0;
      this.view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + (hasBytes ? this.offset : 0), hasBytes ? this.size : 0);
    }
    return this.view;
  }
  set data(v: Uint8Array) { this.view = v; }
}

const MAGIC = [0x7f, 0x45, 0x4c, 0x46];

function hex(bytes: Uint8Array, n: number): string {
  return Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Checks the ELF header and reads the section table. */
export function readSectionTable(bytes: Uint8Array, file: string): SectionTable {
  const len = bytes.length;
  const err = (detail: string, offset?: number) => new ElfError(detail, offset === undefined ? { file } : { file, offset });

  // --- e_ident
  for (let i = 0; i < 4 && i < len; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw err(`bad magic: not an ELF file (expected 7f 45 4c 46 "\\x7fELF", got ${hex(bytes, Math.min(len, 4))})`, 0);
    }
  }
  if (len < ELF64_EHDR_SIZE && len < 6) {
    throw err(`truncated ELF header: file is ${len} bytes, an ELF64 header needs ${ELF64_EHDR_SIZE}`);
  }
  const cls = bytes[4]!, data = bytes[5]!;
  if (cls === ELFCLASS32) throw err('ELF32 (EI_CLASS 1) objects are not supported: BPF objects are ELF64', 4);
  if (cls !== ELFCLASS64) throw err(`invalid ELF class ${cls} (EI_CLASS must be 2, ELFCLASS64)`, 4);
  if (data === ELFDATA2MSB) {
    throw err('big-endian objects are not supported: rebuild with -target bpfel / bpf on a little-endian host', 5);
  }
  if (data !== ELFDATA2LSB) throw err(`invalid ELF data encoding ${data} (EI_DATA must be 1, little-endian)`, 5);
  if (len < ELF64_EHDR_SIZE) {
    throw err(`truncated ELF header: file is ${len} bytes, an ELF64 header needs ${ELF64_EHDR_SIZE}`);
  }

  // --- fixed header fields
  const dv = viewOf(bytes);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_BPF) {
    throw err(`not a BPF object: e_machine is ${machine} (${machineName(machine)}), expected ${EM_BPF} (EM_BPF); compile with clang -target bpf`, 18);
  }
  const type = dv.getUint16(16, true);
  if (type !== ET_REL) {
    throw err(`not a relocatable object: e_type is ${type} (${ELF_TYPES[type] ?? 'unknown'}), expected 1 (ET_REL); load the .o from clang -c, not a linked file`, 16);
  }
  const shoff = u64(dv, 40);
  const shnum = dv.getUint16(60, true);
  const shentsize = dv.getUint16(58, true);
  const shstrndx = dv.getUint16(62, true);
  if (shnum === 0) {
    if (shoff === 0) throw err('no section header table (e_shoff and e_shnum are 0)', 40);
    throw err('extended section numbering (e_shnum 0 with the count in section 0) is not supported', 60);
  }
  if (shentsize !== ELF64_SHDR_SIZE) {
    throw err(`e_shentsize is ${shentsize}, expected ${ELF64_SHDR_SIZE} for ELF64 section headers`, 58);
  }
  const tableSize = shnum * ELF64_SHDR_SIZE;
  if (shoff < 0 || shoff === 0 || shoff + tableSize > len) {
    const shoffText = shoff < 0 ? u64Text(dv, 40) : String(shoff);
    throw err(`section header table (e_shoff ${shoffText}, ${shnum} entries of ${ELF64_SHDR_SIZE} bytes) is beyond the end of the file (${len} bytes)`, 40);
  }
  if (shstrndx === SHN_XINDEX) throw err('extended section name table index (e_shstrndx SHN_XINDEX) is not supported', 62);
  if (shstrndx === 0 || shstrndx >= shnum) {
    throw err(`e_shstrndx ${shstrndx} is out of range (section name table index must be 1..${shnum - 1})`, 62);
  }

  // --- the section headers
  const sections: Section[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * ELF64_SHDR_SIZE;
    // the four u64 fields' high words: all 0 in a BPF object, then each is its low word
    const wide = (dv.getUint32(h + 28, true) | dv.getUint32(h + 36, true) | dv.getUint32(h + 52, true) | dv.getUint32(h + 60, true)) !== 0;
    sections[i] = new Section(i, dv.getUint32(h + 4, true), dv.getUint32(h + 8, true), field64(dv, h + 24, wide), field64(dv, h + 32, wide),
      dv.getUint32(h + 40, true), dv.getUint32(h + 44, true), field64(dv, h + 48, wide), field64(dv, h + 56, wide), bytes);
  }

  // --- section name table first: every other check names its section
  const shstr = sections[shstrndx]!;
  if (shstr.type !== SHT_STRTAB) {
    throw err(`e_shstrndx ${shstrndx} points at a section of type ${shstr.type}, not SHT_STRTAB (3): no section name table`, 62);
  }
  checkBounds(shstr, shoff + shstrndx * ELF64_SHDR_SIZE, dv, len, file, undefined);
  const names = new StringTable(asBuffer(bytes), shstr.offset, shstr.offset + shstr.size);

  for (let i = 0; i < shnum; i++) {
    const s = sections[i]!;
    const nameOff = dv.getUint32(shoff + i * ELF64_SHDR_SIZE, true);
    if (nameOff >= shstr.size) {
      throw new ElfError(`section ${i}: name offset ${nameOff} is beyond the section name table (${shstr.size} bytes)`, { file, section: `#${i}` });
    }
    const name = names.at(nameOff);
    if (name === undefined) {
      throw new ElfError(`section ${i}: name at offset ${nameOff} of the section name table is not NUL-terminated`, { file, section: `#${i}` });
    }
    s.name = name;
    if (i !== shstrndx) checkBounds(s, shoff + i * ELF64_SHDR_SIZE, dv, len, file, name);
    // an SHT_NULL header is inactive (gABI): whatever sh_size says, it holds no bytes
    if (s.type === SHT_NULL) s.size = 0;
  }
  return { header: { flags: dv.getUint32(48, true), shstrndx, shoff }, sections, names, dv };
}

/** A section header's u64 field: its low word when no field of the header has a high word (`wide` false), else u64. */
function field64(dv: DataView, off: number, wide: boolean): number {
  return wide ? u64(dv, off) : dv.getUint32(off, true);
}

/**
 * Rejects 64-bit fields above 2^53 and file bytes beyond the end of the file. `name`: the
 * section's name, undefined for the section name table (whose names are not read yet);
 * the label for an error is made only for an error (a template per parse was ~0.1 us).
 */
function checkBounds(s: ElfSection, h: number, dv: DataView, len: number, file: string, name: string | undefined): void {
  if (s.offset < 0 || s.size < 0 || s.addralign < 0 || s.entsize < 0) {
    const key = s.offset < 0 ? 'offset' : s.size < 0 ? 'size' : s.addralign < 0 ? 'addralign' : 'entsize';
    const fieldOffset = { offset: 24, size: 32, addralign: 48, entsize: 56 }[key];
    throw new ElfError(`sh_${key} ${u64Text(dv, h + fieldOffset)} is too large (above 2^53)`, { file, section: sectionLabel(s, name) });
  }
  if (s.type === SHT_NOBITS || s.type === SHT_NULL) return;
  if (s.offset + s.size > len) {
    throw new ElfError(
      `section bytes [${s.offset}, ${s.offset + s.size}) (sh_offset ${s.offset}, sh_size ${s.size}) extend beyond the end of the file (${len} bytes)`,
      { file, section: sectionLabel(s, name) });
  }
}

/** How errors name a section: its name, '#N' when it has none; the section name table by its role. */
function sectionLabel(s: ElfSection, name: string | undefined): string {
  return name === undefined ? `section name table (section ${s.index})` : name || `#${s.index}`;
}
