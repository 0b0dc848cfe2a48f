/**
 * Lazy BTF reader / writer.
 *
 * `Btf.parse` makes one pass over the type section, recording where each record starts
 * and its kind (records are variable length), and checks the cheap things: header,
 * kind numbers, that every record fits, that every type's name offset is inside the
 * string table. A type is decoded into a plain `BtfType` only when asked for, then
 * cached; decoding checks the rest (member / param names, referenced ids, vlen of kinds
 * that have none). Nothing but `BtfError` escapes for any input.
 *
 * Decoded types are shared with the cache: treat them as read-only, and use `setType`
 * (on a copy) to change one. `encode()` writes the (possibly changed) BTF back.
 */
import * as BufferModule from 'node:buffer';
import { BtfError, type ErrorContext } from '../errors.js';
import type { BtfKindName, BtfMember, BtfType } from './types.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_TYPE_SIZE, KIND_NAMES, KIND_NUMBERS, extraSize, kindHasVlen } from './kinds.js';

export interface BtfParseOptions {
  /** Object path for error messages. */
  file?: string;
  /** Section name for error messages (default '.BTF'). */
  section?: string;
  /** Base BTF when `bytes` is split BTF (kernel module): ids and string offsets continue after the base's. */
  base?: Btf;
}

/** Result of `Btf.findMember`. */
export interface BtfMemberRef {
  member: BtfMember;
  /** Member indices from the outer struct down, through anonymous structs/unions. */
  path: number[];
  /** Bit offset from the start of the outer struct. */
  bitOffset: number;
}

const MODIFIERS = new Set<BtfKindName>(['typedef', 'const', 'volatile', 'restrict', 'type_tag']);
const U32_MAX = 0xffffffff;
const VOID: BtfType = Object.freeze({ id: 0, name: '', kind: 'void' }) as BtfType;

export class Btf {
  /** Base BTF of split BTF, else undefined. */
  readonly base: Btf | undefined;
  /** True when the blob was little-endian (encode() keeps the byte order). */
  readonly littleEndian: boolean;

  private readonly file: string | undefined;
  private readonly section: string;
  private readonly bytes: Uint8Array;
  /** The type section as u32 words in host order (a view when possible, else a copy). */
  private readonly w: Uint32Array;
  /** Byte offset of the type section in `bytes`. */
  private readonly typeStart: number;
  private readonly firstId: number;
  /** Offset where this BTF's own strings start in the shared string space (split BTF). */
  private readonly strBase: number;
  private readonly strStart: number;
  private readonly strLen: number;
  /** Word index in `w` of each own record, plus one end sentinel. */
  private readonly offsets: Uint32Array;
  private readonly kinds: Uint8Array;
  private readonly origCount: number;
  private readonly cache: (BtfType | undefined)[];
  private readonly overrides = new Map<number, BtfType>();
  private readonly added: BtfType[] = [];
  private readonly addedStrings: string[] = [];
  private readonly addedStrByOff = new Map<number, string>();
  private addedStrLen = 0;
  private strText: string | undefined;
  private strAscii = true;
  private strIndex: Map<string, number> | undefined;
  /** name -> id, or ids when several types share the name. */
  private nameIndex: Map<string, number | number[]> | undefined;

  private constructor(
    bytes: Uint8Array, le: boolean, opts: BtfParseOptions,
    typeStart: number, typeLen: number, strStart: number, strLen: number,
  ) {
    this.bytes = bytes;
    this.littleEndian = le;
    this.file = opts.file;
    this.section = opts.section ?? '.BTF';
    this.base = opts.base;
    this.firstId = opts.base ? opts.base.length : 1;
    this.strBase = opts.base ? opts.base.stringsLength : 0;
    this.strStart = strStart;
    this.strLen = strLen;
    this.typeStart = typeStart;
    const w = this.w = typeWords(bytes, typeStart, typeLen, le);

    // The one pass over the type section.
    const strTotal = this.strBase + strLen;
    const offsets = new Uint32Array(Math.floor(typeLen / BTF_TYPE_SIZE) + 1);
    const kinds = new Uint8Array(offsets.length);
    const r = scanTypes(w, typeLen, strTotal, offsets, kinds);
    if (r < 0) this.scanError(~r, offsets[~r]!, typeLen, strTotal);
    const n = r;
    this.origCount = n;
    this.offsets = offsets.subarray(0, n + 1);
    this.kinds = kinds.subarray(0, n);
    this.cache = new Array<BtfType | undefined>(n);
  }

