/**
 * applyCoreRelocations: resolve every CO-RE record of a linked program against target BTF
 * and patch a copy of its instructions, as libbpf's bpf_core_apply_relo_insn.
 */
import { BPF_ALU, BPF_ALU64, BPF_K, BPF_LD, BPF_LDX, BPF_ST, BPF_STX, OP_CALL, OP_LD_IMM64, rawOffsets, slotToIndex } from '../asm/index.js';
import type { Instruction } from '../asm/index.js';
import { Btf, BPF_CORE_TYPE_ID_LOCAL, type CoreRelo } from '../btf/index.js';
import { TsbpfError } from '../errors.js';
import { calcRelocation, type RelocationValues } from './calc.js';
import { CoreError } from './errors.js';
import { kindName, type CoreReloKindName } from './kinds.js';
import { essentialName } from './names.js';
import { accessText, formatSpec, matchSpec, parseSpec, type CoreSpec } from './spec.js';
import { btfTarget, type CoreCandidate, type TargetBtfSource } from './target.js';

/** The helper id libbpf puts in poisoned instructions: `call 0xbad2310` ("bad relo"). */
export const CORE_POISON_IMM = 0xbad2310; // 195896080

export interface CoreRelocationResult {
  /** Index of the record in `prog.coreRelos`. */
  index: number;
  /** Index of the patched instruction in the returned `instructions`. */
  insn: number;
  /** Slot (8-byte offset) of the instruction in the program: what verifier logs call the instruction number. */
  slot: number;
  kind: CoreReloKindName;
  /** Local type id and raw access string of the record. */
  typeId: number;
  accessStr: string;
  /** C-like access: `task_struct.pid`, `pid_type::PIDTYPE_TGID`, `struct task_struct`. */
  access: string;
  /** libbpf-style local spec: `[6] struct task_struct.pid (0:92 @ offset 2416)`. */
  localSpec: string;
  /** Spec in the (first) matching candidate, when one matched. */
  targetSpec?: string;
  /** Value the compiler put in the instruction. */
  localValue: number | bigint;
  /** Value patched in, or 'poisoned'. */
  targetValue: number | bigint | 'poisoned';
  /** Matching target candidates (type ids in `source`). */
  candidates: { source: string; id: number }[];
  /** Why the instruction was poisoned. */
  poisonReason?: string;
  /** Load/store size change: [from, to] bytes. */
  sizeChange?: [number, number];
}

export interface CoreResult {
  program: string;
  /** A patched copy: the input list is not changed. A poisoned ld_imm64 becomes two calls, so later indices shift by one (slots do not). */
  instructions: Instruction[];
  relocations: CoreRelocationResult[];
  /** The poisoned ones (the verifier rejects the program if one is reachable). */
  poisoned: CoreRelocationResult[];
}

export interface CoreOptions {
  /** Object path for error messages. */
  file?: string;
}

const small = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
const u64 = (v: number | bigint): bigint => BigInt.asUintN(64, BigInt(v));

/** Candidate lists per local type id, pruned to the ones that matched (libbpf shares them across relocations). */
type CandCache = Map<number, CoreCandidate[]>;

/**
 * Resolve `prog.coreRelos` (slots relative to the linked program) against `target` and
 * return patched instructions. Relocations that cannot be resolved poison their
 * instruction; malformed records, failed validation and ambiguous candidates throw CoreError.
 */
