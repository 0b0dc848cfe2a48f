/** Named symbols grouped by section index, computed once per ElfFile. */
import type { ElfFile, ElfSymbol } from '../elf/types.js';
import { STT_FILE, STT_SECTION } from '../elf/types.js';

const cache = new WeakMap<ElfFile, Map<number, ElfSymbol[]>>();

/** The named symbols (not section or file symbols) defined in section `index`. */
export function symbolsIn(elf: ElfFile, index: number): ElfSymbol[] {
  let bySection = cache.get(elf);
  if (!bySection) {
    bySection = new Map();
    for (const s of elf.symbols) {
      if (s.type === STT_SECTION || s.type === STT_FILE || s.name === '') continue;
      let l = bySection.get(s.shndx);
      if (!l) bySection.set(s.shndx, (l = []));
      l.push(s);
    }
    cache.set(elf, bySection);
  }
  return bySection.get(index) ?? [];
}
