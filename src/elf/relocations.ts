/** SHT_REL sections (Elf64_Rel entries of 16 bytes), parsed in-project. SHT_RELA is ignored, like libbpf. */
import { ElfError } from '../errors.js';
import {
  R_BPF_64_32, R_BPF_64_64, R_BPF_64_ABS32, R_BPF_64_ABS64, R_BPF_64_NODYLD32, SHT_NULL, SHT_SYMTAB,
  type ElfRel, type ElfRelSection, type ElfSection, type ElfSymbol,
} from './types.js';
import { u64, u64Text } from './read.js';

export const ELF64_REL_SIZE = 16;

/**
 * Bytes a relocation of each type needs inside its target. Deliberately the smallest
 * width the type has ever been used with: old LLVM emitted R_BPF_64_64 for 8-byte data
 * and R_BPF_64_32 for 4-byte data, so an ld_imm64 (16 bytes) or call (8 bytes) cut short
 * is left to the instruction decoder. Unknown types need 1 byte (r_offset < size).
 */
const WIDTH: Record<number, number> = {
  [R_BPF_64_64]: 8, [R_BPF_64_ABS64]: 8, [R_BPF_64_ABS32]: 4, [R_BPF_64_NODYLD32]: 4, [R_BPF_64_32]: 4,
};
const TYPE_NAMES: Record<number, string> = {
  0: 'R_BPF_NONE', 1: 'R_BPF_64_64', 2: 'R_BPF_64_ABS64', 3: 'R_BPF_64_ABS32', 4: 'R_BPF_64_NODYLD32', 10: 'R_BPF_64_32',
};

export function parseRelSection(
  rel: ElfSection, sections: ElfSection[], symbols: ElfSymbol[], symtabIndex: number | undefined,
  dv: DataView, file: string,
): ElfRelSection {
  const section = rel.name;
  if (rel.entsize !== ELF64_REL_SIZE) {
    throw new ElfError(`REL section sh_entsize is ${rel.entsize}, expected ${ELF64_REL_SIZE} (Elf64_Rel)`, { file, section });
  }
  if (rel.size % ELF64_REL_SIZE !== 0) {
    throw new ElfError(`REL section size ${rel.size} is not a multiple of ${ELF64_REL_SIZE}`, { file, section });
  }
  if (rel.link !== symtabIndex || sections[rel.link]?.type !== SHT_SYMTAB) {
    throw new ElfError(`REL section sh_link ${rel.link} is not the symbol table` +
      (symtabIndex === undefined ? ' (the object has none)' : ` (section ${symtabIndex})`), { file, section });
  }
  const target = rel.info < sections.length ? sections[rel.info]! : undefined;
  if (!target || target.type === SHT_NULL) {
    throw new ElfError(`REL section sh_info ${rel.info} is not a valid target section` +
      (target ? ' (it is the null section / SHT_NULL)' : ` (out of range: the object has ${sections.length} sections)`), { file, section });
  }
  const count = rel.size / ELF64_REL_SIZE;
  const nsym = symbols.length;
  const entries: ElfRel[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = rel.offset + i * ELF64_REL_SIZE;
    const type = dv.getUint32(e + 8, true);
    const symbol = dv.getUint32(e + 12, true);
    if (symbol >= nsym) {
      throw new ElfError(`relocation #${i}: symbol index ${symbol} is out of range (${nsym} symbols)`,
        { file, section, offset: i * ELF64_REL_SIZE });
    }
    const offset = u64(dv, e);
    const width = WIDTH[type] ?? 1;
    if (offset < 0 || offset + width > target.size) {
      const at = offset < 0 ? u64Text(dv, e) : String(offset);
      throw new ElfError(`relocation #${i}: r_offset ${at} (${TYPE_NAMES[type] ?? `type ${type}`}, ${width} bytes) is beyond the end of target section ${target.name} (${target.size} bytes)`,
        { file, section, offset: i * ELF64_REL_SIZE });
    }
    entries[i] = { offset, type, symbol };
  }
  return { section: rel, target, entries };
}
