/**
 * Kernel feature probes, each made once per process (per kernel epoch) and cached:
 * - map types: BPF_MAP_CREATE of a small map of the type (libbpf's probe_map_create);
 * - program types: BPF_PROG_LOAD of `r0 = 0; exit` (libbpf's probe_prog_load, with the
 *   expected attach type, attach BTF id or flags some types need);
 * - helpers per program type: a program of the type that calls the helper, judged by the
 *   verifier log as libbpf_probe_bpf_helper does ("invalid func": the kernel has no such
 *   helper; "unknown func" / "cannot use helper": not for this program type; anything
 *   else: supported). tracing, ext, lsm and struct_ops programs cannot be loaded without a
 *   target: for them only the kernel's enum bpf_func_id answers;
 * - link and attach types: the enums bpf_link_type / bpf_attach_type of the running
 *   kernel's BTF (what the kernel knows), undefined without BTF.
 * Probes create nothing that outlives them.
 */
import {
  BPF_ADD, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_DIV, BPF_DW, BPF_END, BPF_FETCH, BPF_JEQ, BPF_JMP32, BPF_K, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV,
  BPF_STX, BPF_X, encode, HELPER_NAMES, isAtomic, OP_CALL, OP_GOTOL, type Instruction,
} from '../asm/index.js';
import { kernelRelease, kernelVersionCode } from '../core/index.js';
import { TsbpfError } from '../errors.js';
import {
  ATTACH_TYPES, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_SLEEPABLE, LINK_TYPES, type AttachTypeName, type LinkTypeName, type MapTypeName, type ProgTypeName,
} from '../kernel/enums.js';
import { btfLoad, closeFd, mapCreate, progLoad, SyscallError, type MapCreateOptions, type ProgLoadOptions } from '../sys/index.js';
import { NEWER_HELPER_NAMES } from '../kernel/helper-since.js';
import { btfTypeInfo, EXIT, R0_ZERO, rawBtf, RETURN_ZERO } from './features.js';
import { retryEagain } from './verifier.js';
import { EpochCache } from './epoch-cache.js';
import { runningKernelBtf } from './kernel-btf.js';

