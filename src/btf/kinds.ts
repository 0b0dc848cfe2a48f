/**
 * The one table of BTF record layouts (include/uapi/linux/btf.h): kind numbers <-> names,
 * and how many bytes each kind's record takes. Every reader of raw records (Btf.parse's
 * scan, the name search, the encoder) sizes records from here.
 */
import type { BtfKindName } from './types.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR,
  BTF_KIND_VOLATILE,
} from './types.js';

/** Index = BTF_KIND_* number; '' at 0 (BTF_KIND_UNKN is not a valid record). */
export const KIND_NAMES: readonly (BtfKindName | '')[] = [
  '', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

export const KIND_NUMBERS: Readonly<Record<BtfKindName, number>> = {
  void: 0, int: BTF_KIND_INT, ptr: BTF_KIND_PTR, array: BTF_KIND_ARRAY, struct: BTF_KIND_STRUCT,
  union: BTF_KIND_UNION, enum: BTF_KIND_ENUM, fwd: BTF_KIND_FWD, typedef: BTF_KIND_TYPEDEF,
  volatile: BTF_KIND_VOLATILE, const: BTF_KIND_CONST, restrict: BTF_KIND_RESTRICT, func: BTF_KIND_FUNC,
  func_proto: BTF_KIND_FUNC_PROTO, var: BTF_KIND_VAR, datasec: BTF_KIND_DATASEC, float: BTF_KIND_FLOAT,
  decl_tag: BTF_KIND_DECL_TAG, type_tag: BTF_KIND_TYPE_TAG, enum64: BTF_KIND_ENUM64,
};

/** Size of `struct btf_type`: name_off, info, size/type. */
export const BTF_TYPE_SIZE = 12;
export const BTF_HEADER_SIZE = 24;
export const BTF_MAGIC = 0xeb9f;
/** The magic as read with the other byte order: a big-endian blob on a little-endian read. */
export const BTF_MAGIC_SWAPPED = 0x9feb;
export const BTF_VERSION = 1;

/** Highest kind number the 5-bit kind field of `info` can hold, plus one. */
export const KIND_SLOTS = 32;
/** FIXED_WORDS entry of a kind that is not a valid record. */
export const INVALID_KIND = 255;

/**
 * Per kind: u32 words of a record before its vlen entries (btf_type + fixed tail), or
 * INVALID_KIND; and u32 words per vlen entry (0 for kinds whose vlen counts nothing: FUNC
 * keeps its linkage there). A record is FIXED_WORDS[k] + vlen * WORDS_PER_VLEN[k] words.
 */
export const FIXED_WORDS = new Uint8Array(KIND_SLOTS).fill(INVALID_KIND);
export const WORDS_PER_VLEN = new Uint8Array(KIND_SLOTS);
/** Kinds whose vlen is meaningful (a count of trailing entries, or FUNC's linkage); every other kind must have vlen 0. */
const HAS_VLEN = new Uint8Array(KIND_SLOTS);

const TYPE_WORDS = BTF_TYPE_SIZE / 4;
/** [kind, words after btf_type, words per vlen entry] */
const LAYOUT: readonly (readonly [number, number, number])[] = [
  [BTF_KIND_INT, 1, 0],        // u32 encoding / offset / bits
  [BTF_KIND_PTR, 0, 0],
  [BTF_KIND_ARRAY, 3, 0],      // btf_array { type, index_type, nelems }
  [BTF_KIND_STRUCT, 0, 3],     // btf_member { name_off, type, offset }
  [BTF_KIND_UNION, 0, 3],
  [BTF_KIND_ENUM, 0, 2],       // btf_enum { name_off, val }
  [BTF_KIND_FWD, 0, 0],
  [BTF_KIND_TYPEDEF, 0, 0],
  [BTF_KIND_VOLATILE, 0, 0],
  [BTF_KIND_CONST, 0, 0],
  [BTF_KIND_RESTRICT, 0, 0],
  [BTF_KIND_FUNC, 0, 0],       // vlen is the linkage
  [BTF_KIND_FUNC_PROTO, 0, 2], // btf_param { name_off, type }
  [BTF_KIND_VAR, 1, 0],        // btf_var { linkage }
  [BTF_KIND_DATASEC, 0, 3],    // btf_var_secinfo { type, offset, size }
  [BTF_KIND_FLOAT, 0, 0],
  [BTF_KIND_DECL_TAG, 1, 0],   // btf_decl_tag { component_idx }
  [BTF_KIND_TYPE_TAG, 0, 0],
  [BTF_KIND_ENUM64, 0, 3],     // btf_enum64 { name_off, val_lo32, val_hi32 }
];
for (const [kind, fixed, perVlen] of LAYOUT) {
  FIXED_WORDS[kind] = TYPE_WORDS + fixed;
  WORDS_PER_VLEN[kind] = perVlen;
  HAS_VLEN[kind] = perVlen > 0 || kind === BTF_KIND_FUNC ? 1 : 0;
}

/**
 * Bytes that follow the 12-byte btf_type for a record of `kind` with `vlen`,
 * or -1 for an unknown kind.
 */
export function extraSize(kind: number, vlen: number): number {
  const fixed = kind >= 0 && kind < KIND_SLOTS ? FIXED_WORDS[kind]! : INVALID_KIND;
  if (fixed === INVALID_KIND) return -1;
  return (fixed - TYPE_WORDS + vlen * WORDS_PER_VLEN[kind]!) * 4;
}

/** Kinds whose vlen is a count of trailing entries (FUNC keeps its linkage in vlen). */
export function kindHasVlen(kind: number): boolean {
  return HAS_VLEN[kind & (KIND_SLOTS - 1)] === 1;
}

/** The `info` word of a btf_type: kind_flag (bit 31), kind (bits 24-28), vlen (bits 0-15). */
export const infoKind = (info: number): number => (info >>> 24) & (KIND_SLOTS - 1);
export const infoVlen = (info: number): number => info & 0xffff;
export const infoKflag = (info: number): boolean => info >>> 31 === 1;
export function makeInfo(kind: number, vlen: number, kflag: boolean): number {
  return ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
}

/** Kinds that only qualify another type (resolve() looks through them). */
export function isModifierKind(kind: number): boolean {
  return kind === BTF_KIND_TYPEDEF || kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST ||
    kind === BTF_KIND_RESTRICT || kind === BTF_KIND_TYPE_TAG;
}
