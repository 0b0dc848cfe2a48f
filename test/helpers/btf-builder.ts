/**
 * Build BTF and .BTF.ext blobs for tests, independently of src/btf's encoder.
 *
 *   const b = new BtfBuilder();
 *   const int = b.add({ kind: 'int', name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
 *   const s = b.add({ kind: 'struct', name: 'pt', size: 8, members: [
 *     { name: 'x', type: int, bitOffset: 0, bitfieldSize: 0 }, { name: 'y', type: int, bitOffset: 32, bitfieldSize: 0 }] });
 *   const bytes = b.build();                       // valid BTF
 *   const bad = b.build({ strLen: 9999 });         // header that lies
 *   const ext = buildBtfExt(b, { funcInfo: { xdp: [{ insnOff: 0, typeId: fn }] } }); // call before b.build()
 *
 * Types are described like `BtfType` without `id` (names are strings, interned into
 * the builder's string table). `kflag` / `vlen` override what would be derived, and
 * `raw(words)` appends a record verbatim, for malformed input. Ids are returned in order
 * (first id 1, or base.length for split BTF). Output is little-endian unless
 * `bigEndian` is set.
 */
import type { BtfType } from '../../src/btf/types.js';

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;
/** A type description: a BtfType without id, plus optional raw overrides. */
export type TypeDesc = Distribute<Exclude<BtfType, { kind: 'void' }>> & { kflag?: 0 | 1; vlen?: number };

const KIND: Record<string, number> = {
  int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8, volatile: 9, const: 10,
  restrict: 11, func: 12, func_proto: 13, var: 14, datasec: 15, float: 16, decl_tag: 17, type_tag: 18, enum64: 19,
};

/** Header fields to force (lies included) and extra bytes. */
export interface BtfHeaderOverrides {
  magic?: number; version?: number; flags?: number; hdrLen?: number;
  typeOff?: number; typeLen?: number; strOff?: number; strLen?: number;
  /** Replace the string section bytes. */
  strings?: Uint8Array;
}

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strs: number[] = [];
  private readonly strMap = new Map<string, number>();
  private readonly strBase: number;
  private nextId: number;
  readonly bigEndian: boolean;

  /** `base`: for split BTF, the base's `length` (ids) and `stringsLength`. */
  constructor(opts: { base?: { length: number; stringsLength: number }; bigEndian?: boolean } = {}) {
    this.nextId = opts.base ? opts.base.length : 1;
    this.strBase = opts.base ? opts.base.stringsLength : 0;
    this.bigEndian = opts.bigEndian ?? false;
    if (!opts.base) this.str('');
  }

  /** Intern `s`; returns its string offset. '' is 0. */
  str(s: string): number {
    if (s === '' && this.strMap.size === 0 && this.strBase > 0) return 0; // the base's ''
    const have = this.strMap.get(s);
    if (have !== undefined) return have;
    const off = this.strBase + this.strs.length;
    this.strMap.set(s, off);
    for (const b of new TextEncoder().encode(s)) this.strs.push(b);
    this.strs.push(0);
    return off;
  }

  /** Append raw u32 words as one type record; returns its id. */
  raw(words: number[]): number {
    this.words.push(...words.map((x) => x >>> 0));
    return this.nextId++;
  }

  /** Append a type; returns its id. */
  add(t: TypeDesc): number {
    const kind = KIND[t.kind]!;
    let vlen = 0, kflag = 0, st = 0;
    const extra: number[] = [];
    switch (t.kind) {
      case 'int':
        st = t.size;
        extra.push(((t.encoding << 24) | (t.bitOffset << 16) | t.bits) >>> 0);
        break;
      case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': st = t.type; break;
      case 'array': extra.push(t.type, t.indexType, t.nelems); break;
      case 'struct': case 'union':
        st = t.size;
        vlen = t.members.length;
        kflag = t.members.some((m) => m.bitfieldSize) ? 1 : 0;
        for (const m of t.members) extra.push(this.str(m.name), m.type, kflag ? (m.bitfieldSize << 24) | m.bitOffset : m.bitOffset);
        break;
      case 'enum':
        st = t.size; vlen = t.values.length; kflag = t.signed ? 1 : 0;
        for (const v of t.values) extra.push(this.str(v.name), v.value >>> 0);
        break;
      case 'enum64':
        st = t.size; vlen = t.values.length; kflag = t.signed ? 1 : 0;
        for (const v of t.values) extra.push(this.str(v.name), Number(BigInt.asUintN(32, v.value)), Number(BigInt.asUintN(32, v.value >> 32n)));
        break;
      case 'fwd': kflag = t.union ? 1 : 0; break;
      case 'func': st = t.type; vlen = t.linkage; break;
      case 'func_proto':
        st = t.type; vlen = t.params.length;
        for (const p of t.params) extra.push(this.str(p.name), p.type);
        break;
      case 'var': st = t.type; extra.push(t.linkage); break;
      case 'datasec':
        st = t.size; vlen = t.vars.length;
        for (const v of t.vars) extra.push(v.type, v.offset, v.size);
        break;
      case 'float': st = t.size; break;
      case 'decl_tag': st = t.type; extra.push(t.componentIdx); break;
    }
    if (t.vlen !== undefined) vlen = t.vlen;
    if (t.kflag !== undefined) kflag = t.kflag;
    return this.raw([this.str(t.name), (kflag << 31) | (kind << 24) | vlen, st, ...extra]);
  }

  /** Length of the string table so far (for .BTF.ext offsets that must lie). */
  get stringsLength(): number { return this.strBase + this.strs.length; }

  /** The BTF blob: 24-byte header, types, strings; `over` forces header fields. */
  build(over: BtfHeaderOverrides = {}): Uint8Array {
    const strings = over.strings ?? Uint8Array.from(this.strs);
    const typeLen = this.words.length * 4;
    const hdrLen = 24;
    const out = new Uint8Array(hdrLen + typeLen + strings.length);
    const v = new DataView(out.buffer);
    const le = !this.bigEndian;
    v.setUint16(0, over.magic ?? 0xeb9f, le);
    v.setUint8(2, over.version ?? 1);
    v.setUint8(3, over.flags ?? 0);
    v.setUint32(4, over.hdrLen ?? hdrLen, le);
    v.setUint32(8, over.typeOff ?? 0, le);
    v.setUint32(12, over.typeLen ?? typeLen, le);
    v.setUint32(16, over.strOff ?? typeLen, le);
    v.setUint32(20, over.strLen ?? strings.length, le);
    this.words.forEach((w, i) => v.setUint32(hdrLen + i * 4, w, le));
    out.set(strings, hdrLen + typeLen);
    return out;
  }
}

