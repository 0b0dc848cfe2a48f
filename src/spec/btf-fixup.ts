/**
 * clang leaves DATASEC sizes and global VAR offsets at 0 in the object; the kernel
 * rejects a DATASEC of size 0. As libbpf does at open time (btf_fixup_datasec), take
 * sizes from the ELF sections and offsets from the ELF symbols, and sort the variables
 * by offset. `.kconfig` gets the layout tsbpf chose for its map. `.ksyms` has no
 * section: the loader rewrites it for the kernel.
 */
import type { Btf } from '../btf/index.js';
import type { ElfFile } from '../elf/types.js';
import { SpecError } from '../errors.js';
import { symbolsIn } from './symbols.js';
import type { MapSpec } from './types.js';

export function fixupDatasecs(btf: Btf, elf: ElfFile, kconfig: MapSpec | undefined): void {
  for (let id = 1; id < btf.length; id++) {
    if (btf.kindOf(id) !== 'datasec') continue;
    const ds = btf.typeById(id);
    if (ds.kind !== 'datasec' || ds.name === '.ksyms') continue;
    const ctx = { file: elf.file, section: ds.name, typeId: id };
    let size: number;
    const offsetOf = new Map<string, number>();
    if (ds.name === '.kconfig') {
      if (!kconfig) continue;
      size = kconfig.valueSize;
      for (const v of kconfig.variables!.values()) offsetOf.set(v.name, v.offset);
    } else {
      const sec = elf.sectionByName(ds.name);
      if (!sec) throw new SpecError(`BTF DATASEC '${ds.name}' has no ELF section of that name`, ctx);
      size = sec.size;
      for (const s of symbolsIn(elf, sec.index)) offsetOf.set(s.name, s.value);
    }
    if (ds.size === size && ds.vars.every((v) => {
      const vt = btf.typeById(v.type);
      return offsetOf.get(vt.name) === undefined || offsetOf.get(vt.name) === v.offset;
    })) continue;
    const vars = ds.vars.map((v) => {
      const vt = btf.typeById(v.type);
      const off = offsetOf.get(vt.name);
      if (off === undefined) throw new SpecError(`variable '${vt.name}' of DATASEC '${ds.name}' has no ELF symbol to give its offset`, { ...ctx, symbol: vt.name });
      if (off + v.size > size) throw new SpecError(`variable '${vt.name}' (offset ${off}, size ${v.size}) runs past the end of '${ds.name}' (${size} bytes)`, { ...ctx, symbol: vt.name });
      return { ...v, offset: off };
    });
    vars.sort((a, b) => a.offset - b.offset);
    btf.setType(id, { ...ds, size, vars });
  }
}
