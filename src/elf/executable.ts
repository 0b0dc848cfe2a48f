/**
 * Executables and shared libraries (what uprobes probe): the ELF64 header, program and
 * section headers and the function symbols of .symtab / .dynsym, read through a `read`
 * callback so that only those parts of a large binary are ever read. Pure: no fs here.
 *
 * A uprobe is placed at a FILE offset. A symbol's value is a virtual address (PIE, shared
 * objects and non-PIE executables alike); the offset is where that address lies in the
 * file: `value - sh_addr + sh_offset` of the section holding the symbol (as libbpf's
 * elf_find_func_offset), or through the PT_LOAD segment holding the address.
 */
import { ElfError } from '../errors.js';

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

const ET_EXEC = 2, ET_DYN = 3;
const PT_LOAD = 1;
const PF_X = 1;
const SHT_SYMTAB = 2, SHT_DYNSYM = 11, SHT_NOBITS = 8;
const STT_FUNC = 2, STT_GNU_IFUNC = 10;
const STB_WEAK = 2;
const SHN_UNDEF = 0, SHN_LORESERVE = 0xff00;

export interface ExecSegment { vaddr: number; offset: number; filesz: number; memsz: number; executable: boolean }
export interface ExecSection { name: string; type: number; addr: number; offset: number; size: number; link: number; entsize: number }

/** A function symbol and the file offset of its first instruction. */
export interface ExecFunction {
  name: string;
  /** st_value (a virtual address). */
  address: number;
  size: number;
  /** Where the address lies in the file: what a uprobe takes. */
  offset: number;
  weak: boolean;
  /** '.symtab' or '.dynsym' */
  table: string;
}

export interface Executable {
  file: string;
  /** 'exec' (fixed addresses) or 'dyn' (PIE or shared object). */
  kind: 'exec' | 'dyn';
  machine: number;
  segments: ExecSegment[];
  sections: ExecSection[];
  /** Function symbols of .symtab, else of .dynsym (stripped binaries), in table order. */
  functions(): ExecFunction[];
  /** The PT_LOAD segment whose memory holds a virtual address. */
  segmentAt(address: number): ExecSegment | undefined;
  /** The file offset of a virtual address, through the PT_LOAD segment that holds it. */
  fileOffset(address: number): number | undefined;
}

