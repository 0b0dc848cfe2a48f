/** CO-RE relocation kinds (enum bpf_core_relo_kind) by number and name. */
import {
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_LSHIFT_U64,
  BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_MATCHES,
} from '../btf/index.js';

export { BPF_CORE_TYPE_MATCHES };

/** Lowercase names as libbpf prints them (core_relo_kind_str). */
export const CORE_RELO_KIND_NAMES = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64',
  'local_type_id', 'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
] as const;
export type CoreReloKindName = (typeof CORE_RELO_KIND_NAMES)[number] | `unknown(${number})`;

export function kindName(kind: number): CoreReloKindName {
  return CORE_RELO_KIND_NAMES[kind] ?? `unknown(${kind})`;
}

export const isFieldBased = (k: number): boolean => k >= BPF_CORE_FIELD_BYTE_OFFSET && k <= BPF_CORE_FIELD_RSHIFT_U64;
export const isTypeBased = (k: number): boolean => (k >= BPF_CORE_TYPE_ID_LOCAL && k <= 9) || k === BPF_CORE_TYPE_MATCHES;
export const isEnumvalBased = (k: number): boolean => k === BPF_CORE_ENUMVAL_EXISTS || k === BPF_CORE_ENUMVAL_VALUE;
export { BPF_CORE_FIELD_LSHIFT_U64 };
