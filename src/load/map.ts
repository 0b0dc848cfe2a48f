/**
 * A loaded map: BpfMap owns one fd and has close(). Its methods are thin (the syscalls
 * live in src/sys); keys and values are encoded and decoded through the object's BTF.
 */
import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import type { MapTypeName } from '../kernel/enums.js';
import type { MapSpec } from '../spec/types.js';
import { Fd, mapDelete, mapGetNextKey, mapInfo, mapLookup, mapUpdate, BPF_ANY, type MapInfo } from '../sys/index.js';
import { Pinnable } from './pin.js';
import { decodeValue, type Value } from './values.js';
import { decodeKey, encodeKey, encodeMapValue, FD_MAPS, MapArgumentError, PERCPU_TYPES, perCpuStride, valueBytes, type MapShape } from './map-codec.js';
import { Program } from './program.js';
import type { StructOpsState } from './struct-ops.js';

let possibleCpus: number | undefined;
/** Number of possible CPUs (/sys/devices/system/cpu/possible), as per-CPU maps size their values. */
export function numPossibleCpus(): number {
  if (possibleCpus === undefined) {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let n = 0;
    for (const part of text.split(',')) {
      const [a, b] = part.split('-').map(Number);
      n += b === undefined ? 1 : b! - a! + 1;
    }
    possibleCpus = n;
  }
  return possibleCpus;
}

/** A key: its bytes, or JS data encoded as `keys()` decodes it (through BTF, else an unsigned integer). */
export type KeyLike = Uint8Array | number | bigint | Value;

/**
 * What update() takes: bytes of exactly the value's size, JS data (through BTF, else an
 * unsigned integer), an array of one value per CPU for per-CPU maps, a Program for a prog
 * array, a BpfMap for a map of maps, or an Fd for any map that holds fds.
 */
export type MapValue = Uint8Array | Value | Value[] | Program | BpfMap<unknown, unknown> | Fd;


/**
 * A loaded map. `K` and `V` type its keys and values as lookup() returns them (for a per-CPU
 * map, V is the array of one value per CPU); they default to Value, the decoders' loose
 * union, and a generated skeleton (tsbpf-gen) fills them in from the object's BTF. The
 * types do not change what the methods do: keys and values are still encoded and checked
 * through the map's BTF at run time.
 */
export class BpfMap<K = Value, V = Value> extends Pinnable {
  readonly name: string;
  /** The name the kernel knows it by (15 chars at most). */
  readonly kernelName: string;
  readonly spec: MapSpec;
  readonly type: MapTypeName;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** The object's BTF, when key/value types are known. */
  readonly btf?: Btf;
  /** struct_ops maps: what was registered (or not) and which program is in which member. */
  structOps?: StructOpsState;
  readonly #shape: MapShape;

  constructor(spec: MapSpec, fd: Fd, kernelName: string, maxEntries: number, btf?: Btf) {
    super(fd);
    this.name = spec.name;
    this.kernelName = kernelName;
    this.spec = spec;
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = maxEntries;
    if (btf) this.btf = btf;
    // one literal per case: a spread of optional keys into it takes V8's slow path (~1-2 us per map)
    this.#shape = btf
      ? { name: spec.name, type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, cpus: numPossibleCpus, btf, keyType: spec.keyType, valueType: spec.valueType }
      : { name: spec.name, type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, cpus: numPossibleCpus };
  }

  get perCpu(): boolean { return PERCPU_TYPES.has(this.type); }

  /** Bytes of one lookup result: per-CPU maps return one 8-byte-aligned value per possible CPU. */
  get valueBytes(): number {
    return valueBytes(this.#shape);
  }

  /** Raw lookup: the value bytes, or undefined when the key is absent. */
  lookupBytes(key: K | Uint8Array): Buffer | undefined {
    const v = Buffer.alloc(this.valueBytes);
    return mapLookup(this.fd, encodeKey(this.#shape, key), v) ? v : undefined;
  }

  /**
   * Lookup decoded through BTF when the map has a value type (per-CPU maps: one value per
   * CPU). A prog array answers with the program's id, a map of maps with the inner map's id.
   */
  lookup(key: K | Uint8Array): V | undefined {
    const raw = this.lookupBytes(key);
    if (raw === undefined) return undefined;
    return this.decode(raw) as V;
  }

  private decode(raw: Buffer): Value | Value[] {
    if (FD_MAPS[this.type] && raw.length === 4) return raw.readUInt32LE(0);
    const one = (b: Uint8Array): Value => (this.btf && this.spec.valueType ? decodeValue(this.btf, this.spec.valueType, b) : Buffer.from(b));
    if (!this.perCpu) return one(raw);
    const stride = perCpuStride(this.valueSize);
    const out: Value[] = [];
    for (let c = 0; c * stride < raw.length; c++) out.push(one(raw.subarray(c * stride, c * stride + this.valueSize)));
    return out;
  }

  /** A Program, BpfMap or Fd as the fd the kernel wants in this map, checked against the map's kind. */
  private fdOf(value: Program | BpfMap<unknown, unknown> | Fd): Uint8Array {
    const wants = FD_MAPS[this.type];
    const given = value instanceof Program ? 'program' : value instanceof BpfMap ? 'map' : 'fd';
    if (given !== 'fd' && given !== wants) {
      const takes = wants ? `takes ${wants}s` : 'holds no programs or maps';
      throw new MapArgumentError(`map '${this.name}' (${this.type}) ${takes}; got ${given} '${(value as Program | BpfMap<unknown, unknown>).name}'`, this.name, 'value');
    }
    const fd = value instanceof Fd ? value : value.fd;
    return encodeMapValue(this.#shape, fd.value);
  }

  /** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2). */
  update(key: K | Uint8Array, value: V | Uint8Array | Program | BpfMap<unknown, unknown> | Fd, flags = BPF_ANY): void {
    const k = encodeKey(this.#shape, key);
    const v = value instanceof Program || value instanceof BpfMap || value instanceof Fd ? this.fdOf(value) : encodeMapValue(this.#shape, value);
    mapUpdate(this.fd, k, v, flags);
  }

  /** Deletes a key; false when it was not there. */
  delete(key: K | Uint8Array): boolean {
    return mapDelete(this.fd, encodeKey(this.#shape, key));
  }

  /** Every key as the kernel holds it (Buffers of keySize bytes). */
  *rawKeys(): IterableIterator<Buffer> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      if (!mapGetNextKey(this.fd, prev, next)) return;
      yield next;
      prev = next;
    }
  }

  /** Every key, decoded: through BTF, else numbers (4 bytes: a prog array's slots) or bigints (8), else Buffers. */
  *keys(): IterableIterator<K> {
    for (const k of this.rawKeys()) yield decodeKey(this.#shape, k) as K;
  }

  /** Every [key, value] pair, both decoded as in keys() and lookup(). Keys deleted meanwhile are skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const k of this.rawKeys()) {
      const v = this.lookupBytes(k);
      if (v !== undefined) yield [decodeKey(this.#shape, k) as K, this.decode(v) as V];
    }
  }

  info(): MapInfo { return mapInfo(this.fd); }

  /**
   * Closes the fd. A registered struct_ops map is unregistered first (key 0 deleted, as
   * `bpftool struct_ops unregister` does): the registration holds the map, so closing the
   * fd alone would leave it registered. A pinned one stays registered.
   */
  close(): void {
    if (this.structOps?.registered && !this.pinnedAt) {
      this.structOps.registered = false;
      try { mapDelete(this.fd, new Uint8Array(4)); } catch { /* already unregistered, or fd closed */ }
    }
    this.fd.close();
  }
}
