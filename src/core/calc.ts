/**
 * Relocation values (libbpf's bpf_core_calc_relo): the value the compiler put in the
 * instruction (from the local spec) and the value for the target (from the target spec,
 * or "no target" -> 0 for existence checks, poison for the rest).
 */
import {
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE,
  BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_FIELD_SIGNED,
  BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_ID_TARGET, BPF_CORE_TYPE_MATCHES, BPF_CORE_TYPE_SIZE,
  type BtfType,
} from '../btf/index.js';
import { CoreError } from './errors.js';
import { isEnumKind } from './names.js';
import { isEnumvalBased, isFieldBased, isTypeBased, kindName } from './kinds.js';
import type { CoreSpec } from './spec.js';

export interface RelocationValues {
  /** Value expected in the instruction (u64 as libbpf computes it). */
  origVal: bigint;
  newVal: bigint;
  poison: boolean;
  /** Why the relocation poisons the instruction. */
  poisonReason?: string;
  /** Check the instruction holds origVal before patching. */
  validate: boolean;
  /** Load/store size must change but the field types make that unsafe: poison LDX/ST/STX. */
  failMemszAdjust: boolean;
  origSize: number;
  newSize: number;
}

class Poison { constructor(readonly reason: string) {} }

interface FieldValue { val: bigint; size: number; typeId: number; validate: boolean }

function calcField(kind: number, spec: CoreSpec | undefined): FieldValue {
  const out: FieldValue = { val: 0n, size: 0, typeId: 0, validate: true };
  if (kind === BPF_CORE_FIELD_EXISTS) { out.val = spec ? 1n : 0n; return out; }
  if (!spec) throw new Poison('field not found in the target');
  const btf = spec.btf;
  const acc = spec.acc[spec.acc.length - 1]!;
  if (acc.name === undefined) { // a[n]
    const sz = btf.sizeof(acc.typeId);
    if (kind === BPF_CORE_FIELD_BYTE_OFFSET) {
      out.val = BigInt(Math.floor(spec.bitOffset / 8));
      out.size = sz;
      out.typeId = acc.typeId;
    } else if (kind === BPF_CORE_FIELD_BYTE_SIZE) {
      out.val = BigInt(sz);
    } else {
      throw new CoreError(`${kindName(kind)} relocation cannot be applied to an array element access`, { typeId: spec.rootTypeId });
    }
    return out;
  }
  const t = btf.typeById(acc.typeId) as BtfType & { kind: 'struct' | 'union' };
  const m = t.members[acc.idx]!;
  const fieldTypeId = btf.resolve(m.type);
  const mt = btf.typeById(fieldTypeId);
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number, byteOff: number;
  if (bitfield) {
    byteSz = (mt as { size: number }).size;
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new CoreError(`bitfield at bit offset ${bitOff} (${bitSz} bits) cannot be read with a 64-bit load`, { typeId: spec.rootTypeId });
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = btf.sizeof(fieldTypeId);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  // Bitfields: our byte offset / size / left shift may differ from the compiler's choice.
  out.validate = !bitfield;
  switch (kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET:
      out.val = BigInt(byteOff);
      if (!bitfield) { out.size = byteSz; out.typeId = fieldTypeId; }
      break;
    case BPF_CORE_FIELD_BYTE_SIZE: out.val = BigInt(byteSz); break;
    case BPF_CORE_FIELD_SIGNED:
      out.val = (isEnumKind(mt.kind) && (mt as { signed: boolean }).signed) || (mt.kind === 'int' && (mt.encoding & 1) !== 0) ? 1n : 0n;
      out.validate = true;
      break;
    case BPF_CORE_FIELD_LSHIFT_U64: out.val = BigInt(64 - (bitOff + bitSz - byteOff * 8)); break; // little-endian target
    case BPF_CORE_FIELD_RSHIFT_U64: out.val = BigInt(64 - bitSz); out.validate = true; break;
    default: throw new CoreError(`unknown field relocation kind ${kind}`);
  }
  return out;
}

function calcType(kind: number, spec: CoreSpec | undefined): { val: bigint; validate: boolean } {
  if (!spec) return { val: 0n, validate: true };
  switch (kind) {
    case BPF_CORE_TYPE_ID_TARGET: return { val: BigInt(spec.rootTypeId), validate: false };
    case BPF_CORE_TYPE_EXISTS: case BPF_CORE_TYPE_MATCHES: return { val: 1n, validate: true };
    case BPF_CORE_TYPE_SIZE: return { val: BigInt(spec.btf.sizeof(spec.rootTypeId)), validate: true };
    default: throw new CoreError(`unknown type relocation kind ${kind}`);
  }
}

function calcEnumval(kind: number, spec: CoreSpec | undefined): bigint {
  if (kind === BPF_CORE_ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (kind !== BPF_CORE_ENUMVAL_VALUE) throw new CoreError(`unknown enum relocation kind ${kind}`);
  if (!spec) throw new Poison('enumerator not found in the target');
  const a = spec.acc[0]!;
  const t = spec.btf.typeById(a.typeId);
  if (t.kind === 'enum') return BigInt.asUintN(64, BigInt(t.values[a.idx]!.value | 0)); // btf_enum.val is s32
  return BigInt.asUintN(64, (t as BtfType & { kind: 'enum64' }).values[a.idx]!.value);
}

/** bpf_core_calc_relo. `targ` undefined: no candidate matched. */
export function calcRelocation(kind: number, local: CoreSpec, targ: CoreSpec | undefined): RelocationValues {
  const res: RelocationValues = { origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false, origSize: 0, newSize: 0 };
  try {
    if (isFieldBased(kind)) {
      const o = calcField(kind, local);
      res.origVal = o.val; res.origSize = o.size; res.validate = o.validate;
      const n = calcField(kind, targ);
      res.newVal = n.val; res.newSize = n.size;
      if (o.size !== n.size) {
        const ot = local.btf.typeById(o.typeId), nt = targ!.btf.typeById(n.typeId);
        const ok = (ot.kind === 'ptr' && nt.kind === 'ptr') ||
          (ot.kind === 'int' && nt.kind === 'int' && ot.encoding !== 1 && nt.encoding !== 1);
        if (!ok) res.failMemszAdjust = true;
      }
    } else if (isTypeBased(kind)) {
      const o = calcType(kind, local);
      res.origVal = o.val; res.validate = o.validate;
      res.newVal = calcType(kind, targ).val;
    } else if (isEnumvalBased(kind)) {
      res.origVal = calcEnumval(kind, local);
      res.newVal = calcEnumval(kind, targ);
    } else {
      throw new CoreError(`unrecognized CO-RE relocation kind ${kind}`);
    }
  } catch (e) {
    if (!(e instanceof Poison)) throw e;
    res.poison = true;
    res.poisonReason = e.reason;
  }
  return res;
}
