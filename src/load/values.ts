/**
 * Map keys and values as JS data, decoded and encoded through BTF:
 * integers of up to 4 bytes and enums are numbers, 8-byte integers and pointers bigints,
 * bool booleans, floats numbers, char arrays strings, other arrays JS arrays, structs and
 * unions objects keyed by member name. Without BTF a value stays a Buffer.
 */
import type { Btf } from '../btf/index.js';
import type { BtfType } from '../btf/types.js';
import { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED } from '../btf/types.js';
import { BtfError, TsbpfError } from '../errors.js';
import { intBytes, type IntRange } from '../spec/edit.js';
import { TypeWalk, WALK_BUDGET } from '../btf/walk.js';

export type Value = number | bigint | boolean | string | Value[] | { [name: string]: Value } | Buffer;

function readInt(dv: DataView, off: number, size: number, signed: boolean): number | bigint {
  switch (size) {
    case 1: return signed ? dv.getInt8(off) : dv.getUint8(off);
    case 2: return signed ? dv.getInt16(off, true) : dv.getUint16(off, true);
    case 4: return signed ? dv.getInt32(off, true) : dv.getUint32(off, true);
    case 8: return signed ? dv.getBigInt64(off, true) : dv.getBigUint64(off, true);
    default: {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dv.getUint8(off + i));
      return signed ? BigInt.asIntN(size * 8, v) : v;
    }
  }
}

function writeInt(dv: DataView, off: number, size: number, v: number | bigint | boolean, what: string, range: IntRange): void {
  new Uint8Array(dv.buffer, dv.byteOffset + off, size).set(intBytes(v, size, what, range));
}

/** A char array (decoded as a string, NUL-terminated): its element is a 1-byte int that is `char` or has the CHAR encoding. */
export function isCharArray(btf: Btf, t: BtfType & { kind: 'array' }): boolean {
  const elem = btf.typeById(btf.resolve(t.type));
  return elem.kind === 'int' && elem.size === 1 && ((elem.encoding & BTF_INT_CHAR) !== 0 || elem.name === 'char');
}

/**
 * `bytes` as JS data through BTF type `typeId`. A type that contains itself, or nesting
 * that branches beyond any real value, is a BtfError (TypeWalk), not a hang.
 */
export function decodeValue(btf: Btf, typeId: number, bytes: Uint8Array): Value {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const guard = new TypeWalk(`decoding a value of type id ${typeId}`, WALK_BUDGET + bytes.length);
  const walk = (id: number, off: number, depth: number): Value => {
    if (depth > 32) throw new TsbpfError('BTF value nesting too deep', { typeId: id });
    const t = btf.typeById(btf.resolve(id));
    if (t.kind === 'array' || t.kind === 'struct' || t.kind === 'union' || t.kind === 'datasec') return guard.within(t.id, () => container(t, off, depth));
    return leaf(t, id, off);
  };
  const leaf = (t: BtfType, id: number, off: number): Value => {
    switch (t.kind) {
      case 'int': {
        if (t.encoding & BTF_INT_BOOL) return dv.getUint8(off) !== 0;
        const v = readInt(dv, off, t.size, (t.encoding & BTF_INT_SIGNED) !== 0);
        return typeof v === 'bigint' && t.size <= 4 ? Number(v) : v;
      }
      case 'enum': return readInt(dv, off, t.size, t.signed) as number;
      case 'enum64': return readInt(dv, off, t.size, t.signed);
      case 'ptr': return dv.getBigUint64(off, true);
      case 'float': return t.size === 4 ? dv.getFloat32(off, true) : t.size === 8 ? dv.getFloat64(off, true) : Buffer.from(bytes.subarray(off, off + t.size));
      default:
        return Buffer.from(bytes.subarray(off, off + btf.sizeof(id)));
    }
  };
  const container = (t: BtfType, off: number, depth: number): Value => {
    switch (t.kind) {
      case 'array': {
        const esz = btf.sizeof(t.type);
        if (isCharArray(btf, t)) {
          const raw = bytes.subarray(off, off + t.nelems);
          const end = raw.indexOf(0);
          return Buffer.from(raw.subarray(0, end < 0 ? raw.length : end)).toString('utf8');
        }
        const out: Value[] = [];
        for (let i = 0; i < t.nelems; i++) out.push(walk(t.type, off + i * esz, depth + 1));
        return out;
      }
      case 'struct': case 'union': {
        const o: { [k: string]: Value } = {};
        t.members.forEach((m, i) => {
          const name = m.name || `_${i}`;
          if (m.bitfieldSize) {
            // little-endian: bit k of the struct is bit (k & 7) of byte (k >> 3)
            let v = 0n;
            for (let b = 0; b < m.bitfieldSize; b++) {
              const bit = m.bitOffset + b;
              if ((dv.getUint8(off + (bit >> 3)) >> (bit & 7)) & 1) v |= 1n << BigInt(b);
            }
            o[name] = m.bitfieldSize > 32 ? v : Number(v);
          } else {
            o[name] = walk(m.type, off + m.bitOffset / 8, depth + 1);
          }
        });
        return o;
      }
      case 'datasec': {
        const o: { [k: string]: Value } = {};
        for (const v of t.vars) {
          const vt = btf.typeById(v.type);
          o[vt.name] = walk(vt.kind === 'var' ? vt.type : v.type, off + v.offset, depth + 1);
        }
        return o;
      }
      default: throw new TsbpfError(`decoding: ${t.kind} is not a container`, { typeId: t.id });
    }
  };
  try {
    return walk(typeId, 0, 0);
  } catch (e) {
    // a member or element placed past the bytes the value has (damaged BTF)
    if (e instanceof RangeError) throw new BtfError(`type id ${typeId} places data past the ${bytes.length} bytes of the value`, { typeId }, { cause: e });
    throw e;
  }
}

