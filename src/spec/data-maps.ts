/**
 * Maps that come from sections rather than from `.maps`: global data (.data*, .rodata*,
 * .bss*), the `.kconfig` externs, and iproute2-style legacy `maps` definitions.
 */
import type { Btf } from '../btf/index.js';
import type { BtfType } from '../btf/types.js';
import type { ElfFile, ElfSection } from '../elf/types.js';
import { SHF_EXECINSTR, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, STB_LOCAL, STB_WEAK } from '../elf/types.js';
import { SpecError, TsbpfError } from '../errors.js';
import { TypeWalk } from '../btf/walk.js';
import { MAP_TYPE_NAMES } from '../kernel/enums.js';
import type { DataVariable, MapSpec } from './types.js';

const BPF_F_RDONLY_PROG = 1 << 7;
/** libbpf marks global data maps mmapable (kernel 5.5+); the loader drops it where unsupported. */
const BPF_F_MMAPABLE = 1 << 10;
/** Largest global data section accepted (the kernel caps array values far lower unless mmapable). */
const MAX_DATA_SECTION = 256 << 20;

/** `base` or `base.*` (no string is made: this runs for every section). */
function hasPrefix(name: string, base: string): boolean {
  return name.startsWith(base) && (name.length === base.length || name.charCodeAt(base.length) === DOT);
}
const DOT = 0x2e;
const LETTER_A = 0x61, LETTER_O = 0x6f, LETTER_S = 0x73;

/** libbpf's rule: .data / .data.* and .rodata / .rodata.* with bytes, .bss / .bss.* without. */
export function dataSectionKind(s: ElfSection): 'data' | 'rodata' | 'bss' | undefined {
  if (s.size === 0 || (s.flags & SHF_EXECINSTR) !== 0) return undefined;
  // every section of every object passes here, half of them .debug_* (PROGBITS): the
  // third character of '.data', '.rodata', '.bss' ('a', 'o', 's') first
  const c = s.name.charCodeAt(2);
  if (c !== LETTER_A && c !== LETTER_O && c !== LETTER_S) return undefined;
  if (s.type === SHT_PROGBITS) {
    if (hasPrefix(s.name, '.data')) return 'data';
    if (hasPrefix(s.name, '.rodata')) return 'rodata';
  }
  if (s.type === SHT_NOBITS && hasPrefix(s.name, '.bss')) return 'bss';
  return undefined;
}

function linkageName(l: number): DataVariable['linkage'] {
  return l === 0 ? 'static' : l === 2 ? 'extern' : 'global';
}

/** One array map per global data section, keyed by section name. */
export function collectDataMaps(elf: ElfFile, btf: Btf | undefined): Map<string, MapSpec> {
  const out = new Map<string, MapSpec>();
  for (const sec of elf.sections) {
    const kind = dataSectionKind(sec);
    if (!kind) continue;
    if (sec.size > MAX_DATA_SECTION) {
      throw new SpecError(`data section is ${sec.size} bytes; tsbpf supports global data sections up to ${MAX_DATA_SECTION} bytes`, { file: elf.file, section: sec.name });
    }
    const data = kind === 'bss' ? new Uint8Array(sec.size) : sec.data.slice();
    const variables = new Map<string, DataVariable>();
    const ds = btf?.datasecByName(sec.name);
    const symbols = elf.symbolsIn(sec.index);
    if (btf && ds) {
      for (const v of ds.vars) {
        const vt = btf.typeById(v.type);
        if (vt.kind !== 'var') throw new SpecError(`DATASEC ${sec.name} entry is a ${vt.kind}, expected a VAR`, { file: elf.file, section: sec.name, typeId: v.type });
        const sym = symbols.find((s) => s.name === vt.name);
        const offset = sym ? sym.value : v.offset;
        const size = v.size || (sym?.size ?? 0);
        if (offset + size > sec.size) throw new SpecError(`variable '${vt.name}' (offset ${offset}, size ${size}) runs past the end of ${sec.name}`, { file: elf.file, section: sec.name, symbol: vt.name });
        variables.set(vt.name, { name: vt.name, offset, size, type: vt.type, linkage: linkageName(vt.linkage) });
      }
    } else {
      for (const s of symbols) {
        if (s.name.startsWith('.L')) continue;
        variables.set(s.name, { name: s.name, offset: s.value, size: s.size, type: 0, linkage: s.bind === STB_LOCAL ? 'static' : 'global' });
      }
    }
    const m: MapSpec = {
      name: sec.name, type: 'array', keySize: 4, valueSize: sec.size, maxEntries: 1,
      flags: BPF_F_MMAPABLE | (kind === 'rodata' ? BPF_F_RDONLY_PROG : 0), numaNode: 0, pinning: 0, mapExtra: 0n,
      keyType: 0, valueType: ds?.id ?? 0, kind: 'data', section: sec.name, autocreate: true, data, variables,
    };
    if (kind === 'rodata') m.readOnly = true;
    out.set(sec.name, m);
  }
  return out;
}

/**
 * Alignment of a type as the C compiler lays it out (libbpf's btf__align_of), memoised
 * per call site: a struct's is the largest of its members'. A type that contains itself
 * is a BtfError (TypeWalk), never a walk of ~members^depth steps.
 */
function alignOf(btf: Btf, id: number, memo: Map<number, number>, walk: TypeWalk): number {
  const rid = btf.resolve(id);
  const known = memo.get(rid);
  if (known !== undefined) return known;
  const t: BtfType = btf.typeById(rid);
  let a: number;
  switch (t.kind) {
    case 'int': case 'enum': case 'enum64': case 'float': a = Math.min(t.size, 8) || 1; break;
    case 'ptr': a = 8; break;
    case 'array': a = walk.within(rid, () => alignOf(btf, t.type, memo, walk)); break;
    case 'struct': case 'union':
      a = walk.within(rid, () => t.members.reduce((max, m) => Math.max(max, alignOf(btf, m.type, memo, walk)), 1));
      break;
    default: a = 1;
  }
  memo.set(rid, a);
  return a;
}

