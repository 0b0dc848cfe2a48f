/** SHT_REL sections (Elf64_Rel entries of 16 bytes), parsed in-project. SHT_RELA is ignored, like libbpf. */
import { ElfError } from '../errors.js';
import {
  R_BPF_64_32, R_BPF_64_64, R_BPF_64_ABS32, R_BPF_64_ABS64, R_BPF_64_NODYLD32, SHF_EXECINSTR, SHT_NULL, SHT_SYMTAB,
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

/** r_offset above this high word does not fit in Number.MAX_SAFE_INTEGER (see read.ts). */
const MAX_SAFE_HI = 0x1fffff;
/** WIDTH as a flat table for the hot loop (types 0..15; anything else needs 1 byte). */
const WIDTH_TABLE = new Uint8Array(16).fill(1);
for (const [t, w] of Object.entries(WIDTH)) WIDTH_TABLE[Number(t)] = w;

/**
 * Whether a REL section's entries matter to loading and are parsed (and checked) up
 * front: relocations of executable sections, of map definitions ('.maps', legacy 'maps')
 * and of '.struct_ops*' / '?.struct_ops*'. Everything else (.rel.debug_*, .rel.BTF, .rel.BTF.ext, ...) is
 * ignored by libbpf and is parsed on first access of `entries` (errors are then thrown
 * from there, still as ElfError).
 */
export function relocationsNeeded(target: ElfSection): boolean {
  if ((target.flags & SHF_EXECINSTR) !== 0) return true;
  const n = target.name;
  return n === '.maps' || n === 'maps' || n.startsWith('.struct_ops') || n.startsWith('?.struct_ops');
}

/** An ElfRelSection whose entries are parsed on first access, then cached. */
class LazyRelSection implements ElfRelSection {
  private parsed: ElfRel[] | undefined;
  constructor(
    readonly section: ElfSection, readonly target: ElfSection,
    private readonly nsym: number, private readonly dv: DataView, private readonly file: string,
  ) {}
  get entries(): ElfRel[] {
    return this.parsed ??= parseEntries(this.section, this.target, this.nsym, this.dv, this.file);
  }
  set entries(v: ElfRel[]) { this.parsed = v; }
}

/**
 * Checks the REL section header (entsize, size, sh_link, sh_info) and returns its
 * entries: parsed now when {@link relocationsNeeded} says the target matters (or `eager`),
 * else on first access of `entries`.
 */
export function parseRelSection(
  rel: ElfSection, sections: ElfSection[], symbols: ElfSymbol[], symtabIndex: number | undefined,
  dv: DataView, file: string, eager = false,
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
  if (eager || relocationsNeeded(target)) return { section: rel, target, entries: parseEntries(rel, target, symbols.length, dv, file) };
  return new LazyRelSection(rel, target, symbols.length, dv, file);
}

/** The Elf64_Rel entries of `rel` (header already checked), each checked against `target`. */
function parseEntries(rel: ElfSection, target: ElfSection, nsym: number, dv: DataView, file: string): ElfRel[] {
  const count = rel.size / ELF64_REL_SIZE;
  const limit = target.size;
  const entries: ElfRel[] = new Array(count);
  for (let i = 0, e = rel.offset; i < count; i++, e += ELF64_REL_SIZE) {
    const lo = dv.getUint32(e, true);
    const hi = dv.getUint32(e + 4, true);
    const type = dv.getUint32(e + 8, true);
    const symbol = dv.getUint32(e + 12, true);
    if (symbol >= nsym) relError(rel, target, nsym, dv, file, i);
    const width = type < 16 ? WIDTH_TABLE[type]! : 1;
    if (hi > MAX_SAFE_HI) relError(rel, target, nsym, dv, file, i);
    const offset = hi * 0x1_0000_0000 + lo;
    if (offset + width > limit) relError(rel, target, nsym, dv, file, i);
    entries[i] = { offset, type, symbol };
  }
  return entries;
}

/** Throws the ElfError for bad entry #i (kept out of the hot loop). */
function relError(rel: ElfSection, target: ElfSection, nsym: number, dv: DataView, file: string, i: number): never {
  const section = rel.name;
  const e = rel.offset + i * ELF64_REL_SIZE;
  const type = dv.getUint32(e + 8, true);
  const symbol = dv.getUint32(e + 12, true);
  if (symbol >= nsym) {
    throw new ElfError(`relocation #${i}: symbol index ${symbol} is out of range (${nsym} symbols)`,
      { file, section, offset: i * ELF64_REL_SIZE });
  }
  const offset = u64(dv, e);
  const width = WIDTH[type] ?? 1;
  const offsetText = offset < 0 ? u64Text(dv, e) : String(offset);
  throw new ElfError(`relocation #${i}: r_offset ${offsetText} (${TYPE_NAMES[type] ?? `type ${type}`}, ${width} bytes) is beyond the end of target section ${target.name} (${target.size} bytes)`,
    { file, section, offset: i * ELF64_REL_SIZE });
}
