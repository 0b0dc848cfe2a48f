/**
 * Refusals explained by a kernel feature the kernel lacks: a program type, a map type, a
 * helper (or a helper not allowed in that program type), a link or attach type. The
 * feature probes (probes.ts) say what is missing, src/kernel/since.ts since when Linux has
 * it. The raw refusal (verifier log, EINVAL) stays as the error's cause.
 */
import { isCall, type Instruction } from '../asm/index.js';
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { AttachTypeName, LinkTypeName, MapTypeName, ProgTypeName } from '../kernel/enums.js';
import { ATTACH_TYPE_SINCE, helperSince, ISA_SINCE, LINK_TYPE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, releaseHas } from '../kernel/since.js';
import { CORE_POISON_IMM, kernelRelease } from '../core/index.js';
import type { ProgramSpec } from '../spec/types.js';
import { SyscallError } from '../sys/index.js';
import { VerifierError } from './verifier.js';
import { POISON_CALL_KFUNC_BASE } from './kernel-refs.js';
import { POISON_LDIMM64_MAP_BASE } from './prepare.js';
import { hasAttachType, hasIsaFeature, hasLinkType, hasMapType, hasProgType, helperNameOf, helperSupport, isaFeatures, type IsaFeature } from './probes.js';

/** What kind of kernel feature is missing. */
export type FeatureKind = 'program-type' | 'map-type' | 'helper' | 'instruction' | 'link-type' | 'attach-type';

/**
 * Why: 'kernel-lacks' (this kernel has no such feature: older than `since`, or built
 * without it); 'not-for-program-type' (a helper the kernel has, not allowed in programs
 * of `programType`).
 */
export type MissingFeatureReason = 'kernel-lacks' | 'not-for-program-type';

/** A refusal explained by a kernel feature this kernel lacks. */
export class MissingFeatureError extends TsbpfError {
  override readonly reason: MissingFeatureReason;
  /** What kind of feature. */
  readonly kind: FeatureKind;
  /** The kernel's name of it: 'bloom_filter', 'bpf_loop', 'lsm', 'tcx'. */
  readonly feature: string;
  /** The helper id (helpers only). */
  readonly id?: number;
  /** The Linux release that brought it, when tsbpf knows. */
  readonly since?: string;
  /** The program type involved (helpers). */
  readonly programType?: ProgTypeName;

  constructor(detail: string, ctx: ErrorContext, info: { kind: FeatureKind; feature: string; reason: MissingFeatureReason; id?: number; since?: string; programType?: ProgTypeName; cause?: unknown }) {
    super(detail, ctx, info.cause !== undefined ? { cause: info.cause } : undefined);
    this.reason = info.reason;
    this.kind = info.kind;
    this.feature = info.feature;
    if (info.id !== undefined) this.id = info.id;
    if (info.since !== undefined) this.since = info.since;
    if (info.programType !== undefined) this.programType = info.programType;
  }
}

/** ", which this kernel does not have (Linux 5.17+)", or, on a kernel at least that new, that it was built without it. */
function lacks(since: string | undefined): string {
  if (!since) return ', which this kernel does not have';
  let release = '';
  try { release = kernelRelease(); } catch { /* unknown */ }
  if (release && releaseHas(release, since)) return `, which this kernel does not offer (Linux ${since} brought it: this ${release} kernel was built without it, or a security setting refuses it)`;
  return `, which this kernel does not have (Linux ${since}+)`;
}

/** What each instruction-set feature is, for messages. */
const ISA_WORDS: Record<IsaFeature, string> = {
  jmp32: '32-bit conditional jumps (BPF_JMP32, clang -mcpu=v3)',
  atomics: 'atomic operations other than add (BPF_ATOMIC fetch, xchg, cmpxchg, and, or, xor: e.g. __sync_fetch_and_add whose result is used)',
  isa_v4: 'cpu v4 instructions (sign-extending loads and moves, signed division, byte swaps, gotol: clang -mcpu=v4)',
};

/**
 * Helper ids a program calls (BPF_CALL with src_reg 0; not bpf-to-bpf calls or kfuncs,
 * nor the poisoned calls that stand for a map not created, an absent __weak kfunc or a
 * CO-RE relocation that failed: those have explanations of their own).
 */
export function calledHelpers(insns: readonly Instruction[]): number[] {
  const ids = new Set<number>();
  const poison = Math.min(POISON_LDIMM64_MAP_BASE, POISON_CALL_KFUNC_BASE);
  for (const i of insns) if (isCall(i) && i.src === 0 && i.imm > 0 && i.imm < poison && i.imm !== CORE_POISON_IMM) ids.add(i.imm);
  return [...ids];
}

