/**
 * loadCollectionSpec: bytes of a clang-compiled BPF object -> CollectionSpec.
 * Pure: no syscalls; the only I/O is reading the file when given a path.
 */
import { Btf, checkBtfExt, parseBtfExt } from '../btf/index.js';
import type { BtfExt } from '../btf/types.js';
import { parseElf } from '../elf/index.js';
import type { ElfFile, ElfSection } from '../elf/types.js';
import { SHN_UNDEF, STB_LOCAL, STB_WEAK, STT_FUNC, STT_SECTION } from '../elf/types.js';
import { SpecError, TsbpfError } from '../errors.js';
import { readObjectFile } from '../elf/read-file.js';
import { parseBtfMapDef } from './btf-maps.js';
import { ByName } from './by-name.js';
import { sortByKey } from './order.js';
import { collectFunctions, isExecSection, relocateFunctions, type Func, type SymbolResolver } from './functions.js';
import { collectDataMaps, collectKconfigMap, collectLegacyMaps } from './data-maps.js';
import { callOrder, linkFunctions, type LinkedProgram } from './calls.js';
import { fixupDatasecs, staticHiddenFuncs } from './btf-fixup.js';
import { attachTarget, programSectionDef } from './sections.js';
import { addStructOpsProgram, collectStructOpsMaps, structOpsSections } from './struct-ops.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from './types.js';
import type { AttachTypeName, ProgTypeName } from '../kernel/enums.js';

const BPF_F_SLEEPABLE = 1 << 4;
const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** A map defined inside a map section, with its byte range. */
interface MapRange { name: string; offset: number; size: number; values?: { offset: number; holds: 'program' | 'map' }; structOps?: true }

export interface LoadSpecOptions {
  /** Name used in error messages when parsing bytes (default '<buffer>'). */
  file?: string;
}

/** What loadCollectionSpec reads: a path, or the object's bytes (Buffer, any typed array, DataView, ArrayBuffer). */
export type ObjectInput = string | ArrayBufferView | ArrayBufferLike;