  /** Parse a `.BTF` section (or /sys/kernel/btf/*). Only the header and record layout are checked here. */
  static parse(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
    const ctx: ErrorContext = { file: opts.file, section: opts.section ?? '.BTF' };
    const fail = (detail: string, offset?: number) => new BtfError(detail, { ...ctx, offset });
    if (bytes.length < 8) throw fail(`BTF is ${bytes.length} bytes, too short for a header`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magicLe = v.getUint16(0, true);
    let le: boolean;
    if (magicLe === BTF_MAGIC) le = true;
    else if (magicLe === 0x9feb) le = false;
    else throw fail(`bad magic 0x${magicLe.toString(16).padStart(4, '0')}, expected 0xeb9f`, 0);
    const version = v.getUint8(2);
    if (version !== 1) throw fail(`unsupported BTF version ${version}, expected 1`, 2);
    const hdrLen = v.getUint32(4, le);
    if (hdrLen < BTF_HEADER_SIZE) throw fail(`hdr_len ${hdrLen} is smaller than the ${BTF_HEADER_SIZE}-byte btf_header by ${BTF_HEADER_SIZE - hdrLen}`, 4);
    if (hdrLen > bytes.length) throw fail(`hdr_len ${hdrLen} runs ${hdrLen - bytes.length} bytes past the end of the ${bytes.length}-byte BTF`, 4);
    const typeOff = v.getUint32(8, le), typeLen = v.getUint32(12, le);
    const strOff = v.getUint32(16, le), strLen = v.getUint32(20, le);
    const data = bytes.length - hdrLen;
    if (typeOff % 4 !== 0) throw fail(`type_off ${typeOff} is not 4-byte aligned`, 8);
    if (typeOff + typeLen > data) {
      throw fail(`type section (type_off ${typeOff} + type_len ${typeLen}) runs ${typeOff + typeLen - data} bytes past the end of the ${data} bytes after the header`, typeOff > data ? 8 : 12);
    }
    if (strOff + strLen > data) {
      throw fail(`string section (str_off ${strOff} + str_len ${strLen}) runs ${strOff + strLen - data} bytes past the end of the ${data} bytes after the header`, strOff > data ? 16 : 20);
    }
    if (typeLen > 0 && strLen > 0 && typeOff < strOff + strLen && strOff < typeOff + typeLen) {
      const overlap = Math.min(typeOff + typeLen, strOff + strLen) - Math.max(typeOff, strOff);
      throw fail(`type section [${typeOff}, ${typeOff + typeLen}) and string section [${strOff}, ${strOff + strLen}) overlap by ${overlap} bytes`, 8);
    }
    const strStart = hdrLen + strOff;
    if (strLen === 0 && !opts.base) throw fail('empty string section (it must hold at least the empty string)', 20);
    if (strLen > 0) {
      if (!opts.base && bytes[strStart] !== 0) throw fail('string section does not start with the empty string (NUL byte)', strStart);
      if (bytes[strStart + strLen - 1] !== 0) {
        let last = strStart + strLen - 1;
        while (last > strStart && bytes[last - 1] !== 0) last--;
        throw fail(`unterminated string section: the last string (string offset ${last - strStart}) has no NUL byte`, strStart + strLen - 1);
      }
    }
    return new Btf(bytes, le, opts, hdrLen + typeOff, typeLen, strStart, strLen);
  }

  // ---- ids and strings ----

  /** Number of type ids, including void (0) and, for split BTF, the base's ids. */
  get length(): number { return this.firstId + this.origCount + this.added.length; }
  /** First id defined by this BTF (1, or the base's length for split BTF). */
  get firstTypeId(): number { return this.firstId; }
  /** Size of the string space: base strings + own section + added strings. */
  get stringsLength(): number { return this.strBase + this.strLen + this.addedStrLen; }

  /**
   * Word offset (in the type section) of each of this BTF's own records, plus an end
   * sentinel, as parse() found them in its one pass. Read-only: for scanners of the raw
   * records (CO-RE candidate lookup) that must not walk all of vmlinux again.
   */
  recordOffsets(): Readonly<Uint32Array> {
    return this.offsets;
  }

  /** The NUL-terminated string at `offset` in the string section (the base's for low offsets of split BTF). */
  string(offset: number): string {
    if (offset < this.strBase && this.base) return this.base.string(offset);
    const rel = offset - this.strBase;
    if (Number.isInteger(rel) && rel >= 0 && rel < this.strLen) {
      // No cache by offset: measured on vmlinux, a Map get/set per name costs more than
      // the slice of the latin1 text it would save.
      const text = this.strText ?? this.loadStrings();
      const end = text.indexOf('\0', rel); // found: the section ends with NUL (checked in parse)
      const s = text.slice(rel, end);
      if (this.strAscii || isAsciiText(s)) return s;
      return utf8.decode(this.bytes.subarray(this.strStart + rel, this.strStart + end));
    }
    const added = this.addedStrByOff.get(offset);
    if (added !== undefined) return added;
    throw this.err(`string offset ${offset} is out of range (string section is ${this.stringsLength} bytes)`);
  }

  /** Offset of `s` if the string table already holds it (own or base), else undefined. */
  stringOffset(s: string): number | undefined {
    if (s === '') return 0; // the base's (or own) first byte
    const b = this.base?.stringOffset(s);
    if (b !== undefined) return b;
    return (this.strIndex ?? this.buildStrIndex()).get(s);
  }

  /** Append a string (deduplicated); returns its offset. */
  addString(s: string): number {
    const have = this.stringOffset(s);
    if (have !== undefined) return have;
    if (s.includes('\0')) throw this.err(`cannot add a string containing a NUL byte: ${JSON.stringify(s)}`);
    const off = this.strBase + this.strLen + this.addedStrLen;
    this.addedStrings.push(s);
    this.addedStrByOff.set(off, s);
    this.strIndex!.set(s, off);
    this.addedStrLen += new TextEncoder().encode(s).length + 1;
    return off;
  }

  // ---- types ----

  /** Kind of `id` without decoding it. */
  kindOf(id: number): BtfKindName {
    if (id === 0) return 'void';
    const i = id - this.firstId;
    if (i >= 0 && i < this.origCount && Number.isInteger(i)) {
      if (this.overrides.size > 0) { const o = this.overrides.get(id); if (o) return o.kind; }
      return KIND_NAMES[this.kinds[i]!] as BtfKindName;
    }
    return this.typeById(id).kind;
  }

  /** The type with this id; id 0 is void. Throws BtfError for ids out of range or malformed records. */
  typeById(id: number): BtfType {
    const i = id - this.firstId;
    if (i >= 0 && i < this.origCount && Number.isInteger(i)) {
      if (this.overrides.size > 0) { const o = this.overrides.get(id); if (o) return o; }
      return this.cache[i] ?? (this.cache[i] = this.decode(id, i));
    }
    if (id === 0) return VOID;
    if (i >= this.origCount && i < this.origCount + this.added.length) return this.added[i - this.origCount]!;
    if (id > 0 && id < this.firstId && this.base) return this.base.typeById(id);
    throw this.err(`type id ${id} is out of range (last type id is ${this.length - 1})`);
  }

  /** All types from id 1 (the base's first, for split BTF) to the last. */
  *types(): IterableIterator<BtfType> {
    for (let id = 1; id < this.length; id++) yield this.typeById(id);
  }

  /** Ids of every type called `name` (base ids first for split BTF). The index is built on first use. */
  idsByName(name: string): number[] {
    const hit = (this.nameIndex ?? this.buildNameIndex()).get(name);
    const own = hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit.slice();
    return this.base ? [...this.base.idsByName(name), ...own] : own;
  }

  /** First type called `name`, of kind `kind` if given. */
  typeByName(name: string, kind?: BtfKindName): BtfType | undefined {
    for (const id of this.idsByName(name)) {
      if (kind === undefined || this.kindOf(id) === kind) return this.typeById(id);
    }
    return undefined;
  }

  /** The DATASEC called `name` (e.g. '.maps', '.rodata'). */
  datasecByName(name: string): (BtfType & { kind: 'datasec' }) | undefined {
    type Ds = BtfType & { kind: 'datasec' };
    // Same answer as typeByName(name, 'datasec') (base first, then own ids in order), but
    // only DATASEC names are compared: no name index over every type.
    if (name === '') return undefined; // unnamed types are in no name index
    if (this.nameIndex) return this.typeByName(name, 'datasec') as Ds | undefined;
    const b = this.base?.datasecByName(name);
    if (b) return b;
    const kinds = this.kinds, offsets = this.offsets, w = this.w;
    const overridden = this.overrides.size > 0;
    for (let i = 0; i < this.origCount; i++) {
      const id = this.firstId + i;
      if (overridden) {
        const o = this.overrides.get(id);
        if (o) { if (o.kind === 'datasec' && o.name === name) return o as Ds; continue; }
      }
      if (kinds[i] !== 15) continue;
      const nameOff = w[offsets[i]!]!;
      if (nameOff !== 0 && this.string(nameOff) === name) return this.typeById(id) as Ds;
    }
    for (const t of this.added) if (t.kind === 'datasec' && t.name === name) return t as Ds;
    return undefined;
  }

  /** Id of the type under typedef / const / volatile / restrict / type_tag (`id` itself if none). */
  resolve(id: number): number {
    let cur = id;
    for (let steps = 0; ; steps++) {
      if (steps > this.length) throw this.cycleError(id, (x) => this.modifierNext(x));
      const i = this.rawIndex(cur);
      if (i >= 0) {
        // Fast path: read the record without decoding it.
        const k = this.kinds[i]!;
        if (k !== 8 && k !== 9 && k !== 10 && k !== 11 && k !== 18) return cur;
        const o = this.offsets[i]!;
        if ((this.w[o + 1]! & 0xffff) !== 0) this.typeById(cur); // throws the vlen error
        cur = this.ref(this.w[o + 2]!, cur, o + 2);
        continue;
      }
      if (cur > 0 && cur < this.firstId && this.base) return this.base.resolve(cur);
      const t = this.typeById(cur);
      if (!MODIFIERS.has(t.kind)) return cur;
      cur = (t as { type: number }).type;
    }
  }

  /** The type under typedef / const / volatile / restrict / type_tag. */
  resolveType(id: number): BtfType {
    return this.typeById(this.resolve(id));
  }

  /** Size in bytes: pointers are 8, arrays n * element, var its type, modifiers followed. */
  sizeof(id: number): number {
    let mult = 1;
    let cur = id;
    for (let steps = 0; ; steps++) {
      if (steps > this.length) throw this.cycleError(id, (x) => this.sizeNext(x));
      const i = this.rawIndex(cur);
      if (i >= 0) {
        const o = this.offsets[i]!, w = this.w;
        const k = this.kinds[i]!;
        if (k === 3) { // array: btf_array { type, index_type, nelems }
          mult *= w[o + 5]!;
          cur = this.ref(w[o + 3]!, cur, o + 3);
          continue;
        }
        if ((w[o + 1]! & 0xffff) !== 0 && !kindHasVlen(k)) this.typeById(cur); // throws the vlen error
        switch (k) {
          case 1: case 4: case 5: case 6: case 15: case 16: case 19: return this.checkSize(id, mult * w[o + 2]!);
          case 2: return this.checkSize(id, mult * 8);
          case 8: case 9: case 10: case 11: case 14: case 18: cur = this.ref(w[o + 2]!, cur, o + 2); continue;
        }
      }
      const t = this.typeById(cur);
      switch (t.kind) {
        case 'int': case 'enum': case 'enum64': case 'struct': case 'union': case 'float': case 'datasec':
          return this.checkSize(id, mult * t.size);
        case 'ptr':
          return this.checkSize(id, mult * 8);
        case 'array':
          mult *= t.nelems;
          cur = t.type;
          break;
        case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag': case 'var':
          cur = t.type;
          break;
        default:
          throw this.err(cur === id ? `${t.kind} has no size` : `${t.kind} (type id ${cur}) has no size`, { typeId: id });
      }
    }
  }

  /**
   * Find a member by name in a struct/union (after `resolve`), looking into anonymous
   * struct/union members too. Returns undefined when there is none.
   */
  findMember(id: number, name: string): BtfMemberRef | undefined {
    type Agg = BtfType & { kind: 'struct' | 'union' };
    const root = this.resolveType(id);
    if (root.kind !== 'struct' && root.kind !== 'union') return undefined;
    // Depth-first without recursion (anonymous nesting can be arbitrarily deep in bad input).
    const stack: { t: Agg; i: number; bit: number; path: number[] }[] = [{ t: root, i: 0, bit: 0, path: [] }];
    const open = new Set<number>([root.id]);
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (f.i >= f.t.members.length) { open.delete(f.t.id); stack.pop(); continue; }
      const k = f.i++;
      const m = f.t.members[k]!;
      if (m.name === name) return { member: m, path: [...f.path, k], bitOffset: f.bit + m.bitOffset };
      if (m.name !== '') continue;
      const sub = this.resolveType(m.type);
      if (sub.kind !== 'struct' && sub.kind !== 'union') continue;
      if (open.has(sub.id)) {
        throw this.err(`type id cycle through anonymous members: ${[...stack.map((x) => x.t.id), sub.id].join(' -> ')}`, { typeId: id });
      }
      open.add(sub.id);
      stack.push({ t: sub, i: 0, bit: f.bit + m.bitOffset, path: [...f.path, k] });
    }
    return undefined;
  }

