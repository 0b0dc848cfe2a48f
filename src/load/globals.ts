/**
 * Initial values of global variables, typed through BTF: LoadOptions.globals, as
 * `{ '.rodata': { scale: 5 }, '.bss': { hits: 0n } }`. Each value is encoded as the
 * variable's C type (encodeValue: an unsigned type refuses -1, a char array takes a
 * string, a struct an object), so a wrong value is refused before anything is created.
 * A .rodata variable can only be set this way, before load: the loader freezes .rodata
 * before programs are verified (libbpf's skeleton: `skel->rodata->x = ...` before load).
 */
import { SpecError, TsbpfError } from '../errors.js';
import { copySpec } from '../spec/edit.js';
import type { CollectionSpec, MapSpec } from '../spec/types.js';
import { encodeValue, type Value } from './values.js';

/** Variables by name, by data section ('.rodata', '.data', '.bss', '.data.custom'); undefined sections are skipped. */
export type GlobalValues = Record<string, Record<string, Value> | undefined>;

function dataMap(spec: CollectionSpec, section: string): MapSpec {
  const m = [...spec.maps.values()].find((x) => x.kind === 'data' && x.section === section);
  if (!m) {
    const known = [...spec.maps.values()].filter((x) => x.kind === 'data').map((x) => x.section);
    throw new SpecError(`globals: no data section '${section}' in the object (it has: ${known.join(', ') || 'none'})`, { file: spec.file, section });
  }
  return m;
}

/** A copy of `spec` with the variables set (the spec given is not changed). */
export function withGlobals(spec: CollectionSpec, globals: GlobalValues): CollectionSpec {
  const out = copySpec(spec);
  for (const [section, values] of Object.entries(globals)) {
    if (values === undefined) continue;
    const m = dataMap(out, section);
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const ctx = { file: spec.file, section, symbol: name };
      const v = m.variables?.get(name);
      if (!v) throw new SpecError(`globals: no variable '${name}' in ${section} (it has: ${[...(m.variables?.keys() ?? [])].join(', ') || 'none'})`, ctx);
      if (v.linkage === 'extern') throw new SpecError(`globals: '${name}' is an extern; its value comes from the kernel at load time`, ctx);
      if (!v.type || !spec.btf) throw new SpecError(`globals: '${name}' has no BTF type to encode a value with; use setVariable on the spec`, ctx);
      let bytes: Uint8Array;
      try {
        bytes = encodeValue(spec.btf, v.type, value, v.size, `variable '${name}' (${section})`);
      } catch (e) {
        throw new SpecError(e instanceof TsbpfError ? e.detail : String(e), ctx, { cause: e });
      }
      m.data!.set(bytes, v.offset);
    }
  }
  return out;
}
