/**
 * struct_ops maps, as libbpf reads them (init_struct_ops_maps and
 * bpf_object__collect_st_ops_relos in libbpf.c):
 *  - every VAR of DATASEC `.struct_ops` / `.struct_ops.link` is one map of type
 *    struct_ops, named after the variable: key 4 bytes, one entry, the variable's struct
 *    as the value (a named STRUCT after typedefs / modifiers), BPF_F_LINK for `.link`;
 *  - `?.struct_ops` / `?.struct_ops.link` (libbpf 1.4+) are the same with autocreate off:
 *    "SEC("?.struct_ops") means map is not created by default", as a leading '?' means
 *    autoload off for programs; the '?' is then forgotten (`.link` decides BPF_F_LINK);
 *  - each R_BPF_64_ABS64 of `.rel.struct_ops*` / `.rel?.struct_ops*` sets the function
 *    pointer at its offset (the member starting exactly there, which must be a pointer
 *    to a FUNC_PROTO) to the program whose symbol it names (a struct_ops program);
 *  - a program may serve several maps. libbpf (since 1.4) checks at load, and only for
 *    the maps it creates, that they all need the same kernel struct and member of it
 *    (attach_btf_id / expected_attach_type): a program may be `undo_cwnd` in one map and
 *    `ssthresh` in another as long as only one of the two is created. Reading accepts
 *    it; the loader checks it (load/struct-ops.ts structOpsAttach);
 *  - which struct_ops programs load follows which maps are created (libbpf's
 *    bpf_object_adjust_struct_ops_autoload): see structOpsAutoload.
 */
import type { Btf } from '../btf/index.js';
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/types.js';
import { SHN_LORESERVE, SHN_UNDEF } from '../elf/types.js';
import { SpecError } from '../errors.js';
import { essentialName } from '../core/names.js';
import type { Func } from './functions.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from './types.js';

export const STRUCT_OPS_SEC = '.struct_ops';
export const STRUCT_OPS_LINK_SEC = '.struct_ops.link';
/** BPF_F_LINK (include/uapi/linux/bpf.h). */
export const BPF_F_LINK = 1 << 13;

/** The struct_ops section names libbpf knows (bpf_object__elf_collect). */
export const STRUCT_OPS_SECTIONS: readonly string[] = [STRUCT_OPS_SEC, STRUCT_OPS_LINK_SEC, `?${STRUCT_OPS_SEC}`, `?${STRUCT_OPS_LINK_SEC}`];

/** The shortest and longest of the four names ('.struct_ops', '?.struct_ops.link'). */
const STRUCT_OPS_MIN = STRUCT_OPS_SEC.length, STRUCT_OPS_MAX = STRUCT_OPS_LINK_SEC.length + 1;
const LETTER_S = 0x73;

/** The struct_ops sections of the object. */
export function structOpsSections(elf: ElfFile): ElfSection[] {
  const out: ElfSection[] = [];
  // Every section of every object passes here, each name a string made by this parse: a
  // Set lookup hashes it (reads every character, ~3% of a small object's open); a name
  // of another length is not compared at all.
  for (const s of elf.sections) {
    const n = s.name, l = n.length;
    if (l < STRUCT_OPS_MIN || l > STRUCT_OPS_MAX) continue;
    // '.s' or '?.s' ('.debug_info', '.rel.debug_*', '.llvm_addrsig' have these lengths too)
    if (n.charCodeAt(1) !== LETTER_S && n.charCodeAt(2) !== LETTER_S) continue;
    if (STRUCT_OPS_SECTIONS.includes(n)) out.push(s);
  }
  return out;
}

/** One map per variable of a struct_ops section, with its byte range in the section. */
export function collectStructOpsMaps(elf: ElfFile, sec: ElfSection, btf: Btf | undefined): Array<{ spec: MapSpec; offset: number; size: number }> {
  const file = elf.file;
  const ctx = { file, section: sec.name };
  // SEC("?.struct_ops*"): not created by default; from now on the '?' is forgotten
  const optional = sec.name.startsWith('?');
  const link = (optional ? sec.name.slice(1) : sec.name) === STRUCT_OPS_LINK_SEC;
  if (!btf) throw new SpecError(`${sec.name} needs BTF to be understood: compile with -g`, ctx);
  const ds = btf.datasecByName(sec.name);
  if (!ds) throw new SpecError(`BTF has no DATASEC for ${sec.name}`, ctx);
  const symbols = elf.symbolsIn(sec.index);
  const out: Array<{ spec: MapSpec; offset: number; size: number }> = [];
  for (const v of ds.vars) {
    const vt = btf.typeById(v.type);
    if (vt.kind !== 'var') throw new SpecError(`${sec.name} DATASEC entry is a ${vt.kind}, expected a VAR`, { ...ctx, typeId: v.type });
    const vctx = { file, section: sec.name, symbol: vt.name };
    const typeId = btf.resolve(vt.type);
    const t = btf.typeById(typeId);
    if (t.kind !== 'struct') throw new SpecError(`struct_ops variable '${vt.name}' is a ${t.kind}, not a struct`, { ...vctx, typeId });
    if (t.name === '') throw new SpecError(`struct_ops variable '${vt.name}' has an anonymous struct type: the kernel's struct is found by name`, { ...vctx, typeId });
    const sym = symbols.find((s) => s.name === vt.name);
    const offset = sym ? sym.value : v.offset;
    const have = Math.min(sec.size, sec.data.length); // the bytes there are (NOBITS: none)
    if (offset + t.size > have) throw new SpecError(`struct_ops variable '${vt.name}' (offset ${offset}, ${t.size} bytes) runs past the end of ${sec.name} (${have} bytes)`, { ...vctx, offset });
    const spec: MapSpec = {
      name: vt.name, type: 'struct_ops', keySize: 4, valueSize: t.size, maxEntries: 1, flags: link ? BPF_F_LINK : 0,
      numaNode: 0, pinning: 0, mapExtra: 0n, keyType: 0, valueType: 0, kind: 'struct_ops', section: sec.name, autocreate: !optional,
      // a copy by the typed array constructor (one memcpy; Uint8Array.from iterates byte by byte)
      data: new Uint8Array(sec.data.subarray(offset, offset + t.size)),
      structOps: { typeName: essentialName(t.name), typeId, link, programs: [] },
    };
    out.push({ spec, offset, size: t.size });
  }
  return out;
}