/** A refusal a missing feature can cause: EINVAL, ENOTSUPP or EOPNOTSUPP. */
function unsupportedRefusal(e: unknown): e is SyscallError {
  return e instanceof SyscallError && (e.code === 'EINVAL' || e.code === 'ENOTSUPP' || e.code === 'EOPNOTSUPP');
}

/**
 * A program refused by the kernel: the first missing feature that explains it (its
 * program type, then each helper it calls), or undefined. Only refusals a missing feature
 * can cause are looked at (a verifier verdict, EINVAL); probes run only then.
 */
export function explainProgramRefusal(p: ProgramSpec, insns: readonly Instruction[], e: unknown, ctx: ErrorContext): MissingFeatureError | undefined {
  const verdict = e instanceof VerifierError || unsupportedRefusal(e);
  if (!verdict || (e as TsbpfError).reason !== undefined) return undefined; // explained already (e.g. 'trampoline-refused')
  const type = p.type;
  if (type === undefined) return undefined; // never sent: the loader refuses an untyped program first ('missing-program-type')
  if (type !== 'unspec' && !hasProgType(type)) {
    const since = PROG_TYPE_SINCE[type];
    return new MissingFeatureError(`program '${p.name}' is a ${type} program${lacks(since)}`, ctx, { kind: 'program-type', feature: type, reason: 'kernel-lacks', since, cause: e });
  }
  for (const f of isaFeatures(insns)) {
    if (hasIsaFeature(f)) continue;
    const since = ISA_SINCE[f];
    return new MissingFeatureError(`program '${p.name}' uses ${ISA_WORDS[f]}${lacks(since)}`, ctx, { kind: 'instruction', feature: f, reason: 'kernel-lacks', since, cause: e });
  }
  for (const id of calledHelpers(insns)) {
    const s = helperSupport(type, id);
    if (s !== 'no-helper' && s !== 'not-for-type') continue;
    const name = helperNameOf(id);
    const since = helperSince(name);
    if (s === 'no-helper') {
      return new MissingFeatureError(`program '${p.name}' calls ${name} (helper ${id})${lacks(since)}`, ctx, { kind: 'helper', feature: name, id, reason: 'kernel-lacks', since, programType: type, cause: e });
    }
    return new MissingFeatureError(`program '${p.name}' calls ${name} (helper ${id}), which this kernel does not allow in ${type} programs`, ctx,
      { kind: 'helper', feature: name, id, reason: 'not-for-program-type', since, programType: type, cause: e });
  }
  return undefined;
}

/** A map the kernel refused to create: its type missing explains it (or undefined). */
export function explainMapRefusal(mapName: string, type: MapTypeName, e: unknown, ctx: ErrorContext): MissingFeatureError | undefined {
  if (!unsupportedRefusal(e)) return undefined;
  if (type === 'unspec' || hasMapType(type)) return undefined;
  const since = MAP_TYPE_SINCE[type];
  return new MissingFeatureError(`map '${mapName}' is a ${type} map${lacks(since)}`, ctx, { kind: 'map-type', feature: type, reason: 'kernel-lacks', since, cause: e });
}

/**
 * For attach code: a link type the kernel does not know (its BTF's enum bpf_link_type),
 * as a MissingFeatureError naming `what` ("program 'x': a tcx link"), or undefined when
 * it knows it or cannot tell (no BTF).
 */
export function missingLinkType(type: Exclude<LinkTypeName, 'unspec'>, what: string, ctx: ErrorContext = {}, cause?: unknown): MissingFeatureError | undefined {
  if (hasLinkType(type) !== false) return undefined;
  const since = LINK_TYPE_SINCE[type];
  return new MissingFeatureError(`${what} needs ${type} links${lacks(since)}`, ctx, { kind: 'link-type', feature: type, reason: 'kernel-lacks', since, cause });
}

/** For attach code: an attach type the kernel does not know (enum bpf_attach_type in its BTF), or undefined. */
export function missingAttachType(type: AttachTypeName, what: string, ctx: ErrorContext = {}, cause?: unknown): MissingFeatureError | undefined {
  if (hasAttachType(type) !== false) return undefined;
  const since = ATTACH_TYPE_SINCE[type];
  return new MissingFeatureError(`${what} needs attach type ${type}${lacks(since)}`, ctx, { kind: 'attach-type', feature: type, reason: 'kernel-lacks', since, cause });
}
