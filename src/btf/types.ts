/** BTF type model. Ids are numbers; id 0 is void. Names are '' when anonymous. */

export const BTF_KIND_INT = 1, BTF_KIND_PTR = 2, BTF_KIND_ARRAY = 3, BTF_KIND_STRUCT = 4,
  BTF_KIND_UNION = 5, BTF_KIND_ENUM = 6, BTF_KIND_FWD = 7, BTF_KIND_TYPEDEF = 8,
  BTF_KIND_VOLATILE = 9, BTF_KIND_CONST = 10, BTF_KIND_RESTRICT = 11, BTF_KIND_FUNC = 12,
  BTF_KIND_FUNC_PROTO = 13, BTF_KIND_VAR = 14, BTF_KIND_DATASEC = 15, BTF_KIND_FLOAT = 16,
  BTF_KIND_DECL_TAG = 17, BTF_KIND_TYPE_TAG = 18, BTF_KIND_ENUM64 = 19;

/** BTF_INT_ENCODING bits */
export const BTF_INT_SIGNED = 1, BTF_INT_CHAR = 2, BTF_INT_BOOL = 4;
/** Linkage of FUNC and VAR */
export const BTF_FUNC_STATIC = 0, BTF_FUNC_GLOBAL = 1, BTF_FUNC_EXTERN = 2;
export const BTF_VAR_STATIC = 0, BTF_VAR_GLOBAL_ALLOCATED = 1, BTF_VAR_GLOBAL_EXTERN = 2;

export interface BtfMember { name: string; type: number; /** in bits */ bitOffset: number; /** 0 unless a bitfield */ bitfieldSize: number }
export interface BtfParam { name: string; type: number }
export interface BtfEnumValue { name: string; value: number }
export interface BtfEnum64Value { name: string; value: bigint }
export interface BtfVarSecinfo { type: number; offset: number; size: number }

interface Base { id: number; name: string }
export type BtfType =
  | (Base & { kind: 'void' })
  | (Base & { kind: 'int'; size: number; encoding: number; bitOffset: number; bits: number })
  | (Base & { kind: 'ptr'; type: number })
  | (Base & { kind: 'array'; type: number; indexType: number; nelems: number })
  | (Base & { kind: 'struct' | 'union'; size: number; members: BtfMember[] })
  | (Base & { kind: 'enum'; size: number; signed: boolean; values: BtfEnumValue[] })
  | (Base & { kind: 'fwd'; union: boolean })
  | (Base & { kind: 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'; type: number })
  | (Base & { kind: 'func'; type: number; linkage: number })
  | (Base & { kind: 'func_proto'; type: number; params: BtfParam[] })
  | (Base & { kind: 'var'; type: number; linkage: number })
  | (Base & { kind: 'datasec'; size: number; vars: BtfVarSecinfo[] })
  | (Base & { kind: 'float'; size: number })
  | (Base & { kind: 'decl_tag'; type: number; componentIdx: number })
  | (Base & { kind: 'enum64'; size: number; signed: boolean; values: BtfEnum64Value[] });

export type BtfKindName = BtfType['kind'];

/** .BTF.ext records, grouped by ELF section name. Instruction offsets are in 8-byte instruction slots (bytes / 8). */
export interface FuncInfo { insnOff: number; typeId: number }
export interface LineInfo {
  insnOff: number;
  fileNameOff: number; lineOff: number;
  fileName: string; line: string;
  lineNum: number; column: number;
}
export const BPF_CORE_FIELD_BYTE_OFFSET = 0, BPF_CORE_FIELD_BYTE_SIZE = 1, BPF_CORE_FIELD_EXISTS = 2,
  BPF_CORE_FIELD_SIGNED = 3, BPF_CORE_FIELD_LSHIFT_U64 = 4, BPF_CORE_FIELD_RSHIFT_U64 = 5,
  BPF_CORE_TYPE_ID_LOCAL = 6, BPF_CORE_TYPE_ID_TARGET = 7, BPF_CORE_TYPE_EXISTS = 8,
  BPF_CORE_TYPE_SIZE = 9, BPF_CORE_ENUMVAL_EXISTS = 10, BPF_CORE_ENUMVAL_VALUE = 11,
  BPF_CORE_TYPE_MATCHES = 12;
export interface CoreRelo { insnOff: number; typeId: number; accessStr: string; kind: number }
export interface BtfExt {
  funcInfo: Map<string, FuncInfo[]>;
  lineInfo: Map<string, LineInfo[]>;
  coreRelos: Map<string, CoreRelo[]>;
  /**
   * True when every list is in ascending insnOff order, as clang writes them (parseBtfExt
   * sets it): linking then finds a function's records by binary search. Absent: not known.
   */
  sorted?: boolean;
}
