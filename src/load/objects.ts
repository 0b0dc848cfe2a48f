/**
 * Loaded objects: a BpfMap and a Program own one fd each and have close(). Their
 * methods are thin: the syscalls live in src/sys.
 */
import { readFileSync, readSync, unlinkSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import { TsbpfError } from '../errors.js';
import type { MapSpec, ProgramSpec } from '../spec/types.js';
import {
  Fd, iterCreate, linkCreate, linkInfo, mapDelete, mapGetNextKey, mapInfo, mapLookup, mapUpdate, objPin, progInfo, progTestRun,
  progGetFdById, rawTracepointOpen, BPF_ANY, type LinkInfo, type MapInfo, type ProgInfo, type ProgTestRunResult,
} from '../sys/index.js';
import { decodeValue, encodeValue, type Value } from './values.js';
import type { StructOpsState } from './struct-ops.js';
import type { KernelRef } from './kernel-refs.js';

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

/** Removes a pin (a file on bpffs); one already gone is fine. */
function removePin(path: string | undefined): void {
  if (!path) return;
  try { unlinkSync(path); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
}

const PERCPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);

export type KeyLike = Uint8Array | number | bigint | Value;

/** A kernel object this process holds by one fd, which can be pinned on bpffs. */
abstract class Pinnable {
  /** Where it is pinned, if it is. */
  pinnedAt?: string;
  constructor(readonly fd: Fd) {}

  pin(path: string): void {
    objPin(this.fd, path);
    this.pinnedAt = path;
  }

  unpin(): void {
    removePin(this.pinnedAt);
    delete this.pinnedAt;
  }
}

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
   * Registers a `.struct_ops.link` map (BPF_F_LINK) through a BPF link (BPF_LINK_CREATE,
   * attach type struct_ops, on the map fd): e.g. the TCP congestion control becomes
   * available. It stays registered while the link is open or pinned; closing the link
   * unregisters it. A plain `.struct_ops` map needs no link: the load registered it.
   */
  attachStructOps(): Link {
    const ctx = { section: this.spec.section, symbol: this.name };
    if (this.type !== 'struct_ops' || !this.structOps) throw new TsbpfError(`map '${this.name}' is a ${this.type} map, not a loaded struct_ops map`, ctx);
    if (!this.structOps.link) throw new TsbpfError(`struct_ops map '${this.name}' (${this.spec.section}) was registered by the load; only SEC(".struct_ops.link") maps are registered through a link`, ctx);
    let raw: number;
    try { raw = linkCreate({ fd: this.fd, attachType: 'struct_ops' }); } catch (e) { throw TsbpfError.wrap(e, ctx); }
    return new Link(new Fd(raw, `struct_ops link of ${this.name}`), `${this.structOps.typeName} ${this.name}`);
  }


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

export interface TestRunOptions {
  data?: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  flags?: number;
  /** Size of the data_out / ctx_out buffers (defaults: data length + 256 / ctx length; 0 for types whose test run has no output). */
  dataSizeOut?: number;
  ctxSizeOut?: number;
}

/** Program types whose BPF_PROG_TEST_RUN takes only ctx_in (and refuses any output buffer). */
const CTX_IN_ONLY = new Set(['raw_tracepoint', 'raw_tracepoint_writable', 'tracing', 'syscall']);

/** Iterator targets whose link takes a map (bpf_iter_link_info.map.map_fd). */
const MAP_ITERATORS = new Set(['bpf_map_elem', 'bpf_sk_storage_map', 'sockmap']);

/**
 * A BPF link: keeps a program (or a struct_ops map) attached while its fd is open or it
 * is pinned; close() detaches unless it is pinned.
 */
export class Link extends Pinnable {
  constructor(fd: Fd, readonly description: string) { super(fd); }

  /** The kernel's view: link id, type and program id. */
  info(): LinkInfo { return linkInfo(this.fd); }

  /**
   * An iterator link (iter programs): runs the iterator once, from a new BPF_ITER_CREATE
   * fd read to its end, and returns what the program wrote (BPF_SEQ_PRINTF, bpf_seq_write).
   */
  readIter(): Buffer {
    let fd: number;
    try { fd = iterCreate(this.fd); } catch (e) { throw TsbpfError.wrap(e, { symbol: this.description }); }
    const iter = new Fd(fd, `iterator of ${this.description}`);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 << 10);
      for (;;) {
        let n: number;
        try { n = readSync(iter.value, buf, 0, buf.length, null); } catch (e) {
          throw new TsbpfError(`reading the iterator of ${this.description} failed: ${(e as Error).message}`, { symbol: this.description }, { cause: e });
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally { iter.close(); }
  }

  close(): void { this.fd.close(); }
}

export class Program extends Pinnable {
  readonly name: string;
  readonly spec: ProgramSpec;
  readonly type: string;
  /** The verifier log, when the load asked for it (alwaysLog). */
  readonly verifierLog?: string;
  /** Milliseconds BPF_PROG_LOAD took (all attempts). */
  readonly loadMs: number;
  /** Where its kfuncs, typed ksyms and attach target were found (vmlinux, a module, a target program). */
  readonly kernelRefs: readonly KernelRef[];
  /** freplace / fentry / fexit on a BPF function: the target program (by id) and function (BTF id in it). */
  target?: { progId: number; btfId: number };
  private attachedOnce = false;

  constructor(spec: ProgramSpec, fd: Fd, loadMs: number, log?: string, kernelRefs: readonly KernelRef[] = []) {
    super(fd);
    this.kernelRefs = kernelRefs;
    this.name = spec.name;
    this.spec = spec;
    this.type = spec.type;
    this.loadMs = loadMs;
    if (log !== undefined) this.verifierLog = log;
  }

  /** BPF_PROG_TEST_RUN: { retval, duration (ns per run), dataOut, ctxOut }. */
  testRun(o: TestRunOptions = {}): ProgTestRunResult {
    const noOut = CTX_IN_ONLY.has(this.type);
    const dataSizeOut = o.dataSizeOut ?? (noOut ? 0 : undefined);
    const ctxSizeOut = o.ctxSizeOut ?? (noOut && this.type !== 'syscall' ? 0 : undefined);
    return progTestRun(this.fd, {
      data: o.data ?? null, ctx: o.ctx ?? null, repeat: o.repeat ?? 0, flags: o.flags ?? 0,
      ...(dataSizeOut !== undefined ? { dataSizeOut } : {}), ...(ctxSizeOut !== undefined ? { ctxSizeOut } : {}),
    });
  }

  /** The kernel's view: ids, tag, verified instructions, xlated / jited length, map ids. */
  info(): ProgInfo { return progInfo(this.fd); }

  /**
   * Attaches the program where it was loaded to attach, and returns the link (the program
   * stays attached while the link's fd is open or the link is pinned):
   *  - fentry / fexit / fmod_ret / tp_btf / lsm: the kernel function or hook chosen at load
   *    (BPF_RAW_TRACEPOINT_OPEN without a name);
   *  - freplace: the function of the target program given in LoadOptions.attachTargets
   *    (BPF_LINK_CREATE with target_fd and target_btf_id, so that it can be attached
   *    again after the link is closed: the kernel keeps the load-time target for the
   *    first attach only);
   *  - fentry / fexit on a BPF function: that function (BPF_RAW_TRACEPOINT_OPEN). The
   *    kernel takes a new target only for freplace, so such a program attaches once:
   *    load it again to attach it again;
   *  - raw_tp / raw_tp.w: the tracepoint named in the section (`raw_tp/sys_enter`);
   *  - iter: an iterator link (BPF_LINK_CREATE, BPF_TRACE_ITER); `opts.map` gives the map
   *    of a map iterator (`iter/bpf_map_elem`, ...). Read it with `link.readIter()`.
   * Other program types
   * attach to something tsbpf cannot choose for you (an interface, a cgroup, a perf event):
   * use the kernel's interfaces with `program.fd`.
   */
  attach(opts: { map?: BpfMap | Fd } = {}): Link {
    const ctx = { section: this.spec.section, symbol: this.name };
    const at = this.spec.attachType;
    const btfTarget = this.type === 'ext' || this.type === 'lsm' && at === 'lsm_mac'
      || this.type === 'tracing' && (at === 'trace_fentry' || at === 'trace_fexit' || at === 'modify_return' || at === 'trace_raw_tp');
    if (opts.map && !(this.type === 'tracing' && at === 'trace_iter')) {
      throw new TsbpfError(`attach({ map }) is for map iterators; '${this.name}' is ${this.type}${at ? `/${at}` : ''}`, ctx);
    }
    if (this.target && this.type !== 'ext' && this.attachedOnce) {
      throw new TsbpfError(`program '${this.name}' traces a BPF function and was attached once already: the kernel keeps its target for one attach only (a new target is taken for freplace programs alone); load it again to attach it again`, ctx);
    }
    let raw: number;
    try {
      if (this.target && this.type === 'ext') {
        const tgt = new Fd(progGetFdById(this.target.progId), `target program ${this.target.progId}`);
        try {
          raw = linkCreate({ fd: this.fd, targetFd: tgt, attachType: 0, targetBtfId: this.target.btfId });
        } finally { tgt.close(); }
      } else if (btfTarget) raw = rawTracepointOpen(this.fd);
      else if (this.type === 'tracing' && at === 'trace_iter') {
        if (opts.map && !MAP_ITERATORS.has(this.spec.attachTo ?? '')) {
          // the union's map_fd sits where task.tid and cgroup.order are: refuse, do not reinterpret
          throw new TsbpfError(`attach({ map }) is for map iterators (${[...MAP_ITERATORS].join(', ')}); '${this.name}' iterates ${this.spec.attachTo ?? '?'}`, ctx);
        }
        raw = linkCreate({ fd: this.fd, attachType: 'trace_iter', ...(opts.map ? { iterMapFd: opts.map instanceof BpfMap ? opts.map.fd : opts.map } : {}) });
      }
      else if (this.type === 'raw_tracepoint' || this.type === 'raw_tracepoint_writable') {
        if (!this.spec.attachTo) throw new TsbpfError(`program '${this.name}' (${this.spec.section}) names no tracepoint: use SEC("raw_tp/<tracepoint>")`, ctx);
        raw = rawTracepointOpen(this.fd, this.spec.attachTo);
      } else {
        throw new TsbpfError(`attach() covers BTF-attached programs (fentry, fexit, fmod_ret, tp_btf, lsm, freplace, iter) and raw tracepoints; '${this.name}' is ${this.type}${at ? `/${at}` : ''}: attach it through the kernel interface for its hook with program.fd`, ctx);
      }
    } catch (e) { throw TsbpfError.wrap(e, ctx); }
    this.attachedOnce = true;
    return new Link(new Fd(raw, `link of ${this.name}`), `${this.name} -> ${this.spec.attachTo ?? this.spec.section}`);
  }


  close(): void { this.fd.close(); }
}
