import { slabBytes, viewOver } from '../bytes.js';
import { TsbpfError } from '../errors.js';
import type { Field, Layout } from './layout.js';
import { addressOf } from './syscall.js';

/** What a field of each kind accepts. */
export type FieldValue = number | bigint | string | Uint8Array | ArrayBufferView | null | undefined;

export type AttrValues<F extends string> = { readonly [K in F]?: FieldValue };

/** An encoded attr plus every buffer its pointer fields reference (keep it until the call returns). */
export interface Attr {
  readonly bytes: Uint8Array;
  readonly refs: readonly ArrayBufferView[];
}

function viewOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * The buffers the last encoded attr points to. A caller that keeps only `.bytes`
 * (`bpf(cmd, encodeAttr(...).bytes)`) drops the Attr before the call; an allocation in
 * between (a BigInt address) can then run a GC that frees a buffer whose address is in
 * the attr. Held here until the next encode, which comes after that call.
 */
const held: { refs: readonly ArrayBufferView[] } = { refs: [] };

/** The end of a layout's last field, newer ones (`since`) included: the most an attr can take. */
const fullSizes = new WeakMap<Layout<string>, number>();
function fullSize(l: Layout<string>): number {
  let n = fullSizes.get(l);
  if (n === undefined) {
    n = l.size;
    for (const f of Object.values<Field>(l.fields)) n = Math.max(n, f.off + f.size);
    fullSizes.set(l, n);
  }
  return n;
}

/**
 * Encode `values` into the attr (or info struct) described by `l`. Pointer fields take a
 * buffer (its address is written; the buffer is returned in `refs`), a bigint address or
 * null; char arrays take a string (truncated to leave a NUL) or bytes. The attr is the
 * header's size (`l.size`), or longer where a newer field (`since`) is not zero.
 */
export function encodeAttr<F extends string>(l: Layout<F>, values: AttrValues<F>): Attr {
  const fields = l.fields as Record<string, Field>;
  // One pass: the bytes are taken for every field the layout knows (a view into a shared
  // slab, bytes.ts: zeroed, no backing store or native address lookup per attr) and cut
  // to the size the fields given need.
  const room = slabBytes(fullSize(l));
  const dv = viewOver(room);
  const base = room.byteOffset;
  let size = l.size;
  const refs: ArrayBufferView[] = [];
  for (const k in values) {
    const f = fields[k];
    if (!f) throw new TsbpfError(`${l.name}: no attr field '${k}'`);
    const v = values[k];
    if (v === undefined || v === null) continue;
    // zero is what the buffer holds already (most fields of most calls): nothing to write
    if ((v === 0 && f.kind !== 'ptr') || v === 0n || v === '') continue;
    // a newer field that is not zero: the attr runs to its end
    if (f.since && f.off + f.size > size) size = f.off + f.size;
    switch (f.kind) {
      case 'u32':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff)
          throw new TsbpfError(`${l.name}.${k}: ${String(v)} is not a 32-bit integer`);
        dv.setUint32(base + f.off, v >>> 0, true);
        break;
      case 'u16':
      case 'u8': {
        const max = f.kind === 'u16' ? 0xffff : 0xff;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -(max + 1) / 2 || v > max)
          throw new TsbpfError(`${l.name}.${k}: ${String(v)} is not a ${f.size * 8}-bit integer`);
        if (f.kind === 'u16') dv.setUint16(base + f.off, v & max, true);
        else dv.setUint8(base + f.off, v & max);
        break;
      }
      case 'u64':
        if (typeof v === 'number') {
          if (!Number.isSafeInteger(v) || v < 0) throw new TsbpfError(`${l.name}.${k}: ${v} is not a u64`);
          dv.setBigUint64(base + f.off, BigInt(v), true);
        } else if (typeof v === 'bigint') dv.setBigUint64(base + f.off, BigInt.asUintN(64, v), true);
        else throw new TsbpfError(`${l.name}.${k}: expected a number or bigint`);
        break;
      case 'ptr':
        if (typeof v === 'bigint') dv.setBigUint64(base + f.off, v, true);
        else if (typeof v === 'object' && ArrayBuffer.isView(v)) {
          if (v.byteLength > 0) {
            dv.setBigUint64(base + f.off, addressOf(v), true);
            refs.push(v);
          }
        } else throw new TsbpfError(`${l.name}.${k}: expected a buffer, an address or null`);
        break;
      case 'bytes':
        if (typeof v === 'string') {
          // latin1, as Buffer.from(v, 'latin1') would give, without the Buffer
          const n = Math.min(v.length, f.size - 1);
          for (let i = 0; i < n; i++) room[f.off + i] = v.charCodeAt(i);
        } else if (typeof v === 'object' && ArrayBuffer.isView(v)) {
          const src = viewOf(v);
          room.set(src.subarray(0, Math.min(src.length, f.size)), f.off);
        } else throw new TsbpfError(`${l.name}.${k}: expected a string or bytes`);
        break;
    }
  }
  held.refs = refs;
  return { bytes: size === room.length ? room : room.subarray(0, size), refs };
}

/** Read a u32 field back (kernel outputs: retval, duration, info_len, next_id, count...). */
export function readU32<F extends string>(l: Layout<F>, bytes: Uint8Array, name: F): number {
  const f = (l.fields as Record<string, Field>)[name]!;
  if (f.off + 4 > bytes.length) return 0;
  return viewOver(bytes).getUint32(bytes.byteOffset + f.off, true);
}

/** Read a u64 / ptr field back. */
export function readU64<F extends string>(l: Layout<F>, bytes: Uint8Array, name: F): bigint {
  const f = (l.fields as Record<string, Field>)[name]!;
  if (f.off + 8 > bytes.length) return 0n;
  return viewOver(bytes).getBigUint64(bytes.byteOffset + f.off, true);
}

/** Read a char[N] field as a string up to its first NUL. */
export function readString<F extends string>(l: Layout<F>, bytes: Uint8Array, name: F): string {
  const f = (l.fields as Record<string, Field>)[name]!;
  return cString(bytes.subarray(f.off, f.off + f.size));
}

/** A C string the kernel wrote: the bytes before the first NUL (all of them without one). */
export function cString(b: Uint8Array, encoding: BufferEncoding = 'latin1'): string {
  const z = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, z < 0 ? b.length : z).toString(encoding);
}

/** Read a byte-array field. */
export function readBytes<F extends string>(l: Layout<F>, bytes: Uint8Array, name: F): Uint8Array {
  const f = (l.fields as Record<string, Field>)[name]!;
  return bytes.slice(f.off, f.off + f.size);
}

/** Bytes a command reads or fills: any typed array or DataView. */
export type Bytes = Uint8Array | ArrayBufferView;

/** A kernel enum value given as a number or by its name in `table` ('hash' -> 1); an unknown name throws. */
export function typeNumber(kind: string, table: Record<string, number>, t: number | string): number {
  if (typeof t === 'number') return t;
  const n = table[t];
  if (n === undefined) throw new TsbpfError(`unknown ${kind} '${t}'`);
  return n;
}