/**
 * A bitfield member: `bits` bits at bit `bitOffset` of the struct at byte `off`, little-endian
 * as decodeValue reads them (bit k is bit k & 7 of byte k >> 3). Any integer that fits in
 * `bits` bits either way (-2^(bits-1) .. 2^bits - 1) is taken; the other bits stay.
 */
function writeBits(dv: DataView, off: number, bitOffset: number, bits: number, v: Value, what: string): void {
  if (typeof v !== 'number' && typeof v !== 'bigint' && typeof v !== 'boolean') throw new TsbpfError(`${what}: a bitfield takes an integer, not ${typeof v}`);
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new TsbpfError(`${what}: ${v} is not an integer`);
  const n = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
  const b = BigInt(bits);
  if (n >= 1n << b || n < -(1n << (b - 1n))) throw new TsbpfError(`${what} is a ${bits}-bit bitfield; ${v} does not fit`);
  const u = BigInt.asUintN(bits, n);
  for (let i = 0; i < bits; i++) {
    const bit = bitOffset + i;
    const at = off + (bit >> 3);
    const mask = 1 << (bit & 7);
    dv.setUint8(at, (u >> BigInt(i)) & 1n ? dv.getUint8(at) | mask : dv.getUint8(at) & ~mask);
  }
}

/**
 * `value` as the bytes of BTF type `typeId` (`size` bytes). Integers must fit the C type
 * (an unsigned one refuses -1), a Buffer must have the type's size, and errors name the
 * path inside the value, starting at `what` ("map 'counts' key").
 */
export function encodeValue(btf: Btf, typeId: number, value: Value, size: number, what = 'value'): Uint8Array {
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const guard = new TypeWalk(`encoding ${what} as type id ${typeId}`, WALK_BUDGET + size);
  const walk = (id: number, off: number, v: Value, what: string, depth: number): void => {
    if (depth > 32) throw new TsbpfError('BTF value nesting too deep', { typeId: id });
    const rid = btf.resolve(id);
    const kind = btf.kindOf(rid);
    if (kind === 'array' || kind === 'struct' || kind === 'union') guard.within(rid, () => encodeOne(id, off, v, what, depth));
    else encodeOne(id, off, v, what, depth);
  };
  const encodeOne = (id: number, off: number, v: Value, what: string, depth: number): void => {
    if (v instanceof Uint8Array) {
      const want = depth === 0 ? size : btf.sizeof(id);
      if (v.length !== want) throw new TsbpfError(`${what} is ${want} bytes, the Buffer given is ${v.length}`);
      out.set(v, off);
      return;
    }
    const t = btf.typeById(btf.resolve(id));
    switch (t.kind) {
      case 'int':
        writeInt(dv, off, t.size, v as number | bigint | boolean, what, t.encoding & BTF_INT_BOOL ? 'unsigned' : t.encoding & BTF_INT_SIGNED ? 'signed' : 'unsigned');
        return;
      case 'enum': case 'enum64':
        writeInt(dv, off, t.size, v as number | bigint | boolean, what, t.signed ? 'signed' : 'any'); return;
      case 'ptr': writeInt(dv, off, 8, v as bigint, what, 'unsigned'); return;
      case 'float':
        if (typeof v !== 'number') throw new TsbpfError(`${what}: expected a number`);
        if (t.size === 4) dv.setFloat32(off, v, true); else dv.setFloat64(off, v, true);
        return;
      case 'array': {
        const esz = btf.sizeof(t.type);
        if (typeof v === 'string') {
          const b = Buffer.from(v, 'utf8');
          if (b.length > t.nelems) throw new TsbpfError(`${what}: string of ${b.length} bytes does not fit in char[${t.nelems}]`);
          out.set(b, off); return;
        }
        if (!Array.isArray(v)) throw new TsbpfError(`${what}: expected an array`);
        if (v.length > t.nelems) throw new TsbpfError(`${what}: ${v.length} elements, the array holds ${t.nelems}`);
        v.forEach((e, i) => walk(t.type, off + i * esz, e, `${what}[${i}]`, depth + 1));
        return;
      }
      case 'struct': case 'union': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TsbpfError(`${what}: expected an object`);
        const obj = v as { [k: string]: Value };
        for (const k of Object.keys(obj)) {
          const m = t.members.find((x, i) => (x.name || `_${i}`) === k);
          if (!m) throw new TsbpfError(`${what}: no member '${k}' in ${t.kind} ${t.name || '(anon)'}`);
          if (m.bitfieldSize) writeBits(dv, off, m.bitOffset, m.bitfieldSize, obj[k]!, `${what}.${k}`);
          else walk(m.type, off + m.bitOffset / 8, obj[k]!, `${what}.${k}`, depth + 1);
        }
        return;
      }
      default:
        throw new TsbpfError(`${what}: cannot encode a ${t.kind} from JS; pass a Buffer`);
    }
  };
  walk(typeId, 0, value, what, 0);
  return out;
}
