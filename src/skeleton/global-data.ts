/**
 * A data section of a loaded object (.rodata, .data, .bss, .data.custom) as a typed view:
 * read() decodes the whole section through its BTF DATASEC (an object keyed by variable
 * name, as decodeValue gives it), set() writes some variables. Reads and writes go
 * through BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM on key 0 (a set() rewrites the section from
 * a fresh read: a program's writes between the two are lost, as with any
 * read-modify-write from user space).
 */
import { TsbpfError } from '../errors.js';
import type { Collection } from '../load/collection.js';
import type { BpfMap } from '../load/map.js';
import { decodeValue, encodeValue, type Value } from '../load/values.js';
import type { DataVariable } from '../spec/types.js';

/** A section is read-only after load (.rodata), or the object has no such section. */
export class GlobalDataError extends TsbpfError {}

export class ReadonlyGlobalData<T extends object> {
  /** The section's map. */
  readonly map: BpfMap;
  readonly section: string;

  constructor(collection: Collection, section: string) {
    const map = [...collection.maps.values()].find((m) => m.spec.kind === 'data' && m.spec.section === section);
    if (!map) throw new GlobalDataError(`no data section '${section}' was loaded`, { file: collection.spec.file, section });
    if (!collection.spec.btf || !map.spec.valueType) throw new GlobalDataError(`section '${section}' has no BTF DATASEC to decode it with`, { file: collection.spec.file, section });
    this.map = map;
    this.section = section;
    this.btf = collection.spec.btf;
  }

  protected readonly btf: NonNullable<Collection['spec']['btf']>;

  /** The section's bytes as the kernel holds them now. */
  bytes(): Buffer {
    const raw = this.map.lookupBytes(0);
    if (!raw) throw new GlobalDataError(`section '${this.section}': key 0 is missing`, { section: this.section });
    return raw;
  }

  /** Every variable of the section, decoded. */
  read(): T {
    return decodeValue(this.btf, this.map.spec.valueType, this.bytes()) as T;
  }

  /** One variable. */
  get<N extends keyof T & string>(name: N): T[N] {
    const v = this.variable(name);
    return decodeValue(this.btf, v.type, this.bytes().subarray(v.offset, v.offset + v.size)) as T[N];
  }

  protected variable(name: string): DataVariable {
    const v = this.map.spec.variables?.get(name);
    if (!v || !v.type) throw new GlobalDataError(`no variable '${name}' in ${this.section}`, { section: this.section, symbol: name });
    return v;
  }
}

export class GlobalData<T extends object> extends ReadonlyGlobalData<T> {
  constructor(collection: Collection, section: string) {
    super(collection, section);
    if (this.map.spec.readOnly) throw new GlobalDataError(`section '${section}' is frozen after load: read it with ReadonlyGlobalData, set it before load (LoadOptions.globals)`, { section });
  }

  /** Writes the variables given (each encoded as its C type); the others keep their values. */
  set(values: Partial<T>): void {
    const bytes = this.bytes();
    for (const [name, value] of Object.entries(values as Record<string, Value | undefined>)) {
      if (value === undefined) continue;
      const v = this.variable(name);
      bytes.set(encodeValue(this.btf, v.type, value, v.size, `variable '${name}' (${this.section})`), v.offset);
    }
    this.map.update(0, bytes);
  }
}
