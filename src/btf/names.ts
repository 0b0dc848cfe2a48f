/**
 * Finding types by name in the raw records, comparing bytes: no JS string is made for a
 * type that does not match.
 *
 * A search is one pass over the records (as libbpf's btf__find_by_name_kind): the first
 * byte of each record's name picks the queries that start with it, and only those are
 * compared. Many names are looked up in the same pass (CO-RE asks for all of an object's
 * names at once). A Btf that has been searched many times builds a hash index of every
 * record's name (from the bytes) and answers from it.
 *
 * Two kinds of match:
 *  - exact: the name is the query;
 *  - essential (CO-RE): the name's essential name is the query, i.e. the name is the query
 *    or the query followed by a `___flavour` suffix (libbpf's bpf_core_essential_name_len:
 *    everything before the LAST `X___Y` separator, X and Y not underscores).
 */
import type { BtfStrings } from './strings.js';
import { wasmCandidates } from './wasm-scan.js';

const NUL = 0;
const UNDERSCORE = 0x5f;

/** The raw records a search walks: own records only (a base searches its own). */
export interface RecordTable {
  /** The type section as host-order u32 words. */
  readonly w: Uint32Array;
  /** Word offset of each own record (name_off is the first word). */
  readonly offsets: Uint32Array;
  /** Number of own records. */
  readonly count: number;
  readonly strings: BtfStrings;
  /** Kind of each own record (for searches of one kind). */
  readonly kinds?: Uint8Array;
}

/** Length of the essential name of `name` (libbpf's bpf_core_essential_name_len). */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name.charCodeAt(i) !== UNDERSCORE && name.charCodeAt(i + 1) === UNDERSCORE && name.charCodeAt(i + 2) === UNDERSCORE &&
      name.charCodeAt(i + 3) === UNDERSCORE && name.charCodeAt(i + 4) !== UNDERSCORE) return i + 1;
  }
  return name.length;
}

/** `task_struct___old` -> `task_struct`. */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLength(name));
}

/** The same rule over the bytes [start, end) of a UTF-8 name ('_' is one byte in UTF-8, never part of another character). */
function essentialByteLength(s: Uint8Array, start: number, end: number): number {
  for (let i = end - 5; i >= start; i--) {
    if (s[i] !== UNDERSCORE && s[i + 1] === UNDERSCORE && s[i + 2] === UNDERSCORE && s[i + 3] === UNDERSCORE && s[i + 4] !== UNDERSCORE) return i + 1 - start;
  }
  return end - start;
}

/** A query: the name's UTF-8 bytes, and for essential searches whether the name is its own essential name. */
export interface Query { bytes: Uint8Array; selfEssential: boolean }

export function makeQuery(name: string): Query {
  const bytes = Buffer.from(name, 'utf8');
  return { bytes, selfEssential: essentialByteLength(bytes, 0, bytes.length) === bytes.length };
}

/**
 * Does the NUL-terminated name at `s[at]` match `q`? Compared from byte 1 (the caller
 * compared byte 0). Essential: the name's essential name is `q`: the name is `q` (when
 * `q` is its own essential name: `a___b` is not, its essential name is `a`), or `q` + a
 * suffix that starts the name's last separator.
 */
function matchesAt(s: Uint8Array, at: number, query: Query, essential: boolean): boolean {
  const q = query.bytes, len = q.length;
  let j = 1;
  while (j < len && s[at + j] === q[j]) j++;
  if (j < len) return false;
  const next = s[at + len];
  if (next === NUL) return !essential || query.selfEssential;
  if (!essential || next !== UNDERSCORE || len === 0) return false;
  // q + "___Y...": the essential name is q only if this is the name's last separator
  let end = at + len;
  while (s[end] !== NUL) end++; // found: every string section ends with NUL
  return essentialByteLength(s, at, end) === len;
}

/**
 * Own record indices whose name matches each query (ascending), in one pass over the
 * records (of kind `kind` only, when given). Queries must be non-empty and hold no NUL.
 */
