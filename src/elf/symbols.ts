/** .symtab (SHT_SYMTAB, Elf64_Sym entries of 24 bytes), parsed in-project. */
import { ElfError } from '../errors.js';
import { SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHT_STRTAB, SHT_SYMTAB, type ElfSection, type ElfSymbol } from './types.js';
import { StringTable, u64, u64Text } from './read.js';

export const ELF64_SYM_SIZE = 24;

/** The single SHT_SYMTAB section, or undefined when the object has none. */
export function findSymtab(sections: ElfSection[], file: string): ElfSection | undefined {
  let found: ElfSection | undefined;
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB) continue;
    if (found) throw new ElfError(`more than one symbol table (${found.name} and ${s.name})`, { file, section: s.name });
    found = s;
  }
  return found;
}

/**
 * The symbols of `symtab`, every field checked. `shared`: a string table already read, used
 * when it is the symbol table's own (clang puts section and symbol names in one .strtab).
 */
export function parseSymbols(
  symtab: ElfSection, sections: ElfSection[], bytes: Buffer, dv: DataView, file: string,
  shared?: { index: number; names: StringTable },
): ElfSymbol[] {
  const section = symtab.name;
  if (symtab.entsize !== ELF64_SYM_SIZE) {
    throw new ElfError(`symbol table sh_entsize is ${symtab.entsize}, expected ${ELF64_SYM_SIZE} (Elf64_Sym)`, { file, section });
  }
  if (symtab.size % ELF64_SYM_SIZE !== 0) {
    throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${ELF64_SYM_SIZE}`, { file, section });
  }
  const strtab = symtab.link > 0 && symtab.link < sections.length ? sections[symtab.link]! : undefined;
  if (!strtab || strtab.type !== SHT_STRTAB) {
    throw new ElfError(`symbol table sh_link ${symtab.link} is not a string table (SHT_STRTAB)`, { file, section });
  }
  const names = shared?.index === symtab.link ? shared.names : new StringTable(bytes, strtab.offset, strtab.offset + strtab.size);
  const count = symtab.size / ELF64_SYM_SIZE;
  const nsec = sections.length;
  const symbols: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = symtab.offset + i * ELF64_SYM_SIZE;
    const nameOff = dv.getUint32(e, true);
    if (nameOff >= strtab.size && !(nameOff === 0 && i === 0)) {
      throw new ElfError(`symbol #${i}: name offset ${nameOff} is beyond string table ${strtab.name} (${strtab.size} bytes)`,
        { file, section, offset: i * ELF64_SYM_SIZE });
    }
    const name = nameOff >= strtab.size ? '' : names.at(nameOff);
    if (name === undefined) {
      throw new ElfError(`symbol #${i}: name at offset ${nameOff} of ${strtab.name} is not NUL-terminated`,
        { file, section, offset: i * ELF64_SYM_SIZE });
    }
    const info = bytes[e + 4]!;
    const shndx = dv.getUint16(e + 6, true);
    if (shndx < SHN_LORESERVE ? shndx >= nsec : shndx !== SHN_ABS && shndx !== SHN_COMMON) {
      const why = shndx < SHN_LORESERVE ? `out of range (the object has ${nsec} sections)`
        : `a reserved index that is not supported (only SHN_ABS and SHN_COMMON are)`;
      const label = name || `#${i}`;
      throw new ElfError(`symbol ${label} (#${i}): st_shndx ${shndx} (0x${shndx.toString(16)}) is ${why}`,
        { file, section, symbol: label, offset: i * ELF64_SYM_SIZE });
    }
    const value = u64(dv, e + 8), size = u64(dv, e + 16);
    if (value < 0 || size < 0) {
      const [what, at] = value < 0 ? ['st_value', 8] : ['st_size', 16];
      const label = name || `#${i}`; // made only for an error: most symbols (sections') are unnamed
      throw new ElfError(`symbol ${label} (#${i}): ${what} ${u64Text(dv, e + (at as number))} is too large (above 2^53)`,
        { file, section, symbol: label, offset: i * ELF64_SYM_SIZE });
    }
    symbols[i] = { index: i, name, value, size, type: info & 0xf, bind: info >> 4, visibility: bytes[e + 5]! & 3, shndx };
  }
  return symbols;
}