function u64n(dv: DataView, off: number, file: string, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} ${v} is beyond 2^53`, { file, offset: off });
  return Number(v);
}

/** Reads the headers of an ELF64 little-endian executable or shared object. */
export function readExecutable(read: ReadAt, file: string): Executable {
  const eh = read(0, 64);
  if (eh.length < 4 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46) {
    throw new ElfError('not an ELF file (no \\x7fELF magic)', { file });
  }
  if (eh.length < 64 || eh[4] !== 2 || eh[5] !== 1) throw new ElfError(`only 64-bit little-endian ELF files can be probed (class ${eh[4]}, data ${eh[5]})`, { file });
  const dv = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const type = dv.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) throw new ElfError(`ELF type ${type} is neither an executable nor a shared object`, { file });
  const machine = dv.getUint16(18, true);
  const phoff = u64n(dv, 32, file, 'e_phoff'), shoff = u64n(dv, 40, file, 'e_shoff');
  const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true), shstrndx = dv.getUint16(62, true);

  const segments: ExecSegment[] = [];
  if (phnum > 0) {
    if (phentsize < 56) throw new ElfError(`program header entries of ${phentsize} bytes`, { file, offset: 54 });
    const ph = read(phoff, phnum * phentsize);
    if (ph.length < phnum * phentsize) throw new ElfError('program headers past the end of the file', { file, offset: phoff });
    const pv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (pv.getUint32(o, true) !== PT_LOAD) continue;
      segments.push({
        executable: (pv.getUint32(o + 4, true) & PF_X) !== 0,
        offset: u64n(pv, o + 8, file, 'p_offset'), vaddr: u64n(pv, o + 16, file, 'p_vaddr'),
        filesz: u64n(pv, o + 32, file, 'p_filesz'), memsz: u64n(pv, o + 40, file, 'p_memsz'),
      });
    }
  }

  const sections: ExecSection[] = [];
  if (shnum > 0 && shoff > 0) {
    if (shentsize < 64) throw new ElfError(`section header entries of ${shentsize} bytes`, { file, offset: 58 });
    const sh = read(shoff, shnum * shentsize);
    if (sh.length < shnum * shentsize) throw new ElfError('section headers past the end of the file', { file, offset: shoff });
    const sv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
    const raw = Array.from({ length: shnum }, (_, i) => {
      const o = i * shentsize;
      return {
        nameOff: sv.getUint32(o, true), type: sv.getUint32(o + 4, true), addr: u64n(sv, o + 16, file, 'sh_addr'),
        offset: u64n(sv, o + 24, file, 'sh_offset'), size: u64n(sv, o + 32, file, 'sh_size'),
        link: sv.getUint32(o + 40, true), entsize: u64n(sv, o + 56, file, 'sh_entsize'),
      };
    });
    const strs = shstrndx < shnum ? raw[shstrndx]! : undefined;
    const names = strs && strs.type !== SHT_NOBITS ? read(strs.offset, strs.size) : new Uint8Array(0);
    for (const s of raw) sections.push({ name: cstr(names, s.nameOff), type: s.type, addr: s.addr, offset: s.offset, size: s.size, link: s.link, entsize: s.entsize });
  }

  const segmentAt = (address: number): ExecSegment | undefined => segments.find((s) => address >= s.vaddr && address < s.vaddr + s.memsz);
  const fileOffset = (address: number): number | undefined => {
    const s = segmentAt(address);
    return s && address - s.vaddr + s.offset;
  };

  let funcs: ExecFunction[] | undefined;
  const functions = (): ExecFunction[] => {
    if (funcs) return funcs;
    const table = sections.find((s) => s.type === SHT_SYMTAB) ?? sections.find((s) => s.type === SHT_DYNSYM);
    funcs = [];
    if (!table || table.entsize < 24) return funcs;
    const strtab = sections[table.link];
    if (!strtab) throw new ElfError(`${table.name} links to section ${table.link}, which does not exist`, { file });
    const strBytes = read(strtab.offset, strtab.size);
    const symBytes = read(table.offset, table.size);
    const yv = new DataView(symBytes.buffer, symBytes.byteOffset, symBytes.byteLength);
    for (let o = 0; o + 24 <= symBytes.length; o += table.entsize) {
      const info = yv.getUint8(o + 4);
      const stt = info & 0xf;
      if (stt !== STT_FUNC && stt !== STT_GNU_IFUNC) continue;
      const shndx = yv.getUint16(o + 6, true);
      if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
      const address = u64n(yv, o + 8, file, 'st_value');
      const sec = sections[shndx];
      // libbpf: st_value - sh_addr + sh_offset of the symbol's section; the segment otherwise
      const offset = sec && address >= sec.addr && address < sec.addr + Math.max(sec.size, 1) ? address - sec.addr + sec.offset : fileOffset(address);
      if (offset === undefined) continue;
      funcs.push({ name: cstr(strBytes, yv.getUint32(o, true)), address, size: u64n(yv, o + 16, file, 'st_size'), offset, weak: info >> 4 === STB_WEAK, table: table.name });
    }
    return funcs;
  };

  return { file, kind: type === ET_EXEC ? 'exec' : 'dyn', machine, segments, sections, functions, segmentAt, fileOffset };
}

function cstr(b: Uint8Array, off: number): string {
  if (off >= b.length) return '';
  const z = b.indexOf(0, off);
  return Buffer.from(b.subarray(off, z < 0 ? b.length : z)).toString('latin1');
}

/** Does a symbol's name match `name`: exactly, or up to a version suffix (`malloc@@GLIBC_2.2.5`)? */
function nameMatches(symbol: string, name: string): boolean {
  if (symbol === name) return true;
  if (name.includes('@')) return false;
  return symbol.startsWith(name) && symbol[name.length] === '@';
}

/**
 * The function `name` of an executable, as libbpf picks it: several symbols of that name
 * at one address are one function; at different addresses a global one wins over weak
 * ones; two globals are ambiguous. Undefined when there is none.
 */
export function findFunction(exe: Executable, name: string): ExecFunction | undefined {
  let byName = found.get(exe);
  if (!byName) { byName = new Map(); found.set(exe, byName); }
  if (byName.has(name)) return byName.get(name);
  const f = pickFunction(exe, name);
  byName.set(name, f);
  return f;
}

/** Lookups already made, per executable (attaching the same probe again reads nothing). */
const found = new WeakMap<Executable, Map<string, ExecFunction | undefined>>();

function pickFunction(exe: Executable, name: string): ExecFunction | undefined {
  let best: ExecFunction | undefined;
  for (const f of exe.functions()) {
    if (!nameMatches(f.name, name)) continue;
    if (!best || best.offset === f.offset) { best ??= f; continue; }
    if (best.weak && !f.weak) { best = f; continue; }
    if (!best.weak && !f.weak) {
      throw new ElfError(`function '${name}' is defined twice (at file offsets 0x${best.offset.toString(16)} and 0x${f.offset.toString(16)}): give an offset instead`, { file: exe.file, symbol: name });
    }
  }
  return best;
}

/** Functions whose name matches a glob pattern (`*` and `?`), one per file offset (uprobe.multi). */
export function matchFunctions(exe: Executable, pattern: string): ExecFunction[] {
  const re = globRegExp(pattern);
  const seen = new Set<number>();
  const out: ExecFunction[] = [];
  for (const f of exe.functions()) {
    const bare = f.name.split('@')[0]!;
    if (!re.test(bare) || seen.has(f.offset)) continue;
    seen.add(f.offset);
    out.push(f);
  }
  return out;
}

/** A shell glob (`*`, `?`) as a whole-string RegExp. */
export function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}