export function searchRecords(t: RecordTable, queries: readonly Query[], essential: boolean, kind = -1): number[][] {
  const some = wasmCandidates(t.w, t.offsets, t.count, t.strings.bytes, t.strings.start, queries.map((q) => q.bytes), essential, kind);
  if (some) return searchAmong(t, some, queries, essential);
  if (queries.length === 1) return [searchOne(t, queries[0]!, essential, kind)];
  const out: number[][] = queries.map(() => []);
  // first byte -> chain of queries starting with it
  const head = new Int32Array(256).fill(-1);
  const chain = new Int32Array(queries.length);
  for (let k = queries.length - 1; k >= 0; k--) {
    const c = queries[k]!.bytes[0]!;
    chain[k] = head[c]!;
    head[c] = k;
  }
  const { w, offsets, count, strings } = t;
  const own = strings.bytes, start = strings.start;
  const kinds = kind >= 0 ? t.kinds! : undefined;
  for (let i = 0; i < count; i++) {
    if (kinds !== undefined && kinds[i] !== kind) continue;
    const off = w[offsets[i]!]!;
    if (off >= start) {
      const at = off - start;
      for (let k = head[own[at]!]!; k >= 0; k = chain[k]!) {
        if (matchesAt(own, at, queries[k]!, essential)) out[k]!.push(i);
      }
    } else if (off !== 0) {
      // a name in the base's strings (split BTF)
      const h = strings.holder(off);
      if (!h) continue;
      const at = off - h.start;
      for (let k = head[h.bytes[at]!]!; k >= 0; k = chain[k]!) {
        if (matchesAt(h.bytes, at, queries[k]!, essential)) out[k]!.push(i);
      }
    }
  }
  return out;
}

/**
 * searchRecords over the records `some` (ascending, of the kind asked for) that a
 * WebAssembly filter picked from every record (wasm-scan.ts): their names compared here.
 */
function searchAmong(t: RecordTable, some: Uint32Array, queries: readonly Query[], essential: boolean): number[][] {
  const out: number[][] = queries.map(() => []);
  for (let j = 0; j < some.length; j++) {
    const i = some[j]!;
    for (let k = 0; k < queries.length; k++) {
      const q = queries[k]!;
      if (recordMatches(t, i, q.bytes[0]!, q, essential)) out[k]!.push(i);
    }
  }
  return out;
}

/** searchRecords for one query: no dispatch table. */
function searchOne(t: RecordTable, query: Query, essential: boolean, kind: number): number[] {
  const out: number[] = [];
  const count = t.count;
  const c0 = query.bytes[0]!;
  if (kind < 0) {
    for (let i = 0; i < count; i++) if (recordMatches(t, i, c0, query, essential)) out.push(i);
    return out;
  }
  for (let i = nextOfKind(t, query, essential, kind, 0); i >= 0; i = nextOfKind(t, query, essential, kind, i + 1)) out.push(i);
  return out;
}

/**
 * The first own record of kind `kind` whose name is `query` (exactly), or -1: the walk
 * stops at the first match, as libbpf's btf__find_by_name_kind does (vmlinux's
 * task_struct is record 113 of 126k: a walk over every record read 126k kinds for it).
 */
export function searchFirst(t: RecordTable, query: Query, kind: number): number {
  const some = wasmCandidates(t.w, t.offsets, t.count, t.strings.bytes, t.strings.start, [query.bytes], false, kind);
  if (!some) return nextOfKind(t, query, false, kind, 0);
  const c0 = query.bytes[0]!;
  for (let j = 0; j < some.length; j++) if (recordMatches(t, some[j]!, c0, query, false)) return some[j]!;
  return -1;
}

/**
 * The first own record from index `from` on of kind `kind` whose name matches `query`, or
 * -1. The kinds are read four at a time where they are aligned for it, and a word with no
 * byte equal to `kind` is skipped whole (a struct is one record in twelve of vmlinux):
 * ~30% less time than a byte at a time.
 */