export function applyCoreRelocations(
  prog: { name: string; instructions: readonly Instruction[]; coreRelos: readonly CoreRelo[] },
  localBtf: Btf,
  target: Btf | TargetBtfSource,
  opts: CoreOptions = {},
): CoreResult {
  const insns = prog.instructions.map((i) => ({ ...i }));
  const result: CoreResult = { program: prog.name, instructions: insns, relocations: [], poisoned: [] };
  if (prog.coreRelos.length === 0) return result;
  const source: TargetBtfSource = target instanceof Btf ? btfTarget(target) : target;
  const offsets = rawOffsets(insns);
  const ctx = (relo: CoreRelo) => ({ file: opts.file, symbol: prog.name, typeId: relo.typeId });

  if (source.prefetch) {
    const names = new Set<string>();
    for (const r of prog.coreRelos) {
      if (r.kind === BPF_CORE_TYPE_ID_LOCAL || !(r.typeId > 0 && r.typeId < localBtf.length)) continue;
      const n = localBtf.typeById(r.typeId).name;
      if (n) names.add(essentialName(n));
    }
    source.prefetch(names);
  }

  const cache: CandCache = new Map();
  const ldPoison: number[] = [];
  prog.coreRelos.forEach((relo, index) => {
    const where = `relocation #${index} (${kindName(relo.kind)} at instruction ${relo.insnOff}, access "${relo.accessStr}")`;
    try {
      const insnIndex = slotToIndex(offsets, relo.insnOff);
      if (insnIndex < 0) throw new CoreError(`slot ${relo.insnOff} is not the start of an instruction of program '${prog.name}' (${offsets.length} instructions)`);
      const local = parseSpec(localBtf, relo);
      const { res, targ, cands } = resolve(relo, local, source, cache);
      const rec: CoreRelocationResult = {
        index, insn: insnIndex, slot: relo.insnOff, kind: kindName(relo.kind), typeId: relo.typeId, accessStr: relo.accessStr,
        access: accessText(local), localSpec: formatSpec(local), targetSpec: targ ? formatSpec(targ) : undefined,
        localValue: small(res.origVal), targetValue: res.poison ? 'poisoned' : small(res.newVal),
        candidates: cands.map((c) => ({ source: c.source, id: c.id })),
      };
      if (res.poison) rec.poisonReason = res.poisonReason;
      const wasLdImm64 = insns[insnIndex]!.opcode === OP_LD_IMM64;
      if (patch(insns[insnIndex]!, res, rec)) {
        rec.targetValue = 'poisoned';
        if (wasLdImm64) ldPoison.push(insnIndex);
        result.poisoned.push(rec);
      }
      result.relocations.push(rec);
    } catch (e) {
      if (e instanceof CoreError) {
        throw new CoreError(`program '${prog.name}': ${where}: ${e.detail}`, { ...ctx(relo), file: e.file ?? opts.file }, { cause: e });
      }
      throw TsbpfError.wrap(e, ctx(relo));
    }
  });

  if (ldPoison.length > 0) {
    // A poisoned ld_imm64 is two `call 0xbad2310` (libbpf poisons both halves): same slots, one more instruction.
    const set = new Set(ldPoison);
    const out: Instruction[] = [];
    const newIndex: number[] = [];
    insns.forEach((i, k) => {
      newIndex[k] = out.length;
      out.push(i);
      if (set.has(k)) out.push(poisonInsn());
    });
    for (const r of result.relocations) r.insn = newIndex[r.insn]!;
    result.instructions = out;
  }
  return result;
}

function resolve(relo: CoreRelo, local: CoreSpec, source: TargetBtfSource, cache: CandCache):
  { res: RelocationValues; targ?: CoreSpec; cands: CoreCandidate[] } {
  if (relo.kind === BPF_CORE_TYPE_ID_LOCAL) {
    const v = BigInt(local.rootTypeId);
    return { res: { origVal: v, newVal: v, poison: false, validate: false, failMemszAdjust: false, origSize: 0, newSize: 0 }, cands: [] };
  }
  const lt = local.btf.typeById(relo.typeId);
  if (lt.name === '') throw new CoreError(`${kindName(relo.kind)} relocations of anonymous types are not supported (libbpf neither)`);
  let cands = cache.get(relo.typeId);
  if (!cands) {
    cands = source.candidates(essentialName(lt.name), lt.kind);
    cache.set(relo.typeId, cands);
  }
  let targ: CoreSpec | undefined;
  let res: RelocationValues | undefined;
  const matched: CoreCandidate[] = [];
  for (const c of cands) {
    const spec = matchSpec(local, c.btf, c.id);
    if (!spec) continue;
    const r = calcRelocation(relo.kind, local, spec);
    if (!targ || !res) { targ = spec; res = r; }
    else if (spec.bitOffset !== targ.bitOffset) {
      throw new CoreError(`field offset ambiguity: candidates ${describe(matched[0]!)} (${formatSpec(targ)}) and ${describe(c)} (${formatSpec(spec)}) put the field at different offsets`);
    } else if (r.poison !== res.poison || r.newVal !== res.newVal) {
      throw new CoreError(`relocation decision ambiguity: candidate ${describe(matched[0]!)} gives ${res.poison ? 'failure' : res.newVal}, candidate ${describe(c)} gives ${r.poison ? 'failure' : r.newVal}`);
    }
    matched.push(c);
  }
  if (matched.length > 0) cache.set(relo.typeId, matched);
  if (!res) {
    res = calcRelocation(relo.kind, local, undefined);
    if (res.poison) res.poisonReason = cands.length === 0
      ? `no type '${essentialName(lt.name)}' (${lt.kind}) in the target BTF`
      : `no candidate of ${cands.length} (${cands.map(describe).join(', ')}) has ${accessText(local)}`;
  }
  return { res, targ, cands: matched };
}

