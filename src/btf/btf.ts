/**
 * Lazy BTF reader / writer.
 *
 * `Btf.parse` makes one pass over the type section, recording where each record starts
 * and its kind (records are variable length), and checks the cheap things: header,
 * kind numbers, that every record fits, that every type's name offset is inside the
 * string table. The record table (offsets and kinds, typed arrays) is the one index:
 * name lookups compare bytes against the string section (names.ts), and a type is
 * decoded into a plain `BtfType` only when asked for (decode.ts), then cached (all of an
 * object's BTF; the recently used ones of a vmlinux-sized BTF, see TypeCache); decoding
 * checks the rest (member / param names, referenced ids, vlen of kinds that have none).
 * Nothing but `BtfError` escapes for any input.
 *
 * Decoded types are plain data shared with the cache: treat them as read-only, and use
 * `setType` (on a copy) to change one. Two typeById calls for the same id of a large BTF
 * may give two equal objects rather than the same one (a pass over every type keeps none
 * alive: see TypeCache). `encode()` writes the (possibly changed) BTF back.
 */
import { BtfError } from '../errors.js';
import { viewOver } from '../bytes.js';
import { mapOrReadFile } from '../file.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_INT, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR,
  BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_VAR_GLOBAL_EXTERN,
  type BtfKindName, type BtfMember, type BtfType,
} from './types.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_TYPE_SIZE, BTF_VERSION, KIND_NAMES, KIND_NUMBERS, extraSize, infoVlen, isModifierKind, kindHasVlen } from './kinds.js';
import { RecordDecoder, TypeCache } from './decode.js';
import { type EncodedType, writeType } from './encode.js';
import { NameIndex, essentialName, makeQuery, searchFirst, searchRecords, type Query, type RecordTable } from './names.js';
import { readHeader, scanRecords, typeWords } from './records.js';
import { BtfStrings } from './strings.js';

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
/** Name searches (each a walk over every record) before a hash index of all names is built. */
const SEARCHES_BEFORE_INDEX = 32;
/** Below this many records a walk is as cheap as the index: none is built. */
const INDEX_MIN_RECORDS = 4096;
/** Up to this many records (below INDEX_MIN_RECORDS), typeByName(name, kind) compares the names of that kind's records one by one. */
const SCAN_NAMES_MAX_RECORDS = 2048;
/** A name of characters 0x01-0x7f. */
const ASCII_NAME = /^[\x01-\x7f]+$/;
const U32_MAX = 0xffffffff;
/** Bytes of a pointer (BPF is 64-bit). */
const POINTER_SIZE = 8;
/** vlen is 16 bits of `info`. */
const MAX_VLEN = 0xffff;
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
  /** This BTF's own string section (and the base's, for split BTF). */
  private readonly strings: BtfStrings;
  /** Word index in `w` of each own record, plus one end sentinel. */
  private readonly offsets: Uint32Array;
  private readonly kinds: Uint8Array;
  private readonly origCount: number;
  /** Decodes own records into objects (see decode.ts). */
  private readonly decoder: RecordDecoder;
  /** Decoded own types, made on the first typeById (see TypeCache). */
  private cache: TypeCache | undefined;
  private readonly overrides = new Map<number, BtfType>();
  private readonly added: BtfType[] = [];
  /** One past the last type id: firstId + origCount + added.length (a field: read for every type decoded). */
  private count: number;
  /** Strings added by addString (made on the first one). */
  private addedStr: { list: string[]; byOff: Map<number, string>; byText: Map<string, number> } | undefined;
  private addedStrLen = 0;
  /** Own record indices of raw names, per exact name and per essential name (see names.ts). */
  private exactHits: Map<string, number[]> | undefined;
  private essentialHits: Map<string, number[]> | undefined;
  private searches = 0;
  /** DATASEC names of an object's BTF (see firstOfKind): own record index of the first of each name. */
  private datasecNames: Map<string, number> | undefined;
  private nameIndex: NameIndex | undefined;

  private constructor(bytes: Uint8Array, opts: BtfParseOptions) {
    this.bytes = bytes;
    this.file = opts.file;
    this.section = opts.section ?? '.BTF';
    this.base = opts.base;
    const layout = readHeader(bytes, { file: opts.file, section: this.section }, opts.base !== undefined);
    this.littleEndian = layout.littleEndian;
    this.firstId = opts.base ? opts.base.length : 1;
    const strBase = opts.base ? opts.base.stringsLength : 0;
    this.strings = new BtfStrings(bytes.subarray(layout.strStart, layout.strStart + layout.strLen), opts.base?.strings, strBase);
    this.typeStart = layout.typeStart;
    const w = this.w = typeWords(bytes, layout.typeStart, layout.typeLen, layout.littleEndian);
    // The one pass over the type section.
    const scan = scanRecords(w, layout.typeLen, strBase + layout.strLen,
      (detail, n, pos) => this.err(detail, { typeId: this.firstId + n, offset: this.typeStart + pos * 4 }));
    this.origCount = scan.count;
    this.count = this.firstId + scan.count;
    this.offsets = scan.offsets;
    this.kinds = scan.kinds;
    this.decoder = new RecordDecoder(w, scan.offsets, scan.kinds, layout.typeStart, this.strings, this, { file: this.file, section: this.section });
  }

  /** Parse a `.BTF` section (or /sys/kernel/btf/*). Only the header and record layout are checked here. */
  static parse(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
    return new Btf(bytes, opts);
  }

  /**
   * Read and parse a raw BTF file (such as /sys/kernel/btf/vmlinux); `opts.file` defaults to
   * the path. Kernel BTF files are mapped rather than read where the kernel allows it
   * (vmlinux, Linux 6.16+) and tsbpf's syscall layer is loaded (it is by the package entry):
   * the mapping is unmapped once this Btf, and every type and string it gave, is garbage.
   */
  static parseFile(file: string, opts: BtfParseOptions = {}): Btf {
    let bytes: Uint8Array;
    try { bytes = mapOrReadFile(file); } catch (e) {
      throw new BtfError(`cannot read BTF: ${(e as Error).message}`, { file: opts.file ?? file, section: opts.section ?? '.BTF' }, { cause: e });
    }
    return new Btf(bytes, { ...opts, file: opts.file ?? file });
  }

  // ---- ids and strings ----

  /** Number of type ids, including void (0) and, for split BTF, the base's ids. */
  get length(): number { return this.count; }
  /** First id defined by this BTF (1, or the base's length for split BTF). */
  get firstTypeId(): number { return this.firstId; }
  /** Size of the string space: base strings + own section + added strings. */
  get stringsLength(): number { return this.strings.end + this.addedStrLen; }

  /** The NUL-terminated string at `offset` in the string section (the base's for low offsets of split BTF). */
  string(offset: number): string {
    const strs = this.strings;
    if (offset < strs.start && this.base) return this.base.string(offset);
    if (Number.isInteger(offset) && offset >= strs.start && offset < strs.end) return strs.get(offset);
    const added = this.addedStr?.byOff.get(offset);
    if (added !== undefined) return added;
    throw this.err(`string offset ${offset} is out of range (string section is ${this.stringsLength} bytes)`);
  }

  /** Offset of `s` if the string table already holds it (own or base), else undefined. */
  stringOffset(s: string): number | undefined {
    if (s === '') return 0; // the base's (or own) first byte
    const b = this.base?.stringOffset(s);
    if (b !== undefined) return b;
    return this.strings.find(s) ?? this.addedStr?.byText.get(s);
  }

  /** Append a string (deduplicated); returns its offset. */
  addString(s: string): number {
    const have = this.stringOffset(s);
    if (have !== undefined) return have;
    if (s.includes('\0')) throw this.err(`cannot add a string containing a NUL byte: ${JSON.stringify(s)}`);
    const off = this.strings.end + this.addedStrLen;
    const a = this.addedStr ??= { list: [] as string[], byOff: new Map<number, string>(), byText: new Map<string, number>() };
    a.list.push(s);
    a.byOff.set(off, s);
    a.byText.set(s, off);
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

  /**
   * Name of `id` without decoding it: an own, unchanged record's name offset is read from
   * its words (checked at parse), so this throws only for an id out of range.
   */
  nameOf(id: number): string {
    const i = this.rawIndex(id);
    if (i < 0) return this.typeById(id).name;
    const off = this.w[this.offsets[i]!]!;
    return off === 0 ? '' : this.string(off);
  }

  /**
   * The type with this id; id 0 is void. Throws BtfError for ids out of range or malformed
   * records. The object is plain data shared with this Btf (read-only: change a copy and
   * `setType` it). An object's BTF gives the same object for an id every time; a BTF of
   * more than 16k types (vmlinux) keeps only types asked for again recently, so two calls
   * may give two equal objects: compare types by `id`, not by identity.
   */
  typeById(id: number): BtfType {
    const i = id - this.firstId;
    if (i >= 0 && i < this.origCount && Number.isInteger(i)) {
      if (this.overrides.size > 0) { const o = this.overrides.get(id); if (o) return o; }
      const cache = this.cache ??= new TypeCache(this.origCount);
      return cache.get(i) ?? cache.set(i, this.decoder.decode(id, i));
    }
    if (id === 0) return VOID;
    if (i >= this.origCount && i < this.origCount + this.added.length) return this.added[i - this.origCount]!;
    if (id > 0 && id < this.firstId && this.base) return this.base.typeById(id);
    throw this.err(`type id ${id} is out of range (last type id is ${this.length - 1})`);
  }

  /** Ids (ascending, the base's first for split BTF) of every type of kind `kind`, read from the records' kinds. */
  idsOfKind(kind: BtfKindName): number[] {
    const out = this.base ? this.base.idsOfKind(kind) : [];
    const k = KIND_NUMBERS[kind], kinds = this.kinds, first = this.firstId;
    const changed = this.overrides.size > 0;
    for (let i = 0; i < this.origCount; i++) {
      if (changed && this.overrides.has(first + i)) { if (this.overrides.get(first + i)!.kind === kind) out.push(first + i); continue; }
      if (kinds[i] === k) out.push(first + i);
    }
    for (const t of this.added) if (t.kind === kind) out.push(t.id);
    return out;
  }

  /** All types from id 1 (the base's first, for split BTF) to the last. */
  *types(): IterableIterator<BtfType> {
    for (let id = 1; id < this.length; id++) yield this.typeById(id);
  }

  /**
   * Ids of every type called `name` (base ids first for split BTF), ascending. The names
   * are compared as bytes in the string section (see names.ts): no string is decoded for
   * a type that does not match.
   */
  idsByName(name: string): number[] {
    const own = this.ownIds(name, false);
    return this.base ? [...this.base.idsByName(name), ...own] : own;
  }

  /**
   * Ids of every type whose CO-RE essential name is `essential` (the name, or the name
   * followed by a `___flavour` suffix: `task_struct___old` for `task_struct`); base ids
   * first for split BTF, ascending.
   */
  idsByEssentialName(essential: string): number[] {
    const own = this.ownIds(essential, true);
    return this.base ? [...this.base.idsByEssentialName(essential), ...own] : own;
  }

  /**
   * Look up many names in one pass over the records (CO-RE asks for every name of an
   * object at once); later `idsByName` / `idsByEssentialName` calls for them are answered
   * from the result. The base of split BTF is left alone.
   */
  prefetchNames(names: Iterable<string>, opts: { essential?: boolean } = {}): void {
    const essential = opts.essential === true;
    const hits = this.hits(essential);
    const todo: string[] = [];
    for (const n of names) if (!hits.has(n) && !todo.includes(n)) todo.push(n);
    if (todo.length > 0) this.searchRaw(todo, essential);
  }

  /**
   * First type called `name`, of kind `kind` if given (the base's first, for split BTF).
   * With a kind, a first lookup compares only the names of records of that kind (as
   * libbpf's btf__find_by_name_kind); a name looked up before, or a Btf whose name index
   * is built (see searchRaw), answers from those.
   */
  typeByName(name: string, kind?: BtfKindName): BtfType | undefined {
    if (kind !== undefined && !this.exactHits?.has(name) && !this.indexWanted()) return this.firstOfKind(name, kind);
    for (const id of this.idsByName(name)) {
      if (kind === undefined || this.kindOf(id) === kind) return this.typeById(id);
    }
    return undefined;
  }

  /** The DATASEC called `name` (e.g. '.maps', '.rodata'). */
  datasecByName(name: string): (BtfType & { kind: 'datasec' }) | undefined {
    return this.firstOfKind(name, 'datasec') as (BtfType & { kind: 'datasec' }) | undefined;
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
        if (!isModifierKind(k)) return cur;
        const o = this.offsets[i]!;
        if (infoVlen(this.w[o + 1]!) !== 0) this.typeById(cur); // throws the vlen error
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

  /**
   * The id a PTR points to, read from its record without decoding it (with the checks a
   * decode makes: no vlen, the id in range); undefined when `id` is not a PTR. Map
   * definitions read two or three of these per member (`__uint`: PTR -> ARRAY).
   */
  pointee(id: number): number | undefined {
    const o = this.plainRecord(id, BTF_KIND_PTR);
    if (o < 0) {
      const t = this.typeById(id); // what decoding throws, it throws
      return t.kind === 'ptr' ? t.type : undefined;
    }
    return this.ref(this.w[o + 2]!, id, o + 2);
  }

  /** The element count of an ARRAY, read as `pointee` reads a PTR (both type ids checked); undefined when `id` is not an ARRAY. */
  arrayLength(id: number): number | undefined {
    const o = this.plainRecord(id, BTF_KIND_ARRAY);
    if (o < 0) {
      const t = this.typeById(id);
      return t.kind === 'array' ? t.nelems : undefined;
    }
    const w = this.w; // btf_array { type, index_type, nelems }
    this.ref(w[o + 3]!, id, o + 3);
    this.ref(w[o + 4]!, id, o + 4);
    return w[o + 5]!;
  }

  /**
   * The linkage of a VAR or FUNC (0 static, 1 global, 2 extern), read from its record as
   * `pointee` reads a PTR (with a decode's checks: the referenced type in range, no vlen on
   * a VAR); undefined for other kinds. The loader asks it of every VAR and FUNC at each
   * load (sanitizing for the kernel), where a decode made a name and an object each time.
   */
  linkageOf(id: number): number | undefined {
    const i = this.rawIndex(id);
    if (i >= 0 && this.kinds[i] === BTF_KIND_FUNC) { // a FUNC's vlen is its linkage
      const o = this.offsets[i]!;
      this.ref(this.w[o + 2]!, id, o + 2);
      return infoVlen(this.w[o + 1]!);
    }
    const o = this.plainRecord(id, BTF_KIND_VAR);
    if (o >= 0) { this.ref(this.w[o + 2]!, id, o + 2); return this.w[o + 3]!; }
    const t = this.typeById(id); // what decoding throws, it throws
    return t.kind === 'var' || t.kind === 'func' ? t.linkage : undefined;
  }

  /**
   * The word offset of `id`'s record when it is an own, unchanged record of kind `kind`
   * with no vlen (what pointee, arrayLength and linkageOf read in place); -1 otherwise, and
   * then they decode it, so that a malformed record throws what typeById throws.
   */
  private plainRecord(id: number, kind: number): number {
    const i = this.rawIndex(id);
    if (i < 0 || this.kinds[i] !== kind) return -1;
    const o = this.offsets[i]!;
    return infoVlen(this.w[o + 1]!) === 0 ? o : -1;
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
        if (k === BTF_KIND_ARRAY) { // btf_array { type, index_type, nelems }
          mult *= w[o + 5]!;
          cur = this.ref(w[o + 3]!, cur, o + 3);
          continue;
        }
        if (infoVlen(w[o + 1]!) !== 0 && !kindHasVlen(k)) this.typeById(cur); // throws the vlen error
        switch (k) {
          case BTF_KIND_INT: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_DATASEC: case BTF_KIND_FLOAT: case BTF_KIND_ENUM64:
            return this.checkSize(id, mult * w[o + 2]!);
          case BTF_KIND_PTR: return this.checkSize(id, mult * POINTER_SIZE);
          case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_VAR: case BTF_KIND_TYPE_TAG:
            cur = this.ref(w[o + 2]!, cur, o + 2); continue;
        }
      }
      const t = this.typeById(cur);
      switch (t.kind) {
        case 'int': case 'enum': case 'enum64': case 'struct': case 'union': case 'float': case 'datasec':
          return this.checkSize(id, mult * t.size);
        case 'ptr':
          return this.checkSize(id, mult * POINTER_SIZE);
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
        case 'var': if (t.linkage !== BTF_VAR_GLOBAL_EXTERN) this.sizeof(t.type); break; // extern (ksym/kconfig) may be typeless
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
  }

  /** Append a type; returns its id. */
  addType(t: BtfType): number {
    if (t.kind === 'void') throw this.err('addType: void cannot be stored');
    const id = this.length;
    const copy = { ...t, id } as BtfType;
    this.added.push(copy);
    this.count++;
    return id;
  }

  /**
   * Valid BTF (24-byte header, types, strings) of this BTF's own types; split BTF stays split.
   * `alloc` gives the output array of `size` bytes or more (zeroed or not: every byte is
   * written; a shorter one is a BtfError); default a new one.
   * Only changed and added types are encoded again: the records between them are copied,
   * and a changed type keeps its name's offset while its name is the one it had.
   */
  encode(alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size)): Uint8Array {
    const le = this.littleEndian;
    const first = this.firstId;
    const offsets = this.offsets;
    // Pass 1: sizes and name offsets of re-encoded records (may add strings), in id order.
    const ids = [...this.overrides.keys()];
    // setType's order is mostly ascending already: a sort with a comparator costs ~0.4 us
    // even for two ids
    let sorted = true;
    for (let k = 1; k < ids.length && sorted; k++) sorted = ids[k - 1]! < ids[k]!;
    if (!sorted) ids.sort((a, b) => a - b);
    const encoded: Array<{ i: number; e: EncodedType }> = [];
    let typeLen = offsets[this.origCount]! * 4;
    for (const id of ids) {
      const i = id - first;
      const e = this.prepare(this.overrides.get(id)!, this.w[offsets[i]!]!);
      typeLen += e.size - (offsets[i + 1]! - offsets[i]!) * 4;
      encoded.push({ i, e });
    }
    for (let k = 0; k < this.added.length; k++) {
      const e = this.prepare(this.added[k]!);
      typeLen += e.size;
      encoded.push({ i: this.origCount + k, e });
    }
    const own = this.strings.bytes;
    const strLen = own.length + this.addedStrLen;
    const size = BTF_HEADER_SIZE + typeLen + strLen;
    const out = alloc(size);
    // the DataView's bounds are the buffer's, not out's: a short array would be written past
    if (out.length < size) throw this.err(`encode: the array for the output has ${out.length} bytes, ${size} are needed`);
    // one DataView per slab, not per encode (~0.4 us): written at out.byteOffset + i
    const v = viewOver(out);
    const at = out.byteOffset;
    v.setUint16(at, BTF_MAGIC, le);
    v.setUint8(at + 2, BTF_VERSION);
    v.setUint8(at + 3, 0);
    v.setUint32(at + 4, BTF_HEADER_SIZE, le);
    v.setUint32(at + 8, 0, le);
    v.setUint32(at + 12, typeLen, le);
    v.setUint32(at + 16, typeLen, le);
    v.setUint32(at + 20, strLen, le);
    let o = BTF_HEADER_SIZE;
    // own records [from, to) as they are, in one copy
    const copy = (from: number, to: number) => {
      if (from >= to) return;
      const a = this.typeStart + offsets[from]! * 4, b = this.typeStart + offsets[to]! * 4;
      out.set(this.bytes.subarray(a, b), o);
      o += b - a;
    };
    let next = 0;
    for (const { i, e } of encoded) {
      copy(next, Math.min(i, this.origCount));
      next = Math.max(next, Math.min(i + 1, this.origCount));
      o = writeType(v, at + o, le, e) - at;
    }
    copy(next, this.origCount);
    out.set(own, o);
    o += own.length;
    const added = this.addedStr?.list ?? [];
    const enc = added.length > 0 ? new TextEncoder() : undefined; // made only when needed: ~1 us
    for (const s of added) {
      const b = enc!.encode(s);
      out.set(b, o);
      o += b.length;
      out[o++] = 0;
    }
    return out;
  }

  // ---- internals ----

  private err(detail: string, ctx: { typeId?: number; offset?: number } = {}): BtfError {
    return new BtfError(detail, { file: this.file, section: this.section, ...ctx });
  }

  /** True once name searches are answered from the hash index (built by the next searchRaw when not yet). */
  private indexWanted(): boolean {
    return this.nameIndex !== undefined || (this.searches >= SEARCHES_BEFORE_INDEX && this.origCount > INDEX_MIN_RECORDS);
  }

  /**
   * typeByName(name, kind) by a search of the records of that kind only (not cached, but
   * for an unchanged object's BTF the DATASECs' names, read once: datasecNames).
   */
  private firstOfKind(name: string, kind: BtfKindName): BtfType | undefined {
    if (name === '') return undefined; // unnamed types are found by no name
    const b = this.base?.typeByName(name, kind);
    if (b) return b;
    if (name.includes('\0')) return undefined;
    if (this.origCount <= SCAN_NAMES_MAX_RECORDS && !this.base && this.overrides.size === 0 && this.added.length === 0 && ASCII_NAME.test(name)) {
      // An object's BTF, as loadCollectionSpec asks it for its DATASECs by name: the names
      // of the records of that kind compared as strings (an ASCII name equals a record's
      // decoded name exactly when their bytes are equal), no query bytes made.
      const k = KIND_NUMBERS[kind], kinds = this.kinds, w = this.w, offsets = this.offsets, strs = this.strings;
      if (k === BTF_KIND_DATASEC) {
        // asked for four or five times per open (.maps, each data section, .kconfig,
        // struct_ops): the DATASECs' names are read once, into a Map of the first of each
        const i = (this.datasecNames ??= this.namesOfKind(k)).get(name);
        return i === undefined ? undefined : this.typeById(this.firstId + i);
      }
      for (let i = 0; i < this.origCount; i++) {
        if (kinds[i] !== k) continue;
        const off = w[offsets[i]!]!;
        if (off !== 0 && strs.get(off) === name) return this.typeById(this.firstId + i);
      }
      return undefined;
    }
    this.searches++;
    if (this.overrides.size === 0) {
      // No changed type can come first: the first own record of that kind and name, the
      // search stopped there; added types come after every own one.
      const i = searchFirst(this.table(), makeQuery(name), KIND_NUMBERS[kind]);
      if (i >= 0) return this.typeById(this.firstId + i);
      for (const t of this.added) if (t.kind === kind && t.name === name) return t;
      return undefined;
    }
    const raw = searchRecords(this.table(), [makeQuery(name)], false, KIND_NUMBERS[kind])[0]!;
    for (const id of this.withChanges(raw, (t) => t.kind === kind && t.name === name)) {
      const t = this.typeById(id);
      if (t.kind === kind) return t;
    }
    return undefined;
  }

  /** Own record index of the first record of kind `k` of each name (unnamed ones left out), from the records as parsed. */
  private namesOfKind(k: number): Map<string, number> {
    const out = new Map<string, number>();
    const kinds = this.kinds, w = this.w, offsets = this.offsets, strs = this.strings;
    for (let i = 0; i < this.origCount; i++) {
      if (kinds[i] !== k) continue;
      const off = w[offsets[i]!]!;
      if (off === 0) continue;
      const n = strs.get(off);
      if (!out.has(n)) out.set(n, i);
    }
    return out;
  }

  /** Cached raw search results, exact or essential. */
  private hits(essential: boolean): Map<string, number[]> {
    return essential ? (this.essentialHits ??= new Map()) : (this.exactHits ??= new Map());
  }

  /** The raw records, for the name search. */
  private table(): RecordTable & { kinds: Uint8Array } {
    return { w: this.w, offsets: this.offsets, count: this.origCount, strings: this.strings, kinds: this.kinds };
  }

  /** Own ids (ascending) whose name matches `name` (exactly, or by essential name), changed and added types included. */
  private ownIds(name: string, essential: boolean): number[] {
    if (name === '') return []; // unnamed types are found by no name
    const hits = this.hits(essential);
    const raw = hits.get(name) ?? this.searchRaw([name], essential)[0]!;
    const match = essential ? (t: BtfType) => t.name !== '' && essentialName(t.name) === name : (t: BtfType) => t.name === name;
    return this.withChanges(raw, match);
  }

  /**
   * Own record indices whose raw name matches each of `names`, cached. A search walks every
   * record; after SEARCHES_BEFORE_INDEX of them, a hash index of all names answers instead.
   */
  private searchRaw(names: string[], essential: boolean): number[][] {
    const hits = this.hits(essential);
    const out: number[][] = names.map(() => []);
    const queries: Query[] = [];
    const at: number[] = [];
    names.forEach((n, k) => {
      if (n === '' || n.includes('\0')) return; // no raw name matches
      queries.push(makeQuery(n));
      at.push(k);
    });
    if (queries.length > 0) {
      this.searches += queries.length;
      if (!this.nameIndex && this.searches > SEARCHES_BEFORE_INDEX && this.origCount > INDEX_MIN_RECORDS) this.nameIndex = new NameIndex(this.table());
      const found = this.nameIndex ? queries.map((q) => this.nameIndex!.find(q, essential)) : searchRecords(this.table(), queries, essential);
      found.forEach((r, j) => { out[at[j]!] = r; });
    }
    names.forEach((n, k) => hits.set(n, out[k]!));
    return out;
  }

  /** Ids of raw record indices `raw` that are not overridden, plus changed and added types that `match`, ascending. */
  private withChanges(raw: readonly number[], match: (t: BtfType) => boolean): number[] {
    const first = this.firstId;
    if (this.overrides.size === 0 && this.added.length === 0) return raw.map((i) => first + i);
    const ids = raw.map((i) => first + i).filter((id) => !this.overrides.has(id));
    for (const [id, t] of this.overrides) if (match(t)) ids.push(id);
    if (this.overrides.size > 0) ids.sort((x, y) => x - y);
    for (const t of this.added) if (match(t)) ids.push(t.id);
    return ids;
  }

  /** Check a type id referenced by type `id` at word `q`. */
  private ref(tid: number, id: number, q: number): number {
    return this.decoder.ref(tid, id, q);
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

  /** `t` ready to write; `origNameOff`: the name offset of the record it replaces, kept while the name is the same. */
  private prepare(t: BtfType, origNameOff?: number): EncodedType {
    const kind = KIND_NUMBERS[t.kind];
    // an own name offset is kept while it names the same string (no string added)
    const keep = origNameOff !== undefined && origNameOff >= this.strings.start && this.strings.get(origNameOff) === t.name;
    const nameOff = keep ? origNameOff : this.addString(t.name);
    let vlen = 0;
    let names: number[] = [];
    switch (t.kind) {
      case 'struct': case 'union': vlen = t.members.length; names = t.members.map((m) => this.addString(m.name)); break;
      case 'enum': case 'enum64': vlen = t.values.length; names = t.values.map((x) => this.addString(x.name)); break;
      case 'func_proto': vlen = t.params.length; names = t.params.map((x) => this.addString(x.name)); break;
      case 'datasec': vlen = t.vars.length; break;
      case 'func': vlen = t.linkage; break;
    }
    if (!(vlen >= 0 && vlen <= MAX_VLEN)) throw this.err(`${t.kind} has vlen ${vlen}, more than 65535 fits`, { typeId: t.id });
    return { t, kind, nameOff, names, vlen, size: BTF_TYPE_SIZE + extraSize(kind, vlen) };
  }
}

