/** Parsed ELF64 little-endian EM_BPF relocatable object. Offsets are numbers (bounds-checked). */

export const SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4,
  SHT_NOBITS = 8, SHT_REL = 9, SHT_LLVM_ADDRSIG = 0x6fff4c03;
export const SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4;
export const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3, STT_FILE = 4;
export const STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2;
export const SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2;
export const EM_BPF = 247;
export const R_BPF_NONE = 0, R_BPF_64_64 = 1, R_BPF_64_ABS64 = 2, R_BPF_64_ABS32 = 3,
  R_BPF_64_NODYLD32 = 4, R_BPF_64_32 = 10;

export interface ElfSection {
  index: number;
  name: string;
  /** SHT_* */
  type: number;
  /** SHF_* bits (low 32 bits of sh_flags are all BPF objects use). */
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** The section's bytes; empty for SHT_NOBITS (which has `size` but no file bytes). */
  data: Uint8Array;
}

export interface ElfSymbol {
  /** Index in .symtab. */
  index: number;
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** STV_* (st_other & 3) */
  visibility: number;
  /** Section index, or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  shndx: number;
}

export interface ElfRel {
  /** r_offset: byte offset inside the target section. */
  offset: number;
  /** R_BPF_* */
  type: number;
  /** Index into ElfFile.symbols (already checked to be in range). */
  symbol: number;
}

export interface ElfRelSection {
  /** The SHT_REL section itself, e.g. '.rel.maps'. */
  section: ElfSection;
  /** The section its entries patch (sh_info), e.g. '.maps'. */
  target: ElfSection;
  /**
   * Parsed and checked when the object is parsed for targets that matter to loading
   * (executable sections, '.maps' / 'maps', '.struct_ops*' / '?.struct_ops*'); for the others (.debug_*,
   * .BTF, .BTF.ext, ...) on first access, which may then throw ElfError.
   */
  entries: ElfRel[];
}

export interface ElfFile {
  /** Name used in error messages. */
  file: string;
  bytes: Uint8Array;
  /** All sections, index 0 is the null section. */
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** One entry per SHT_REL section, in section order. */
  relocations: ElfRelSection[];
  sectionByName(name: string): ElfSection | undefined;
  /**
   * The named symbols (not section or file symbols, not '') defined in section `index`, in
   * symbol order; grouped once per object, on the first call. Do not change the list.
   */
  symbolsIn(index: number): readonly ElfSymbol[];
}

// --- added with the parser (src/elf/parse.ts)
export const SHN_LORESERVE = 0xff00, SHN_XINDEX = 0xffff;
export const STV_DEFAULT = 0, STV_INTERNAL = 1, STV_HIDDEN = 2, STV_PROTECTED = 3;
