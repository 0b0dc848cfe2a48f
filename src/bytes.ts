/** Byte helpers shared by the parsers (ELF, BTF). */

/**
 * Bytes [start, end) of a Buffer as a latin1 string: Buffer#latin1Slice (what
 * toString('latin1') calls, without its argument handling) where Node has it.
 */
export const latin1: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (b, start, end) => (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end)
    : (b, start, end) => b.toString('latin1', start, end);

/** A Buffer over the same memory as `bytes` (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
