/**
 * What a program needs from the running kernel besides maps: CO-RE relocations against
 * the target BTF, `.ksyms` externs (typed: BTF id of the kernel variable; typeless: its
 * /proc/kallsyms address), kfunc calls (BTF id of the kernel function) and the BTF id of
 * the attach target of fentry / fexit / fmod_ret / lsm / tp_btf / iter / freplace programs.
 *
 * Names are looked up in vmlinux first, then in module BTF (libbpf's order). What lives in
 * a module also needs that module's BTF object fd, found by walking the kernel's BTF ids
 * (BPF_BTF_GET_NEXT_ID, name from BPF_OBJ_GET_INFO_BY_FD) and held until the load ends:
 *  - kfunc call: the fd goes into the program's fd_array, and insn.off is its index
 *    (index 0 stays unused: off 0 means vmlinux);
 *  - typed ksym: ld_imm64 with the BTF id in the first half, the fd in the second;
 *  - attach target: attach_btf_obj_fd.
 * A target in another BPF program (freplace, or fentry / fexit on a BPF function) is
 * looked up in that program's BTF, fetched from the kernel, with attach_prog_fd.
 */
import path from 'node:path';
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, OP_CALL, rawOffsets, setImm64 } from '../asm/index.js';
import type { Instruction } from '../asm/types.js';
import { Btf } from '../btf/index.js';
import type { BtfKindName } from '../btf/types.js';
import { applyCoreRelocations, btfTarget, explainPoison, kallsymsAddress, kernelBtf, type CoreResult, type KernelBtf, type TargetBtfSource } from '../core/index.js';
import { runningKernelBtf } from './kernel-btf.js';
import { TsbpfError, type ErrorContext } from '../errors.js';
import type { ProgramSpec } from '../spec/types.js';
import { allIds, btfGetFdById, btfInfo, btfRaw, Fd, progInfo, SyscallError, type FdLike } from '../sys/index.js';

/** Where an extern or attach target was found, for reports ('vmlinux', a module, or a target program). */
export interface KernelRef {
  kind: 'kfunc' | 'ksym' | 'attach';
  name: string;
  source: string;
  btfId: number;
}

/** The kernel's BTF objects of modules, by name (ids only: fds are opened per load). */
function moduleBtfIds(): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of allIds('btf')) {
    let fd: number;
    try { fd = btfGetFdById(id); } catch (e) {
      if (e instanceof SyscallError && e.code === 'ENOENT') continue; // freed meanwhile (libbpf skips those too)
      throw e;
    }
    const f = new Fd(fd, `btf ${id}`);
    try {
      const info = btfInfo(f);
      if (info.kernelBtf && info.name && info.name !== 'vmlinux' && !out.has(info.name)) out.set(info.name, id);
    } finally { f.close(); }
  }
  return out;
}


/** The kernel types a load is resolved against: the running kernel (and, for CO-RE only, a BTF file / object). */
export class KernelTypes {
  private source?: TargetBtfSource;
  private kernel?: KernelBtf;
  /** Module BTF fds opened for this load, by module name. */
  private readonly moduleFds = new Map<string, Fd>();
  /** fd_array for module kfuncs: index 0 unused (off 0 means vmlinux). */
  private readonly kfuncFds: Fd[] = [];
  /** BTF of target programs (freplace / fentry on BPF), by program id. */
  private readonly progBtf = new Map<number, { btf: Btf; name: string; id: number }>();

  constructor(private readonly target?: string | Btf) {}

  /** The BTF object fd of module `name`, opened on first use and held until close(). */
  moduleFd(name: string, ctx: ErrorContext): Fd {
    let fd = this.moduleFds.get(name);
    if (fd) return fd;
    let id: number | undefined;
    try { id = moduleBtfIds().get(name); } catch (e) { throw TsbpfError.wrap(e, ctx); }
    if (id === undefined) throw new TsbpfError(`module ${name} has BTF in /sys/kernel/btf but no BTF object in the kernel's list (unloaded meanwhile?)`, ctx);
    try { fd = new Fd(btfGetFdById(id), `btf of module ${name}`); } catch (e) { throw TsbpfError.wrap(e, ctx); }
    this.moduleFds.set(name, fd);
    return fd;
  }

