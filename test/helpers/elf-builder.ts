/**
 * Test helper: writes a small ELF64 little-endian EM_BPF relocatable object, like clang
 * would, from plain descriptions — and tells you where every field landed so a test can
 * corrupt it afterwards.
 *
 *   const elf = buildElf({
 *     sections: [
 *       { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: insns },
 *       { name: '.maps', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(32) },
 *       { name: '.bss', type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, size: 16 },
 *       { name: 'license', type: SHT_PROGBITS, data: cstr('GPL') },
 *     ],
 *     symbols: [
 *       { name: 'xdp_prog', section: 'xdp', type: STT_FUNC, bind: STB_GLOBAL, size: 16 },
 *       { name: 'jmp_table', section: '.maps', type: STT_OBJECT, bind: STB_GLOBAL, size: 32 },
 *     ],
 *     rels: [{ section: 'xdp', offset: 0, symbol: 'jmp_table', type: R_BPF_64_64 }],
 *   });
 *   elf.bytes                                  // the object
 *   elf.setSection('.maps', 'size', 1 << 20)   // corrupt a section header field
 *   elf.setSymbol('jmp_table', 'shndx', 99)    // corrupt a symbol
 *   elf.setRel('xdp', 0, 'offset', 4096)       // corrupt a relocation (section = its target)
 *   elf.setHeader('machine', 62)               // corrupt the ELF header
 *
 * Layout: ELF header, section bytes (each at its addralign), then the section header
 * table at the end (8-aligned). Section order: the null section, your sections in order,
 * one '.rel<target>' per target that has rels (clang's names: '.relxdp', '.rel.maps'),
 * then '.symtab', '.strtab', '.shstrtab' (unless `symtab: false`, which drops the first two
 * and all rels). Symbols: the null symbol, then your symbols with the STB_LOCAL ones
 * first (stable), as ELF requires; `.symtab`'s sh_info is the first non-local index.
 * `sectionIndex` / `symbolIndex` give the final indices.
 *
 * All set* helpers write into `bytes` in place; values may be number or bigint
 * (use bigint for 64-bit values above 2^53).
 */

import { SHT_NOBITS, SHT_NULL, SHT_REL, SHT_STRTAB, SHT_SYMTAB } from '../../src/elf/types.js';

/** Offset and width of each Elf64_Ehdr field. */
export const EHDR = {
  class: [4, 1], data: [5, 1], version_ident: [6, 1], osabi: [7, 1],
  type: [16, 2], machine: [18, 2], version: [20, 4], entry: [24, 8], phoff: [32, 8], shoff: [40, 8],
  flags: [48, 4], ehsize: [52, 2], phentsize: [54, 2], phnum: [56, 2], shentsize: [58, 2], shnum: [60, 2],
  shstrndx: [62, 2],
} as const satisfies Record<string, readonly [number, number]>;
/** Offset and width of each Elf64_Shdr field. */
export const SHDR = {
  name: [0, 4], type: [4, 4], flags: [8, 8], addr: [16, 8], offset: [24, 8], size: [32, 8], link: [40, 4],
  info: [44, 4], addralign: [48, 8], entsize: [56, 8],
} as const satisfies Record<string, readonly [number, number]>;
/** Offset and width of each Elf64_Sym field. */
export const SYM = { name: [0, 4], info: [4, 1], other: [5, 1], shndx: [6, 2], value: [8, 8], size: [16, 8] } as const satisfies Record<string, readonly [number, number]>;
/** Offset and width of each Elf64_Rel field (`sym` and `type` are the halves of r_info). */
export const REL = { offset: [0, 8], info: [8, 8], type: [8, 4], sym: [12, 4] } as const satisfies Record<string, readonly [number, number]>;

export type EhdrField = keyof typeof EHDR;
export type ShdrField = keyof typeof SHDR;
export type SymField = keyof typeof SYM;
export type RelField = keyof typeof REL;

export interface SectionInput {
  name: string;
  /** SHT_* */
  type: number;
  flags?: number;
  /** File bytes (not written for SHT_NOBITS). */
  data?: Uint8Array;
  /** sh_size; defaults to data.length (set it for SHT_NOBITS). */
  size?: number;
  /** A section index or the name of a section (auto sections included, e.g. '.symtab'). */
  link?: number | string;
  info?: number | string;
  entsize?: number;
  /** Default 8 for SHT_PROGBITS/NOBITS, 1 for STRTAB. */
  addralign?: number;
}

export interface SymbolInput {
  name: string;
  /** Section name or raw st_shndx (0 = SHN_UNDEF, 0xfff1 = SHN_ABS). Default SHN_UNDEF. */
  section?: string | number;
  value?: number;
  size?: number;
  /** STT_* (default STT_NOTYPE) */
  type?: number;
  /** STB_* (default STB_GLOBAL) */
  bind?: number;
  /** STV_* (default 0) */
  visibility?: number;
}

