/**
 * BTF-defined maps: the `.maps` section, whose variables are anonymous structs built by
 * bpf_helpers.h's macros:
 *   __uint(name, val)   -> member `int (*name)[val]`   (PTR -> ARRAY, nelems = val)
 *   __type(name, T)     -> member `T *name`            (PTR -> T)
 *   __ulong(name, val)  -> member `enum { ... = val } name` (ENUM / ENUM64 value)
 *   __array(name, T)    -> member `T *name[]`          (ARRAY of 0 elements of PTR -> T)
 * libbpf (parse_btf_map_def) is strict about unknown members; so are we.
 */
import type { Btf } from '../btf/index.js';
import type { BtfMember, BtfType } from '../btf/types.js';
import { SpecError, type ErrorContext } from '../errors.js';
import { MAP_TYPE_NAMES, type MapTypeName } from '../kernel/enums.js';
import type { MapSpec } from './types.js';

export interface BtfMapDef {
  spec: MapSpec;
  /** `values` member: byte offset inside the definition, and what the slots hold. */
  values?: { offset: number; holds: 'program' | 'map' };
}

function mapTypeName(n: number, ctx: ErrorContext): MapTypeName {
  const name = MAP_TYPE_NAMES[n];
  if (name === undefined) throw new SpecError(`unknown map type ${n}`, ctx);
  return name;
}

/** Skips typedef / const / volatile / restrict / type_tag. */
function resolved(btf: Btf, id: number): BtfType {
  return btf.typeById(btf.resolve(id));
}

function uintMember(btf: Btf, m: BtfMember, ctx: ErrorContext): number {
  // PTR -> ARRAY read from the records (nothing decoded unless it is something else)
  const ptrId = btf.resolve(m.type);
  const target = btf.pointee(ptrId);
  if (target === undefined) throw new SpecError(`map member '${m.name}' is a ${btf.typeById(ptrId).kind}, expected __uint() (a pointer to an array)`, ctx);
  const arrId = btf.resolve(target);
  const nelems = btf.arrayLength(arrId);
  if (nelems === undefined) throw new SpecError(`map member '${m.name}' points to a ${btf.typeById(arrId).kind}, expected __uint() (a pointer to an array)`, ctx);
  return nelems;
}

function ulongMember(btf: Btf, m: BtfMember, ctx: ErrorContext): bigint {
  const t = resolved(btf, m.type);
  if (t.kind === 'enum' || t.kind === 'enum64') {
    const v = t.values[0];
    if (!v) throw new SpecError(`map member '${m.name}' is an enum without values`, ctx);
    return BigInt(v.value);
  }
  return BigInt(uintMember(btf, m, ctx));
}

/** `__type(name, T)`: PTR -> T; returns T's id and size. */
function typeMember(btf: Btf, m: BtfMember, ctx: ErrorContext): { id: number; size: number } {
  const ptrId = btf.resolve(m.type);
  const id = btf.pointee(ptrId);
  if (id === undefined) throw new SpecError(`map member '${m.name}' is a ${btf.typeById(ptrId).kind}, expected __type() (a pointer)`, ctx);
  return { id, size: btf.sizeof(id) };
}

/**
 * Parses one map definition struct (the type of a `.maps` variable, or the struct named
 * by `__array(values, struct inner)` for an inner map).
 */