  /** The fd_array index of a module's BTF for kfunc calls (insn.off). */
  kfuncIndex(name: string, ctx: ErrorContext): number {
    const fd = this.moduleFd(name, ctx);
    let i = this.kfuncFds.indexOf(fd);
    if (i < 0) { this.kfuncFds.push(fd); i = this.kfuncFds.length - 1; }
    return i + 1;
  }

  /** fd_array for BPF_PROG_LOAD when some kfunc lives in a module, else undefined. */
  fdArray(): Int32Array | undefined {
    if (this.kfuncFds.length === 0) return undefined;
    return Int32Array.from([0, ...this.kfuncFds.map((f) => f.value)]);
  }

  /** The BTF a loaded program was verified with (for freplace and fentry / fexit on BPF functions). */
  programBtf(prog: FdLike, ctx: ErrorContext): { btf: Btf; name: string; id: number } {
    let info;
    try { info = progInfo(prog); } catch (e) { throw TsbpfError.wrap(e, ctx); }
    const have = this.progBtf.get(info.id);
    if (have) return have;
    if (!info.btfId) throw new TsbpfError(`target program '${info.name}' (id ${info.id}) was loaded without BTF: its functions cannot be found by name`, ctx);
    let btf: Btf;
    let fd: Fd;
    try { fd = new Fd(btfGetFdById(info.btfId), `btf of program ${info.id}`); } catch (e) { throw TsbpfError.wrap(e, ctx); }
    try { btf = Btf.parse(btfRaw(fd), { file: `BTF of program ${info.name} (id ${info.id})` }); } catch (e) { throw TsbpfError.wrap(e, ctx); } finally { fd.close(); }
    const out = { btf, name: info.name, id: info.id };
    this.progBtf.set(info.id, out);
    return out;
  }

  /** Closes the module BTF fds (after the programs are loaded: the kernel holds its own references). */
  close(): void {
    if (this.moduleFds.size === 0) return; // most loads open none (a length store on an array is a runtime call)
    for (const fd of this.moduleFds.values()) fd.close();
    this.moduleFds.clear();
    this.kfuncFds.length = 0;
  }

  /** For CO-RE candidate lookups: the given BTF (libbpf's btf_custom_path), else the running kernel's. */
  get coreTarget(): TargetBtfSource {
    if (!this.source) {
      if (this.target instanceof Btf) this.source = btfTarget(this.target);
      else this.source = this.target ? kernelBtf({ path: this.target }) : this.running();
    }
    return this.source;
  }

  private running(): KernelBtf {
    this.kernel ??= runningKernelBtf();
    return this.kernel;
  }

  /**
   * Exact-name lookup of a kernel type (vmlinux, then modules) for kfuncs, ksyms, attach
   * targets and struct_ops: always the running kernel's BTF, whose ids BPF_PROG_LOAD and
   * BPF_MAP_CREATE check (as libbpf, which uses btf_custom_path for CO-RE only).
   */
  find(name: string, kind: BtfKindName): { btf: Btf; id: number; source: string } | undefined {
    return this.running().findType(name, kind);
  }
}

/** Applies the program's CO-RE relocations (a copy of the instructions is returned). */
export function relocateCore(p: ProgramSpec, types: KernelTypes, file: string): CoreResult | undefined {
  if (p.coreRelos.length === 0) return undefined;
  if (!p.btf) throw new TsbpfError(`program '${p.name}' has CO-RE relocations but the object has no BTF`, { file, section: p.section, symbol: p.name });
  try {
    return applyCoreRelocations(p, p.btf, types.coreTarget, { file });
  } catch (e) { throw TsbpfError.wrap(e, { file, section: p.section, symbol: p.name }); } // the CLI matches errors to programs by section + symbol
}

/** A verifier log that stopped on a poisoned instruction, explained as the CO-RE relocation that failed. */
export function explainCoreFailure(core: CoreResult | undefined, log: string): string | undefined {
  return core ? explainPoison(core, log)?.message : undefined;
}