export interface RelInput {
  /** The section the entry patches (its REL section is '.rel' + this name). */
  section: string;
  offset: number;
  /** Symbol name or final .symtab index. */
  symbol: string | number;
  /** R_BPF_* */
  type: number;
}

export interface BuildInput {
  sections: SectionInput[];
  symbols?: SymbolInput[];
  rels?: RelInput[];
  /** false: no .symtab / .strtab / REL sections (default true). */
  symtab?: boolean;
  /** e_machine, default 247 (EM_BPF). */
  machine?: number;
}

export interface SectionLayout {
  index: number;
  name: string;
  /** File offset of its Elf64_Shdr. */
  header: number;
  /** File offset of its bytes (sh_offset). */
  offset: number;
  size: number;
}

export interface BuiltElf {
  bytes: Uint8Array;
  /** e_shoff */
  shoff: number;
  sections: SectionLayout[];
  sectionIndex(name: string): number;
  section(nameOrIndex: string | number): SectionLayout;
  /** Final .symtab index (0 is the null symbol). */
  symbolIndex(name: string): number;
  /** File offset of a symbol's Elf64_Sym. */
  symbolOffset(nameOrIndex: string | number): number;
  /** File offset of entry `i` of the REL section patching `target`. */
  relOffset(target: string, i: number): number;
  /** Writes a little-endian integer of `width` bytes at a file offset. */
  poke(offset: number, width: number, value: number | bigint): void;
  setHeader(field: EhdrField, value: number | bigint): void;
  setSection(nameOrIndex: string | number, field: ShdrField, value: number | bigint): void;
  setSymbol(nameOrIndex: string | number, field: SymField, value: number | bigint): void;
  setRel(target: string, i: number, field: RelField, value: number | bigint): void;
}

