/**
 * Little-endian reads shared by the ELF parsers. All offsets handed to these helpers have
 * already been bounds-checked by the caller; the helpers only make 64-bit reads exact.
 */
import { isAsciiBytes, latin1 } from '../bytes.js';

export { asBuffer } from '../bytes.js';

/** A u64 whose high word is at most this fits in Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HI = 0x1fffff;

/**
 * Reads a u64 exactly. Returns -1 when the value is above Number.MAX_SAFE_INTEGER (the
 * caller reports it with {@link u64Text}); two u32 reads are much faster than getBigUint64.
 */
export function u64(dv: DataView, off: number): number {
  const hi = dv.getUint32(off + 4, true);
  if (hi > MAX_SAFE_HI) return -1;
  return hi * 0x1_0000_0000 + dv.getUint32(off, true);
}

/** The exact decimal text of a u64, for error messages. */
export function u64Text(dv: DataView, off: number): string {
  return dv.getBigUint64(off, true).toString();
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const utf8 = new TextDecoder('utf-8');

/**
 * The NUL-terminated string at `start`, which must end before `end` (exclusive).
 * Returns undefined when there is no NUL in [start, end). One string is made (ASCII
 * through latin1, anything else decoded as UTF-8).
 */
export function cString(bytes: Buffer, start: number, end: number): string | undefined {
  let ascii = true, i = start;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0) break;
    if (c >= 0x80) ascii = false;
  }
  if (i === end) return undefined;
  if (i === start) return '';
  if (!ascii) return utf8.decode(bytes.subarray(start, i));
  return latin1(bytes, start, i);
}

/**
 * The NUL-terminated names of one string table (.strtab, .shstrtab), as {@link cString}
 * reads them. When the table is all ASCII (clang's always are) it is decoded once, on the
 * first name asked for, and each name is a slice of that text: one native call per table
 * instead of one per name.
 */
export class StringTable {
  /** The table as latin1 text; null when it holds non-ASCII bytes. */
  private text: string | null | undefined;
  constructor(private readonly bytes: Buffer, private readonly start: number, private readonly end: number) {}
  /** The name at offset `off` of the table (below its size), or undefined when no NUL ends it. */
  at(off: number): string | undefined {
    let text = this.text;
    if (text === undefined) {
      this.text = text = isAsciiBytes(this.bytes.subarray(this.start, this.end)) ? latin1(this.bytes, this.start, this.end) : null;
    }
    if (text === null) return cString(this.bytes, this.start + off, this.end);
    const nul = text.indexOf('\0', off);
    return nul < 0 ? undefined : text.slice(off, nul);
  }
}