const describe = (c: CoreCandidate): string => `[${c.id}] ${c.btf.typeById(c.id).name} in ${c.source}`;

function poisonInsn(): Instruction {
  return { opcode: OP_CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM };
}

function poison(insn: Instruction): void {
  insn.opcode = OP_CALL; insn.dst = 0; insn.src = 0; insn.off = 0; insn.imm = CORE_POISON_IMM;
  delete insn.imm64;
  delete insn.reference;
}

const BYTES_TO_SIZE: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
const SIZE_TO_BYTES: Record<number, number> = { 0x10: 1, 0x08: 2, 0x00: 4, 0x18: 8 };

/** bpf_core_patch_insn. Returns true when the instruction was poisoned. */
function patch(insn: Instruction, res: RelocationValues, rec: CoreRelocationResult): boolean {
  if (res.poison) { poison(insn); return true; }
  const orig = res.origVal, val = res.newVal;
  const cls = insn.opcode & 0x07;
  switch (cls) {
    case BPF_ALU: case BPF_ALU64:
      if ((insn.opcode & 0x08) !== BPF_K) throw new CoreError(`ALU instruction with a register source cannot be relocated`);
      if (res.validate && u64(insn.imm) !== orig) throw new CoreError(`unexpected ALU immediate ${insn.imm}, expected ${orig} (local) -> ${val}`);
      insn.imm = Number(BigInt.asIntN(32, val));
      return false;
    case BPF_LDX: case BPF_ST: case BPF_STX: {
      if (res.validate && u64(insn.off) !== orig) throw new CoreError(`unexpected load/store offset ${insn.off}, expected ${orig} (local) -> ${val}`);
      if (val > 0x7fffn) throw new CoreError(`offset ${val} does not fit the 16-bit load/store offset`);
      if (res.failMemszAdjust) {
        rec.poisonReason = `the field is ${res.newSize} bytes in the target, ${res.origSize} locally, and is neither a pointer nor an unsigned integer: the load/store size cannot be adjusted`;
        poison(insn);
        return true;
      }
      insn.off = Number(val);
      if (res.newSize !== res.origSize) {
        const have = SIZE_TO_BYTES[insn.opcode & 0x18]!;
        if (have !== res.origSize) throw new CoreError(`load/store is ${have} bytes, expected ${res.origSize}`);
        const sz = BYTES_TO_SIZE[res.newSize];
        if (sz === undefined) throw new CoreError(`new load/store size ${res.newSize} bytes is not 1, 2, 4 or 8`);
        insn.opcode = (insn.opcode & 0xe7) | sz;
        rec.sizeChange = [res.origSize, res.newSize];
      }
      return false;
    }
    case BPF_LD: {
      if (insn.opcode !== OP_LD_IMM64 || insn.src !== 0 || insn.off !== 0) throw new CoreError(`ld_imm64 of unexpected form (opcode 0x${insn.opcode.toString(16)}, src ${insn.src})`);
      const have = insn.imm64 ?? u64(insn.imm >>> 0);
      if (res.validate && have !== orig) throw new CoreError(`unexpected ld_imm64 value ${have}, expected ${orig} (local) -> ${val}`);
      insn.imm64 = val;
      insn.imm = Number(BigInt.asIntN(32, val));
      return false;
    }
    default:
      throw new CoreError(`cannot relocate instruction with opcode 0x${insn.opcode.toString(16)}`);
  }
}
