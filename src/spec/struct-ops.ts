/**
 * struct_ops maps, as libbpf reads them (init_struct_ops_maps and
 * bpf_object__collect_st_ops_relos in libbpf.c):
 *  - every VAR of DATASEC `.struct_ops` / `.struct_ops.link` is one map of type
 *    struct_ops, named after the variable: key 4 bytes, one entry, the variable's struct
 *    as the value (a named STRUCT after typedefs / modifiers), BPF_F_LINK for `.link`;
 *  - each R_BPF_64_ABS64 of `.rel.struct_ops*` sets the function pointer at its offset
 *    (the member starting exactly there, which must be a pointer to a FUNC_PROTO) to the
 *    program whose symbol it names (a struct_ops program);
 *  - a program may serve several maps, as long as the struct and the member are the same
 *    (libbpf checks it when it sets attach_btf_id / expected_attach_type).
 */
import type { Btf } from '../btf/index.js';
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/types.js';
import { SHN_LORESERVE, SHN_UNDEF } from '../elf/types.js';
import { SpecError } from '../errors.js';
import { essentialName } from '../core/names.js';
import type { Func } from './functions.js';
import { symbolsIn } from './symbols.js';
import type { MapSpec, ProgramSpec } from './types.js';

export const STRUCT_OPS_SEC = '.struct_ops';
export const STRUCT_OPS_LINK_SEC = '.struct_ops.link';
/** BPF_F_LINK (include/uapi/linux/bpf.h). */
export const BPF_F_LINK = 1 << 13;

/** The struct_ops sections of the object, libbpf's names (a leading '?' is refused: see collectStructOpsMaps). */
export function structOpsSections(elf: ElfFile): ElfSection[] {
  return elf.sections.filter((s) => [STRUCT_OPS_SEC, STRUCT_OPS_LINK_SEC, `?${STRUCT_OPS_SEC}`, `?${STRUCT_OPS_LINK_SEC}`].includes(s.name));
}

/** One map per variable of a struct_ops section, with its byte range in the section. */
export function collectStructOpsMaps(elf: ElfFile, sec: ElfSection, btf: Btf | undefined): Array<{ spec: MapSpec; offset: number; size: number }> {
  const file = elf.file;
  const ctx = { file, section: sec.name };
  if (sec.name.startsWith('?')) {
    throw new SpecError(`SEC("${sec.name}") (a struct_ops map not created by default) is not supported yet; use SEC("${sec.name.slice(1)}")`, ctx);
  }
  if (!btf) throw new SpecError(`${sec.name} needs BTF to be understood: compile with -g`, ctx);
  const ds = btf.datasecByName(sec.name);
  if (!ds) throw new SpecError(`BTF has no DATASEC for ${sec.name}`, ctx);
  const symbols = symbolsIn(elf, sec.index);
  const out: Array<{ spec: MapSpec; offset: number; size: number }> = [];
  for (const v of ds.vars) {
    const vt = btf.typeById(v.type);
    if (vt.kind !== 'var') throw new SpecError(`${sec.name} DATASEC entry is a ${vt.kind}, expected a VAR`, { ...ctx, typeId: v.type });
    const vctx = { ...ctx, symbol: vt.name };
    const typeId = btf.resolve(vt.type);
    const t = btf.typeById(typeId);
    if (t.kind !== 'struct') throw new SpecError(`struct_ops variable '${vt.name}' is a ${t.kind}, not a struct`, { ...vctx, typeId });
    if (t.name === '') throw new SpecError(`struct_ops variable '${vt.name}' has an anonymous struct type: the kernel's struct is found by name`, { ...vctx, typeId });
    const sym = symbols.find((s) => s.name === vt.name);
    const offset = sym ? sym.value : v.offset;
    if (offset + t.size > sec.size) throw new SpecError(`struct_ops variable '${vt.name}' (offset ${offset}, ${t.size} bytes) runs past the end of ${sec.name} (${sec.size} bytes)`, { ...vctx, offset });
    const link = sec.name === STRUCT_OPS_LINK_SEC;
    const spec: MapSpec = {
      name: vt.name, type: 'struct_ops', keySize: 4, valueSize: t.size, maxEntries: 1, flags: link ? BPF_F_LINK : 0,
      numaNode: 0, pinning: 0, mapExtra: 0n, keyType: 0, valueType: 0, kind: 'struct_ops', section: sec.name,
      data: Uint8Array.from(sec.data.subarray(offset, offset + t.size)),
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
  const st = map.structOps!;
  const t = btf.typeById(st.typeId);
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
  const fn = [...funcs.values()].find((f) => f.section.index === sym.shndx && f.slot === sym.value / 8);
  const secName = elf.sections[sym.shndx]!.name;
  const prog = fn ? programs.get(fn.name) : undefined;
  if (!fn || !prog) {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at '${fn?.name ?? sym.name}' in ${secName}, which is not a program`, ctx);
  }
  if (prog.type !== 'struct_ops') {
    throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' points at program '${prog.name}' of type ${prog.type}; it must be a struct_ops program (SEC("struct_ops/..."))`, ctx);
  }
  if (st.programs.some((p) => p.memberIndex === memberIndex)) throw new SpecError(`struct_ops map '${map.name}': member '${member.name}' is set twice`, ctx);
  if (prog.structOps && (prog.structOps.typeName !== st.typeName || prog.structOps.member !== member.name)) {
    throw new SpecError(
      `struct_ops map '${map.name}': program '${prog.name}' implements ${prog.structOps.typeName}.${prog.structOps.member} elsewhere; it cannot also be ${st.typeName}.${member.name} (one attach_btf_id and member per program)`, ctx,
    );
  }
  prog.structOps = { typeName: st.typeName, member: member.name };
  st.programs.push({ member: member.name, memberIndex, offset: rel0, program: prog.name });
  st.programs.sort((a, b) => a.memberIndex - b.memberIndex);
}
