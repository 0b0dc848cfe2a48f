/**
 * Little-endian reads shared by the ELF parsers. All offsets handed to these helpers have
 * already been bounds-checked by the caller; the helpers only make 64-bit reads exact.
 */

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
 * Returns undefined when there is no NUL in [start, end).
 */
export function cString(bytes: Uint8Array, start: number, end: number): string | undefined {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0) return s;
    if (c >= 0x80) {
      const nul = bytes.subarray(start, end).indexOf(0);
      return nul < 0 ? undefined : utf8.decode(bytes.subarray(start, start + nul));
    }
    s += String.fromCharCode(c);
  }
  return undefined;
}
