/**
 * Decoding one raw BTF record into a plain `BtfType` object (the hot path of every
 * walk over types, and all of "decode every type of vmlinux").
 *
 * The record table (word offsets and kinds, from parse's one pass) stays the source of
 * truth; objects are made on demand and kept only in a small cache (see TypeCache), so
 * that decoding all of vmlinux makes short-lived objects the young-generation GC frees
 * for almost nothing, instead of 300k objects that it copies twice before promoting them.
 *
 * Decoding checks what parse leaves for later: member / parameter / enumerator name
 * offsets, referenced type ids, a vlen on kinds that have none.
 */
import { BtfError } from '../errors.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR,
  BTF_KIND_VOLATILE,
  type BtfEnum64Value, type BtfEnumValue, type BtfMember, type BtfParam, type BtfType, type BtfVarSecinfo,
} from './types.js';
import { KIND_NAMES, infoKflag, infoVlen, kindHasVlen } from './kinds.js';
import type { BtfStrings } from './strings.js';

/** What the decoder needs from its Btf: the string and id spaces, for names and checks. */
export interface DecodeHost {
  /** One past the last type id (base, own and added types). */
  readonly length: number;
  /** One past the last string offset (base, own and added strings). */
  readonly stringsLength: number;
  /** A string outside the own section (base strings of split BTF, added strings). */
  string(offset: number): string;
}

/** The raw records of one BTF (own records only), and the decoder over them. */
export class RecordDecoder {
  constructor(
    /** The type section as host-order u32 words. */
    readonly w: Uint32Array,
    /** Word offset of each own record, plus the end. */
    readonly offsets: Uint32Array,
    readonly kinds: Uint8Array,
    /** Byte offset of the type section in the blob, for messages. */
    readonly typeStart: number,
    readonly strings: BtfStrings,
    private readonly host: DecodeHost,
    /** File and section for errors. */
    private readonly where: { file: string | undefined; section: string },
  ) {}

  /** A BtfError with this BTF's file and section. */
  error(detail: string, ctx: { typeId?: number; offset?: number } = {}): BtfError {
    return new BtfError(detail, { ...this.where, ...ctx });
  }