  /**
   * Decode every own type and check what `parse` leaves for later: referenced ids, names,
   * modifier / pointer loops, sizes of array elements, variables and members.
   */
  validate(): void {
    for (let id = this.firstId; id < this.length; id++) {
      const t = this.typeById(id);
      switch (t.kind) {
        case 'ptr': case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag': {
          let cur = t.type;
          for (let steps = 0; ; steps++) {
            if (steps > this.length) throw this.cycleError(id, (x) => this.ptrNext(x));
            const k = this.kindOf(cur);
            if (k !== 'ptr' && !MODIFIERS.has(k)) break;
            cur = (this.typeById(cur) as { type: number }).type;
          }
          break;
        }
        case 'array': this.sizeof(t.id); break;
        case 'var': if (t.linkage !== 2) this.sizeof(t.type); break; // extern (ksym/kconfig) may be typeless
      }
    }
  }

  // ---- mutation and encoding ----

  /** Replace type `id` (one of this BTF's own ids). The object is stored with `id` set. */
  setType(id: number, t: BtfType): void {
    const i = id - this.firstId;
    if (!(i >= 0 && i < this.origCount + this.added.length && Number.isInteger(i))) {
      throw this.err(`setType: type id ${id} is not one of this BTF's ids (${this.firstId}..${this.length - 1})`);
    }
    if (t.kind === 'void') throw this.err('setType: void cannot be stored', { typeId: id });
    const copy = { ...t, id } as BtfType;
    if (i < this.origCount) this.overrides.set(id, copy);
    else this.added[i - this.origCount] = copy;
    this.nameIndex = undefined;
  }

  /** Append a type; returns its id. */
  addType(t: BtfType): number {
    if (t.kind === 'void') throw this.err('addType: void cannot be stored');
    const id = this.length;
    const copy = { ...t, id } as BtfType;
    this.added.push(copy);
    if (this.nameIndex && copy.name !== '') push(this.nameIndex, copy.name, id);
    return id;
  }

  /** Valid BTF (24-byte header, types, strings) of this BTF's own types; split BTF stays split. */
  encode(): Uint8Array {
    const le = this.littleEndian;
    const n = this.origCount + this.added.length;
    // Pass 1: sizes and name offsets of re-encoded records (may add strings).
    const encoded: (EncodedType | undefined)[] = new Array(n);
    let typeLen = 0;
    for (let i = 0; i < n; i++) {
      const id = this.firstId + i;
      const t = i < this.origCount ? this.overrides.get(id) : this.added[i - this.origCount];
      if (!t) { typeLen += (this.offsets[i + 1]! - this.offsets[i]!) * 4; continue; }
      const e = this.prepare(t);
      encoded[i] = e;
      typeLen += e.size;
    }
    const strLen = this.strLen + this.addedStrLen;
    const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strLen);
    const v = new DataView(out.buffer);
    v.setUint16(0, BTF_MAGIC, le);
    v.setUint8(2, 1);
    v.setUint8(3, 0);
    v.setUint32(4, BTF_HEADER_SIZE, le);
    v.setUint32(8, 0, le);
    v.setUint32(12, typeLen, le);
    v.setUint32(16, typeLen, le);
    v.setUint32(20, strLen, le);
    let o = BTF_HEADER_SIZE;
    for (let i = 0; i < n; i++) {
      const e = encoded[i];
      if (!e) {
        // Runs of unchanged records are copied in one go.
        let j = i + 1;
        while (j < this.origCount && !encoded[j]) j++;
        const a = this.typeStart + this.offsets[i]! * 4, b = this.typeStart + this.offsets[j]! * 4;
        out.set(this.bytes.subarray(a, b), o);
        o += b - a;
        i = j - 1;
        continue;
      }
      o = writeType(v, o, le, e);
    }
    out.set(this.bytes.subarray(this.strStart, this.strStart + this.strLen), o);
    o += this.strLen;
    const enc = new TextEncoder();
    for (const s of this.addedStrings) {
      const b = enc.encode(s);
      out.set(b, o);
      o += b.length + 1; // NUL already there
    }
    return out;
  }

  // ---- internals ----

  private err(detail: string, ctx: { typeId?: number; offset?: number } = {}): BtfError {
    return new BtfError(detail, { file: this.file, section: this.section, ...ctx });
  }

  private loadStrings(): string {
    const b = this.bytes.subarray(this.strStart, this.strStart + this.strLen);
    const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
    this.strAscii = isAsciiBytes(b);
    this.strText = text;
    return text;
  }

  private buildStrIndex(): Map<string, number> {
    const idx = new Map<string, number>();
    if (this.strLen > 0) {
      const text = this.strText ?? this.loadStrings();
      for (let p = 0; p < text.length;) {
        const e = text.indexOf('\0', p);
        const off = this.strBase + p;
        const s = this.string(off);
        if (!idx.has(s)) idx.set(s, off);
        p = e + 1;
      }
    }
    for (const [off, s] of this.addedStrByOff) if (!idx.has(s)) idx.set(s, off);
    this.strIndex = idx;
    return idx;
  }

  private buildNameIndex(): Map<string, number | number[]> {
    const idx = new Map<string, number | number[]>();
    const w = this.w;
    for (let i = 0; i < this.origCount; i++) {
      const id = this.firstId + i;
      const o = this.overrides.size > 0 ? this.overrides.get(id) : undefined;
      const nameOff = o ? -1 : w[this.offsets[i]!]!;
      if (nameOff === 0) continue;
      const name = o ? o.name : this.string(nameOff);
      if (name !== '') push(idx, name, id);
    }
    for (const t of this.added) if (t.name !== '') push(idx, t.name, t.id);
    this.nameIndex = idx;
    return idx;
  }

  /** Byte offset in `bytes` of word `q` of the type section, for messages. */
  private at(q: number): number { return this.typeStart + q * 4; }

  /** Name at string offset `off`, for a field of type `id` at word `q`. */
  private name(off: number, id: number, q: number, what: string): string {
    if (off >= this.stringsLength) {
      throw this.err(`${what} name offset ${off} is out of range (string section is ${this.stringsLength} bytes)`, { typeId: id, offset: this.at(q) });
    }
    return this.string(off);
  }

  /** Check a type id referenced by type `id` at word `q`. */
  private ref(tid: number, id: number, q: number): number {
    if (tid >= this.length) throw this.err(`references type id ${tid}, but the last type id is ${this.length - 1}`, { typeId: id, offset: this.at(q) });
    return tid;
  }

  private decode(id: number, i: number): BtfType {
    const w = this.w;
    const o = this.offsets[i]!;
    const info = w[o + 1]!;
    const kind = this.kinds[i]!;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const st = w[o + 2]!;
    const name = this.string(w[o]!); // range checked in parse
    if (vlen !== 0 && !kindHasVlen(kind)) throw this.err(`vlen ${vlen} on a ${KIND_NAMES[kind]} record, expected 0`, { typeId: id, offset: this.at(o) });
    const p = o + 3;
    switch (kind) {
      case 1: {
        const d = w[p]!;
        return { id, name, kind: 'int', size: st, encoding: (d >>> 24) & 0x0f, bitOffset: (d >>> 16) & 0xff, bits: d & 0xff };
      }
      case 2: return { id, name, kind: 'ptr', type: this.ref(st, id, o) };
      case 3:
        return { id, name, kind: 'array', type: this.ref(w[p]!, id, p), indexType: this.ref(w[p + 1]!, id, p + 1), nelems: w[p + 2]! };
      case 4: case 5: {
        const members: BtfMember[] = new Array(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          const off = w[q + 2]!;
          members[k] = {
            name: this.name(w[q]!, id, q, 'member'),
            type: this.ref(w[q + 1]!, id, q + 1),
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return { id, name, kind: kind === 4 ? 'struct' : 'union', size: st, members };
      }
      case 6: {
        const values = new Array(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 2) {
          values[k] = { name: this.name(w[q]!, id, q, 'enumerator'), value: kflag ? w[q + 1]! | 0 : w[q + 1]! };
        }
        return { id, name, kind: 'enum', size: st, signed: kflag, values };
      }
      case 7: return { id, name, kind: 'fwd', union: kflag };
      case 8: return { id, name, kind: 'typedef', type: this.ref(st, id, o) };
      case 9: return { id, name, kind: 'volatile', type: this.ref(st, id, o) };
      case 10: return { id, name, kind: 'const', type: this.ref(st, id, o) };
      case 11: return { id, name, kind: 'restrict', type: this.ref(st, id, o) };
      case 12: return { id, name, kind: 'func', type: this.ref(st, id, o), linkage: vlen };
      case 13: {
        const params = new Array(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 2) {
          params[k] = { name: this.name(w[q]!, id, q, 'parameter'), type: this.ref(w[q + 1]!, id, q + 1) };
        }
        return { id, name, kind: 'func_proto', type: this.ref(st, id, o), params };
      }
      case 14: return { id, name, kind: 'var', type: this.ref(st, id, o), linkage: w[p]! };
      case 15: {
        const vars = new Array(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          vars[k] = { type: this.ref(w[q]!, id, q), offset: w[q + 1]!, size: w[q + 2]! };
        }
        return { id, name, kind: 'datasec', size: st, vars };
      }
      case 16: return { id, name, kind: 'float', size: st };
      case 17: return { id, name, kind: 'decl_tag', type: this.ref(st, id, o), componentIdx: w[p]! | 0 };
      case 18: return { id, name, kind: 'type_tag', type: this.ref(st, id, o) };
      case 19: {
        const values = new Array(vlen);
        for (let k = 0, q = p; k < vlen; k++, q += 3) {
          const raw = (BigInt(w[q + 2]!) << 32n) | BigInt(w[q + 1]!);
          values[k] = { name: this.name(w[q]!, id, q, 'enumerator'), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        return { id, name, kind: 'enum64', size: st, signed: kflag, values };
      }
    }
    /* c8 ignore next */
    throw this.err(`unknown BTF kind ${kind}`, { typeId: id, offset: this.at(o) });
  }

  /** Say why scanTypes stopped at record `n` (word `pos`). */
  private scanError(n: number, pos: number, typeLen: number, strTotal: number): never {
    const ctx = { typeId: this.firstId + n, offset: this.typeStart + pos * 4 };
    const left = typeLen - pos * 4;
    if (left < BTF_TYPE_SIZE) throw this.err(`truncated btf_type record: ${BTF_TYPE_SIZE} bytes needed, ${left} left in the type section`, ctx);
    const info = this.w[pos + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const size = BTF_TYPE_SIZE + extraSize(kind, vlen);
    if (kind === 0 || size < BTF_TYPE_SIZE) throw this.err(`unknown BTF kind ${kind} (info 0x${info.toString(16)})`, ctx);
    if (size > left) throw this.err(`${KIND_NAMES[kind]} record with vlen ${vlen} needs ${size} bytes but runs ${size - left} bytes past the end of the type section`, ctx);
    throw this.err(`name offset ${this.w[pos]!} is out of range (string section is ${strTotal} bytes)`, ctx);
  }

  /** Index of an own, unchanged record (readable raw), else -1. */
  private rawIndex(id: number): number {
    const i = id - this.firstId;
    if (i >= 0 && i < this.origCount && (i | 0) === i && (this.overrides.size === 0 || !this.overrides.has(id))) return i;
    return -1;
  }

  private checkSize(id: number, size: number): number {
    if (!(size <= U32_MAX)) throw this.err(`size ${size} overflows u32`, { typeId: id });
    return size;
  }

  private modifierNext(id: number): number | undefined {
    const t = this.typeById(id);
    return MODIFIERS.has(t.kind) ? (t as { type: number }).type : undefined;
  }
  private sizeNext(id: number): number | undefined {
    const t = this.typeById(id);
    return MODIFIERS.has(t.kind) || t.kind === 'array' || t.kind === 'var' ? (t as { type: number }).type : undefined;
  }
  private ptrNext(id: number): number | undefined {
    const t = this.typeById(id);
    return MODIFIERS.has(t.kind) || t.kind === 'ptr' ? (t as { type: number }).type : undefined;
  }

  /** Walk again from `start` with `next` to name the loop: "type id cycle: 5 -> 7 -> 5". */
  private cycleError(start: number, next: (id: number) => number | undefined): BtfError {
    const seen = new Map<number, number>();
    const path: number[] = [];
    let cur: number | undefined = start;
    while (cur !== undefined && !seen.has(cur)) {
      seen.set(cur, path.length);
      path.push(cur);
      cur = next(cur);
    }
    if (cur === undefined) return this.err('type chain too long', { typeId: start });
    const loop = [...path.slice(seen.get(cur)!), cur];
    const from = loop[0] === start ? '' : ` (reached from type id ${start})`;
    return this.err(`type id cycle: ${loop.join(' -> ')}${from}`, { typeId: start });
  }

  private prepare(t: BtfType): EncodedType {
    const kind = KIND_NUMBERS[t.kind];
    const nameOff = this.addString(t.name);
    let vlen = 0;
    let names: number[] = [];
    switch (t.kind) {
      case 'struct': case 'union': vlen = t.members.length; names = t.members.map((m) => this.addString(m.name)); break;
      case 'enum': case 'enum64': vlen = t.values.length; names = t.values.map((x) => this.addString(x.name)); break;
      case 'func_proto': vlen = t.params.length; names = t.params.map((x) => this.addString(x.name)); break;
      case 'datasec': vlen = t.vars.length; break;
      case 'func': vlen = t.linkage; break;
    }
    if (!(vlen >= 0 && vlen <= 0xffff)) throw this.err(`${t.kind} has vlen ${vlen}, more than 65535 fits`, { typeId: t.id });
    return { t, kind, nameOff, names, vlen, size: BTF_TYPE_SIZE + extraSize(kind, vlen) };
  }
}

interface EncodedType { t: BtfType; kind: number; nameOff: number; names: number[]; vlen: number; size: number }

function push(idx: Map<string, number | number[]>, name: string, id: number): void {
  const a = idx.get(name);
  if (a === undefined) idx.set(name, id);
  else if (typeof a === 'number') idx.set(name, [a, id]);
  else a.push(id);
}

function writeType(v: DataView, o: number, le: boolean, e: EncodedType): number {
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
  v.setUint32(o + 4, ((kflag << 31) | (e.kind << 24) | e.vlen) >>> 0, le);
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

/** Per kind: words of a record before its vlen entries (255 = invalid kind), and words per entry. */
const FIXED_WORDS = new Uint8Array(32).fill(255);
const WORDS_PER_VLEN = new Uint8Array(32);
for (let k = 1; k < KIND_NAMES.length; k++) {
  const f = extraSize(k, 0), one = extraSize(k, 1);
  FIXED_WORDS[k] = (BTF_TYPE_SIZE + f) / 4;
  WORDS_PER_VLEN[k] = (one - f) / 4;
}

/**
 * Record offsets (words) and kinds of every type. Returns the count, or ~n when record
 * n is bad (truncated, unknown kind, runs past the end, name offset out of range); its
 * position is then in offsets[n]. Kept small and monomorphic: it is the hot loop of parse.
 */
function scanTypes(w: Uint32Array, typeLen: number, strTotal: number, offsets: Uint32Array, kinds: Uint8Array): number {
  const end = typeLen >>> 2;
  let n = 0, pos = 0;
  while (pos < end) {
    offsets[n] = pos;
    if (pos + 3 > end) return ~n;
    const info = w[pos + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const f = FIXED_WORDS[kind]!;
    if (f === 255) return ~n;
    const next = pos + f + (info & 0xffff) * WORDS_PER_VLEN[kind]!;
    if (next > end || w[pos]! >= strTotal) return ~n;
    kinds[n++] = kind;
    pos = next;
  }
  offsets[n] = pos;
  if ((typeLen & 3) !== 0) return ~n; // 1-3 stray bytes after the last record
  return n;
}

const utf8 = new TextDecoder();

/** True when every byte is below 0x80 (Node's buffer.isAscii when there is one). */
const isAsciiBytes: (b: Uint8Array) => boolean = typeof (BufferModule as { isAscii?: unknown }).isAscii === 'function'
  ? (b) => b.length === 0 || (BufferModule as unknown as { isAscii(b: Uint8Array): boolean }).isAscii(b)
  : (b) => { for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false; return true; };

/** True when every char code of a latin1-decoded string is below 0x80. */
function isAsciiText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The type section as host-order u32 words: a view when aligned and same byte order, else a copy. */
function typeWords(bytes: Uint8Array, start: number, len: number, le: boolean): Uint32Array {
  const n = Math.floor(len / 4);
  if (le === HOST_LE && (bytes.byteOffset + start) % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset + start, n);
  const v = new DataView(bytes.buffer, bytes.byteOffset + start, n * 4);
  const w = new Uint32Array(n);
  for (let i = 0; i < n; i++) w[i] = v.getUint32(i * 4, le);
  return w;
}
