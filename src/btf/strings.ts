/**
 * A BTF string section: NUL-terminated names addressed by byte offset. For split BTF
 * (kernel modules) offsets below `start` are the base's strings.
 *
 * Names are decoded only when asked for: from one latin1 text of the whole section (made
 * on first use), or as UTF-8 when a name has bytes above 0x7f. `decodeAll()` splits the
 * whole section once, for callers that are about to decode every type.
 */
import * as BufferModule from 'node:buffer';
import { asBuffer, latin1 } from '../bytes.js';

const NUL = 0;
const utf8 = new TextDecoder();

export class BtfStrings {
  /** Offset of this section's first byte in the shared string space (the base's length). */
  readonly start: number;
  private text: string | undefined;
  private ascii = true;
  /** After decodeAll(): 1 + index into `all` of the string at each own offset (0: not a string start). */
  private startIndex: Int32Array | undefined;
  private all: string[] | undefined;
  private index: Map<string, number> | undefined;
  private finds = 0;
  private gets = 0;
  private buf: Buffer | undefined;

  constructor(
    /** This section's own bytes (ends with NUL: checked by Btf.parse). */
    readonly bytes: Uint8Array,
    readonly base: BtfStrings | undefined,
    start: number,
  ) {
    this.start = start;
  }

  /** One past the last offset of the shared string space. */
  get end(): number { return this.start + this.bytes.length; }

  /** The section (this one or a base's) that holds absolute offset `off`, or undefined when out of range. */
  holder(off: number): BtfStrings | undefined {
    if (off >= this.start) return off < this.end ? this : undefined;
    return this.base?.holder(off);
  }

  /** The string at absolute offset `off`; the caller checked `off < end` and that it is an integer >= 0. */
  get(off: number): string {
    if (off < this.start) return this.base!.get(off);
    const rel = off - this.start;
    const ix = this.startIndex;
    if (ix !== undefined) {
      const k = ix[rel]!;
      if (k !== 0) return this.all![k - 1]!;
    }
    // Few names asked for (an object's BTF, a lookup in vmlinux): read them from the bytes
    // rather than make a latin1 text of the whole section.
    if (this.text === undefined && ++this.gets <= Math.max(GETS_BEFORE_TEXT, this.bytes.length >>> 5)) return this.fromBytes(rel);
    // No cache by offset: measured on vmlinux, a Map get/set per name costs more than
    // the slice of the latin1 text it would save.
    const text = this.text ?? this.loadText();
    const end = text.indexOf('\0', rel); // found: the section ends with NUL
    const s = text.slice(rel, end);
    if (this.ascii || isAsciiText(s)) return s;
    return utf8.decode(this.bytes.subarray(rel, end));
  }

  /**
   * Split the whole section into strings once, so that each later `get` of a string start
   * is an array read (what decoding every type of vmlinux needs: ~300k names, ~125k distinct).
   */
  decodeAll(): void {
    if (this.startIndex) return;
    const text = this.text ?? this.loadText();
    const parts = text.split('\0');
    const ix = new Int32Array(this.bytes.length + 1);
    let pos = 0;
    for (let k = 0; k < parts.length; k++) {
      let s = parts[k]!;
      ix[pos] = k + 1;
      pos += s.length + 1;
      if (!this.ascii && !isAsciiText(s)) {
        s = utf8.decode(this.bytes.subarray(pos - s.length - 1, pos - 1));
        parts[k] = s;
      }
    }
    this.all = parts;
    this.startIndex = ix;
  }

  /** The string at own offset `rel`, decoded from the bytes (one string made, no intermediate ones). */
  private fromBytes(rel: number): string {
    const b = this.bytes;
    let ascii = true, end = rel;
    for (let c: number; (c = b[end]!) !== NUL; end++) if (c >= 0x80) ascii = false; // found: the section ends with NUL
    if (end === rel) return '';
    if (!ascii) return utf8.decode(b.subarray(rel, end));
    const buf = this.buf ??= asBuffer(b);
    return latin1(buf, rel, end);
  }

  private loadText(): string {
    const b = this.bytes;
    const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
    this.ascii = isAsciiBytes(b);
    this.text = text;
    return text;
  }

  /**
   * Offset of the first whole string equal to `s` in this section (not the base), or
   * undefined. A byte search while few are asked for; a Map of every string after that.
   */
  find(s: string): number | undefined {
    if (this.index) return this.index.get(s);
    if (++this.finds > FINDS_BEFORE_INDEX) return this.buildIndex().get(s);
    const b = this.bytes;
    const want = Buffer.from(s, 'utf8');
    if (want.length + 1 <= b.length && b[want.length] === NUL && want.equals(b.subarray(0, want.length))) return this.start;
    const needle = Buffer.concat([ZERO, want, ZERO]);
    const p = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(needle);
    return p < 0 ? undefined : this.start + p + 1;
  }

  private buildIndex(): Map<string, number> {
    const idx = new Map<string, number>();
    const text = this.text ?? this.loadText();
    for (let p = 0; p < text.length;) {
      const e = text.indexOf('\0', p);
      const s = this.get(this.start + p);
      if (!idx.has(s)) idx.set(s, this.start + p);
      p = e + 1;
    }
    this.index = idx;
    return idx;
  }
}

/** Names decoded one by one from the bytes before the whole section is made one latin1 text (or 1 per 32 bytes of section). */
const GETS_BEFORE_TEXT = 256;
/** Byte searches for strings before find() builds its Map (addString of many names, as encode does). */
const FINDS_BEFORE_INDEX = 8;
const ZERO = Buffer.alloc(1);

/** True when every byte is below 0x80 (Node's buffer.isAscii when there is one). */
const isAsciiBytes: (b: Uint8Array) => boolean = typeof (BufferModule as { isAscii?: unknown }).isAscii === 'function'
  ? (b) => b.length === 0 || (BufferModule as unknown as { isAscii(b: Uint8Array): boolean }).isAscii(b)
  : (b) => { for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false; return true; };

/** True when every char code of a latin1-decoded string is below 0x80. */
function isAsciiText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