function nextOfKind(t: RecordTable, query: Query, essential: boolean, kind: number, from: number): number {
  const kinds = t.kinds!, count = t.count;
  const c0 = query.bytes[0]!;
  let i = from;
  if (kinds.byteOffset % 4 === 0) {
    for (; (i & 3) !== 0 && i < count; i++) if (kinds[i] === kind && recordMatches(t, i, c0, query, essential)) return i;
    const words = new Uint32Array(kinds.buffer, kinds.byteOffset, count >>> 2);
    const lanes = Math.imul(kind, BYTE_LANES);
    for (let j = i >>> 2; j < words.length; j++) {
      const y = words[j]! ^ lanes; // a zero byte where the kind is `kind`
      if (((y - BYTE_LANES) & ~y & HIGH_BITS) === 0) continue;
      for (let k = j * 4; k < j * 4 + 4; k++) if (kinds[k] === kind && recordMatches(t, k, c0, query, essential)) return k;
    }
    i = Math.max(i, words.length * 4);
  }
  for (; i < count; i++) if (kinds[i] === kind && recordMatches(t, i, c0, query, essential)) return i;
  return -1;
}

/** Four copies of a byte in a u32, and the high bit of each: to find a byte in four kinds at once. */
const BYTE_LANES = 0x01010101;
const HIGH_BITS = 0x80808080 | 0;

/** Does own record `i`'s name match `query` (whose first byte is `c0`)? */
function recordMatches(t: RecordTable, i: number, c0: number, query: Query, essential: boolean): boolean {
  const off = t.w[t.offsets[i]!]!;
  const strings = t.strings;
  if (off >= strings.start) {
    const at = off - strings.start;
    return strings.bytes[at] === c0 && matchesAt(strings.bytes, at, query, essential);
  }
  if (off === 0) return false;
  const h = strings.holder(off); // a name in the base's strings (split BTF)
  return h !== undefined && h.bytes[off - h.start] === c0 && matchesAt(h.bytes, off - h.start, query, essential);
}

/**
 * Hash index of every own record by the hash of its name's essential part (an exact
 * query looks in the bucket of its own essential name, then compares the bytes).
 */
export class NameIndex {
  private readonly head: Int32Array;
  private readonly next: Int32Array;
  private readonly mask: number;

  constructor(private readonly t: RecordTable) {
    let size = 1024;
    while (size < t.count * 2) size *= 2;
    this.mask = size - 1;
    this.head = new Int32Array(size).fill(-1);
    this.next = new Int32Array(t.count);
    const { w, offsets, count, strings } = t;
    // backwards, so that each chain lists its records in ascending order
    for (let i = count - 1; i >= 0; i--) {
      const off = w[offsets[i]!]!;
      if (off === 0) continue;
      const h = strings.holder(off);
      if (!h) continue;
      const slot = essentialHash(h.bytes, off - h.start) & this.mask;
      this.next[i] = this.head[slot]!;
      this.head[slot] = i;
    }
  }

  /** Own record indices (ascending) whose name matches `q` (as in searchRecords). */
  find(query: Query, essential: boolean): number[] {
    const out: number[] = [];
    const q = query.bytes;
    const ess = essential ? q.length : essentialByteLength(q, 0, q.length);
    const { w, offsets, strings } = this.t;
    for (let i = this.head[hashBytes(q, 0, ess) & this.mask]!; i >= 0; i = this.next[i]!) {
      const off = w[offsets[i]!]!;
      const h = strings.holder(off)!;
      const at = off - h.start;
      if (h.bytes[at] === q[0] && matchesAt(h.bytes, at, query, essential)) out.push(i);
    }
    return out;
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0, FNV_PRIME = 16777619;

function hashBytes(s: Uint8Array, start: number, len: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < start + len; i++) h = Math.imul(h ^ s[i]!, FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a of the essential part of the NUL-terminated name at `at`, in one forward pass. */
function essentialHash(s: Uint8Array, at: number): number {
  let h = FNV_OFFSET;
  // hash before the current run of underscores, and the essential hash so far
  let beforeRun = h, run = 0, ess = -1, essHash = h, c: number;
  for (let i = at; (c = s[i]!) !== NUL; i++) {
    if (c === UNDERSCORE) {
      if (run === 0) beforeRun = h;
      run++;
    } else {
      // X___Y: exactly three underscores between two other bytes, not at the start
      if (run === 3 && i - 3 > at) { ess = i - 3; essHash = beforeRun; }
      run = 0;
    }
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return (ess < 0 ? h : essHash) >>> 0;
}
