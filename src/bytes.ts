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

/** Size of one slab of `slabBytes`; larger requests get their own array. */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_REQUEST = 16 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

/**
 * `n` zeroed bytes carved out of a shared slab (8-byte aligned; never handed out twice, so
 * never dirty), or a fresh array when `n` is large. For the short-lived buffers of a load
 * (attrs, encoded instructions, func_info / line_info records): `new Uint8Array(n)` of a
 * few hundred bytes costs ~1 us (an off-heap backing store each), and src/sys then takes
 * each one's address with a native call, where a slab's is taken once (addressOf caches
 * it per ArrayBuffer). A view keeps its whole slab alive: do not keep these arrays.
 */
export function slabBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_REQUEST) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) { slab = new ArrayBuffer(SLAB_SIZE); slabUsed = 0; }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}