  /** Type `id`, own record `i`, as a new object. */
  decode(id: number, i: number): BtfType {
    const w = this.w;
    const o = this.offsets[i]!;
    const info = w[o + 1]!;
    const kind = this.kinds[i]!;
    const vlen = infoVlen(info);
    const sizeOrType = w[o + 2]!; // struct btf_type's size / type union
    const nameOff = w[o]!;
    const name = nameOff === 0 ? '' : this.str(nameOff, id, o, 'type'); // range checked in parse
    if (vlen !== 0 && !kindHasVlen(kind)) throw this.error(`vlen ${vlen} on a ${KIND_NAMES[kind]} record, expected 0`, { typeId: id, offset: this.at(o) });
    const last = this.host.length;
    const p = o + 3;
    switch (kind) {
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const kflag = infoKflag(info);
        const members = new Array<BtfMember>(vlen); // sized once: push grows and copies
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          const n = w[q]!, off = w[q + 2]!, type = w[q + 1]!;
          const mname = n === 0 ? '' : this.str(n, id, q, 'member');
          if (type >= last) throw this.refError(type, id, q + 1);
          members[k] = {
            name: mname,
            type,
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return { id, name, kind: kind === BTF_KIND_STRUCT ? 'struct' : 'union', size: sizeOrType, members };
      }
      case BTF_KIND_FUNC_PROTO: {
        const params = new Array<BtfParam>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 2) {
          const n = w[q]!, type = w[q + 1]!;
          const pname = n === 0 ? '' : this.str(n, id, q, 'parameter');
          if (type >= last) throw this.refError(type, id, q + 1);
          params[k] = { name: pname, type };
        }
        return { id, name, kind: 'func_proto', type: this.ref(sizeOrType, id, o), params };
      }
      case BTF_KIND_FUNC: return { id, name, kind: 'func', type: this.ref(sizeOrType, id, o), linkage: vlen };
      case BTF_KIND_PTR: return { id, name, kind: 'ptr', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_CONST: return { id, name, kind: 'const', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_TYPEDEF: return { id, name, kind: 'typedef', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_VOLATILE: return { id, name, kind: 'volatile', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_RESTRICT: return { id, name, kind: 'restrict', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_TYPE_TAG: return { id, name, kind: 'type_tag', type: this.ref(sizeOrType, id, o) };
      case BTF_KIND_INT: {
        const d = w[p]!;
        return { id, name, kind: 'int', size: sizeOrType, encoding: (d >>> 24) & 0x0f, bitOffset: (d >>> 16) & 0xff, bits: d & 0xff };
      }
      case BTF_KIND_ARRAY:
        return { id, name, kind: 'array', type: this.ref(w[p]!, id, p), indexType: this.ref(w[p + 1]!, id, p + 1), nelems: w[p + 2]! };
      case BTF_KIND_ENUM: {
        const kflag = infoKflag(info);
        const values = new Array<BtfEnumValue>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 2) {
          const n = w[q]!;
          values[k] = { name: n === 0 ? '' : this.str(n, id, q, 'enumerator'), value: kflag ? w[q + 1]! | 0 : w[q + 1]! };
        }
        return { id, name, kind: 'enum', size: sizeOrType, signed: kflag, values };
      }
      case BTF_KIND_FWD: return { id, name, kind: 'fwd', union: infoKflag(info) };
      case BTF_KIND_VAR: return { id, name, kind: 'var', type: this.ref(sizeOrType, id, o), linkage: w[p]! };
      case BTF_KIND_DATASEC: {
        const vars = new Array<BtfVarSecinfo>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) vars[k] = { type: this.ref(w[q]!, id, q), offset: w[q + 1]!, size: w[q + 2]! };
        return { id, name, kind: 'datasec', size: sizeOrType, vars };
      }
      case BTF_KIND_FLOAT: return { id, name, kind: 'float', size: sizeOrType };
      case BTF_KIND_DECL_TAG: return { id, name, kind: 'decl_tag', type: this.ref(sizeOrType, id, o), componentIdx: w[p]! | 0 };
      case BTF_KIND_ENUM64: {
        const kflag = infoKflag(info);
        const values = new Array<BtfEnum64Value>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          const raw = (BigInt(w[q + 2]!) << 32n) | BigInt(w[q + 1]!);
          const n = w[q]!;
          values[k] = { name: n === 0 ? '' : this.str(n, id, q, 'enumerator'), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        return { id, name, kind: 'enum64', size: sizeOrType, signed: kflag, values };
      }
    }
    /* c8 ignore next */
    throw this.error(`unknown BTF kind ${kind}`, { typeId: id, offset: this.at(o) });
  }

  /** Byte offset in the blob of word `q` of the type section, for messages. */
  at(q: number): number { return this.typeStart + q * 4; }

  /** Check a type id referenced by type `id` at word `q`. */
  ref(tid: number, id: number, q: number): number {
    if (tid >= this.host.length) throw this.refError(tid, id, q);
    return tid;
  }

  private refError(tid: number, id: number, q: number): BtfError {
    return this.error(`references type id ${tid}, but the last type id is ${this.host.length - 1}`, { typeId: id, offset: this.at(q) });
  }

  /** Name at string offset `off` (not 0), for a field of type `id` at word `q`. */
  private str(off: number, id: number, q: number, what: string): string {
    const s = this.strings;
    if (off >= s.start && off < s.end) return s.get(off);
    if (off >= this.host.stringsLength) {
      throw this.error(`${what} name offset ${off} is out of range (string section is ${this.host.stringsLength} bytes)`, { typeId: id, offset: this.at(q) });
    }
    return this.host.string(off);
  }
}

/**
 * Decoded types by own record index. A BTF of up to FULL_CACHE records keeps every
 * decoded type (an object's BTF: the same object for the same id, always). A larger one
 * (vmlinux, 126k types) keeps the last decoded type per slot of a direct-mapped table:
 * repeated lookups of the same types (a CO-RE walk, a struct and its members' types)
 * find them, and a pass over every type does not keep 300k objects alive.
 */
export class TypeCache {
  private readonly slots: (BtfType | undefined)[];
  private readonly mask: number;

  constructor(count: number) {
    if (count <= FULL_CACHE) {
      this.slots = new Array<BtfType | undefined>(count).fill(undefined);
      this.mask = -1;
    } else {
      this.slots = new Array<BtfType | undefined>(SLOTS).fill(undefined);
      this.mask = SLOTS - 1;
    }
  }

  get(i: number, id: number): BtfType | undefined {
    const t = this.slots[i & this.mask];
    return t !== undefined && t.id === id ? t : undefined;
  }

  set(i: number, t: BtfType): BtfType {
    this.slots[i & this.mask] = t;
    return t;
  }
}

/** Records up to which every decoded type is kept. */
const FULL_CACHE = 16384;
/** Slots of the direct-mapped cache of a larger BTF (a power of two). */
const SLOTS = 4096;
