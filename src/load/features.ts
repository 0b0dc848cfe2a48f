/**
 * Kernel feature probes (cached per process) and BTF sanitisation for kernels that lack
 * a BTF kind, as libbpf does (bpf_object__sanitize_btf). The probes load tiny BTF
 * blobs or programs, closed at once; nothing else is created.
 */
import { BPF_ALU64, BPF_K, BPF_MOV, encode, OP_EXIT, type Instruction } from '../asm/index.js';
import { Btf } from '../btf/index.js';
import type { BtfType } from '../btf/types.js';
import { btfLoad, closeFd, progLoad, SyscallError } from '../sys/index.js';
import { EpochCache } from './epoch-cache.js';
import { retryEagain } from './verifier.js';

/**
 * BTF features probed. qmarkDatasec: a DATASEC name may start with '?' (`?.struct_ops`):
 * kernels before "bpf: Allow all printable characters in BTF DATASEC names" (Linux 6.9)
 * take only C identifier characters and '.' (libbpf: FEAT_BTF_QMARK_DATASEC).
 */
export type BtfFeature = 'btf' | 'func' | 'globalFunc' | 'datasec' | 'float' | 'declTag' | 'typeTag' | 'enum64' | 'qmarkDatasec';
export const BTF_FEATURES: readonly BtfFeature[] = ['btf', 'func', 'globalFunc', 'datasec', 'float', 'declTag', 'typeTag', 'enum64', 'qmarkDatasec'];

/** A BTF type's info word. */
export const btfTypeInfo = (kind: number, vlen = 0, kflag = 0) => ((kflag << 31) | (kind << 24) | vlen) >>> 0;
const info = btfTypeInfo;
const INT32 = [0, info(1), 4, (1 << 24) | 32]; // "int"-less signed 32-bit int (name added below)

/** Raw BTF: header + type words + strings ('\0' first); for probes. */
export function rawBtf(types: number[], strings: string): Uint8Array {
  const t = new Uint8Array(new Uint32Array(types).buffer);
  const s = Buffer.from(strings, 'latin1');
  const out = new Uint8Array(24 + t.length + s.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true); out[2] = 1; out[3] = 0;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true); dv.setUint32(12, t.length, true);
  dv.setUint32(16, t.length, true); dv.setUint32(20, s.length, true);
  out.set(t, 24); out.set(s, 24 + t.length);
  return out;
}

// Strings: "\0int\0x\0.data\0tag\0?.data\0"  offsets: int=1 x=5 .data=7 tag=13 ?.data=17
const STR = '\0int\0x\0.data\0tag\0?.data\0';
const PROBES: Record<BtfFeature, () => Uint8Array> = {
  btf: () => rawBtf([1, info(1), 4, (1 << 24) | 32], STR),
  func: () => rawBtf([...INT32, 0, info(13, 0), 1, 5, info(12, 0), 2], STR),
  globalFunc: () => rawBtf([...INT32, 0, info(13, 0), 1, 5, info(12, 1), 2], STR),
  datasec: () => rawBtf([...INT32, 5, info(14), 1, 1, 7, info(15, 1), 4, 2, 0, 4], STR),
  float: () => rawBtf([1, info(16), 4], STR),
  declTag: () => rawBtf([...INT32, 5, info(14), 1, 0, 13, info(17), 2, 0xffffffff], STR),
  typeTag: () => rawBtf([...INT32, 13, info(18), 1, 0, info(2), 2], STR),
  enum64: () => rawBtf([1, info(19, 1), 8, 5, 0, 1], STR),
  // as datasec, with the DATASEC named '?.data' (libbpf's probe_kern_btf_qmark_datasec)
  qmarkDatasec: () => rawBtf([...INT32, 5, info(14), 1, 1, 17, info(15, 1), 4, 2, 0, 4], STR),
};

const cache = new EpochCache<BtfFeature, boolean>();
/** Features the caller pretends are missing (to exercise sanitisation). */
let forcedMissing = new Set<BtfFeature>();

