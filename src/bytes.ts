/** Byte helpers shared by the parsers (ELF, BTF) and by the load path (src/load, src/sys: `slabBytes`, `viewOver`). */
import * as BufferModule from 'node:buffer';

/**
 * Bytes [start, end) of a Buffer as a latin1 string: Buffer#latin1Slice (what
 * toString('latin1') calls, without its argument handling) where Node has it.
 */
export const latin1: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (b, start, end) => (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end)
    : (b, start, end) => b.toString('latin1', start, end);

/**
 * True when every byte is below 0x80: Node's buffer.isAscii where there is one (a native
 * SIMD scan; a regular expression over the latin1 text took ~0.2 us for a 350-byte
 * .strtab), else a loop.
 */
export const isAsciiBytes: (b: Uint8Array) => boolean = typeof (BufferModule as { isAscii?: unknown }).isAscii === 'function'
  ? (b) => b.length === 0 || (BufferModule as unknown as { isAscii(b: Uint8Array): boolean }).isAscii(b)
  : (b) => { for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false; return true; };

/** A Buffer over the same memory as `bytes` (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Size of one slab of `tableWords` / `tableBytes`; requests above a quarter of it get their own array. */
const TABLE_SLAB_SIZE = 16 * 1024;
let tableSlab = new ArrayBuffer(TABLE_SLAB_SIZE);
let tableUsed = 0;

/** `size` bytes at a 4-byte aligned offset of the current table slab, or undefined when `size` is large. */
function tableSpace(size: number): number | undefined {
  if (size > TABLE_SLAB_SIZE / 4) return undefined;
  if (tableUsed + size > TABLE_SLAB_SIZE) { tableSlab = new ArrayBuffer(TABLE_SLAB_SIZE); tableUsed = 0; }
  const at = tableUsed;
  tableUsed += (size + 3) & ~3;
  return at;
}

/**
 * `n` zeroed u32s for an index a parse result keeps (a function's instruction slots, a
 * BTF's record offsets), carved out of a shared 16 KiB slab when small: a typed array of
 * more than 64 bytes has a backing store of its own, ~0.7 us to make and to sweep (V8 11),
 * which an object's parse paid for a dozen such tables. A view keeps its slab alive, so a
 * kept parse result keeps alive every slab it has a table in: up to two slabs (32 KiB)
 * more than it holds itself, when its tables straddle a slab boundary and share each end
 * slab with other parses. Slabs are never handed out twice, so the arrays are zeroed and
 * no later parse writes into a kept one's tables.
 */
export function tableWords(n: number): Uint32Array {
  const at = tableSpace(n * 4);
  return at === undefined ? new Uint32Array(n) : new Uint32Array(tableSlab, at, n);
}

/** `n` zeroed bytes for a kept index, as {@link tableWords}. */
export function tableBytes(n: number): Uint8Array {
  const at = tableSpace(n);
  return at === undefined ? new Uint8Array(n) : new Uint8Array(tableSlab, at, n);
}

/** Size of one slab of `slabBytes`; larger requests get their own array. */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_REQUEST = 16 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;
/** A DataView over the whole current slab, made once per slab (a DataView per buffer cost ~0.2 us). */
let slabDataView: DataView | undefined;

/**
 * `n` zeroed bytes carved out of a shared slab (8-byte aligned; never handed out twice, so
 * never dirty), or a fresh array when `n` is large. For the short-lived buffers of a load
 * (attrs, encoded instructions, func_info / line_info records): `new Uint8Array(n)` of a
 * few hundred bytes costs ~1 us (an off-heap backing store each), and src/sys then takes
 * each one's address with a native call, where a slab's is taken once (addressOf caches
 * it per ArrayBuffer). Also BPF_BTF_LOAD's rewritten BTF, BPF_OBJ_PIN / GET paths,
 * BPF_OBJ_GET_INFO_BY_FD's info structs and copies of global data. A view keeps its whole
 * slab alive: do not keep these arrays (nor hand them to a caller who may).
 */
export function slabBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_REQUEST) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) { slab = new ArrayBuffer(SLAB_SIZE); slabUsed = 0; slabDataView = undefined; }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/**
 * A DataView over `bytes`' whole buffer, to be written at `bytes.byteOffset + i`: for a
 * view `slabBytes` gave, the current slab's one DataView (no DataView per buffer); for
 * anything else a new one. Its bounds are the buffer's, not `bytes`': a write past
 * `bytes.length` throws no RangeError but lands in a neighbour's bytes, so check the
 * length first where it is not fixed by construction.
 */
export function viewOver(bytes: Uint8Array): DataView {
  if (bytes.buffer === slab) return (slabDataView ??= new DataView(slab));
  return new DataView(bytes.buffer, 0, bytes.buffer.byteLength);
}
