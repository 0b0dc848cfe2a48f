/**
 * Keys and values of a map as the kernel reads them: exactly `keySize` bytes for a key,
 * `valueSize` for a value, `roundup(valueSize, 8) * possible CPUs` for a per-CPU value.
 * The kernel copies that many bytes from the pointer it is given whatever the buffer's
 * length, so a short buffer sends whatever follows it in memory: every length and every
 * number is checked here, before a syscall, and refused with a MapArgumentError.
 *
 * Numbers: with BTF, through the key / value type (an unsigned type refuses -1). Without
 * BTF, a 1, 2, 4 or 8-byte key or value is an unsigned integer; keys read back the same
 * way (4 bytes -> number, 8 -> bigint), so a prog array's slots are numbers.
 */
import type { Btf } from '../btf/index.js';
import { TsbpfError } from '../errors.js';
import { intBytes } from '../spec/edit.js';
import { decodeValue, encodeValue, type Value } from './values.js';

/** A key or value the map cannot take: wrong length, not an integer, out of range, wrong kind. */
export class MapArgumentError extends TsbpfError {
  constructor(
    detail: string,
    /** The map's name. */
    readonly map: string,
    /** Which argument is wrong. */
    readonly argument: 'key' | 'value',
    /** Bytes the map wants, when the length is what is wrong. */
    readonly expectedBytes?: number,
    /** Bytes given, when the length is what is wrong. */
    readonly givenBytes?: number,
  ) {
    super(detail, { symbol: map });
  }
}

/** What the codec needs to know of a map. */
export interface MapShape {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  /** BTF with the key / value types, when the map has them. */
  btf?: Btf;
  keyType?: number;
  valueType?: number;
  /** Possible CPUs, for per-CPU maps. */
  cpus: () => number;
}

/** Maps whose values are fds going in and ids coming out (a lookup answers the program's or inner map's id). */
export const FD_MAPS: Readonly<Record<string, 'program' | 'map' | undefined>> = { prog_array: 'program', array_of_maps: 'map', hash_of_maps: 'map' };

export const PERCPU_TYPES: ReadonlySet<string> = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
const INT_SIZES = [1, 2, 4, 8];

/** Bytes of one CPU's slot in a per-CPU value (8-byte aligned). */
export const perCpuStride = (valueSize: number): number => Math.ceil(valueSize / 8) * 8;

/** Bytes a lookup returns and an update must send. */
export function valueBytes(m: MapShape): number {
  return PERCPU_TYPES.has(m.type) ? perCpuStride(m.valueSize) * m.cpus() : m.valueSize;
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `a Buffer of ${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v === null ? 'null' : typeof v;
}

function sized(m: MapShape, arg: 'key' | 'value', bytes: Uint8Array, want: number, what: string): Uint8Array {
  if (bytes.length !== want) {
    throw new MapArgumentError(`map '${m.name}': ${what} must be ${want} bytes, the Buffer given is ${bytes.length}`, m.name, arg, want, bytes.length);
  }
  return bytes;
}

/** One key or one (one-CPU) value from JS data. */
function encodeOne(m: MapShape, arg: 'key' | 'value', v: unknown, size: number, typeId: number | undefined, what: string): Uint8Array {
  if (v instanceof Uint8Array) return sized(m, arg, v, size, what);
  try {
    if (m.btf && typeId) return encodeValue(m.btf, typeId, v as Value, size, `map '${m.name}' ${what}`);
    if ((typeof v === 'number' || typeof v === 'bigint') && INT_SIZES.includes(size)) {
      return intBytes(v, size, `map '${m.name}' ${what} (no BTF: an unsigned integer)`, 'unsigned');
    }
  } catch (e) {
    if (e instanceof MapArgumentError || !(e instanceof TsbpfError)) throw e;
    throw new MapArgumentError(e.detail, m.name, arg);
  }
  throw new MapArgumentError(`map '${m.name}': give the ${what} as a Buffer of ${size} bytes${INT_SIZES.includes(size) ? ' or an integer' : ''} (the map has no BTF type for it); got ${describe(v)}`, m.name, arg);
}

/** A key's bytes. */
export function encodeKey(m: MapShape, key: unknown): Uint8Array {
  return encodeOne(m, 'key', key, m.keySize, m.keyType, 'key');
}

/**
 * A value's bytes. Per-CPU maps take a Buffer of every CPU's slot, or an array of at most
 * one value per possible CPU (the CPUs not given get zeros).
 */
export function encodeMapValue(m: MapShape, value: unknown): Uint8Array {
  if (!PERCPU_TYPES.has(m.type)) return encodeOne(m, 'value', value, m.valueSize, m.valueType, 'value');
  const total = valueBytes(m);
  if (value instanceof Uint8Array) return sized(m, 'value', value, total, `a per-CPU value (${m.cpus()} CPUs x ${perCpuStride(m.valueSize)} bytes)`);
  const cpus = m.cpus();
  if (!Array.isArray(value)) {
    throw new MapArgumentError(`map '${m.name}' is per-CPU: give an array of up to ${cpus} values (one per possible CPU) or a Buffer of ${total} bytes; got ${describe(value)}`, m.name, 'value');
  }
  if (value.length > cpus) {
    throw new MapArgumentError(`map '${m.name}' is per-CPU: ${value.length} values given, but this machine has ${cpus} possible CPUs`, m.name, 'value');
  }
  const stride = perCpuStride(m.valueSize);
  const out = new Uint8Array(total);
  value.forEach((v, c) => out.set(encodeOne(m, 'value', v, m.valueSize, m.valueType, `value for CPU ${c}`), c * stride));
  return out;
}

/**
 * What a key without a BTF type reads back as, by its size: an unsigned number (1, 2 or 4
 * bytes), a bigint (8), else its bytes. decodeKey follows it, and tsbpf-gen writes the key
 * types of maps without BTF from it (src/gen/module.ts).
 */
export function plainKeyKind(size: number): 'number' | 'bigint' | 'bytes' {
  return size === 1 || size === 2 || size === 4 ? 'number' : size === 8 ? 'bigint' : 'bytes';
}

/** A key as JS data: through BTF, else as plainKeyKind says. */
export function decodeKey(m: MapShape, raw: Buffer): Value {
  if (m.btf && m.keyType) return decodeValue(m.btf, m.keyType, raw);
  switch (plainKeyKind(raw.length)) {
    case 'number': return raw.readUIntLE(0, raw.length);
    case 'bigint': return raw.readBigUInt64LE(0);
    case 'bytes': return raw;
  }
}