/**
 * One `.rel.struct_ops*` entry: `rel0` is the byte offset inside the variable. Records the
 * member -> program on the map and the struct / member on the program.
 */
export function addStructOpsProgram(
  elf: ElfFile, btf: Btf, map: MapSpec, rel0: number, sym: ElfSymbol,
  programs: Map<string, ProgramSpec>, funcs: Map<string, Func>, ctx: { file: string; section: string; offset: number; symbol: string },
): void {
  const structOps = map.structOps!;
  const t = btf.typeById(structOps.typeId);
  if (t.kind !== 'struct') throw new SpecError(`struct_ops map '${map.name}': its type is not a struct`, ctx);
  const memberIndex = t.members.findIndex((m) => m.bitOffset === rel0 * 8);
  if (memberIndex < 0) throw new SpecError(`struct_ops map '${map.name}': relocation against '${sym.name}' at byte ${rel0} starts no member of struct ${t.name}`, ctx);
  const member = t.members[memberIndex]!;
  const mt = btf.resolveType(member.type);
  if (mt.kind !== 'ptr' || btf.resolveType(mt.type).kind !== 'func_proto') {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' of struct ${t.name} is not a function pointer, yet a relocation sets it to '${sym.name}'`, ctx);
  }
  if (sym.shndx === SHN_UNDEF || sym.shndx >= SHN_LORESERVE || sym.shndx >= elf.sections.length) {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at '${sym.name}', which is not defined in this object`, ctx);
  }
  if (sym.value % 8 !== 0) throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at byte ${sym.value} of ${elf.sections[sym.shndx]!.name}, not an instruction`, ctx);
  let fn: Func | undefined;
  for (const f of funcs.values()) if (f.section.index === sym.shndx && f.slot === sym.value / 8) { fn = f; break; }
  const secName = elf.sections[sym.shndx]!.name;
  const prog = fn ? programs.get(fn.name) : undefined;
  if (!fn || !prog) {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at '${fn?.name ?? sym.name}' in ${secName}, which is not a program`, ctx);
  }
  if (prog.type !== 'struct_ops') {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at program '${prog.name}' of type ${prog.type}; it must be a struct_ops program (SEC("struct_ops/..."))`, ctx);
  }
  if (structOps.programs.some((p) => p.memberIndex === memberIndex)) throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' is set twice`, ctx);
  // the first use names the program's struct and member; other uses may differ (checked at load, among the maps created)
  prog.structOps ??= { typeName: structOps.typeName, member: member.name };
  structOps.programs.push({ member: member.name, memberIndex, offset: rel0, program: prog.name });
  structOps.programs.sort((a, b) => a.memberIndex - b.memberIndex);
}

/** A struct_ops program referenced by struct_ops maps, and whether it loads. */
export interface StructOpsUse {
  /** Loaded: at least one of `maps` is created. */
  load: boolean;
  /** Every struct_ops map that references the program, in spec order. */
  maps: string[];
  /** Those of `maps` that are created. */
  created: string[];
}

/**
 * libbpf 1.4+ (bpf_object_adjust_struct_ops_autoload): "for each struct_ops program P,
 * referenced from some struct_ops map M, enable P.autoload if there are Ms for which
 * M.autocreate is true, disable P.autoload if for all Ms M.autocreate is false. Don't
 * change P.autoload for programs that are not referenced from any maps." So a program in
 * `SEC("?struct_ops/...")` used by a created map loads, and one used only by
 * `SEC("?.struct_ops")` maps does not. Keyed by program name; programs no map
 * references are absent (their `autoload` decides). `created` defaults to
 * MapSpec.autocreate. (At load, a member the running kernel lacks does not count as a
 * use either: the loader drops it, as libbpf does.)
 */
export function structOpsAutoload(spec: CollectionSpec, created: (m: MapSpec) => boolean = (m) => m.autocreate): Map<string, StructOpsUse> {
  const out = new Map<string, StructOpsUse>();
  for (const m of spec.maps.values()) {
    if (!m.structOps) continue;
    const on = created(m);
    for (const { program } of m.structOps.programs) {
      let u = out.get(program);
      if (!u) out.set(program, u = { load: false, maps: [], created: [] });
      if (!u.maps.includes(m.name)) u.maps.push(m.name);
      if (on && !u.created.includes(m.name)) { u.created.push(m.name); u.load = true; }
    }
  }
  return out;
}

/**
 * Whether a program loads when the caller names none (libbpf's autoload after the
 * struct_ops adjustment): structOpsAutoload for struct_ops programs that maps
 * reference, `autoload` for the rest.
 */
export function loadsByDefault(spec: CollectionSpec, name: string, uses: Map<string, StructOpsUse> = structOpsAutoload(spec)): boolean {
  const p = spec.programs.get(name);
  if (!p) return false;
  const u = uses.get(name);
  return u ? u.load : p.autoload;
}
