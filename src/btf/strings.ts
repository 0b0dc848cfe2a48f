/**
 * A BTF string section: NUL-terminated names addressed by byte offset. For split BTF
 * (kernel modules) offsets below `start` are the base's strings.
 *
 * Names are decoded only when asked for: sliced from one latin1 text of the whole section
 * (made on the first name of a small section, an object's; for a large one, vmlinux's,
 * after a few names read from the bytes), or as UTF-8 when a name has bytes above 0x7f.
 */
import { asBuffer, isAsciiBytes, latin1 } from '../bytes.js';

const NUL = 0;
const utf8 = new TextDecoder();

export class BtfStrings {
  /** Offset of this section's first byte in the shared string space (the base's length). */
  readonly start: number;
  /** One past the last offset of the shared string space (a field: read for every name decoded). */
  readonly end: number;
  private text: string | undefined;
  private ascii = true;
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
    this.end = start + bytes.length;
  }

  /** The section (this one or a base's) that holds absolute offset `off`, or undefined when out of range. */
  holder(off: number): BtfStrings | undefined {
    if (off >= this.start) return off < this.end ? this : undefined;
    return this.base?.holder(off);
  }

  /**
   * The string at absolute offset `off`; the caller checked `off < end` and that it is an
   * integer >= 0. Small, so that it inlines into the decoder's loops: the common case (the
   * text made, all ASCII, an own offset) is one indexOf and one slice.
   */
  get(off: number): string {
    const rel = off - this.start;
    const text = this.text;
    if (text !== undefined && rel >= 0 && this.ascii) return text.slice(rel, text.indexOf('\0', rel)); // found: the section ends with NUL
    return this.getSlow(off);
  }

  private getSlow(off: number): string {
    if (off < this.start) return this.base!.get(off);
    const rel = off - this.start;
    const text = this.text;
    if (text === undefined) {
      // Few names asked for (an object's BTF, a lookup in vmlinux): read them from the bytes
      // rather than make a latin1 text of the whole section.
      // A small section (an object's) is made one text at once: a native call per name
      // costs more than the slices (map definitions read a dozen names each).
      if (this.bytes.length > SMALL_SECTION && ++this.gets <= Math.max(GETS_BEFORE_TEXT, this.bytes.length >>> BYTES_PER_GET_SHIFT)) return this.fromBytes(rel);
      return this.slice(this.loadText(), rel);
    }
    return this.slice(text, rel);
  }

  /**
   * The string at own offset `rel`, sliced from the latin1 text (a slice of 13 or more
   * characters shares the text's memory). No cache by offset: each call makes a new
   * string, which the young-generation GC frees for almost nothing when the caller drops
   * it, where a cache of names (by offset, even a direct-mapped one) costs more than the
   * slices it saves: its strings survive scavenges and every store into it is an
   * old-to-new write.
   */
  private slice(text: string, rel: number): string {
    const end = text.indexOf('\0', rel); // found: the section ends with NUL
    const s = text.slice(rel, end);
    if (this.ascii || isAsciiText(s)) return s;
    return utf8.decode(this.bytes.subarray(rel, end));
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

/**
 * Names decoded one by one from the bytes of a section above SMALL_SECTION before the
 * whole section is made one latin1 text: at least GETS_BEFORE_TEXT, or one per 2^BYTES_PER_GET_SHIFT bytes of section (the
 * text is a copy of the section, ~0.2 ms for vmlinux's 2.3 MB: about what 600 names read
 * from the bytes cost, measured in a pass over every type; a lookup of task_struct reads
 * fewer and makes no text).
 */
const GETS_BEFORE_TEXT = 256;
/** Up to this many bytes, the section is made one latin1 text on the first name asked for. */
const SMALL_SECTION = 16 * 1024;
const BYTES_PER_GET_SHIFT = 12;
/** Byte searches for strings before find() builds its Map (addString of many names, as encode does). */
const FINDS_BEFORE_INDEX = 8;
const ZERO = Buffer.alloc(1);


/** True when every char code of a latin1-decoded string is below 0x80. */
function isAsciiText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
