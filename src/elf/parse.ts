import { readSectionTable } from './section-table.js';
import { findSymtab, parseSymbols } from './symbols.js';
import { parseRelSection } from './relocations.js';
import { STT_FILE, STT_SECTION, SHT_REL, type ElfFile, type ElfRelSection, type ElfSection, type ElfSymbol } from './types.js';
import { asBuffer } from './read.js';

const NONE: readonly ElfSymbol[] = Object.freeze([]);

/** Up to this many sections, sectionByName compares names in order instead of building a Map. */
const SCAN_SECTIONS = 64;

/**
 * Parses an ELF64 little-endian EM_BPF relocatable object. Section bytes are views into
 * `bytes` (no copies), so do not mutate `bytes` while the result is in use. Throws
 * ElfError for anything malformed or unsupported.
 */
export function parseElf(bytes: Uint8Array, file = '<buffer>'): ElfFile {
  const { header, sections, names, dv } = readSectionTable(bytes, file);
  const symtab = findSymtab(sections, file);
  const symbols: ElfSymbol[] = symtab ? parseSymbols(symtab, sections, asBuffer(bytes), dv, file, { index: header.shstrndx, names }) : [];
  const relocations: ElfRelSection[] = [];
  for (const s of sections) {
    if (s.type === SHT_REL) relocations.push(parseRelSection(s, sections, symbols, symtab?.index, dv, file));
  }
  let byName: Map<string, ElfSection> | undefined;
  let bySection: Map<number, ElfSymbol[]> | undefined;
  return {
    file,
    bytes,
    sections,
    symbols,
    relocations,
    sectionByName(name: string): ElfSection | undefined {
      // First section of a name wins (index 0's '' included, harmlessly). A scan for the
      // few dozen sections of a BPF object; a Map for more.
      if (sections.length <= SCAN_SECTIONS) {
        for (let i = 0; i < sections.length; i++) if (sections[i]!.name === name) return sections[i];
        return undefined;
      }
      if (!byName) {
        byName = new Map();
        for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
      }
      return byName.get(name);
    },
    symbolsIn(index: number): readonly ElfSymbol[] {
      if (!bySection) {
        bySection = new Map();
        for (const s of symbols) {
          if (s.type === STT_SECTION || s.type === STT_FILE || s.name === '') continue;
          const l = bySection.get(s.shndx);
          if (l) l.push(s); else bySection.set(s.shndx, [s]);
        }
      }
      return bySection.get(index) ?? NONE;
    },
  };
}
