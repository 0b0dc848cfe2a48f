/**
 * The raw layout of a BTF blob: its header, and the one pass over the type section that
 * finds where each record starts (records are variable length; sizes from kinds.ts).
 */
import { BtfError, type ErrorContext } from '../errors.js';
import {
  BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAGIC_SWAPPED, BTF_TYPE_SIZE, BTF_VERSION, FIXED_WORDS, INVALID_KIND, KIND_NAMES,
  WORDS_PER_VLEN, extraSize, infoKind, infoVlen,
} from './kinds.js';
import { wasmScanTypes } from './wasm-scan.js';
import { tableBytes, tableWords } from '../bytes.js';

/** Where the parts of a BTF blob are, from its checked header. */
export interface BtfLayout {
  littleEndian: boolean;
  /** Byte offsets in the blob. */
  typeStart: number; typeLen: number;
  strStart: number; strLen: number;
}

/**
 * Reads and checks the btf_header (magic, version, section bounds, string section
 * shape). `split`: the blob is split BTF (its string section may start with any string).
 */
export function readHeader(bytes: Uint8Array, ctx: ErrorContext, split: boolean): BtfLayout {
  const fail = (detail: string, offset?: number) => new BtfError(detail, { ...ctx, offset });
  if (bytes.length < 8) throw fail(`BTF is ${bytes.length} bytes, too short for a header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = v.getUint16(0, true);
  let le: boolean;
  if (magicLe === BTF_MAGIC) le = true;
  else if (magicLe === BTF_MAGIC_SWAPPED) le = false;
  else throw fail(`bad magic 0x${magicLe.toString(16).padStart(4, '0')}, expected 0xeb9f`, 0);
  const version = v.getUint8(2);
  if (version !== BTF_VERSION) throw fail(`unsupported BTF version ${version}, expected 1`, 2);
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < BTF_HEADER_SIZE) throw fail(`hdr_len ${hdrLen} is smaller than the ${BTF_HEADER_SIZE}-byte btf_header by ${BTF_HEADER_SIZE - hdrLen}`, 4);
  if (hdrLen > bytes.length) throw fail(`hdr_len ${hdrLen} runs ${hdrLen - bytes.length} bytes past the end of the ${bytes.length}-byte BTF`, 4);
  const typeOff = v.getUint32(8, le), typeLen = v.getUint32(12, le);
  const strOff = v.getUint32(16, le), strLen = v.getUint32(20, le);
  const data = bytes.length - hdrLen;
  if (typeOff % 4 !== 0) throw fail(`type_off ${typeOff} is not 4-byte aligned`, 8);
  if (typeOff + typeLen > data) {
    throw fail(`type section (type_off ${typeOff} + type_len ${typeLen}) runs ${typeOff + typeLen - data} bytes past the end of the ${data} bytes after the header`, typeOff > data ? 8 : 12);
  }
  if (strOff + strLen > data) {
    throw fail(`string section (str_off ${strOff} + str_len ${strLen}) runs ${strOff + strLen - data} bytes past the end of the ${data} bytes after the header`, strOff > data ? 16 : 20);
  }
  if (typeLen > 0 && strLen > 0 && typeOff < strOff + strLen && strOff < typeOff + typeLen) {
    const overlap = Math.min(typeOff + typeLen, strOff + strLen) - Math.max(typeOff, strOff);
    throw fail(`type section [${typeOff}, ${typeOff + typeLen}) and string section [${strOff}, ${strOff + strLen}) overlap by ${overlap} bytes`, 8);
  }
  const strStart = hdrLen + strOff;
  if (strLen === 0 && !split) throw fail('empty string section (it must hold at least the empty string)', 20);
  if (strLen > 0) {
    if (!split && bytes[strStart] !== 0) throw fail('string section does not start with the empty string (NUL byte)', strStart);
    if (bytes[strStart + strLen - 1] !== 0) {
      let last = strStart + strLen - 1;
      while (last > strStart && bytes[last - 1] !== 0) last--;
      throw fail(`unterminated string section: the last string (string offset ${last - strStart}) has no NUL byte`, strStart + strLen - 1);
    }
  }
  return { littleEndian: le, typeStart: hdrLen + typeOff, typeLen, strStart, strLen };
}

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The type section as host-order u32 words: a view when aligned and same byte order, else a copy. */
export function typeWords(bytes: Uint8Array, start: number, len: number, le: boolean): Uint32Array {
  const n = Math.floor(len / 4);
  if (le === HOST_LE && (bytes.byteOffset + start) % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset + start, n);
  const v = new DataView(bytes.buffer, bytes.byteOffset + start, n * 4);
  const w = new Uint32Array(n);
  for (let i = 0; i < n; i++) w[i] = v.getUint32(i * 4, le);
  return w;
}

/** Where each record starts (words) and its kind; `offsets` has one more entry, the end. */
export interface RecordScan { count: number; offsets: Uint32Array; kinds: Uint8Array }

/**
 * The one pass over the type section: record offsets and kinds. Checks that every record
 * has a known kind, fits in the section, and has its name offset below `strTotal`;
 * throws a BtfError naming the record otherwise.
 */
export function scanRecords(w: Uint32Array, typeLen: number, strTotal: number, err: (detail: string, n: number, pos: number) => BtfError): RecordScan {
  const wasm = wasmScanTypes(w, typeLen, strTotal); // a BTF in a WebAssembly arena (wasm-scan.ts)
  if (wasm) {
    if (wasm.r < 0) throw scanError(w, ~wasm.r, wasm.offsets[~wasm.r]!, typeLen, strTotal, err);
    return { count: wasm.r, offsets: wasm.offsets, kinds: wasm.kinds };
  }
  const offsets = tableWords(Math.floor(typeLen / BTF_TYPE_SIZE) + 1);
  const kinds = tableBytes(offsets.length);
  const r = scanTypes(w, typeLen, strTotal, offsets, kinds);
  if (r < 0) throw scanError(w, ~r, offsets[~r]!, typeLen, strTotal, err);
  return { count: r, offsets: offsets.subarray(0, r + 1), kinds: kinds.subarray(0, r) };
}

/**
 * Returns the count, or ~n when record n is bad (truncated, unknown kind, runs past the
 * end, name offset out of range); its position is then in offsets[n]. Kept small and
 * monomorphic: it is the hot loop of parse.
 */
function scanTypes(w: Uint32Array, typeLen: number, strTotal: number, offsets: Uint32Array, kinds: Uint8Array): number {
  const end = typeLen >>> 2;
  const last = end - BTF_TYPE_SIZE / 4;
  let n = 0, pos = 0;
  while (pos <= last) {
    offsets[n] = pos;
    const info = w[pos + 1]!;
    const kind = infoKind(info);
    const f = FIXED_WORDS[kind]!;
    const next = pos + f + infoVlen(info) * WORDS_PER_VLEN[kind]!;
    if (f === INVALID_KIND || next > end || w[pos]! >= strTotal) return ~n;
    kinds[n++] = kind;
    pos = next;
  }
  offsets[n] = pos;
  if (pos !== end || (typeLen & 3) !== 0) return ~n; // a truncated record, or 1-3 stray bytes after the last one
  return n;
}

/** Say why scanTypes stopped at record `n` (word `pos`). */
function scanError(w: Uint32Array, n: number, pos: number, typeLen: number, strTotal: number, err: (detail: string, n: number, pos: number) => BtfError): BtfError {
  const left = typeLen - pos * 4;
  if (left < BTF_TYPE_SIZE) return err(`truncated btf_type record: ${BTF_TYPE_SIZE} bytes needed, ${left} left in the type section`, n, pos);
  const info = w[pos + 1]!;
  const kind = infoKind(info);
  const vlen = infoVlen(info);
  const size = BTF_TYPE_SIZE + extraSize(kind, vlen);
  if (kind === 0 || size < BTF_TYPE_SIZE) return err(`unknown BTF kind ${kind} (info 0x${info.toString(16)})`, n, pos);
  if (size > left) return err(`${KIND_NAMES[kind]} record with vlen ${vlen} needs ${size} bytes but runs ${size - left} bytes past the end of the type section`, n, pos);
  return err(`name offset ${w[pos]!} is out of range (string section is ${strTotal} bytes)`, n, pos);
}