function readObject(input: ObjectInput, opts: LoadSpecOptions): { bytes: Uint8Array; file: string } {
  const file = typeof input === 'string' ? input : opts.file ?? '<buffer>';
  if (input instanceof Uint8Array) return { bytes: input, file };
  if (ArrayBuffer.isView(input)) return { bytes: new Uint8Array(input.buffer, input.byteOffset, input.byteLength), file };
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) return { bytes: new Uint8Array(input), file };
  if (typeof input !== 'string') {
    const what = input === null ? 'null' : typeof input === 'object' ? `a ${(input as object).constructor?.name ?? 'object'}` : typeof input;
    throw new SpecError(`loadCollectionSpec takes a path or the object's bytes (Uint8Array, Buffer, ArrayBuffer or another ArrayBufferView), not ${what}`, { file });
  }
  try {
    return { bytes: readObjectFile(input), file };
  } catch (e) {
    throw new SpecError(`cannot read object: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** The last license text read and its bytes: most objects of a process share one ('GPL', 'Dual BSD/GPL'). */
let lastLicense = { bytes: new Uint8Array(0), text: '' };

/** The `license` section's text, up to its first NUL (latin1). */
function licenseText(data: Uint8Array): string {
  let end = data.indexOf(0);
  if (end < 0) end = data.length;
  // the same bytes as the last object's give its string: a Buffer and a native decode cost
  // ~0.4 us, a few percent of a small object's open
  const last = lastLicense;
  if (last.bytes.length === end) {
    let i = 0;
    while (i < end && last.bytes[i] === data[i]) i++;
    if (i === end) return last.text;
  }
  const text = Buffer.from(data.buffer, data.byteOffset, end).toString('latin1');
  // a copy, also of a Buffer (whose slice is a view): the input may be rewritten after the parse
  if (end <= MAX_CACHED_LICENSE) lastLicense = { bytes: new Uint8Array(data.subarray(0, end)), text };
  return text;
}
const MAX_CACHED_LICENSE = 64;

/**
 * Reads a BPF object (path or bytes) into an editable CollectionSpec. Throws TsbpfError
 * for anything malformed. Everything is checked here, but only what open needs is made:
 * a program's instructions and .BTF.ext records are decoded when first read (as the
 * spec's Btf decodes types), from views into `input`, so bytes handed in must not change
 * while the spec is in use.
 */
export function loadCollectionSpec(input: ObjectInput, opts: LoadSpecOptions = {}): CollectionSpec {
  const { bytes, file } = readObject(input, opts);
  try {
    return buildSpec(parseElf(bytes, file));
  } catch (e) {
    if (e instanceof TsbpfError) throw TsbpfError.wrap(e, { file });
    // Anything else is a bug in tsbpf; surface it as a TsbpfError that says so.
    throw new SpecError(`internal error while reading the object: ${(e as Error)?.message ?? e}`, { file }, { cause: e });
  }
}

function buildSpec(elf: ElfFile): CollectionSpec {
  const file = elf.file;
  const warnings: string[] = [];

  const btfSec = elf.sectionByName('.BTF');
  const btf = btfSec && btfSec.size > 0 ? Btf.parse(btfSec.data, { file, section: '.BTF' }) : undefined;
  const extSec = elf.sectionByName('.BTF.ext');
  // .BTF.ext is checked now and its records made when the first program is linked
  let readExt: () => BtfExt | undefined = () => undefined;
  if (extSec && extSec.size > 0) {
    if (!btf) throw new SpecError('object has .BTF.ext but no .BTF', { file, section: '.BTF.ext' });
    checkBtfExt(extSec.data, btf, { file });
    let ext: BtfExt | undefined;
    readExt = () => ext ??= parseBtfExt(extSec.data, btf, { file });
  }

  const licSec = elf.sectionByName('license');
  const license = licSec ? licenseText(licSec.data) : '';
  const verSec = elf.sectionByName('version');
  let kernelVersion = 0;
  if (verSec) {
    if (verSec.size !== 4) throw new SpecError(`'version' section must be 4 bytes, not ${verSec.size}`, { file, section: 'version' });
    kernelVersion = new DataView(verSec.data.buffer, verSec.data.byteOffset, 4).getUint32(0, true);
  }

  // ---- maps ----
  const maps = new Map<string, MapSpec>();
  const ranges = new Map<ElfSection, MapRange[]>();
  const addMap = (m: MapSpec, ctx: { section: string; offset?: number }) => {
    if (maps.has(m.name)) throw new SpecError(`map '${m.name}' is defined twice`, { file, ...ctx, symbol: m.name });
    maps.set(m.name, m);
  };

  const btfMapsSec = elf.sectionByName('.maps');
  if (btfMapsSec && btfMapsSec.size > 0) {
    if (!btf) throw new SpecError('.maps section needs BTF to be understood: compile with -g', { file, section: '.maps' });
    const ds = btf.datasecByName('.maps');
    if (!ds) throw new SpecError('BTF has no DATASEC for .maps', { file, section: '.maps' });
    const list: MapRange[] = [];
    const symbols = new ByName(elf.symbolsIn(btfMapsSec.index), 'first');
    for (const v of ds.vars) {
      const vt = btf.typeById(v.type);
      if (vt.kind !== 'var') throw new SpecError(`.maps DATASEC entry is a ${vt.kind}, expected a VAR`, { file, section: '.maps', typeId: v.type });
      const sym = symbols.get(vt.name);
      const offset = sym ? sym.value : v.offset;
      const size = sym && sym.size > 0 ? sym.size : v.size;
      const ctx = { file, section: '.maps', offset };
      if (offset + size > btfMapsSec.size) throw new SpecError(`map '${vt.name}' (offset ${offset}, size ${size}) runs past the end of .maps (${btfMapsSec.size} bytes)`, { ...ctx, symbol: vt.name });
      const def = parseBtfMapDef(btf, vt.type, vt.name, ctx);
      addMap(def.spec, ctx);
      list.push({ name: vt.name, offset, size, values: def.values });
    }
    ranges.set(btfMapsSec, list);
  }
  const legacySec = elf.sectionByName('maps');
  if (legacySec && legacySec.size > 0) {
    const list: MapRange[] = [];
    for (const { spec, offset, size } of collectLegacyMaps(elf, legacySec)) {
      addMap(spec, { section: 'maps', offset });
      list.push({ name: spec.name, offset, size });
    }
    ranges.set(legacySec, list);
  }
  for (const sec of structOpsSections(elf)) {
    const list: MapRange[] = [];
    for (const { spec, offset, size } of collectStructOpsMaps(elf, sec, btf)) {
      addMap(spec, { section: sec.name, offset });
      list.push({ name: spec.name, offset, size, structOps: true });
    }
    ranges.set(sec, list);
  }
  const dataMaps = collectDataMaps(elf, btf);
  for (const m of dataMaps.values()) addMap(m, { section: m.section });
  const kconfig = collectKconfigMap(btf, file, elf);
  if (kconfig) addMap(kconfig, { section: '.kconfig' });
  if (btf) fixupDatasecs(btf, elf, kconfig);

  // ---- functions and their relocations ----
  const funcs = collectFunctions(elf);
  if (btf) staticHiddenFuncs(btf, funcs);
  let finders: Map<readonly MapRange[], (offset: number) => MapRange | undefined> | undefined; // made on the first map reference
  const resolver: SymbolResolver = {
    mapAt(section, offset) {
      const list = ranges.get(section);
      if (!list) return undefined;
      finders ??= new Map();
      let find = finders.get(list);
      if (!find) finders.set(list, find = rangeFinder(list, 1));
      const r = find(offset);
      if (!r) throw new SpecError(`reference to offset ${offset} of ${section.name}, where no map is defined`, { file, section: section.name, offset });
      return r.name;
    },
    dataMap(section) {
      const m = dataMaps.get(section.name);
      return m?.name;
    },
    externRef(sym) {
      const v = kconfig?.variables?.get(sym.name);
      if (v) return { kind: 'map', name: '.kconfig', value: true, offset: v.offset };
      return { kind: 'extern', name: sym.name, ...(sym.bind === STB_WEAK ? { weak: true } : {}) };
    },
  };
  relocateFunctions(elf, funcs, resolver);

  // ---- programs ----
  const programs = new Map<string, ProgramSpec>();
  let untyped: Map<string, string[]> | undefined; // made on the first program without a type
  for (const f of funcs.values()) {
    const sec = f.section;
    if (sec.name === '.text') continue;
    const info = programSection(sec.name);
    // A section no table knows: the program is kept without a type, as libbpf keeps it.
    if (info.type === undefined) (untyped ??= new Map()).set(sec.name, [...(untyped.get(sec.name) ?? []), f.name]);
    if (f.bind === STB_LOCAL) {
      throw new SpecError(`program '${f.name}' is static: libbpf (and tsbpf) need programs to be global functions`, { file, section: sec.name, symbol: f.name, offset: f.slot * 8 });
    }
    // which functions the program is made of is decided (and checked) now; the
    // instructions and records are made when first read
    const order = callOrder(f, funcs, file);
    let linked: LinkedProgram | undefined;
    const link = () => linked ??= linkFunctions(order, readExt(), file);
    const p = lazyProgram({
      name: f.name, section: info.section, type: info.type, flags: info.flags, sleepable: info.sleepable, autoload: info.autoload,
    }, order.length === 1 ? [] : order.slice(1).map((g) => g.name), license, kernelVersion, link);
    if (info.attachType !== undefined) p.attachType = info.attachType;
    if (info.target !== undefined) p.attachTo = info.target;
    if (btf) p.btf = btf;
    programs.set(f.name, p);
  }
  for (const [sec, names] of untyped ?? []) {
    warnings.push(`section '${sec}': no program type is known for this section name; ${names.map((n) => `'${n}'`).join(', ')} ${names.length > 1 ? 'are' : 'is'} kept without a type, and loading fails (as with libbpf) unless one is set first: ProgramSpec.type, or --type PROG=TYPE in the CLI`);
  }
  for (const sec of elf.sections) {
    if (isExecSection(sec) && !hasFunction(funcs, sec)) {
      warnings.push(`section '${sec.name}' has code but no function symbols; it is skipped`);
    }
  }

  // ---- statically initialised slots ----
  fillContents(elf, ranges, maps, programs, funcs, btf);

  return { file, maps, programs, license, kernelVersion, btf, warnings };
}

/**
 * Whether a function of `funcs` is in `sec`. Asked once per code section (a few per
 * object): a scan of the functions costs less than a Set of their sections.
 */
function hasFunction(funcs: Map<string, Func>, sec: ElfSection): boolean {
  for (const f of funcs.values()) if (f.section === sec) return true;
  return false;
}

/** What a program's section name makes of it: the ProgramSpec fields it decides. */
interface ProgramSection {
  /** The name without a leading '?'. */
  section: string;
  type: ProgTypeName | undefined;
  attachType: AttachTypeName | undefined;
  /** BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS */
  flags: number;
  sleepable: boolean;
  /** a leading '?' turns autoload off whatever follows it (libbpf strips it first) */
  autoload: boolean;
  /** attachTarget: the text after the pattern's '/', undefined when there is none or it is empty */
  target: string | undefined;
}

/** programSection's answers per section name (one shape, read per program); bounded, as names come from input. */
const programSections = new Map<string, ProgramSection>();
const PROGRAM_SECTIONS_MAX = 1024;

function programSection(name: string): ProgramSection {
  let info = programSections.get(name);
  if (info) return info;
  const def = programSectionDef(name);
  info = Object.freeze({
    section: name.startsWith('?') ? name.slice(1) : name,
    type: def?.progType,
    attachType: def?.attachType,
    flags: def ? (def.sleepable ? BPF_F_SLEEPABLE : 0) | (def.xdpFrags ? BPF_F_XDP_HAS_FRAGS : 0) : 0,
    sleepable: def?.sleepable ?? false,
    autoload: !name.startsWith('?'),
    target: attachTarget(name) || undefined, // 'kprobe/' names no target: no attachTo, as before the cache
  });
  if (programSections.size >= PROGRAM_SECTIONS_MAX) programSections.clear();
  programSections.set(name, info);
  return info;
}

type ListKey = 'instructions' | 'funcInfo' | 'lineInfo' | 'coreRelos';

/** A constructor that returns the object it is given: a subclass's fields are then defined on that object. */
class Given { constructor(o: object) { return o; } }

/**
 * Where a ProgramSpec's list accessors find the linked program: a private field stamped on
 * the plain ProgramSpec object (its prototype stays Object.prototype) by `new
 * ProgramLink(p, link)`, invisible to spread, JSON, Object.keys and copySpec. A store of a
 * private field is an ordinary property add; the non-enumerable symbol property it
 * replaces took a defineProperty call (~0.2 us) per program.
 */
class ProgramLink extends Given {
  #link: () => LinkedProgram;
  constructor(p: ProgramSpec, link: () => LinkedProgram) { super(p); this.#link = link; }

  /**
   * An own, enumerable accessor for one of the lists a program makes when first read. The
   * getter and setter are made once and shared by every ProgramSpec: accessors written in
   * the object literal made new functions for every program, which V8 cannot share a hidden
   * class over (each program became a dictionary-mode object) and which kept each object's
   * whole parse alive through the scavenges until a full GC (a third of open's time was GC).
   */
  static accessor(key: ListKey): PropertyDescriptor {
    return {
      enumerable: true, configurable: true,
      get(this: ProgramLink) { return this.#link()[key]; },
      set(this: ProgramLink, v: never) { this.#link()[key] = v; },
    };
  }
}
const INSTRUCTIONS = ProgramLink.accessor('instructions'), FUNC_INFO = ProgramLink.accessor('funcInfo');
const LINE_INFO = ProgramLink.accessor('lineInfo'), CORE_RELOS = ProgramLink.accessor('coreRelos');

/** A ProgramSpec whose instructions and records come from `link` when first read (keys in the order of ProgramSpec). */
function lazyProgram(
  head: Pick<ProgramSpec, 'name' | 'section' | 'type' | 'flags' | 'sleepable' | 'autoload'>,
  subprograms: string[], license: string, kernelVersion: number, link: () => LinkedProgram,
): ProgramSpec {
  const p = head as ProgramSpec;
  new ProgramLink(p, link);
  Object.defineProperty(p, 'instructions', INSTRUCTIONS);
  p.subprograms = subprograms;
  p.license = license;
  p.kernelVersion = kernelVersion;
  Object.defineProperty(p, 'funcInfo', FUNC_INFO);
  Object.defineProperty(p, 'lineInfo', LINE_INFO);
  Object.defineProperty(p, 'coreRelos', CORE_RELOS);
  return p;
}

/** Up to this many map ranges in a section, rangeFinder searches them in order. */
const LINEAR_RANGES = 8;

/**
 * The first range of `list` (in list order) that holds byte `offset`, a range being at
 * least `minSize` bytes. By binary search over the ranges sorted by offset when there
 * are more than a few and none overlap (so that the relocations of a 1,000-slot prog
 * array, or 1,000 programs' map references, are not quadratic); a linear search otherwise
 * (most objects: no sorted copy).
 */
function rangeFinder(list: readonly MapRange[], minSize: number): (offset: number) => MapRange | undefined {
  const size = (m: MapRange) => Math.max(m.size, minSize);
  const linear = (offset: number): MapRange | undefined => {
    for (const m of list) if (offset >= m.offset && offset < m.offset + size(m)) return m;
    return undefined;
  };
  if (list.length <= LINEAR_RANGES) return linear;
  const sorted = sortByKey([...list], (m) => m.offset);
  if (!sorted.every((m, i) => i === 0 || sorted[i - 1]!.offset + size(sorted[i - 1]!) <= m.offset)) return linear;
  return (offset) => {
    let lo = 0, hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]!.offset <= offset) lo = mid + 1; else hi = mid;
    }
    const m = sorted[lo - 1];
    return m && offset < m.offset + size(m) ? m : undefined;
  };
}

/** Where an error about a map's relocation points (made only for an error or a struct_ops member: not per relocation). */
function where(file: string, section: string, symbol: string, offset: number): { file: string; section: string; symbol: string; offset: number } {
  return { file, section, symbol, offset };
}

function fillContents(
  elf: ElfFile, ranges: Map<ElfSection, MapRange[]>, maps: Map<string, MapSpec>,
  programs: Map<string, ProgramSpec>, funcs: Map<string, Func>, btf: Btf | undefined,
): void {
  const file = elf.file;
  let filled: Map<MapSpec, Set<unknown>> | undefined; // slots set so far, per map (made on the first slot)
  for (const rs of elf.relocations) {
    const list = ranges.get(rs.target);
    if (!list) continue;
    const find = rangeFinder(list, 0);
    const section = rs.target.name;
    for (const rel of rs.entries) {
      const sym = elf.symbols[rel.symbol]!;
      const range = find(rel.offset);
      if (!range) throw new SpecError(`relocation against '${sym.name}' outside of any map definition`, { file, section, offset: rel.offset });
      const map = maps.get(range.name)!;
      if (range.structOps) {
        addStructOpsProgram(elf, btf!, map, rel.offset - range.offset, sym, programs, funcs, where(file, section, range.name, rel.offset));
        continue;
      }
      if (!range.values) throw new SpecError(`map '${range.name}': relocation against '${sym.name}' inside the definition; only __array(values) slots can be initialised`, where(file, section, range.name, rel.offset));
      const rel0 = rel.offset - range.offset - range.values.offset;
      if (rel0 < 0) throw new SpecError(`map '${range.name}': relocation against '${sym.name}' lies before the 'values' member`, where(file, section, range.name, rel.offset));
      if (rel0 % 8 !== 0) throw new SpecError(`map '${range.name}': relocation against '${sym.name}' at byte ${rel0} of 'values' is not on an 8-byte slot boundary`, where(file, section, range.name, rel.offset));
      const slot = rel0 / 8;
      if (slot >= map.maxEntries) throw new SpecError(`map '${range.name}': .values slot ${slot} (-> '${sym.name}') is at or beyond max_entries ${map.maxEntries}`, where(file, section, range.name, rel.offset));
      let value: string;
      if (range.values.holds === 'program') {
        const sec = sym.shndx !== SHN_UNDEF && sym.shndx < elf.sections.length ? elf.sections[sym.shndx]! : undefined;
        if (sym.type === STT_FUNC && sec?.name === '.text') throw new SpecError(`map '${range.name}': slot ${slot} points at '${sym.name}', a subprogram in .text, not a program`, where(file, section, range.name, rel.offset));
        if (!programs.has(sym.name)) {
          const why = funcs.has(sym.name) ? `a function in a section that is not a program (${sec?.name})` : 'a symbol in no program';
          throw new SpecError(`map '${range.name}': slot ${slot} points at '${sym.name}', ${why}`, where(file, section, range.name, rel.offset));
        }
        value = sym.name;
      } else {
        const inner = sym.shndx < elf.sections.length ? ranges.get(elf.sections[sym.shndx]!)?.find((m) => m.offset === sym.value) : undefined;
        if (!inner || sym.type === STT_SECTION) throw new SpecError(`map '${range.name}': slot ${slot} points at '${sym.name}', which is not a map in .maps`, where(file, section, range.name, rel.offset));
        value = inner.name;
      }
      map.contents ??= [];
      filled ??= new Map();
      let slots = filled.get(map);
      if (!slots) filled.set(map, slots = new Set(map.contents.map((c) => c.key)));
      if (slots.has(slot)) throw new SpecError(`map '${range.name}': slot ${slot} is initialised twice`, where(file, section, range.name, rel.offset));
      map.contents.push({ key: slot, value });
      slots.add(slot);
    }
  }
  for (const map of maps.values()) {
    if (!map.contents) continue;
    sortByKey(map.contents, (c) => c.key);
    if (map.type !== 'prog_array') continue;
    const first = map.contents[0];
    if (!first) continue;
    const owner = programs.get(first.value)!;
    for (const c of map.contents) {
      const p = programs.get(c.value)!;
      // a program without a type gets one before load; the loader checks the array again then
      if (p.type === undefined || owner.type === undefined) continue;
      if (p.type !== owner.type) {
        throw new SpecError(
          `prog array '${map.name}': slot ${c.key} holds '${p.name}' of type ${p.type}, but slot ${first.key} holds '${owner.name}' of type ${owner.type}; a prog array only takes programs of one type`,
          { file, section: '.maps', symbol: map.name },
        );
      }
    }
  }
}

