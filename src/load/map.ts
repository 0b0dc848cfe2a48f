/**
 * A loaded map: BpfMap owns one fd and has close(). Its methods are thin (the syscalls
 * live in src/sys); keys and values are encoded and decoded through the object's BTF.
 */
import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import { TsbpfError } from '../errors.js';
import type { MapSpec } from '../spec/types.js';
import { Fd, mapDelete, mapGetNextKey, mapInfo, mapLookup, mapUpdate, BPF_ANY, type MapInfo } from '../sys/index.js';
import { Pinnable } from './pin.js';
import { decodeValue, encodeValue, type Value } from './values.js';
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

const PERCPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);

export type KeyLike = Uint8Array | number | bigint | Value;

export class BpfMap extends Pinnable {
  readonly name: string;
  /** The name the kernel knows it by (15 chars at most). */
  readonly kernelName: string;
  readonly spec: MapSpec;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** The object's BTF, when key/value types are known. */
  readonly btf?: Btf;
  /** struct_ops maps: what was registered (or not) and which program is in which member. */
  structOps?: StructOpsState;

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
  }

  get perCpu(): boolean { return PERCPU.has(this.type); }

  /** Bytes of one lookup result: per-CPU maps return one 8-byte-aligned value per possible CPU. */
  get valueBytes(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * numPossibleCpus() : this.valueSize;
  }

  private keyBytes(key: KeyLike): Uint8Array {
    if (key instanceof Uint8Array) {
      if (key.length !== this.keySize) throw new TsbpfError(`map '${this.name}': key is ${key.length} bytes, the map's keys are ${this.keySize}`);
      return key;
    }
    if (this.btf && this.spec.keyType) return encodeValue(this.btf, this.spec.keyType, key as Value, this.keySize);
    if ((typeof key === 'number' || typeof key === 'bigint') && [1, 2, 4, 8].includes(this.keySize)) {
      const b = new Uint8Array(this.keySize);
      const dv = new DataView(b.buffer);
      if (this.keySize === 8) dv.setBigUint64(0, BigInt(key), true);
      else if (this.keySize === 4) dv.setUint32(0, Number(key), true);
      else if (this.keySize === 2) dv.setUint16(0, Number(key), true);
      else dv.setUint8(0, Number(key));
      return b;
    }
    throw new TsbpfError(`map '${this.name}': give the key as a Buffer of ${this.keySize} bytes`);
  }

  /** Raw lookup: the value bytes, or undefined when the key is absent. */
  lookupBytes(key: KeyLike): Buffer | undefined {
    const v = Buffer.alloc(this.valueBytes);
    return mapLookup(this.fd, this.keyBytes(key), v) ? v : undefined;
  }

  /** Lookup decoded through BTF when the map has a value type (per-CPU maps: one value per CPU). */
  lookup(key: KeyLike): Value | Value[] | undefined {
    const raw = this.lookupBytes(key);
    if (raw === undefined) return undefined;
    return this.decode(raw);
  }

  private decode(raw: Buffer): Value | Value[] {
    const one = (b: Uint8Array): Value => (this.btf && this.spec.valueType ? decodeValue(this.btf, this.spec.valueType, b) : Buffer.from(b));
    if (!this.perCpu) return one(raw);
    const stride = Math.ceil(this.valueSize / 8) * 8;
    const out: Value[] = [];
    for (let c = 0; c * stride < raw.length; c++) out.push(one(raw.subarray(c * stride, c * stride + this.valueSize)));
    return out;
  }

  private valueBuf(value: Uint8Array | Value | Value[]): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (this.perCpu && Array.isArray(value)) {
      const stride = Math.ceil(this.valueSize / 8) * 8;
      const out = new Uint8Array(this.valueBytes);
      (value as Value[]).forEach((v, c) => out.set(this.valueBuf1(v), c * stride));
      return out;
    }
    return this.valueBuf1(value as Value);
  }

  private valueBuf1(value: Value): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (this.btf && this.spec.valueType) return encodeValue(this.btf, this.spec.valueType, value, this.valueSize);
    if ((typeof value === 'number' || typeof value === 'bigint') && [4, 8].includes(this.valueSize)) return this.keyBytesOf(value, this.valueSize);
    throw new TsbpfError(`map '${this.name}': give the value as a Buffer of ${this.valueSize} bytes`);
  }

  private keyBytesOf(v: number | bigint, size: number): Uint8Array {
    const b = new Uint8Array(size);
    const dv = new DataView(b.buffer);
    if (size === 8) dv.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true); else dv.setUint32(0, Number(v) >>> 0, true);
    return b;
  }

  /** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2). */
  update(key: KeyLike, value: Uint8Array | Value | Value[], flags = BPF_ANY): void {
    mapUpdate(this.fd, this.keyBytes(key), this.valueBuf(value), flags);
  }

  /** Deletes a key; false when it was not there. */
  delete(key: KeyLike): boolean {
    return mapDelete(this.fd, this.keyBytes(key));
  }

  /** Every key, as Buffers. */
  *keys(): IterableIterator<Buffer> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      if (!mapGetNextKey(this.fd, prev, next)) return;
      yield next;
      prev = next;
    }
  }

  /** Every [key, value] pair; values decoded as in lookup(). Keys deleted meanwhile are skipped. */
  *entries(): IterableIterator<[Buffer, Value | Value[]]> {
    for (const k of this.keys()) {
      const v = this.lookupBytes(k);
      if (v !== undefined) yield [k, this.decode(v)];
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