/** Does the running kernel accept this BTF feature? Probed once per process. */
export function hasBtfFeature(f: BtfFeature): boolean {
  if (forcedMissing.size > 0 && forcedMissing.has(f)) return false;
  // asked for every BTF type of every load: the cached answer without a closure made first
  return cache.peek(f) ?? cache.get(f, () => loads(() => btfLoad(PROBES[f]())));
}

/**
 * Whether `call` returns an fd (closed at once; tried again on EAGAIN, a signal during
 * verification); EPERM is thrown (no privileges, not a missing feature), other refusals are false.
 */
function loads(call: () => number): boolean {
  try {
    closeFd(retryEagain(call));
    return true;
  } catch (e) {
    if (!(e instanceof SyscallError) || e.code === 'EPERM') throw e;
    return false;
  }
}

/** For tests and old-kernel emulation: treat these features as missing. */
export function forceMissingBtfFeatures(features: Iterable<BtfFeature>): void {
  forcedMissing = new Set(features);
}

/** All probe answers (probing what has not been probed yet). */
export function btfFeatures(): Record<BtfFeature, boolean> {
  return Object.fromEntries(BTF_FEATURES.map((f) => [f, hasBtfFeature(f)])) as Record<BtfFeature, boolean>;
}

/** The probe answers as getters: a feature is probed when first read (libbpf's kernel_supports). One object for every load (its getters ask the cache). */
const lazyFeatures = Object.freeze(Object.defineProperties({} as Record<BtfFeature, boolean>,
  Object.fromEntries(BTF_FEATURES.map((f) => [f, { get: () => hasBtfFeature(f), enumerable: true }]))));
const lazyBtfFeatures = (): Record<BtfFeature, boolean> => lazyFeatures;

/**
 * `.ksyms` has no ELF section and its externs no storage; the kernel refuses a DATASEC of
 * size 0. As libbpf does: every variable becomes a 4-byte int, allocated; every function
 * (kfunc prototype) is replaced in the DATASEC by one dummy int variable, and unnamed
 * parameters of those functions get the dummy's name.
 */
