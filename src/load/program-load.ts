/**
 * One program into the kernel: CO-RE relocations and externs resolved against the running
 * kernel, map fds patched in, the attach target found, BPF_PROG_LOAD with the verifier log
 * strategy (verifier.ts). The loader (loader.ts) calls it once per program, after the maps.
 */
import { TsbpfError, type ErrorContext } from '../errors.js';
import { programSectionDef } from '../spec/sections.js';
import type { ProgTypeName } from '../kernel/enums.js';
import type { ProgramSpec } from '../spec/types.js';
import { Fd, type ProgLoadOptions } from '../sys/index.js';
import { attachBtf, explainCoreFailure, explainWeakKfunc, relocateCore, resolveExterns, type AttachTarget, type KernelRef, type KernelTypes } from './kernel-refs.js';
import type { BpfMap } from './map.js';
import { Program } from './program.js';
import { explainMissingMap, FUNC_INFO_REC_SIZE, funcInfoBytes, kernelProgName, LINE_INFO_REC_SIZE, lineInfoBytes, patchInstructions } from './prepare.js';
import { loadWithLog, type LoadLogOptions } from './verifier.js';
import { hasProgramFeature, type ProgramFeature } from './features.js';
import { explainProgramRefusal } from './missing.js';
import type { StructOpsMember } from './struct-ops.js';

/** What every program of a collection is loaded with. */
export interface ProgramLoadContext {
  file: string;
  /** The maps created so far, by name. */
  maps: ReadonlyMap<string, BpfMap>;
  /** Every map of the object, in spec order (a reference to one not created is poisoned with its index). */
  mapNames: readonly string[];
  /** The object's BTF in the kernel, when func_info / line_info may be sent with it. */
  btfFd: Fd | undefined;
  /** LINUX_VERSION_CODE for programs whose object gives none. */
  kernelVersion: number;
  opts: LoadLogOptions & { attachTargets?: Record<string, AttachTarget | AttachTarget['program']> };
  types: KernelTypes;
  /** Takes ownership of an fd (the loader closes it if the load fails later). */
  own(fd: Fd): Fd;
}

/** A program feature probe; its failure (EPERM: no privileges) names the program being loaded. */
function programFeature(f: ProgramFeature, where: ErrorContext): boolean {
  try { return hasProgramFeature(f); } catch (e) { throw TsbpfError.wrap(e, where); }
}

function targetOf(p: ProgramSpec, ctx: ProgramLoadContext): AttachTarget | undefined {
  const t = ctx.opts.attachTargets?.[p.name];
  if (t === undefined) return undefined;
  return typeof t === 'object' && 'program' in t ? t : { program: t };
}

/** libbpf's "missing BPF prog type": `p`'s section gave it no type and none was set. */
export function missingProgramType(p: ProgramSpec, file: string): TsbpfError {
  return new TsbpfError(
    `program '${p.name}' has no program type: section '${p.section}' is not a SEC() name libbpf knows (nor a cilium long form such as 'socket/NAME'); set one before loading: spec.programs.get('${p.name}').type = 'xdp' (a kernel program type), or --type ${p.name}=TYPE in the CLI`,
    { file, section: p.section, symbol: p.name }, { reason: 'missing-program-type' });
}

function hasType(p: ProgramSpec): p is ProgramSpec & { type: ProgTypeName } {
  return p.type !== undefined;
}

/**
 * Loads `p`; `structOps` is the kernel struct and member a struct_ops program implements
 * (its attach_btf_id and expected_attach_type).
 */
export function loadProgram(p: ProgramSpec, ctx: ProgramLoadContext, structOps?: StructOpsMember): Program {
  const { file, types } = ctx;
  if (!hasType(p)) throw missingProgramType(p, file);
  const where: ErrorContext = { file, section: p.section, symbol: p.name };
  const def = programSectionDef(p.section);
  const core = relocateCore(p, types, file);
  const refs: KernelRef[] = [];
  // the instructions as sent (no copy of the ProgramSpec: spreading its accessors cost ~7 us)
  const resolved = resolveExterns(p, core ? core.instructions : p.instructions, types, file, refs);
  // a map of the object that was not created (autocreate off): poisoned, as libbpf does
  const notCreated = (n: string) => (ctx.mapNames.includes(n) && !ctx.maps.has(n) ? ctx.mapNames.indexOf(n) : undefined);
  const insns = patchInstructions(p, (n) => ctx.maps.get(n)?.fd.value, file, notCreated, resolved);
  const target = targetOf(p, ctx);
  const attach = def?.attachBtf || target ? attachBtf(p, types, file, target) : undefined;
  if (attach) refs.push(attach.ref);
  const fdArray = types.fdArray();
  // libbpf: an optional expected attach type is not sent to a kernel that takes none (FEAT_EXP_ATTACH_TYPE)
  const expectedAttachType = def?.expectedAttachTypeOptional && !programFeature('expectedAttachType', where) ? undefined : p.attachType;
  // the list accessors of a ProgramSpec are read once each (a getter call per read)
  const funcInfo = p.funcInfo, lineInfo = p.lineInfo;
  const withInfo = ctx.btfFd !== undefined && funcInfo.length > 0;
  // one literal with every key (undefined where unused; encodeProgLoad treats those as
  // absent): spreads of optional keys into it took V8's slow path, ~1 us each
  const attr: ProgLoadOptions = {
    type: p.type,
    insns,
    license: p.license,
    name: kernelProgName(p),
    flags: p.flags,
    kernVersion: p.kernelVersion || ctx.kernelVersion,
    // struct_ops: the kernel's struct and the index of the member the program implements
    attachBtfId: structOps ? structOps.btfId : attach?.attachBtfId,
    attachBtfObjFd: attach?.attachBtfObjFd || undefined,
    attachProgFd: attach?.attachProgFd,
    fdArray: fdArray || undefined,
    expectedAttachType: structOps ? structOps.memberIndex : expectedAttachType || undefined,
    btfFd: withInfo ? ctx.btfFd : undefined,
    funcInfo: withInfo ? { recSize: FUNC_INFO_REC_SIZE, data: funcInfoBytes(funcInfo), count: funcInfo.length } : undefined,
    lineInfo: withInfo && lineInfo.length ? { recSize: LINE_INFO_REC_SIZE, data: lineInfoBytes(lineInfo), count: lineInfo.length } : undefined,
  };
  const explain = (log: string) => explainCoreFailure(core, log) ?? explainWeakKfunc(refs, log) ?? explainMissingMap(ctx.mapNames, log);
  const t0 = process.hrtime.bigint(); // not performance.now(): its first use loads perf_hooks (~1 ms of a CLI start)
  let r: ReturnType<typeof loadWithLog>;
  try {
    r = loadWithLog(attr, p, ctx.opts, where, explain, resolved);
  } catch (e) {
    // a program type or helper this kernel lacks says more than the verifier's text
    throw explainProgramRefusal(p, resolved, e, where) ?? e;
  }
  const fd = ctx.own(new Fd(r.fd, `prog ${p.name}`));
  const prog = new Program(p, fd, Number(process.hrtime.bigint() - t0) / 1e6, r.log, refs);
  if (attach?.targetProgId !== undefined) prog.target = { progId: attach.targetProgId, btfId: attach.attachBtfId };
  return prog;
}