const enc = new TextEncoder();
/** A NUL-terminated string's bytes, e.g. for a 'license' section. */
export function cstr(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

class StrTab {
  private parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  private seen = new Map<string, number>([['', 0]]);
  add(s: string): number {
    const hit = this.seen.get(s);
    if (hit !== undefined) return hit;
    const at = this.size;
    const b = cstr(s);
    this.parts.push(b);
    this.size += b.length;
    this.seen.set(s, at);
    return at;
  }
  bytes(): Uint8Array { return concat(...this.parts); }
}

const align = (n: number, a: number) => (a > 1 ? Math.ceil(n / a) * a : n);

export function buildElf(input: BuildInput): BuiltElf {
  const withSymtab = input.symtab !== false;
  const symbols = [...(input.symbols ?? [])];
  // Locals first (stable), as ELF requires.
  symbols.sort((a, b) => Number((a.bind ?? 1) !== 0) - Number((b.bind ?? 1) !== 0));
  const rels = withSymtab ? input.rels ?? [] : [];

  // Section list (index 0 = null).
  interface Sec extends SectionInput { nameOff?: number }
  const secs: Sec[] = [{ name: '', type: SHT_NULL, addralign: 0 }, ...input.sections.map((s) => ({ ...s }))];
  const relTargets: string[] = [];
  for (const r of rels) if (!relTargets.includes(r.section)) relTargets.push(r.section);
  const relSecs: Sec[] = relTargets.map((t) => ({ name: `.rel${t}`, type: SHT_REL, link: '.symtab', info: t, entsize: 16, addralign: 8 }));
  secs.push(...relSecs);
  if (withSymtab) {
    const firstGlobal = 1 + symbols.filter((s) => (s.bind ?? 1) === 0).length;
    secs.push({ name: '.symtab', type: SHT_SYMTAB, link: '.strtab', info: firstGlobal, entsize: 24, addralign: 8 });
    secs.push({ name: '.strtab', type: SHT_STRTAB, addralign: 1 });
  }
  secs.push({ name: '.shstrtab', type: SHT_STRTAB, addralign: 1 });
  const indexOf = (name: string): number => {
    const i = secs.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`elf-builder: no section ${name}`);
    return i;
  };
  const ref = (v: number | string | undefined): number => (typeof v === 'string' ? indexOf(v) : v ?? 0);

  // String tables.
  const shstr = new StrTab();
  for (const s of secs) s.nameOff = shstr.add(s.name);
  const str = new StrTab();
  const symNameOffs = symbols.map((s) => str.add(s.name));

  // .symtab
  const symIndex = (v: string | number): number => {
    if (typeof v === 'number') return v;
    const i = symbols.findIndex((s) => s.name === v);
    if (i < 0) throw new Error(`elf-builder: no symbol ${v}`);
    return i + 1;
  };
  if (withSymtab) {
    const symtab = new Uint8Array(24 * (symbols.length + 1));
    const dv = new DataView(symtab.buffer);
    symbols.forEach((s, i) => {
      const e = 24 * (i + 1);
      dv.setUint32(e, symNameOffs[i]!, true);
      symtab[e + 4] = ((s.bind ?? 1) << 4) | ((s.type ?? 0) & 0xf);
      symtab[e + 5] = s.visibility ?? 0;
      dv.setUint16(e + 6, typeof s.section === 'string' ? indexOf(s.section) : s.section ?? 0, true);
      dv.setBigUint64(e + 8, BigInt(s.value ?? 0), true);
      dv.setBigUint64(e + 16, BigInt(s.size ?? 0), true);
    });
    secs[indexOf('.symtab')]!.data = symtab;
    secs[indexOf('.strtab')]!.data = str.bytes();
  }
  secs[indexOf('.shstrtab')]!.data = shstr.bytes();
  for (const rs of relSecs) {
    const mine = rels.filter((r) => `.rel${r.section}` === rs.name);
    const d = new Uint8Array(16 * mine.length);
    const dv = new DataView(d.buffer);
    mine.forEach((r, i) => {
      dv.setBigUint64(16 * i, BigInt(r.offset), true);
      dv.setUint32(16 * i + 8, r.type, true);
      dv.setUint32(16 * i + 12, symIndex(r.symbol), true);
    });
    rs.data = d;
  }

  // Layout.
  let at = 64;
  const layout: SectionLayout[] = [];
  const offsets: number[] = [];
  secs.forEach((s, i) => {
    if (i === 0) { offsets.push(0); return; }
    const a = s.addralign ?? (s.type === SHT_STRTAB ? 1 : 8);
    at = align(at, a);
    offsets.push(at);
    if (s.type !== SHT_NOBITS) at += s.data?.length ?? 0;
  });
  const shoff = align(at, 8);
  const total = shoff + 64 * secs.length;
  const bytes = new Uint8Array(total);
  const dv = new DataView(bytes.buffer);

  // ELF header.
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 1, true); // ET_REL
  dv.setUint16(18, input.machine ?? 247, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, secs.length, true);
  dv.setUint16(62, indexOf('.shstrtab'), true);

  secs.forEach((s, i) => {
    const h = shoff + 64 * i;
    const size = s.size ?? s.data?.length ?? 0;
    layout.push({ index: i, name: s.name, header: h, offset: offsets[i]!, size });
    if (i === 0) return;
    if (s.type !== SHT_NOBITS && s.data) bytes.set(s.data, offsets[i]!);
    dv.setUint32(h, s.nameOff!, true);
    dv.setUint32(h + 4, s.type, true);
    dv.setBigUint64(h + 8, BigInt(s.flags ?? 0), true);
    dv.setBigUint64(h + 24, BigInt(offsets[i]!), true);
    dv.setBigUint64(h + 32, BigInt(size), true);
    dv.setUint32(h + 40, ref(s.link), true);
    dv.setUint32(h + 44, ref(s.info), true);
    dv.setBigUint64(h + 48, BigInt(s.addralign ?? (s.type === SHT_STRTAB ? 1 : 8)), true);
    dv.setBigUint64(h + 56, BigInt(s.entsize ?? 0), true);
  });

  const poke = (offset: number, width: number, value: number | bigint): void => {
    let v = BigInt.asUintN(width * 8, BigInt(value));
    for (let k = 0; k < width; k++) { bytes[offset + k] = Number(v & 0xffn); v >>= 8n; }
  };
  const section = (n: string | number): SectionLayout => {
    const l = layout[typeof n === 'string' ? indexOf(n) : n];
    if (!l) throw new Error(`elf-builder: no section ${n}`);
    return l;
  };
  const symbolOffset = (n: string | number): number => section('.symtab').offset + 24 * symIndex(n);
  const relOffset = (target: string, i: number): number => section(`.rel${target}`).offset + 16 * i;
  return {
    bytes, shoff, sections: layout,
    sectionIndex: indexOf,
    section,
    symbolIndex: (name) => symIndex(name),
    symbolOffset,
    relOffset,
    poke,
    setHeader: (f, v) => poke(EHDR[f][0], EHDR[f][1], v),
    setSection: (n, f, v) => poke(section(n).header + SHDR[f][0], SHDR[f][1], v),
    setSymbol: (n, f, v) => poke(symbolOffset(n) + SYM[f][0], SYM[f][1], v),
    setRel: (t, i, f, v) => poke(relOffset(t, i) + REL[f][0], REL[f][1], v),
  };
}
