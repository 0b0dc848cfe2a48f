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

  /**
   * Type `id`, own record `i`, as a new object. The hot path of every walk over types: the
   * id space's end is read once per record (`last`), and names come through `name()`,
   * small enough to inline; the kinds with a vlen array have their own methods, so that
   * each loop is compiled (and inlined into) on its own.
   */
  decode(id: number, i: number): BtfType {
    const w = this.w;
    const o = this.offsets[i]!;
    const info = w[o + 1]!;
    const kind = this.kinds[i]!;
    const vlen = infoVlen(info);
    const sizeOrType = w[o + 2]!; // struct btf_type's size / type union (a bad type id's error points at this word)
    const name = this.name(w[o]!, id, o, 'type'); // range checked in parse
    if (vlen !== 0 && !kindHasVlen(kind)) throw this.error(`vlen ${vlen} on a ${KIND_NAMES[kind]} record, expected 0`, { typeId: id, offset: this.at(o) });
    const last = this.host.length;
    const p = o + 3;
    switch (kind) {
      case BTF_KIND_FUNC: return { id, name, kind: 'func', type: this.check(sizeOrType, last, id, o + 2), linkage: vlen };
      case BTF_KIND_FUNC_PROTO: return { id, name, kind: 'func_proto', type: this.check(sizeOrType, last, id, o + 2), params: this.params(id, p, vlen, last) };
      case BTF_KIND_STRUCT: case BTF_KIND_UNION:
        return { id, name, kind: kind === BTF_KIND_STRUCT ? 'struct' : 'union', size: sizeOrType, members: this.members(id, p, vlen, infoKflag(info), last) };
      case BTF_KIND_PTR: return { id, name, kind: 'ptr', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_CONST: return { id, name, kind: 'const', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_TYPEDEF: return { id, name, kind: 'typedef', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_VOLATILE: return { id, name, kind: 'volatile', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_RESTRICT: return { id, name, kind: 'restrict', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_TYPE_TAG: return { id, name, kind: 'type_tag', type: this.check(sizeOrType, last, id, o + 2) };
      case BTF_KIND_INT: {
        const d = w[p]!;
        return { id, name, kind: 'int', size: sizeOrType, encoding: (d >>> 24) & 0x0f, bitOffset: (d >>> 16) & 0xff, bits: d & 0xff };
      }
      case BTF_KIND_ARRAY:
        return { id, name, kind: 'array', type: this.check(w[p]!, last, id, p), indexType: this.check(w[p + 1]!, last, id, p + 1), nelems: w[p + 2]! };
      case BTF_KIND_ENUM: {
        const signed = infoKflag(info);
        return { id, name, kind: 'enum', size: sizeOrType, signed, values: this.enumValues(id, p, vlen, signed) };
      }
      case BTF_KIND_FWD: return { id, name, kind: 'fwd', union: infoKflag(info) };
      case BTF_KIND_VAR: return { id, name, kind: 'var', type: this.check(sizeOrType, last, id, o + 2), linkage: w[p]! };
      case BTF_KIND_DATASEC: {
        const vars = new Array<BtfVarSecinfo>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) vars[k] = { type: this.check(w[q]!, last, id, q), offset: w[q + 1]!, size: w[q + 2]! };
        return { id, name, kind: 'datasec', size: sizeOrType, vars };
      }
      case BTF_KIND_FLOAT: return { id, name, kind: 'float', size: sizeOrType };
      case BTF_KIND_DECL_TAG: return { id, name, kind: 'decl_tag', type: this.check(sizeOrType, last, id, o + 2), componentIdx: w[p]! | 0 };
      case BTF_KIND_ENUM64: {
        const signed = infoKflag(info);
        const values = new Array<BtfEnum64Value>(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          const raw = (BigInt(w[q + 2]!) << 32n) | BigInt(w[q + 1]!);
          values[k] = { name: this.name(w[q]!, id, q, 'enumerator'), value: signed ? BigInt.asIntN(64, raw) : raw };
        }
        return { id, name, kind: 'enum64', size: sizeOrType, signed, values };
      }
    }
    /* c8 ignore next */
    throw this.error(`unknown BTF kind ${kind}`, { typeId: id, offset: this.at(o) });
  }

  /** The members of a struct / union whose btf_member array starts at word `p`. */
  private members(id: number, p: number, vlen: number, kflag: boolean, last: number): BtfMember[] {
    const w = this.w;
    const members = new Array<BtfMember>(vlen); // sized once: push grows and copies
    for (let k = 0, q = p; k < vlen; k++, q += 3) {
      const off = w[q + 2]!;
      members[k] = {
        name: this.name(w[q]!, id, q, 'member'),
        type: this.check(w[q + 1]!, last, id, q + 1),
        bitOffset: kflag ? off & 0xffffff : off,
        bitfieldSize: kflag ? off >>> 24 : 0,
      };
    }
    return members;
  }

  /** The parameters of a func_proto whose btf_param array starts at word `p`. */
  private params(id: number, p: number, vlen: number, last: number): BtfParam[] {
    const w = this.w;
    const params = new Array<BtfParam>(vlen);
    for (let k = 0, q = p; k < vlen; k++, q += 2) params[k] = { name: this.name(w[q]!, id, q, 'parameter'), type: this.check(w[q + 1]!, last, id, q + 1) };
    return params;
  }

  /** The enumerators of an enum whose btf_enum array starts at word `p`. */
  private enumValues(id: number, p: number, vlen: number, signed: boolean): BtfEnumValue[] {
    const w = this.w;
    const values = new Array<BtfEnumValue>(vlen);
    for (let k = 0, q = p; k < vlen; k++, q += 2) values[k] = { name: this.name(w[q]!, id, q, 'enumerator'), value: signed ? w[q + 1]! | 0 : w[q + 1]! };
    return values;
  }

  /** Check type id `tid` referenced by type `id` at word `q`, against `last` (one past the last id). */
  private check(tid: number, last: number, id: number, q: number): number {
    if (tid >= last) throw this.refError(tid, id, q);
    return tid;
  }

  /** Byte offset in the blob of word `q` of the type section, for messages. */
  at(q: number): number { return this.typeStart + q * 4; }

  /** Check a type id referenced by type `id` at word `q`. */
  ref(tid: number, id: number, q: number): number {
    return this.check(tid, this.host.length, id, q);
  }

  private refError(tid: number, id: number, q: number): BtfError {
    return this.error(`references type id ${tid}, but the last type id is ${this.host.length - 1}`, { typeId: id, offset: this.at(q) });
  }

  /** Name at string offset `off`, for a field of type `id` at word `q`: own names inline, the rest in otherName. */
  private name(off: number, id: number, q: number, what: string): string {
    if (off === 0) return '';
    const s = this.strings;
    if (off < s.end && off >= s.start) return s.get(off);
    return this.otherName(off, id, q, what);
  }

  /** A name outside the own string section: the base's or an added string, or an error. */
  private otherName(off: number, id: number, q: number, what: string): string {
    if (off >= this.host.stringsLength) {
      throw this.error(`${what} name offset ${off} is out of range (string section is ${this.host.stringsLength} bytes)`, { typeId: id, offset: this.at(q) });
    }
    return this.host.string(off);
  }
}

/**
 * Decoded types by own record index. A BTF of up to FULL_CACHE records keeps every
 * decoded type (an object's BTF: the same object for the same id, always). A larger one
 * (vmlinux, 126k types) keeps a type in a slot of a direct-mapped table only when it is
 * decoded a second time while the slot still remembers its first decode: repeated
 * lookups of the same types (a CO-RE walk, a struct and its members' types) find them,
 * and a pass over every type keeps none of them alive. Kept objects survive young-
 * generation collections and are copied by each: with every decoded type kept in 4096
 * slots, the collector's time per pass over vmlinux was ~4x what it is with none kept.
 * So on a large BTF two typeById calls for the same id may give equal objects rather than
 * the same one.
 */
export class TypeCache {
  private readonly slots: (BtfType | undefined)[];
  /**
   * Large BTF only: per slot, 1 + the record index kept in it (0: none). Kept apart from
   * the objects so that a lookup reads no property of a type (their shapes differ by kind).
   */
  private readonly kept: Int32Array | undefined;
  /** Large BTF only: per slot, 1 + the record index decoded last without being kept. */
  private readonly seen: Int32Array | undefined;
  private readonly mask: number;

  constructor(count: number) {
    if (count <= FULL_CACHE) {
      this.slots = new Array<BtfType | undefined>(count).fill(undefined);
      this.mask = -1;
    } else {
      this.slots = new Array<BtfType | undefined>(SLOTS).fill(undefined);
      this.kept = new Int32Array(SLOTS);
      this.seen = new Int32Array(SLOTS);
      this.mask = SLOTS - 1;
    }
  }

  /** The kept object of own record `i`, if any. */
  get(i: number): BtfType | undefined {
    const kept = this.kept;
    if (kept === undefined) return this.slots[i];
    const h = i & this.mask;
    return kept[h] === i + 1 ? this.slots[h] : undefined;
  }

  set(i: number, t: BtfType): BtfType {
    const seen = this.seen;
    if (seen === undefined) this.slots[i] = t;
    else {
      const h = i & this.mask;
      if (seen[h] === i + 1) { this.slots[h] = t; this.kept![h] = i + 1; }
      else seen[h] = i + 1;
    }
    return t;
  }
}

/** Records up to which every decoded type is kept. */
const FULL_CACHE = 16384;
/** Slots of the direct-mapped cache of a larger BTF (a power of two). */
const SLOTS = 4096;