/**
 * The local BTF declaration of an extern: a VAR (typed or `void` ksym) or a FUNC (kfunc);
 * `ksym` when it is in the `.ksyms` DATASEC (declared `__ksym`), not a plain `extern`.
 */
function externKind(p: ProgramSpec, name: string): { kind: 'var' | 'func'; typeless: boolean; ksym: boolean } | undefined {
  const btf = p.btf;
  if (!btf) return undefined;
  const ds = btf.datasecByName('.ksyms');
  for (const v of ds?.vars ?? []) {
    const t = btf.typeById(v.type);
    if (t.name !== name) continue;
    if (t.kind === 'func') return { kind: 'func', typeless: false, ksym: true };
    if (t.kind === 'var') return { kind: 'var', typeless: btf.resolveType(t.type).kind === 'void', ksym: true };
  }
  for (const id of btf.idsByName(name)) {
    const t = btf.typeById(id);
    if (t.kind === 'func') return { kind: 'func', typeless: false, ksym: false };
  }
  return undefined;
}

/**
 * A call of an extern function that is in no kernel BTF: when it is declared `__ksym`, a
 * kfunc this kernel lacks ('kfunc-missing'); a plain `extern int f(void);` is a function
 * meant to come from another object, which only static linking provides ('extern-unresolved').
 */
function unresolvedCall(p: ProgramSpec, name: string, decl: ReturnType<typeof externKind>, atSlot: string, ctx: ErrorContext): TsbpfError {
  if (decl?.ksym) return new TsbpfError(`program '${p.name}' calls kfunc '${name}'${atSlot}, which the kernel's BTF does not have`, ctx, { reason: 'kfunc-missing' });
  return new TsbpfError(
    `program '${p.name}' calls extern function '${name}'${atSlot}, which is defined in no object linked into this one and is no kernel function either: ` +
    `link the object that defines it into this one before loading (bpftool gen object out.bpf.o ${path.basename(ctx.file ?? 'this.bpf.o')} other.bpf.o), ` +
    `or, if it is a kfunc, declare it with __ksym (extern int ${name}(...) __ksym;) and load on a kernel that has it`,
    ctx, { reason: 'extern-unresolved' });
}

/** libbpf's POISON_CALL_KFUNC_BASE: `call unknown#2002000000 + n` for the n-th absent weak kfunc of the program. */
export const POISON_CALL_KFUNC_BASE = 2002000000;
/** KernelRef.source of a __weak kfunc or ksym the kernel does not have. */
export const ABSENT_WEAK = 'absent (weak)';

function poisonIndex(refs: KernelRef[], name: string): number {
  const absent = refs.filter((r) => r.source === ABSENT_WEAK && r.kind === 'kfunc').map((r) => r.name);
  const i = absent.indexOf(name);
  return i >= 0 ? i : absent.length;
}

/**
 * A verifier log that stopped on a poisoned kfunc call: which weak kfunc was reached
 * (the `unknown#2002000000 + n` of the log, n in the order of `refs`).
 */
export function explainWeakKfunc(refs: readonly KernelRef[], log: string): string | undefined {
  const m = /unknown#(2002\d{6})/.exec(log);
  if (!m) return undefined;
  const absent = refs.filter((r) => r.source === ABSENT_WEAK && r.kind === 'kfunc').map((r) => r.name);
  const name = absent[Number(m[1]) - POISON_CALL_KFUNC_BASE];
  return name ? `the verifier reached a call of __weak kfunc '${name}', which this kernel does not have: guard the call with bpf_ksym_exists(${name})` : undefined;
}

/** Found in vmlinux (no module BTF fd needed). */
export const inVmlinux = (source: string) => source === 'vmlinux';

/**
 * Resolves every `extern` reference of the instructions (a copy is returned when there is one;
 * `insns` itself when there is none); `refs` gets where each kfunc and typed ksym was found.
 */
