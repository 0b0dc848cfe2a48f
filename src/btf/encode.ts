/** Writing one BTF record (Btf.encode): a decoded type back to its raw layout. */
import type { BtfType } from './types.js';
import { BTF_TYPE_SIZE, makeInfo } from './kinds.js';

/** A type ready to write: its kind number, name offsets (added to the strings first) and size in bytes. */
export interface EncodedType { t: BtfType; kind: number; nameOff: number; names: number[]; vlen: number; size: number }

/** Writes `e` at byte `o` of `v`; returns the byte after it. */
export function writeType(v: DataView, o: number, le: boolean, e: EncodedType): number {
  const { t, names } = e;
  let kflag = 0;
  let sizeOrType = 0;
  switch (t.kind) {
    case 'int': case 'float': case 'datasec': sizeOrType = t.size; break;
    case 'struct': case 'union':
      sizeOrType = t.size;
      kflag = t.members.some((m) => m.bitfieldSize !== 0) ? 1 : 0;
      break;
    case 'enum': case 'enum64': sizeOrType = t.size; kflag = t.signed ? 1 : 0; break;
    case 'fwd': kflag = t.union ? 1 : 0; break;
    case 'void': case 'array': break;
    default: sizeOrType = t.type;
  }
  v.setUint32(o, e.nameOff, le);
  v.setUint32(o + 4, makeInfo(e.kind, e.vlen, kflag === 1), le);
  v.setUint32(o + 8, sizeOrType >>> 0, le);
  let p = o + BTF_TYPE_SIZE;
  switch (t.kind) {
    case 'int':
      v.setUint32(p, (((t.encoding & 0x0f) << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff)) >>> 0, le);
      p += 4;
      break;
    case 'array':
      v.setUint32(p, t.type, le); v.setUint32(p + 4, t.indexType, le); v.setUint32(p + 8, t.nelems, le);
      p += 12;
      break;
    case 'struct': case 'union':
      t.members.forEach((m, k) => {
        v.setUint32(p, names[k]!, le);
        v.setUint32(p + 4, m.type, le);
        v.setUint32(p + 8, (kflag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) : m.bitOffset) >>> 0, le);
        p += 12;
      });
      break;
    case 'enum':
      t.values.forEach((x, k) => { v.setUint32(p, names[k]!, le); v.setUint32(p + 4, x.value >>> 0, le); p += 8; });
      break;
    case 'enum64':
      t.values.forEach((x, k) => {
        v.setUint32(p, names[k]!, le);
        v.setUint32(p + 4, Number(BigInt.asUintN(32, x.value)), le);
        v.setUint32(p + 8, Number(BigInt.asUintN(32, x.value >> 32n)), le);
        p += 12;
      });
      break;
    case 'func_proto':
      t.params.forEach((x, k) => { v.setUint32(p, names[k]!, le); v.setUint32(p + 4, x.type, le); p += 8; });
      break;
    case 'var': v.setUint32(p, t.linkage, le); p += 4; break;
    case 'datasec':
      for (const s of t.vars) { v.setUint32(p, s.type, le); v.setUint32(p + 4, s.offset, le); v.setUint32(p + 8, s.size, le); p += 12; }
      break;
    case 'decl_tag': v.setInt32(p, t.componentIdx, le); p += 4; break;
  }
  return p;
}