/** The errno name of a failed call ('EINVAL'), or undefined when it returned an fd (closed at once). */
function attempt(call: () => number): string | undefined {
  // a signal during verification (EAGAIN): tried again, not cached as an answer
  try { closeFd(retryEagain(call)); return undefined; } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

/** The fd `call` returns, or undefined when the kernel refused (a SyscallError; anything else is thrown). */
function refusedOrFd(call: () => number): number | undefined {
  try { return call(); } catch (e) {
    if (e instanceof SyscallError) return undefined;
    throw e;
  }
}

/** Ring buffer sizes must be a power of two and a multiple of the page size: 64 KiB is for 4, 16 and 64 KiB pages. */
const RINGBUF_PROBE_SIZE = 64 << 10;

/**
 * BTF for local storage maps: int; struct bpf_spin_lock { int val; }; struct val { int
 * cnt; struct bpf_spin_lock l; } (libbpf's load_local_storage_btf). Strings:
 * bpf_spin_lock=1 val=15 cnt=19 l=23.
 */
function localStorageBtf(): Uint8Array {
  const INT = 1, STRUCT = 4;
  return rawBtf([
    0, btfTypeInfo(INT), 4, (1 << 24) | 32, // [1] int
    1, btfTypeInfo(STRUCT, 1), 4, 15, 1, 0, // [2] struct bpf_spin_lock { int val; }
    15, btfTypeInfo(STRUCT, 2), 8, 19, 1, 0, 23, 2, 32, // [3] struct val { int cnt; struct bpf_spin_lock l; }
  ], '\0bpf_spin_lock\0val\0cnt\0l\0');
}

const LOCAL_STORAGE: ReadonlySet<MapTypeName> = new Set(['sk_storage', 'inode_storage', 'task_storage', 'cgrp_storage']);

function probeMapType(type: MapTypeName): boolean {
  const o: MapCreateOptions = { type, keySize: 4, valueSize: 4, maxEntries: 1 };
  let expect: string | undefined;
  switch (type) {
    case 'stack_trace': o.valueSize = 8; break;
    case 'lpm_trie': Object.assign(o, { keySize: 8, valueSize: 8, flags: BPF_F_NO_PREALLOC }); break;
    case 'cgroup_storage': case 'percpu_cgroup_storage': Object.assign(o, { keySize: 16, valueSize: 8, maxEntries: 0 }); break; // struct bpf_cgroup_storage_key
    case 'queue': case 'stack': case 'bloom_filter': o.keySize = 0; break;
    case 'ringbuf': case 'user_ringbuf': Object.assign(o, { keySize: 0, valueSize: 0, maxEntries: RINGBUF_PROBE_SIZE }); break;
    case 'arena': Object.assign(o, { keySize: 0, valueSize: 0, maxEntries: 1, flags: BPF_F_MMAPABLE }); break;
    case 'struct_ops': o.btfVmlinuxValueTypeId = 1; expect = 'ENOTSUPP'; break; // an invalid value type: ENOTSUPP where the type exists
    default: break;
  }
  const fds: number[] = [];
  try {
    if (LOCAL_STORAGE.has(type)) {
      const btf = refusedOrFd(() => btfLoad(localStorageBtf()));
      if (btf === undefined) return false;
      fds.push(btf);
      Object.assign(o, { valueSize: 8, maxEntries: 0, flags: BPF_F_NO_PREALLOC, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 3 });
    }
    if (type === 'array_of_maps' || type === 'hash_of_maps') {
      const inner = refusedOrFd(() => mapCreate({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 }));
      if (inner === undefined) return false;
      fds.push(inner);
      o.innerMapFd = inner;
    }
    return attempt(() => mapCreate(o)) === expect;
  } finally {
    for (const fd of fds) closeFd(fd);
  }
}

/** Program types whose programs need a target (attach BTF id) to load: helpers cannot be probed in them. */
const NEEDS_TARGET: ReadonlySet<ProgTypeName> = new Set(['tracing', 'ext', 'lsm', 'struct_ops']);

/** What BPF_PROG_LOAD of a probe program of `type` needs (libbpf's probe_prog_load), and the refusal that still proves the type exists. */
function progProbe(type: ProgTypeName): { o: Partial<ProgLoadOptions>; expect?: { code: string; log?: string } } {
  switch (type) {
    case 'cgroup_sock_addr': return { o: { expectedAttachType: 'cgroup_inet4_connect' } };
    case 'cgroup_sockopt': return { o: { expectedAttachType: 'cgroup_getsockopt' } };
    case 'sk_lookup': return { o: { expectedAttachType: 'sk_lookup' } };
    case 'lirc_mode2': return { o: { expectedAttachType: 'lirc_mode2' } };
    case 'netfilter': return { o: { expectedAttachType: 'netfilter' } };
    case 'kprobe': {
      let v = 0;
      try { v = kernelVersionCode(kernelRelease()); } catch { /* 0 */ }
      return { o: { kernVersion: v } };
    }
    case 'syscall': return { o: { flags: BPF_F_SLEEPABLE } };
    case 'tracing': return { o: { expectedAttachType: 'trace_fentry', attachBtfId: 1 }, expect: { code: 'EINVAL', log: 'attach_btf_id 1 is not a function' } };
    case 'lsm': return { o: { expectedAttachType: 'modify_return', attachBtfId: 1 }, expect: { code: 'EINVAL', log: 'attach_btf_id 1 is not a function' } };
    case 'ext': return { o: { attachBtfId: 1 }, expect: { code: 'EINVAL', log: 'Cannot replace kernel functions' } };
    case 'struct_ops': return { o: {}, expect: { code: 'ENOTSUPP' } };
    default: return { o: {} };
  }
}

const LOG_SIZE = 4096;

/** BPF_PROG_LOAD of `insns` as a probe of `type`: the errno name (undefined: loaded) and the log. */
function loadProbe(type: ProgTypeName, insns: Uint8Array, withLog: boolean): { code: string | undefined; log: string } {
  const { o } = progProbe(type);
  const logBuf = withLog ? new Uint8Array(LOG_SIZE) : null;
  const code = attempt(() => progLoad({ ...o, type, insns, license: 'GPL', logLevel: withLog ? 1 : 0, logBuf }));
  const log = logBuf ? Buffer.from(logBuf.subarray(0, Math.max(0, logBuf.indexOf(0)))).toString('utf8') : '';
  return { code, log };
}

const progTypes = new EpochCache<ProgTypeName, boolean>();
const mapTypes = new EpochCache<MapTypeName, boolean>();

/** Does the kernel have this program type (and let a minimal program of it load)? */
export function hasProgType(type: ProgTypeName): boolean {
  if (type === 'unspec') return false;
  return progTypes.get(type, () => {
    const { expect } = progProbe(type);
    const r = loadProbe(type, RETURN_ZERO(), expect?.log !== undefined);
    if (!expect) return r.code === undefined;
    return r.code === expect.code && (expect.log === undefined || r.log.includes(expect.log));
  });
}

/** Does the kernel have this map type (and let a small map of it be created)? */
export function hasMapType(type: MapTypeName): boolean {
  if (type === 'unspec') return false;
  return mapTypes.get(type, () => probeMapType(type));
}

/**
 * A helper in a program type: 'yes'; 'no-helper' (the kernel has no helper of that id);
 * 'not-for-type' (it has, but not for programs of this type); 'no-type' (the program
 * type itself is missing); 'unknown' (tracing, ext, lsm and struct_ops programs cannot be
 * probed without a target, and the kernel's BTF lists the helper).
 */
export type HelperSupport = 'yes' | 'no-helper' | 'not-for-type' | 'no-type' | 'unknown';

const helperCache = new EpochCache<string, HelperSupport>();

/** libbpf_probe_bpf_helper: whether programs of `type` may call helper `id`. */
export function helperSupport(type: ProgTypeName, id: number): HelperSupport {
  return helperCache.get(`${type}:${id}`, () => {
    if (!hasProgType(type)) return 'no-type';
    if (NEEDS_TARGET.has(type)) {
      const known = kernelEnum('bpf_func_id');
      if (!known) return 'unknown';
      return known.has(id) ? 'unknown' : 'no-helper';
    }
    const insns = encode([
      { opcode: OP_CALL, dst: 0, src: 0, off: 0, imm: id },
      EXIT,
    ]);
    const r = loadProbe(type, insns, true);
    if (r.code === undefined) return 'yes';
    if (r.log.includes('invalid func ')) return 'no-helper';
    if (r.log.includes('unknown func ') || r.log.includes('program of this type cannot use helper ')) return 'not-for-type';
    return 'yes'; // the verifier got past the call and refused something else (its arguments): the helper is there
  });
}

const enums = new EpochCache<string, Set<number> | undefined>();

/**
 * The values of a `enum <name>` in the running kernel's BTF (what this kernel knows), or
 * undefined when it has no BTF (CONFIG_DEBUG_INFO_BTF off) or no such enum.
 */
export function kernelEnum(name: 'bpf_func_id' | 'bpf_map_type' | 'bpf_prog_type' | 'bpf_attach_type' | 'bpf_link_type'): Set<number> | undefined {
  return enums.get(name, () => {
    let t;
    try { t = runningKernelBtf().vmlinux.typeByName(name, 'enum'); } catch (e) {
      if (e instanceof TsbpfError) return undefined;
      throw e;
    }
    if (!t || t.kind !== 'enum') return undefined;
    return enumeratorValues(t.values);
  });
}

/**
 * The values of an enum's enumerators without its end markers: `__MAX_BPF_*`,
 * `__BPF_FUNC_MAX_ID`, and the `MAX_BPF_LINK_TYPE` older uapi headers end enum
 * bpf_link_type with (no leading `__`: on Debian 12's 6.1 it is 10, netfilter's id in 6.4).
 */
export function enumeratorValues(values: ReadonlyArray<{ name: string; value: number }>): Set<number> {
  return new Set(values.filter((v) => !/^_*MAX_/.test(v.name) && !v.name.startsWith('__')).map((v) => v.value));
}

/** Does the kernel know this link type (its BTF's enum bpf_link_type)? undefined without BTF. */
export function hasLinkType(type: LinkTypeName): boolean | undefined {
  return kernelEnum('bpf_link_type')?.has(LINK_TYPES[type]) ?? (type === 'unspec' ? false : undefined);
}

/** Does the kernel know this attach type (its BTF's enum bpf_attach_type)? undefined without BTF. */
export function hasAttachType(type: AttachTypeName): boolean | undefined {
  return kernelEnum('bpf_attach_type')?.has(ATTACH_TYPES[type]);
}

/** Helper name ('bpf_loop') of an id, or `helper <id>` for ids newer than the header tsbpf was built with. */
export function helperNameOf(id: number): string {
  return HELPER_NAMES[id] ?? NEWER_HELPER_NAMES[id] ?? `helper ${id}`;
}

/** Instruction-set extensions a program may use that older kernels refuse (release in ISA_SINCE). */
export type IsaFeature = 'jmp32' | 'atomics' | 'isa_v4';

const cls = (i: Instruction) => i.opcode & 0x07;
const aluOp = (i: Instruction) => i.opcode & 0xf0;

/** The instruction-set extensions `insns` use. */
export function isaFeatures(insns: readonly Instruction[]): IsaFeature[] {
  const out = new Set<IsaFeature>();
  for (const i of insns) {
    const c = cls(i);
    if (i.opcode === OP_GOTOL) out.add('isa_v4');
    else if (c === BPF_JMP32) out.add('jmp32');
    if (isAtomic(i) && i.imm !== BPF_ADD) out.add('atomics');
    if (c === BPF_LDX && (i.opcode & 0xe0) === BPF_MEMSX) out.add('isa_v4');
    if ((c === BPF_ALU || c === BPF_ALU64) && ((aluOp(i) === BPF_MOV && i.off !== 0) || ((aluOp(i) === BPF_DIV || aluOp(i) === BPF_MOD) && i.off === 1) || (c === BPF_ALU64 && aluOp(i) === BPF_END))) out.add('isa_v4');
  }
  return [...out];
}

/** A socket filter using only the feature. */
const ISA_PROBES: Record<IsaFeature, () => Uint8Array> = {
  jmp32: () => encode([R0_ZERO, { opcode: BPF_JMP32 | BPF_JEQ | BPF_K, dst: 0, src: 0, off: 0, imm: 0 }, EXIT]),
  atomics: () => encode([
    { opcode: BPF_ALU64 | BPF_MOV | BPF_K, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: BPF_STX | BPF_MEM | BPF_DW, dst: 10, src: 1, off: -8, imm: 0 },
    { opcode: BPF_STX | BPF_ATOMIC | BPF_DW, dst: 10, src: 1, off: -8, imm: BPF_ADD | BPF_FETCH },
    R0_ZERO, EXIT,
  ]),
  isa_v4: () => encode([R0_ZERO, { opcode: BPF_ALU64 | BPF_MOV | BPF_X, dst: 0, src: 0, off: 8, imm: 0 }, EXIT]),
};

const isaCache = new EpochCache<IsaFeature, boolean>();

/** Does the verifier take this instruction-set extension? */
export function hasIsaFeature(f: IsaFeature): boolean {
  return isaCache.get(f, () => loadProbe('socket_filter', ISA_PROBES[f](), false).code === undefined);
}