function fixKsymsDatasec(btf: Btf, changes: Set<string>): void {
  const ds = btf.datasecByName('.ksyms');
  if (!ds || ds.vars.length === 0) return;
  let intId = 0;
  for (let id = 1; id < btf.length && !intId; id++) {
    if (btf.kindOf(id) !== 'int') continue;
    const t = btf.typeById(id);
    if (t.kind === 'int' && t.size === 4 && t.bits === 32 && t.bitOffset === 0) intId = id;
  }
  if (!intId) intId = btf.addType({ id: 0, kind: 'int', name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  let dummy = 0;
  const vars = ds.vars.map((v, i) => {
    const t = btf.typeById(v.type);
    let type = v.type;
    if (t.kind === 'func') {
      dummy ||= btf.addType({ id: 0, kind: 'var', name: 'dummy_ksym', type: intId, linkage: 1 });
      type = dummy;
      const proto = btf.typeById(t.type);
      if (proto.kind === 'func_proto' && proto.params.some((p) => !p.name && p.type)) {
        btf.setType(proto.id, { ...proto, params: proto.params.map((p) => (p.name || !p.type ? p : { ...p, name: 'dummy_ksym' })) });
      }
    } else if (t.kind === 'var') {
      btf.setType(t.id, { ...t, type: intId, linkage: 1 });
    }
    return { type, offset: i * 4, size: 4 };
  });
  btf.setType(ds.id, { ...ds, size: vars.length * 4, vars });
  changes.add('.ksyms DATASEC allocated');
}

/**
 * Whether sanitizeBtf() would change anything: the same conditions, read only, decoding
 * only the types whose kind can need a change (VAR, FUNC, DATASEC, signed ENUM) and
 * asking `has` about a feature only where such a type is there, as the rewrite does.
 */
function needsSanitizing(btf: Btf, has: Record<BtfFeature, boolean>): boolean {
  // a '.ksyms' DATASEC with variables (fixKsymsDatasec) is found in the one walk below, not
  // by a name search first
  for (let id = 1; id < btf.length; id++) {
    switch (btf.kindOf(id)) {
      // linkage read from the record (no name, no object: an object has a VAR per global
      // and a FUNC per function)
      case 'var': {
        if (btf.linkageOf(id) === 2 || !has.datasec) return true;
        break;
      }
      case 'func': {
        const linkage = btf.linkageOf(id);
        if (linkage === 2 || !has.func || (linkage !== 0 && !has.globalFunc)) return true;
        break;
      }
      case 'datasec': {
        if (!has.datasec) return true;
        const t = btf.typeById(id) as BtfType & { kind: 'datasec' };
        if ((t.name.startsWith('?') && !has.qmarkDatasec) || (t.name === '.ksyms' && t.vars.length > 0)) return true;
        break;
      }
      case 'func_proto': if (!has.func) return true; break;
      case 'float': if (!has.float) return true; break;
      case 'type_tag': if (!has.typeTag) return true; break;
      case 'decl_tag': if (!has.declTag) return true; break;
      case 'enum': if ((btf.typeById(id) as BtfType & { kind: 'enum' }).signed && !has.enum64) return true; break;
      case 'enum64': if (!has.enum64) return true; break;
      default: break;
    }
  }
  return false;
}

export interface SanitizedBtf {
  bytes: Uint8Array;
  /** Whether func_info / line_info may be sent with programs. */
  funcInfo: boolean;
  /** What was rewritten, for reports. */
  changes: string[];
}

/**
 * The object's BTF, rewritten for this kernel on a private copy: extern VARs / FUNCs get
 * a linkage the kernel accepts, and each kind the kernel lacks is replaced as libbpf
 * replaces it (VAR -> INT, DATASEC -> STRUCT, FUNC_PROTO -> ENUM, FUNC -> TYPEDEF,
 * global FUNC -> static, FLOAT -> STRUCT, TYPE_TAG -> CONST, DECL_TAG -> INT,
 * ENUM64 -> UNION); DATASEC names starting with '?' (`?.struct_ops`) get '_' in its
 * place where the kernel refuses them (libbpf rewrites that one character in place; a
 * DATASEC turned into a STRUCT gets every '.' and '?' replaced). `alloc` gives the array
 * the bytes are written to (Btf.encode's; the loader's is a slab view, used once).
 */
export function sanitizeBtf(src: Btf, has: Record<BtfFeature, boolean> = lazyBtfFeatures(), alloc?: (size: number) => Uint8Array): SanitizedBtf {
  // most objects on most kernels need nothing: then no copy is parsed and no type decoded
  // but the few that could need a change (a warm load spent ~10% of its user time here)
  if (!needsSanitizing(src, has)) return { bytes: src.encode(alloc), funcInfo: has.func, changes: [] };
  const btf = Btf.parse(src.encode());
  const changes = new Set<string>();
  fixKsymsDatasec(btf, changes);
  const int8 = (t: BtfType, name = ''): BtfType => ({ id: t.id, name, kind: 'int', size: 1, encoding: 0, bitOffset: 0, bits: 8 });
  let enum64Placeholder: Map<number, number> | undefined;
  const count = btf.length;
  for (let id = 1; id < count; id++) {
    const t = btf.typeById(id);
    let r: BtfType | undefined;
    if ((t.kind === 'var' || t.kind === 'func') && t.linkage === 2) {
      r = { ...t, linkage: t.kind === 'var' ? 1 : 0 };
      changes.add('extern linkage');
    }
    const cur = r ?? t;
    if (cur.kind === 'var' && !has.datasec) { r = int8(cur, cur.name); changes.add('VAR -> INT'); }
    else if (cur.kind === 'datasec' && !has.datasec) {
      r = {
        id, kind: 'struct', name: cur.name.replace(/[.?]/g, '_'), size: cur.size,
        members: cur.vars.map((v) => ({ name: btf.typeById(v.type).name, type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 })),
      };
      changes.add('DATASEC -> STRUCT');
    } else if (cur.kind === 'datasec' && cur.name.startsWith('?') && !has.qmarkDatasec) {
      r = { ...cur, name: `_${cur.name.slice(1)}` };
      changes.add("DATASEC '?' -> '_'");
    } else if (cur.kind === 'func_proto' && !has.func) {
      r = { id, kind: 'enum', name: '', size: 4, signed: false, values: cur.params.map((p) => ({ name: p.name, value: p.type })) };
      changes.add('FUNC_PROTO -> ENUM');
    } else if (cur.kind === 'func' && !has.func) { r = { id, kind: 'typedef', name: cur.name, type: cur.type }; changes.add('FUNC -> TYPEDEF'); }
    else if (cur.kind === 'func' && cur.linkage !== 0 && !has.globalFunc) { r = { ...cur, linkage: 0 }; changes.add('global FUNC -> static'); }
    else if (cur.kind === 'float' && !has.float) { r = { id, kind: 'struct', name: '', size: cur.size, members: [] }; changes.add('FLOAT -> STRUCT'); }
    else if (cur.kind === 'type_tag' && !has.typeTag) { r = { id, kind: 'const', name: '', type: cur.type }; changes.add('TYPE_TAG -> CONST'); }
    else if (cur.kind === 'decl_tag' && !has.declTag) { r = int8(cur); changes.add('DECL_TAG -> INT'); }
    else if (cur.kind === 'enum' && cur.signed && !has.enum64) { r = { ...cur, signed: false }; changes.add('ENUM kflag cleared'); }
    else if (cur.kind === 'enum64' && !has.enum64) {
      enum64Placeholder ??= new Map();
      let ph = enum64Placeholder.get(cur.size);
      if (ph === undefined) {
        ph = btf.addType({ id: 0, kind: 'int', name: '', size: cur.size, encoding: 0, bitOffset: 0, bits: cur.size * 8 });
        enum64Placeholder.set(cur.size, ph);
      }
      const type = ph;
      r = { id, kind: 'union', name: cur.name, size: cur.size, members: cur.values.map((v) => ({ name: v.name, type, bitOffset: 0, bitfieldSize: 0 })) };
      changes.add('ENUM64 -> UNION');
    }
    if (r) btf.setType(id, r);
  }
  return { bytes: btf.encode(alloc), funcInfo: has.func, changes: [...changes] };
}

/**
 * Program load features probed. expectedAttachType: BPF_PROG_LOAD takes
 * expected_attach_type (Linux 4.17); without it, section types whose attach type is
 * optional (SEC_EXP_ATTACH_OPT: xdp, cgroup_skb, sockops...) are loaded without one
 * (libbpf: FEAT_EXP_ATTACH_TYPE).
 */
export type ProgramFeature = 'expectedAttachType';
export const PROGRAM_FEATURES: readonly ProgramFeature[] = ['expectedAttachType'];

export const R0_ZERO: Instruction = { opcode: BPF_ALU64 | BPF_MOV | BPF_K, dst: 0, src: 0, off: 0, imm: 0 };
export const EXIT: Instruction = { opcode: OP_EXIT, dst: 0, src: 0, off: 0, imm: 0 };
/** r0 = 0; exit: a program every type takes (the probes' program). */
export const RETURN_ZERO = (): Uint8Array => encode([R0_ZERO, EXIT]);

const PROGRAM_PROBES: Record<ProgramFeature, () => number> = {
  // libbpf's probe_kern_exp_attach_type: a type whose expected attach type is not 0
  expectedAttachType: () => progLoad({ type: 'cgroup_sock', expectedAttachType: 'cgroup_inet_sock_create', insns: RETURN_ZERO(), license: 'GPL' }),
};

const programCache = new EpochCache<ProgramFeature, boolean>();

/** Does the running kernel have this program load feature? Probed once per process (EPERM is thrown: no privileges, not a missing feature). */
export function hasProgramFeature(f: ProgramFeature): boolean {
  return programCache.peek(f) ?? programCache.get(f, () => loads(PROGRAM_PROBES[f]));
}
