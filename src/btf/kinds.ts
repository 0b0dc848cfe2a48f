/**
 * Kind numbers <-> names and the fixed size of each kind's trailing data
 * (include/uapi/linux/btf.h).
 */
import type { BtfKindName } from './types.js';

/** Index = BTF_KIND_* number; '' at 0 (BTF_KIND_UNKN is not a valid record). */
export const KIND_NAMES: readonly (BtfKindName | '')[] = [
  '', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

export const KIND_NUMBERS: Readonly<Record<BtfKindName, number>> = {
  void: 0, int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8,
  volatile: 9, const: 10, restrict: 11, func: 12, func_proto: 13, var: 14, datasec: 15,
  float: 16, decl_tag: 17, type_tag: 18, enum64: 19,
};

/** Size of `struct btf_type`: name_off, info, size/type. */
export const BTF_TYPE_SIZE = 12;
export const BTF_HEADER_SIZE = 24;
export const BTF_MAGIC = 0xeb9f;

/**
 * Bytes that follow the 12-byte btf_type for a record of `kind` with `vlen`,
 * or -1 for an unknown kind.
 */
export function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4;                  // INT: u32 encoding/offset/bits
    case 3: return 12;                 // ARRAY: btf_array
    case 4: case 5: return vlen * 12;  // STRUCT/UNION: btf_member[]
    case 6: return vlen * 8;           // ENUM: btf_enum[]
    case 13: return vlen * 8;          // FUNC_PROTO: btf_param[]
    case 14: return 4;                 // VAR: btf_var
    case 15: return vlen * 12;         // DATASEC: btf_var_secinfo[]
    case 17: return 4;                 // DECL_TAG: btf_decl_tag
    case 19: return vlen * 12;         // ENUM64: btf_enum64[]
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    default: return -1;
  }
}

/** Kinds whose vlen is a count of trailing entries (FUNC keeps its linkage in vlen). */
export function kindHasVlen(kind: number): boolean {
  return kind === 4 || kind === 5 || kind === 6 || kind === 13 || kind === 15 || kind === 19 || kind === 12;
}