export function resolveExterns(p: ProgramSpec, insns: Instruction[], types: KernelTypes, file: string, refs: KernelRef[] = []): Instruction[] {
  let externs = false;
  for (let i = 0; i < insns.length && !externs; i++) externs = insns[i]!.reference?.kind === 'extern';
  if (!externs) return insns; // most programs: nothing to copy
  const seen = new Set<string>();
  const note = (r: KernelRef) => { const k = `${r.kind} ${r.name}`; if (!seen.has(k)) { seen.add(k); refs.push(r); } };
  const slots = rawOffsets(insns);
  return insns.map((insn, i) => {
    const ref = insn.reference;
    if (ref?.kind !== 'extern') return insn;
    // symbol stays the program's name (the CLI matches errors to programs by it); the
    // instruction is named in the message by its slot in the linked program
    const ctx: ErrorContext = { file, section: p.section, symbol: p.name };
    const atSlot = ` (instruction ${slots[i]})`;
    const c: Instruction = { ...insn };
    delete c.reference; // resolved here: what is left for the map patcher is maps only
    const decl = externKind(p, ref.name);
    if (insn.opcode === OP_CALL) {
      // kfunc call
      const hit = types.find(ref.name, 'func');
      if (!hit) {
        if (!ref.weak) throw unresolvedCall(p, ref.name, decl, atSlot, ctx);
        // libbpf's shape: an unresolved __weak kfunc call becomes a call of an invalid helper
        // with an identifiable number (2002000000 + n, n counted in this program's order, not
        // libbpf's extern index); fine as long as the verifier finds it dead (bpf_ksym_exists)
        c.src = 0; c.off = 0; c.imm = POISON_CALL_KFUNC_BASE + poisonIndex(refs, ref.name);
        note({ kind: 'kfunc', name: ref.name, source: ABSENT_WEAK, btfId: 0 });
        return c;
      }
      c.src = BPF_PSEUDO_KFUNC_CALL; c.imm = hit.id;
      c.off = inVmlinux(hit.source) ? 0 : types.kfuncIndex(hit.source, ctx);
      note({ kind: 'kfunc', name: ref.name, source: hit.source, btfId: hit.id });
      return c;
    }
    if (decl?.kind === 'func') {
      // the address of a kfunc (bpf_ksym_exists): ld_imm64 BPF_PSEUDO_BTF_ID of the FUNC
      // (Linux 6.4+), 0 for an absent __weak one
      const hit = types.find(ref.name, 'func');
      if (!hit) {
        if (!ref.weak) throw new TsbpfError(`program '${p.name}' takes the address of kfunc '${ref.name}'${atSlot}, which the kernel's BTF does not have (declare it __weak to test for it)`, ctx, { reason: 'kfunc-missing' });
        c.src = 0; setImm64(c, 0n);
        note({ kind: 'kfunc', name: ref.name, source: ABSENT_WEAK, btfId: 0 });
        return c;
      }
      const objFd = inVmlinux(hit.source) ? 0 : types.moduleFd(hit.source, ctx).value;
      c.src = BPF_PSEUDO_BTF_ID; setImm64(c, (BigInt(objFd >>> 0) << 32n) | BigInt(hit.id >>> 0));
      note({ kind: 'kfunc', name: ref.name, source: hit.source, btfId: hit.id });
      return c;
    }
    if (decl?.typeless) {
      const addr = kallsymsAddress(ref.name);
      if (addr === undefined && !ref.weak) throw new TsbpfError(`ksym '${ref.name}'${atSlot} is not in /proc/kallsyms`, ctx);
      const a = addr ?? 0n;
      c.src = 0; setImm64(c, a);
      return c;
    }
    const hit = types.find(ref.name, 'var');
    if (!hit) {
      if (ref.weak) { c.src = 0; setImm64(c, 0n); return c; }
      throw new TsbpfError(`ksym '${ref.name}'${atSlot} is not a variable in the kernel's BTF`, ctx, { reason: 'ksym-missing' });
    }
    // second half of the ld_imm64: the module's BTF fd (0: vmlinux)
    const objFd = inVmlinux(hit.source) ? 0 : types.moduleFd(hit.source, ctx).value;
    c.src = BPF_PSEUDO_BTF_ID; setImm64(c, (BigInt(objFd >>> 0) << 32n) | BigInt(hit.id >>> 0));
    note({ kind: 'ksym', name: ref.name, source: hit.source, btfId: hit.id });
    return c;
  });
}

