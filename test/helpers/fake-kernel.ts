/**
 * Test helper: a small model of the kernel behind bpf(2) and close(2), installed with
 * src/sys's `overrideKernel` seam (as aya's tests override the syscall), so that unit
 * tests drive the loader without root.
 *
 * It keeps what a loader can observe: fds (one number per open object reference), BTF,
 * maps (their definition, elements and frozen state), programs, pins (real empty files,
 * so that the loader's own unlink works on them), and the verifier log protocol
 * (log_level / log_size / log_buf, ENOSPC when the log does not fit, log_true_size).
 * Every fd named in an attr or in an instruction (ld_imm64 of a map fd) must be open and
 * of the right kind, or the call fails with EBADF / EINVAL as the kernel would.
 *
 * Failures are injected by rules: `kernel.rules.push((c) => c.command === 'BPF_MAP_CREATE' ? 'EPERM' : undefined)`,
 * or `kernel.failAt(n, 'ENOMEM')` for the n-th call.
 */
import { writeFileSync, existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { BPF_CMD_NAMES, BPF_F_LINK, MAP_TYPE_NAMES, PROG_TYPE_NAMES } from '../../src/kernel/enums.js';
import { numPossibleCpus } from '../../src/load/map.js';
import { BPF_FS_MAGIC, errnoNumber, layouts, libcFailure, overrideKernel, readU32, readU64, readString, RLIMIT, RLIMIT_MEMLOCK, userMemory, type FakeKernel as KernelDouble } from '../../src/sys/index.js';
import { BPF_ATOMIC, BPF_STX, OP_CALL } from '../../src/asm/index.js';

/** Fake fds start here: far above any fd this process has, so a stray close never hits a real one. */
export const FIRST_FAKE_FD = 1_000_000_000;
/** What sysconf(_SC_PAGESIZE) answers: an x86-64 page. */
const FAKE_PAGE_SIZE = 4096;

export interface FakeCall {
  /** 1-based position among the bpf(2) calls. */
  seq: number;
  /** 'BPF_MAP_CREATE', ...; 'close' for close(2). */
  command: string;
  /** Map or program name from the attr (BPF_MAP_CREATE / BPF_PROG_LOAD). */
  name?: string;
  mapType?: string;
  progType?: string;
  expectedAttachType?: number;
  logLevel?: number;
  logSize?: number;
  /** BPF_PROG_LOAD: the helper ids the program calls (BPF_CALL with src_reg 0). */
  helpers?: number[];
  /** BPF_PROG_LOAD: the program has an atomic operation other than add (BPF_FETCH, xchg, and, or, xor; Linux 5.12). */
  atomicFetch?: boolean;
  /** BPF_OBJ_PIN / BPF_OBJ_GET */
  path?: string;
}

/** What a rule answers: nothing (go on), an errno name, or a rejection with a verifier log. */
export type Verdict = undefined | string | { errno: string; log: string };
export type Rule = (call: FakeCall) => Verdict;

interface FakeMap { kind: 'map'; id: number; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string; frozen: boolean; elements: Map<string, Uint8Array> }
interface FakeProg { kind: 'prog'; id: number; type: number; name: string }
interface FakeBtf { kind: 'btf'; id: number }
export type FakeObject = FakeMap | FakeProg | FakeBtf;

const PERCPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;
const LD_IMM64 = 0x18;

function errno(name: string): number {
  const n = errnoNumber(name);
  if (n === undefined) throw new Error(`fake kernel: unknown errno ${name}`);
  return -n;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class FakeKernel implements KernelDouble {
  readonly calls: FakeCall[] = [];
  /** Open fds and what they refer to. */
  readonly fds = new Map<number, FakeObject>();
  /** Pinned objects by path (the path also exists as an empty file). */
  readonly pins = new Map<string, FakeObject>();
  readonly rules: Rule[] = [];
  /** Every map created, open or not. */
  readonly maps: FakeMap[] = [];
  /**
   * statfs(2) f_type of a path. Default: bpffs everywhere (pins are real files in whatever
   * directory a test gives). A test of the mount helpers answers per path.
   */
  fsType: (path: string) => number = () => BPF_FS_MAGIC;
  /**
   * Helper ids this kernel does not have: a program calling one is refused (EINVAL,
   * "invalid func unknown#N"). A kernel before 5.11 lacks 160 (bpf_ktime_get_coarse_ns),
   * which is how the loader tells memcg accounting apart.
   */
  readonly missingHelpers = new Set<number>();
  /** RLIMIT_MEMLOCK as prlimit(2) reads and sets it (bytes). */
  memlock = { soft: 64n << 10n, hard: 64n << 10n };
  /** Whether prlimit(2) may raise the hard limit (CAP_SYS_RESOURCE). */
  canRaiseMemlock = true;
  /** prlimit(2) calls that set the limit. */
  readonly memlockSets: Array<{ soft: bigint; hard: bigint }> = [];
  /** mount(2) calls made (source, target, fstype, data); each one succeeds. */
  readonly mounts: Array<{ source: string; target: string; fstype: string; data: string }> = [];
  private nextFd = FIRST_FAKE_FD;
  private nextId = 1;

  /** Runs `fn` with this double in place of the kernel. */
  use<T>(fn: () => T): T {
    const restore = overrideKernel(this);
    try { return fn(); } finally { restore(); }
  }

  /** Fail the n-th bpf(2) call (1-based) with `code`. */
  failAt(n: number, code: string): void {
    this.rules.push((c) => (c.seq === n ? code : undefined));
  }

  /** Open fds, as `label`s: what a test expects to be empty after a failed load or a close(). */
  openFds(): string[] {
    return [...this.fds].map(([fd, o]) => `${fd}: ${o.kind} ${'name' in o ? o.name : o.id}`);
  }

  close(fd: number): number {
    this.calls.push({ seq: 0, command: 'close' });
    if (!this.fds.delete(fd)) return errno('EBADF');
    return 0;
  }

  /** The libc functions the loader calls besides bpf(2): statfs, flock and mount (src/sys/mount.ts), prlimit (src/sys/rlimit.ts), sysconf (src/sys/mmap.ts: the page size, for ring buffer sizes). */
  libc(name: string, args: readonly unknown[]): unknown {
    switch (name) {
      case 'statfs': {
        const out = userMemory(args[1] as bigint, 8);
        new DataView(out.buffer, out.byteOffset, 8).setBigUint64(0, BigInt(this.fsType(args[0] as string)), true);
        return 0;
      }
      case 'flock': return 0;
      case 'sysconf': return FAKE_PAGE_SIZE; // the only name asked for: _SC_PAGESIZE
      case 'prlimit': {
        const [, resource, newAddr, oldAddr] = args as [number, number, bigint, bigint];
        if (resource !== RLIMIT_MEMLOCK) return libcFailure(errnoNumber('EINVAL')!);
        if (newAddr !== 0n) {
          const dv = new DataView(userMemory(newAddr, RLIMIT.size).slice().buffer);
          const want = { soft: dv.getBigUint64(RLIMIT.fields.rlim_cur.off, true), hard: dv.getBigUint64(RLIMIT.fields.rlim_max.off, true) };
          if (want.soft > want.hard || (want.hard > this.memlock.hard && !this.canRaiseMemlock)) return libcFailure(errnoNumber(want.soft > want.hard ? 'EINVAL' : 'EPERM')!);
          if (oldAddr !== 0n) this.writeLimit(oldAddr);
          this.memlock = want;
          this.memlockSets.push(want);
        } else if (oldAddr !== 0n) this.writeLimit(oldAddr);
        return 0;
      }
      case 'mount': {
        const [source, target, fstype, , data] = args as [string, string, string, number, string];
        this.mounts.push({ source, target, fstype, data });
        return 0;
      }
      default: throw new Error(`fake kernel: no model of ${name}()`);
    }
  }

  private writeLimit(addr: bigint): void {
    const out = userMemory(addr, RLIMIT.size);
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    dv.setBigUint64(RLIMIT.fields.rlim_cur.off, this.memlock.soft, true);
    dv.setBigUint64(RLIMIT.fields.rlim_max.off, this.memlock.hard, true);
  }

  bpf(cmd: number, attr: Uint8Array): number {
    const command = BPF_CMD_NAMES[cmd] ?? `BPF_CMD_${cmd}`;
    const call: FakeCall = { seq: this.calls.filter((c) => c.command !== 'close').length + 1, command };
    this.describe(call, attr);
    this.calls.push(call);
    for (const rule of this.rules) {
      const v = rule(call);
      if (v === undefined) continue;
      if (typeof v === 'string') return errno(v);
      return this.reject(attr, v);
    }
    switch (command) {
      case 'BPF_BTF_LOAD': return this.open({ kind: 'btf', id: this.nextId++ });
      case 'BPF_MAP_CREATE': return this.mapCreate(attr);
      case 'BPF_PROG_LOAD': return this.progLoad(attr);
      case 'BPF_MAP_UPDATE_ELEM': return this.mapUpdate(attr);
      case 'BPF_MAP_DELETE_ELEM': return this.mapDelete(attr);
      case 'BPF_MAP_LOOKUP_ELEM': return this.mapLookup(attr);
      case 'BPF_MAP_GET_NEXT_KEY': return this.mapNextKey(attr);
      case 'BPF_MAP_FREEZE': {
        const m = this.object(readU32(layouts.MAP_FD, attr, 'map_fd'), 'map');
        if (typeof m === 'number') return m;
        m.frozen = true;
        return 0;
      }
      case 'BPF_OBJ_PIN': return this.objPin(attr);
      case 'BPF_OBJ_GET': {
        const o = this.pins.get(call.path!);
        return o ? this.open(o) : errno('ENOENT');
      }
      case 'BPF_OBJ_GET_INFO_BY_FD': return this.objInfo(attr);
      default: return errno('EINVAL');
    }
  }

  private describe(call: FakeCall, attr: Uint8Array): void {
    if (call.command === 'BPF_MAP_CREATE') {
      call.name = readString(layouts.MAP_CREATE, attr, 'map_name');
      call.mapType = MAP_TYPE_NAMES[readU32(layouts.MAP_CREATE, attr, 'map_type')];
    } else if (call.command === 'BPF_PROG_LOAD') {
      call.name = readString(layouts.PROG_LOAD, attr, 'prog_name');
      call.progType = PROG_TYPE_NAMES[readU32(layouts.PROG_LOAD, attr, 'prog_type')];
      call.expectedAttachType = readU32(layouts.PROG_LOAD, attr, 'expected_attach_type');
      call.logLevel = readU32(layouts.PROG_LOAD, attr, 'log_level');
      call.logSize = readU32(layouts.PROG_LOAD, attr, 'log_size');
      const insns = userMemory(readU64(layouts.PROG_LOAD, attr, 'insns'), readU32(layouts.PROG_LOAD, attr, 'insn_cnt') * 8);
      const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
      call.helpers = [];
      for (let i = 0; i < insns.length; i += 8) if (insns[i] === OP_CALL && insns[i + 1]! >> 4 === 0) call.helpers.push(dv.getInt32(i + 4, true));
      call.atomicFetch = false;
      for (let i = 0; i < insns.length; i += 8) if ((insns[i]! & 0xe7) === (BPF_STX | BPF_ATOMIC) && dv.getInt32(i + 4, true) !== 0) call.atomicFetch = true;
    } else if (call.command === 'BPF_OBJ_PIN' || call.command === 'BPF_OBJ_GET') {
      call.path = this.cString(readU64(layouts.OBJ, attr, 'pathname'));
    }
  }

  private cString(addr: bigint): string {
    let s = '';
    for (let i = 0; ; i++) {
      const c = userMemory(addr + BigInt(i), 1)[0]!;
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
  }

  private open(o: FakeObject): number {
    const fd = this.nextFd++;
    this.fds.set(fd, o);
    return fd;
  }

  private object<K extends FakeObject['kind']>(fd: number, kind: K): Extract<FakeObject, { kind: K }> | number {
    const o = this.fds.get(fd);
    if (!o) return errno('EBADF');
    if (o.kind !== kind) return errno('EINVAL');
    return o as Extract<FakeObject, { kind: K }>;
  }

  private mapCreate(attr: Uint8Array): number {
    const L = layouts.MAP_CREATE;
    for (const f of ['btf_fd', 'inner_map_fd'] as const) {
      const fd = readU32(L, attr, f);
      if (fd !== 0 && !this.fds.has(fd)) return errno('EBADF');
    }
    const m: FakeMap = {
      kind: 'map', id: this.nextId++, type: readU32(L, attr, 'map_type'), keySize: readU32(L, attr, 'key_size'),
      valueSize: readU32(L, attr, 'value_size'), maxEntries: readU32(L, attr, 'max_entries'), flags: readU32(L, attr, 'map_flags'),
      name: readString(L, attr, 'map_name'), frozen: false, elements: new Map(),
    };
    this.maps.push(m);
    return this.open(m);
  }

  /**
   * struct_ops maps still registered: a plain (not BPF_F_LINK) struct_ops map whose key 0
   * is set is registered, and the registration holds the map whatever fds are closed.
   */
  registeredStructOps(): string[] {
    const key0 = hex(new Uint8Array(4));
    return this.maps.filter((m) => MAP_TYPE_NAMES[m.type] === 'struct_ops' && !(m.flags & BPF_F_LINK) && m.elements.has(key0)).map((m) => m.name);
  }

  private elem(attr: Uint8Array, withValue: boolean): { m: FakeMap; key: Uint8Array; value?: Uint8Array } | number {
    const L = layouts.MAP_ELEM;
    const m = this.object(readU32(L, attr, 'map_fd'), 'map');
    if (typeof m === 'number') return m;
    const key = Uint8Array.from(userMemory(readU64(L, attr, 'key'), m.keySize));
    if (!withValue) return { m, key };
    return { m, key, value: Uint8Array.from(userMemory(readU64(L, attr, 'value'), this.valueBytes(m))) };
  }

  /** Bytes the kernel copies for one value: per-CPU maps take one 8-byte-aligned slot per possible CPU. */
  private valueBytes(m: FakeMap): number {
    return PERCPU.has(MAP_TYPE_NAMES[m.type] ?? '') ? Math.ceil(m.valueSize / 8) * 8 * numPossibleCpus() : m.valueSize;
  }

  private mapLookup(attr: Uint8Array): number {
    const L = layouts.MAP_ELEM;
    const e = this.elem(attr, false);
    if (typeof e === 'number') return e;
    const v = e.m.elements.get(hex(e.key));
    if (!v) return errno('ENOENT');
    userMemory(readU64(L, attr, 'value'), v.length).set(v);
    return 0;
  }

  private mapNextKey(attr: Uint8Array): number {
    const L = layouts.MAP_ELEM;
    const m = this.object(readU32(L, attr, 'map_fd'), 'map');
    if (typeof m === 'number') return m;
    const keyAddr = readU64(L, attr, 'key');
    const keys = [...m.elements.keys()].sort();
    const at = keyAddr === 0n ? -1 : keys.indexOf(hex(userMemory(keyAddr, m.keySize)));
    const next = keys[at + 1];
    if (next === undefined) return errno('ENOENT');
    userMemory(readU64(L, attr, 'next_key'), m.keySize).set(Buffer.from(next, 'hex'));
    return 0;
  }

  private mapUpdate(attr: Uint8Array): number {
    const e = this.elem(attr, true);
    if (typeof e === 'number') return e;
    if (e.m.frozen) return errno('EPERM');
    const type = MAP_TYPE_NAMES[e.m.type];
    if (type === 'prog_array' || type === 'array_of_maps' || type === 'hash_of_maps') {
      // the value is an fd of the right kind
      const o = this.fds.get(new DataView(e.value!.buffer, e.value!.byteOffset).getUint32(0, true));
      if (!o) return errno('EBADF');
      if (o.kind !== (type === 'prog_array' ? 'prog' : 'map')) return errno('EINVAL');
      // the kernel keeps the object and answers lookups with its id
      const id = new Uint8Array(4);
      new DataView(id.buffer).setUint32(0, o.id, true);
      e.m.elements.set(hex(e.key), id);
      return 0;
    }
    e.m.elements.set(hex(e.key), e.value!);
    return 0;
  }

  private mapDelete(attr: Uint8Array): number {
    const e = this.elem(attr, false);
    if (typeof e === 'number') return e;
    return e.m.elements.delete(hex(e.key)) ? 0 : errno('ENOENT');
  }

  private progLoad(attr: Uint8Array): number {
    const L = layouts.PROG_LOAD;
    const btfFd = readU32(L, attr, 'prog_btf_fd');
    if (btfFd !== 0 && !this.fds.has(btfFd)) return errno('EBADF');
    const insns = userMemory(readU64(L, attr, 'insns'), readU32(L, attr, 'insn_cnt') * 8);
    for (let i = 0; i < insns.length; i += 8) {
      const imm = new DataView(insns.buffer, insns.byteOffset).getInt32(i + 4, true);
      if (insns[i] === OP_CALL && insns[i + 1]! >> 4 === 0 && this.missingHelpers.has(imm)) {
        return this.reject(attr, { errno: 'EINVAL', log: `${i / 8}: (85) call unknown#${imm}\ninvalid func unknown#${imm}\n` });
      }
    }
    for (let i = 0; i < insns.length; i += 8) {
      const src = insns[i + 1]! >> 4;
      if (insns[i] !== LD_IMM64 || (src !== BPF_PSEUDO_MAP_FD && src !== BPF_PSEUDO_MAP_VALUE)) continue;
      const m = this.object(new DataView(insns.buffer, insns.byteOffset).getInt32(i + 4, true), 'map');
      if (typeof m === 'number') return m;
      i += 8;
    }
    return this.open({ kind: 'prog', id: this.nextId++, type: readU32(L, attr, 'prog_type'), name: readString(L, attr, 'prog_name') });
  }

  /** A rejected BPF_PROG_LOAD: the log goes where the attr says; ENOSPC when it does not fit. */
  private reject(attr: Uint8Array, v: { errno: string; log: string }): number {
    const L = layouts.PROG_LOAD;
    const level = readU32(L, attr, 'log_level');
    const size = readU32(L, attr, 'log_size');
    if (level === 0 || size === 0) return errno(v.errno);
    const log = Buffer.from(v.log, 'utf8');
    const out = userMemory(readU64(L, attr, 'log_buf'), size);
    const n = Math.min(log.length, size - 1);
    out.set(log.subarray(0, n));
    out[n] = 0;
    if (attr.length >= L.fields.log_true_size.off + 4) new DataView(attr.buffer, attr.byteOffset).setUint32(L.fields.log_true_size.off, log.length + 1, true);
    return log.length + 1 > size ? errno('ENOSPC') : errno(v.errno);
  }

  private objPin(attr: Uint8Array): number {
    const p = this.cString(readU64(layouts.OBJ, attr, 'pathname'));
    const o = this.fds.get(readU32(layouts.OBJ, attr, 'bpf_fd'));
    if (!o) return errno('EBADF');
    if (!existsSync(path.dirname(p))) return errno('ENOENT');
    if (existsSync(p)) return errno('EEXIST');
    writeFileSync(p, '');
    this.pins.set(p, o);
    return 0;
  }

  /** Pins whose file the loader removed are forgotten (bpffs: unlink drops the pin). */
  livePins(): string[] {
    for (const p of [...this.pins.keys()]) if (!existsSync(p)) this.pins.delete(p);
    return [...this.pins.keys()];
  }

  /** Removes every pin file left (test cleanup). */
  unpinAll(): void {
    for (const p of this.pins.keys()) { try { unlinkSync(p); } catch { /* gone */ } }
    this.pins.clear();
  }

  private objInfo(attr: Uint8Array): number {
    const L = layouts.OBJ_GET_INFO;
    const o = this.fds.get(readU32(L, attr, 'bpf_fd'));
    if (!o) return errno('EBADF');
    if (o.kind !== 'map') return errno('EINVAL'); // the loader asks only maps (pinned-by-name reuse)
    const len = Math.min(readU32(L, attr, 'info_len'), layouts.MAP_INFO.size);
    const info = userMemory(readU64(L, attr, 'info'), len);
    const full = new Uint8Array(layouts.MAP_INFO.size);
    const dv = new DataView(full.buffer);
    const F = layouts.MAP_INFO.fields;
    dv.setUint32(F.type.off, o.type, true);
    dv.setUint32(F.id.off, o.id, true);
    dv.setUint32(F.key_size.off, o.keySize, true);
    dv.setUint32(F.value_size.off, o.valueSize, true);
    dv.setUint32(F.max_entries.off, o.maxEntries, true);
    dv.setUint32(F.map_flags.off, o.flags, true);
    full.set(Buffer.from(o.name, 'latin1').subarray(0, 15), F.name.off);
    info.set(full.subarray(0, len));
    new DataView(attr.buffer, attr.byteOffset).setUint32(L.fields.info_len.off, len, true);
    return 0;
  }
}