export function parseBtfMapDef(btf: Btf, structId: number, name: string, ctx: ErrorContext, isInner = false): BtfMapDef {
  const def = resolved(btf, structId);
  if (def.kind !== 'struct') {
    throw new SpecError(`map '${name}' is a ${def.kind} in BTF, expected a struct built with __uint/__type/__array`, { ...ctx, symbol: name, typeId: structId });
  }
  // written out rather than spread: a spread of the caller's context was most of this function's time
  const c: ErrorContext = { file: ctx.file, section: ctx.section, symbol: name, offset: ctx.offset, typeId: ctx.typeId };
  const spec: MapSpec = {
    name, type: 'unspec', keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, numaNode: 0, pinning: 0,
    mapExtra: 0n, keyType: 0, valueType: 0, kind: 'btf', section: ctx.section ?? '.maps', autocreate: true,
  };
  let typeNum: number | undefined;
  let keySize: number | undefined, valueSize: number | undefined;
  let values: BtfMapDef['values'];
  for (const m of def.members) {
    switch (m.name) {
      case 'type': typeNum = uintMember(btf, m, c); break;
      case 'max_entries': spec.maxEntries = uintMember(btf, m, c); break;
      case 'map_flags': spec.flags = uintMember(btf, m, c); break;
      case 'numa_node': spec.numaNode = uintMember(btf, m, c); break;
      case 'pinning': spec.pinning = uintMember(btf, m, c); break;
      case 'map_extra': spec.mapExtra = ulongMember(btf, m, c); break;
      case 'key_size': {
        const sz = uintMember(btf, m, c);
        if (keySize !== undefined && keySize !== sz) throw new SpecError(`map '${name}': key_size ${sz} disagrees with the key type's size ${keySize}`, c);
        keySize = sz; break;
      }
      case 'value_size': {
        const sz = uintMember(btf, m, c);
        if (valueSize !== undefined && valueSize !== sz) throw new SpecError(`map '${name}': value_size ${sz} disagrees with the value type's size ${valueSize}`, c);
        valueSize = sz; break;
      }
      case 'key': {
        const t = typeMember(btf, m, c);
        if (keySize !== undefined && keySize !== t.size) throw new SpecError(`map '${name}': key type size ${t.size} disagrees with key_size ${keySize}`, c);
        keySize = t.size; spec.keyType = t.id; break;
      }
      case 'value': {
        const t = typeMember(btf, m, c);
        if (valueSize !== undefined && valueSize !== t.size) throw new SpecError(`map '${name}': value type size ${t.size} disagrees with value_size ${valueSize}`, c);
        valueSize = t.size; spec.valueType = t.id; break;
      }
      case 'values': {
        // libbpf refuses them too; an inner definition that names itself would recurse forever
        if (isInner) throw new SpecError(`map '${name}': an inner map definition with __array(values): multi-level inner maps are not supported`, { ...c, typeId: structId });
        const arr = resolved(btf, m.type);
        if (arr.kind !== 'array' || arr.nelems !== 0) throw new SpecError(`map '${name}': member 'values' must be declared with __array() (an array of 0 pointers)`, c);
        if (m.bitOffset % 8 !== 0) throw new SpecError(`map '${name}': member 'values' is not byte aligned`, c);
        const ptr = resolved(btf, arr.type);
        if (ptr.kind !== 'ptr') throw new SpecError(`map '${name}': 'values' must be an array of pointers, not of ${ptr.kind}`, c);
        const target = resolved(btf, ptr.type);
        if (target.kind === 'func_proto') {
          values = { offset: m.bitOffset / 8, holds: 'program' };
        } else if (target.kind === 'struct') {
          values = { offset: m.bitOffset / 8, holds: 'map' };
          spec.innerMap = parseBtfMapDef(btf, target.id, `${name}.inner`, ctx, true).spec;
        } else {
          throw new SpecError(`map '${name}': 'values' points to a ${target.kind}, expected a function prototype (prog array) or a map definition struct (map-in-map)`, c);
        }
        break;
      }
      default:
        throw new SpecError(`map '${name}': unknown member '${m.name}' in its definition`, c);
    }
  }
  if (typeNum === undefined) throw new SpecError(`map '${name}': no map type (__uint(type, ...)) in its definition`, c);
  spec.type = mapTypeName(typeNum, c);
  if (values) {
    // libbpf: prog arrays and map-in-maps hold 4-byte fds / ids keyed by a u32.
    if (values.holds === 'program' && spec.type !== 'prog_array') {
      throw new SpecError(`map '${name}': __array(values) of programs needs BPF_MAP_TYPE_PROG_ARRAY, not ${spec.type}`, c);
    }
    if (values.holds === 'map' && spec.type !== 'array_of_maps' && spec.type !== 'hash_of_maps') {
      throw new SpecError(`map '${name}': __array(values) of maps needs an ARRAY_OF_MAPS or HASH_OF_MAPS, not ${spec.type}`, c);
    }
    keySize ??= 4;
    if (valueSize !== undefined && valueSize !== 4) throw new SpecError(`map '${name}': value_size of a ${spec.type} must be 4, not ${valueSize}`, c);
    valueSize = 4;
  }
  spec.keySize = keySize ?? 0;
  spec.valueSize = valueSize ?? 0;
  return { spec, values };
}