/** A function of a loaded BPF program as the attach target (freplace; fentry / fexit on BPF code). */
export interface AttachTarget {
  /** The target program: a loaded Program (its fd), an Fd or a raw fd. */
  program: { fd: FdLike } | FdLike;
  /** The function in it (default: the name after the '/' of the section, `freplace/<function>`). */
  function?: string;
}

/** What BPF_PROG_LOAD needs to know about a BTF attach target. */
export interface AttachBtf {
  attachBtfId: number;
  attachBtfObjFd?: Fd;
  attachProgFd?: FdLike;
  /** With a target program: its id (Program.attach re-opens it for BPF_LINK_CREATE). */
  targetProgId?: number;
  ref: KernelRef;
}

/**
 * The attach target of a BTF-attached program, named as libbpf names it: tp_btf -> typedef
 * `btf_trace_<tp>`, lsm -> `bpf_lsm_<hook>`, iter -> `bpf_iter_<target>`, fentry / fexit /
 * fmod_ret -> the function itself; with a target program (freplace, or fentry / fexit
 * given one), the function in that program's BTF.
 */
export function attachBtf(p: ProgramSpec, types: KernelTypes, file: string, target?: AttachTarget): AttachBtf {
  const ctx: ErrorContext = { file, section: p.section, symbol: p.name };
  if (target) {
    if (p.type !== 'ext' && !(p.type === 'tracing' && (p.attachType === 'trace_fentry' || p.attachType === 'trace_fexit'))) {
      throw new TsbpfError(`program '${p.name}' (${p.section}) was given a target program, but only freplace, fentry and fexit programs attach to BPF functions`, ctx);
    }
    const fn = target.function ?? p.attachTo;
    if (!fn) throw new TsbpfError(`program '${p.name}' (${p.section}) names no target function: use SEC("${p.section}/<function>") or give attachTargets.${p.name}.function`, ctx);
    const progFd: FdLike = typeof target.program === 'object' && 'fd' in target.program ? target.program.fd : target.program as FdLike;
    const { btf, name: tname, id: tid } = types.programBtf(progFd, ctx);
    const t = btf.typeByName(fn, 'func');
    if (!t) {
      const have = [];
      for (let id = 1; id < btf.length; id++) { const x = btf.typeById(id); if (x.kind === 'func') have.push(x.name); }
      throw new TsbpfError(`program '${p.name}': the target program ${tname} (id ${tid}) has no function '${fn}' in its BTF (it has: ${have.join(', ') || 'none'})`, ctx);
    }
    return { attachBtfId: t.id, attachProgFd: progFd, targetProgId: tid, ref: { kind: 'attach', name: fn, source: `program ${tname} (id ${tid})`, btfId: t.id } };
  }
  const name0 = p.attachTo;
  if (p.type === 'ext') throw new TsbpfError(`freplace program '${p.name}' replaces a function of another BPF program: give that program in LoadOptions.attachTargets (e.g. { ${p.name}: { program: target } })`, ctx);
  if (!name0) throw new TsbpfError(`program '${p.name}' (${p.section}) names no attach target in its section name`, ctx);
  let name = name0, kind: BtfKindName = 'func';
  if (p.attachType === 'trace_raw_tp') { name = `btf_trace_${name0}`; kind = 'typedef'; }
  else if (p.attachType === 'lsm_mac' || p.attachType === 'lsm_cgroup') name = `bpf_lsm_${name0}`;
  else if (p.attachType === 'trace_iter') name = `bpf_iter_${name0}`;
  const hit = types.find(name, kind);
  if (!hit) throw new TsbpfError(`attach target '${name}' (${kind}) of program '${p.name}' is not in the kernel's BTF`, ctx, { reason: 'attach-target-missing' });
  const ref: KernelRef = { kind: 'attach', name, source: hit.source, btfId: hit.id };
  if (inVmlinux(hit.source)) return { attachBtfId: hit.id, ref };
  return { attachBtfId: hit.id, attachBtfObjFd: types.moduleFd(hit.source, ctx), ref };
}