export interface ExtDesc {
  /** insnOff in BYTES, as in the file. */
  funcInfo?: Record<string, { insnOff: number; typeId: number }[]>;
  lineInfo?: Record<string, { insnOff: number; file: string; line: string; lineNum: number; column: number }[]>;
  coreRelos?: Record<string, { insnOff: number; typeId: number; access: string; kind: number }[]>;
  /** Record sizes to write (default 8 / 16 / 16); bigger ones are padded with 0xee. */
  recSize?: { func?: number; line?: number; core?: number };
  /** Header length (default 32, with core_relo; 24 leaves core_relo out). */
  hdrLen?: number;
  /** Use this raw offset for every section name instead of interning it. */
  secNameOff?: number;
}

/**
 * A .BTF.ext blob whose strings go into `b`'s string table (so build the BTF after).
 */
export function buildBtfExt(b: BtfBuilder, d: ExtDesc): Uint8Array {
  const recSize = { func: d.recSize?.func ?? 8, line: d.recSize?.line ?? 16, core: d.recSize?.core ?? 16 };
  const sub = <T>(secs: Record<string, T[]> | undefined, size: number, rec: (r: T) => number[]): number[] => {
    if (!secs || Object.keys(secs).length === 0) return [];
    const out = [size];
    for (const [name, list] of Object.entries(secs)) {
      out.push(d.secNameOff ?? b.str(name), list.length);
      for (const r of list) {
        const words = rec(r);
        while (words.length * 4 < size) words.push(0xeeeeeeee);
        out.push(...words.slice(0, Math.ceil(size / 4)));
      }
    }
    return out;
  };
  const fi = sub(d.funcInfo, recSize.func, (r) => [r.insnOff, r.typeId]);
  const li = sub(d.lineInfo, recSize.line, (r) => [r.insnOff, b.str(r.file), b.str(r.line), (r.lineNum << 10) | r.column]);
  const cr = sub(d.coreRelos, recSize.core, (r) => [r.insnOff, r.typeId, b.str(r.access), r.kind]);
  const hdrLen = d.hdrLen ?? 32;
  const body = [...fi, ...li, ...(hdrLen >= 32 ? cr : [])];
  const out = new Uint8Array(hdrLen + body.length * 4);
  const v = new DataView(out.buffer);
  const le = !b.bigEndian;
  v.setUint16(0, 0xeb9f, le);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, le);
  const fields = [0, fi.length * 4, fi.length * 4, li.length * 4, (fi.length + li.length) * 4, cr.length * 4];
  fields.forEach((x, i) => { if (8 + i * 4 + 4 <= hdrLen) v.setUint32(8 + i * 4, x, le); });
  body.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, le));
  return out;
}