/** The largest .kconfig extern taken (a CONFIG_ string value); a damaged type can claim gigabytes. */
const MAX_KCONFIG_SIZE = 4096;

/**
 * The `.kconfig` map: externs of DATASEC .kconfig laid out as libbpf does
 * (cmp_externs: alignment descending, then size ascending, then name; each aligned).
 */
export function collectKconfigMap(btf: Btf | undefined, file: string, elf?: ElfFile): MapSpec | undefined {
  const ds = btf?.datasecByName('.kconfig');
  if (!btf || !ds || ds.vars.length === 0) return undefined;
  const memo = new Map<number, number>();
  const ext = ds.vars.map((v) => {
    const vt = btf.typeById(v.type);
    if (vt.kind !== 'var') throw new SpecError(`DATASEC .kconfig entry is a ${vt.kind}, expected a VAR`, { file, section: '.kconfig', typeId: v.type });
    const size = btf.sizeof(vt.type);
    // libbpf takes bool, tristate, char, integers and char arrays (strings) here
    if (!(size >= 1 && size <= MAX_KCONFIG_SIZE)) throw new SpecError(`.kconfig extern '${vt.name}' is ${size} bytes: not a kconfig value (bool, tristate, integer or string up to ${MAX_KCONFIG_SIZE} bytes)`, { file, section: '.kconfig', symbol: vt.name, typeId: v.type });
    const walk = new TypeWalk(`alignment of .kconfig extern '${vt.name}'`);
    let align: number;
    try { align = alignOf(btf, vt.type, memo, walk); } catch (e) { throw TsbpfError.wrap(e, { file, section: '.kconfig', symbol: vt.name }); }
    return { name: vt.name, type: vt.type, size, align, linkage: vt.linkage };
  });
  ext.sort((a, b) => (b.align - a.align) || (a.size - b.size) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const variables = new Map<string, DataVariable>();
  let off = 0;
  for (const e of ext) {
    off = Math.ceil(off / e.align) * e.align;
    const weak = elf?.symbols.some((s) => s.name === e.name && s.shndx === SHN_UNDEF && s.bind === STB_WEAK) ?? false;
    variables.set(e.name, { name: e.name, offset: off, size: e.size, type: e.type, linkage: 'extern', ...(weak ? { weak } : {}) });
    off += e.size;
  }
  return {
    name: '.kconfig', type: 'array', keySize: 4, valueSize: off, maxEntries: 1, flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG,
    numaNode: 0, pinning: 0, mapExtra: 0n, keyType: 0, valueType: ds.id, kind: 'data', section: '.kconfig', autocreate: true,
    data: new Uint8Array(off), variables, readOnly: true,
  };
}

/** sizeof(struct bpf_map_def): type, key_size, value_size, max_entries, map_flags (u32 each). */
export const LEGACY_MAP_DEF_SIZE = 20;

/**
 * iproute2 / legacy `SEC("maps")` definitions: struct bpf_map_def { u32 type, key_size,
 * value_size, max_entries, map_flags; } (iproute2's bpf_elf_map adds id, pinning,
 * inner_id, inner_idx: kept as `extra`, refused at load when non-zero in any other size).
 * libbpf 1.x refuses these; cilium/ebpf loads them.
 */
export function collectLegacyMaps(elf: ElfFile, sec: ElfSection): Array<{ spec: MapSpec; offset: number; size: number }> {
  if (sec.type === SHT_NOBITS) throw new SpecError('legacy maps section has no bytes (NOBITS)', { file: elf.file, section: sec.name });
  const syms = [...elf.symbolsIn(sec.index)].sort((a, b) => a.value - b.value);
  if (syms.length === 0) throw new SpecError('legacy maps section has no map symbols', { file: elf.file, section: sec.name });
  const even = Math.floor(sec.size / syms.length);
  const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  return syms.map((s) => {
    const size = s.size > 0 ? s.size : even;
    const ctx = { file: elf.file, section: sec.name, symbol: s.name, offset: s.value };
    if (size < LEGACY_MAP_DEF_SIZE) throw new SpecError(`legacy map '${s.name}' is ${size} bytes, smaller than struct bpf_map_def (${LEGACY_MAP_DEF_SIZE})`, ctx);
    // the bytes there are (a damaged header can claim more than the file holds)
    const have = Math.min(sec.size, sec.data.length);
    if (s.value + size > have) throw new SpecError(`legacy map '${s.name}' (offset ${s.value}, size ${size}) runs past the end of the section (${have} bytes)`, ctx);
    const u32 = (i: number) => dv.getUint32(s.value + i * 4, true);
    const typeNum = u32(0);
    const type = MAP_TYPE_NAMES[typeNum];
    if (type === undefined) throw new SpecError(`legacy map '${s.name}' has unknown map type ${typeNum}`, ctx);
    const spec: MapSpec = {
      name: s.name, type, keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4),
      numaNode: 0, pinning: 0, mapExtra: 0n, keyType: 0, valueType: 0, kind: 'legacy', section: sec.name, autocreate: true,
    };
    if (size > LEGACY_MAP_DEF_SIZE) {
      spec.extra = new Uint8Array(sec.data.subarray(s.value + LEGACY_MAP_DEF_SIZE, s.value + size));
      spec.extraOffset = s.value + LEGACY_MAP_DEF_SIZE;
    }
    return { spec, offset: s.value, size };
  });
}
