/**
 * libbpf's open-time fixups of the object's BTF.
 *
 * clang leaves DATASEC sizes and global VAR offsets at 0 in the object; the kernel
 * rejects a DATASEC of size 0. As libbpf does at open time (btf_fixup_datasec), take
 * sizes from the ELF sections and offsets from the ELF symbols, and sort the variables
 * by offset. `.kconfig` gets the layout tsbpf chose for its map. `.ksyms` has no
 * section: the loader rewrites it for the kernel.
 */
import type { Btf } from '../btf/index.js';
import { BTF_FUNC_GLOBAL, BTF_FUNC_STATIC } from '../btf/types.js';
import type { ElfFile } from '../elf/types.js';
import { STB_LOCAL, STV_HIDDEN, STV_INTERNAL } from '../elf/types.js';
import { SpecError } from '../errors.js';
import { sortByKey } from './order.js';
import { ByName } from './by-name.js';
import type { Func } from './functions.js';
import type { MapSpec } from './types.js';

export function fixupDatasecs(btf: Btf, elf: ElfFile, kconfig: MapSpec | undefined): void {
  for (const id of btf.idsOfKind('datasec')) {
    const ds = btf.typeById(id);
    if (ds.kind !== 'datasec' || ds.name === '.ksyms') continue;
    const ctx = { file: elf.file, section: ds.name, typeId: id };
    let size: number;
    // the offset of each variable name: the last symbol (or .kconfig variable) of that name
    let offsetOf: (name: string) => number | undefined;
    if (ds.name === '.kconfig') {
      if (!kconfig) continue;
      size = kconfig.valueSize;
      const named = new ByName([...kconfig.variables!.values()], 'last');
      offsetOf = (name) => named.get(name)?.offset;
    } else {
      const sec = elf.sectionByName(ds.name);
      if (!sec) throw new SpecError(`BTF DATASEC '${ds.name}' has no ELF section of that name`, ctx);
      size = sec.size;
      const named = new ByName(elf.symbolsIn(sec.index), 'last');
      offsetOf = (name) => named.get(name)?.value;
    }
    let same = ds.size === size;
    for (let i = 0; same && i < ds.vars.length; i++) {
      const v = ds.vars[i]!;
      const off = offsetOf(btf.typeById(v.type).name);
      same = off === undefined || off === v.offset;
    }
    if (same) continue;
    const vars = ds.vars.map((v) => {
      const vt = btf.typeById(v.type);
      const off = offsetOf(vt.name);
      if (off === undefined) throw new SpecError(`variable '${vt.name}' of DATASEC '${ds.name}' has no ELF symbol to give its offset`, { ...ctx, symbol: vt.name });
      if (off + v.size > size) throw new SpecError(`variable '${vt.name}' (offset ${off}, size ${v.size}) runs past the end of '${ds.name}' (${size} bytes)`, { ...ctx, symbol: vt.name });
      return { ...v, offset: off };
    });
    sortByKey(vars, (v) => v.offset);
    btf.setType(id, { ...ds, size, vars });
  }
}

/**
 * A global or weak subprogram (.text) with STV_HIDDEN or STV_INTERNAL visibility
 * (`__hidden`, as usdt.bpf.h's bpf_usdt_arg) gets BTF FUNC linkage static, as libbpf does
 * (mark_btf_static, applied in bpf_object__load_btf to the first global FUNC of that
 * name): the verifier then checks it inside each caller, with the caller's knowledge of
 * its arguments, instead of alone with every pointer argument possibly NULL.
 * Returns the names changed.
 */
export function staticHiddenFuncs(btf: Btf, funcs: Map<string, Func>): string[] {
  const changed: string[] = [];
  let funcIds: number[] | undefined;
  for (const f of funcs.values()) {
    if (f.section.name !== '.text' || f.bind === STB_LOCAL) continue;
    if (f.visibility !== STV_HIDDEN && f.visibility !== STV_INTERNAL) continue;
    // The FUNCs of an object's BTF are few: their names compared as strings (read from the
    // records, nothing decoded) cost less than a byte search of every record per name.
    funcIds ??= btf.idsOfKind('func');
    const ids = funcIds.length <= SCAN_FUNCS ? funcIds : btf.idsByName(f.name);
    for (const id of ids) {
      if (btf.nameOf(id) !== f.name) continue;
      const t = btf.typeById(id);
      if (t.kind !== 'func' || t.linkage !== BTF_FUNC_GLOBAL) continue;
      btf.setType(id, { ...t, linkage: BTF_FUNC_STATIC });
      changed.push(f.name);
      break;
    }
  }
  return changed;
}

/** Up to this many FUNCs, staticHiddenFuncs compares their names rather than search every record by name. */
const SCAN_FUNCS = 64;
