/**
 * Little-endian reads shared by the ELF parsers. All offsets handed to these helpers have
 * already been bounds-checked by the caller; the helpers only make 64-bit reads exact.
 */
import { latin1 } from '../bytes.js';

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
