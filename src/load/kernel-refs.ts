/**
 * What a program needs from the running kernel besides maps: CO-RE relocations against
 * the target BTF, `.ksyms` externs (typed: BTF id of the kernel variable; typeless: its
 * /proc/kallsyms address), kfunc calls (BTF id of the kernel function) and the BTF id of
 * the attach target of fentry / fexit / fmod_ret / lsm / tp_btf / iter programs.
 * Only vmlinux BTF is consulted for ksyms, kfuncs and attach targets: a target that lives
 * in a module is reported as not supported yet (it needs the module's BTF fd).
 */
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, OP_CALL } from '../asm/index.js';
import type { Instruction } from '../asm/types.js';
import { Btf } from '../btf/index.js';
import type { BtfKindName } from '../btf/types.js';
import { applyCoreRelocations, btfTarget, explainPoison, kallsymsAddress, kernelBtf, type CoreResult, type KernelBtf, type TargetBtfSource } from '../core/index.js';
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { ProgramSpec } from '../spec/types.js';


/** The kernel types a load is resolved against: the running kernel, or a BTF file / object. */
export class KernelTypes {
  private source?: TargetBtfSource;
  private kernel?: KernelBtf;
  private plain?: Btf;

  constructor(private readonly target?: string | Btf) {}

  /** For CO-RE candidate lookups. */
  get coreTarget(): TargetBtfSource {
    if (!this.source) {
      if (this.target instanceof Btf) { this.plain = this.target; this.source = btfTarget(this.target); }
      else { this.kernel = kernelBtf(this.target ? { path: this.target } : {}); this.source = this.kernel; }
    }
    return this.source;
  }

  /** Exact-name lookup of a kernel type (vmlinux, then modules). */
  find(name: string, kind: BtfKindName): { btf: Btf; id: number; source: string } | undefined {
    void this.coreTarget;
    if (this.kernel) return this.kernel.findType(name, kind);
    const t = this.plain!.typeByName(name, kind);
    return t ? { btf: this.plain!, id: t.id, source: 'btf' } : undefined;
  }
}

/** Applies the program's CO-RE relocations (a copy of the instructions is returned). */
export function relocateCore(p: ProgramSpec, types: KernelTypes, file: string): CoreResult | undefined {
  if (p.coreRelos.length === 0) return undefined;
  if (!p.btf) throw new TsbpfError(`program '${p.name}' has CO-RE relocations but the object has no BTF`, { file, section: p.section, symbol: p.name });
  return applyCoreRelocations(p, p.btf, types.coreTarget, { file });
}

/** A verifier log that stopped on a poisoned instruction, explained as the CO-RE relocation that failed. */
export function explainCoreFailure(core: CoreResult | undefined, log: string): string | undefined {
  return core ? explainPoison(core, log)?.message : undefined;
}

/** The local BTF declaration of an extern: a VAR (typed or `void` ksym) or a FUNC (kfunc). */
function externKind(p: ProgramSpec, name: string): { kind: 'var' | 'func'; typeless: boolean } | undefined {
  const btf = p.btf;
  if (!btf) return undefined;
  const ds = btf.datasecByName('.ksyms');
  for (const v of ds?.vars ?? []) {
    const t = btf.typeById(v.type);
    if (t.name !== name) continue;
    if (t.kind === 'func') return { kind: 'func', typeless: false };
    if (t.kind === 'var') return { kind: 'var', typeless: btf.resolveType(t.type).kind === 'void' };
  }
  for (const id of btf.idsByName(name)) {
    const t = btf.typeById(id);
    if (t.kind === 'func') return { kind: 'func', typeless: false };
  }
  return undefined;
}

/** Resolves every `extern` reference of the instructions in place (on a copy made by the caller). */
export function resolveExterns(p: ProgramSpec, insns: Instruction[], types: KernelTypes, file: string): Instruction[] {
  return insns.map((insn, i) => {
    const ref = insn.reference;
    if (ref?.kind !== 'extern') return insn;
    const ctx: ErrorContext = { file, section: p.section, symbol: p.name, offset: i };
    const c: Instruction = { ...insn };
    delete c.reference; // resolved here: what is left for the map patcher is maps only
    const decl = externKind(p, ref.name);
    if (insn.opcode === OP_CALL) {
      // kfunc call
      const hit = types.find(ref.name, 'func');
      if (!hit) throw new TsbpfError(`program '${p.name}' calls kfunc '${ref.name}', which the kernel's BTF does not have`, ctx);
      if (hit.source !== 'vmlinux' && hit.source !== 'btf') throw new TsbpfError(`kfunc '${ref.name}' lives in module ${hit.source}: module kfuncs are not supported yet`, ctx);
      c.src = BPF_PSEUDO_KFUNC_CALL; c.imm = hit.id; c.off = 0;
      return c;
    }
    if (decl?.typeless) {
      const addr = kallsymsAddress(ref.name);
      if (addr === undefined && !ref.weak) throw new TsbpfError(`ksym '${ref.name}' is not in /proc/kallsyms`, ctx);
      const a = addr ?? 0n;
      c.src = 0; c.imm = Number(BigInt.asIntN(32, a & 0xffffffffn)); c.imm64 = a;
      return c;
    }
    const hit = types.find(ref.name, 'var');
    if (!hit) {
      if (ref.weak) { c.src = 0; c.imm = 0; c.imm64 = 0n; return c; }
      throw new TsbpfError(`ksym '${ref.name}' is not a variable in the kernel's BTF`, ctx);
    }
    if (hit.source !== 'vmlinux' && hit.source !== 'btf') throw new TsbpfError(`ksym '${ref.name}' lives in module ${hit.source}: module ksyms are not supported yet`, ctx);
    c.src = BPF_PSEUDO_BTF_ID; c.imm = hit.id; c.imm64 = BigInt(hit.id >>> 0);
    return c;
  });
}

/**
 * The BTF id of the attach target, named as libbpf names it: tp_btf -> typedef
 * `btf_trace_<tp>`, lsm -> `bpf_lsm_<hook>`, iter -> `bpf_iter_<target>`, fentry / fexit /
 * fmod_ret -> the function itself.
 */
export function attachBtfId(p: ProgramSpec, types: KernelTypes, file: string): number {
  const ctx: ErrorContext = { file, section: p.section, symbol: p.name };
  const target = p.attachTo;
  if (!target) throw new TsbpfError(`program '${p.name}' (${p.section}) names no attach target in its section name`, ctx);
  if (p.type === 'ext') throw new TsbpfError(`freplace program '${p.name}' needs a target program fd: not supported yet`, ctx);
  let name = target, kind: BtfKindName = 'func';
  if (p.attachType === 'trace_raw_tp') { name = `btf_trace_${target}`; kind = 'typedef'; }
  else if (p.attachType === 'lsm_mac' || p.attachType === 'lsm_cgroup') name = `bpf_lsm_${target}`;
  else if (p.attachType === 'trace_iter') name = `bpf_iter_${target}`;
  const hit = types.find(name, kind);
  if (!hit) throw new TsbpfError(`attach target '${name}' (${kind}) of program '${p.name}' is not in the kernel's BTF`, ctx);
  if (hit.source !== 'vmlinux' && hit.source !== 'btf') throw new TsbpfError(`attach target '${name}' lives in module ${hit.source}: module attach targets are not supported yet`, ctx);
  return hit.id;
}
