// Probes of the running kernel for kernel tests: they decide what a test expects (load,
// or a refusal with a reason) from what the kernel does, never from its version string.
import { readdirSync, readFileSync } from 'node:fs';
import { Btf } from '../../src/btf/index.js';
import { closeFd, progLoad, SyscallError } from '../../src/sys/index.js';

let vmlinux: Btf | undefined;
function kernelBtf(): Btf {
  vmlinux ??= Btf.parse(readFileSync('/sys/kernel/btf/vmlinux'));
  return vmlinux;
}

/** Where the kernel's BTF has a function (or variable) `name`: 'vmlinux', a module name, or undefined. */
export function kernelFuncHome(name: string, kind: 'func' | 'var' = 'func'): string | undefined {
  if (kernelBtf().typeByName(name, kind)) return 'vmlinux';
  for (const m of readdirSync('/sys/kernel/btf').filter((n) => n !== 'vmlinux').sort()) {
    try {
      if (Btf.parse(readFileSync(`/sys/kernel/btf/${m}`), { base: kernelBtf() }).typeByName(name, kind)) return m;
    } catch { /* unreadable module BTF: not a home */ }
  }
  return undefined;
}

/** Does vmlinux BTF have struct `name` (e.g. bpf_struct_ops_link: struct_ops links, Linux 6.4)? */
export function kernelHasStruct(name: string): boolean {
  try { return kernelBtf().typeByName(name, 'struct') !== undefined; } catch { return false; }
}

/** Does struct `struct` of vmlinux BTF have a member `member` (e.g. bpf_prog_info's attach_btf_id, which 5.10 lacks)? */
export function kernelStructHasMember(struct: string, member: string): boolean {
  try {
    const t = kernelBtf().typeByName(struct, 'struct') as { members?: Array<{ name?: string }> } | undefined;
    return t?.members?.some((m) => m.name === member) ?? false;
  } catch { return false; }
}

/** Is `name` in /proc/kallsyms (typed ksyms of vmlinux need CONFIG_KALLSYMS_ALL for variables)? */
export function kallsymsHas(name: string): boolean {
  try { return new RegExp(`^[0-9a-f]+ \\S ${name}(\\s|$)`, 'm').test(readFileSync('/proc/kallsyms', 'utf8')); } catch { return false; }
}

export interface Probe { ok: boolean; why?: string }
const probes = new Map<string, Probe>();
const RET0 = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]; // r0 = 0; exit

/**
 * Loads a tiny program built around the BTF id of bpf_fentry_test1 (a vmlinux function
 * that exists for the kernel's own tests) with the raw syscall wrapper; cached by `key`.
 */
function probeLoad(key: string, what: string, load: (funcId: number) => number): Probe {
  const have = probes.get(key);
  if (have) return have;
  const t = kernelBtf().typeByName('bpf_fentry_test1', 'func');
  let r: Probe;
  if (!t) r = { ok: false, why: 'no bpf_fentry_test1 in vmlinux BTF' };
  else {
    try {
      closeFd(load(t.id));
      r = { ok: true };
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      r = { ok: false, why: `${what} is refused with ${e.code}` };
    }
  }
  probes.set(key, r);
  return r;
}

/** Does the kernel load a BPF trampoline program (a minimal fentry program on bpf_fentry_test1)? */
export function trampolineProbe(): Probe {
  return probeLoad('trampoline', 'a minimal fentry program on bpf_fentry_test1', (id) =>
    progLoad({ type: 'tracing', expectedAttachType: 'trace_fentry', attachBtfId: id, insns: Uint8Array.from(RET0), license: 'GPL' }));
}

/**
 * Does the verifier take the address of a kernel function (ld_imm64 BPF_PSEUDO_BTF_ID of a
 * FUNC, Linux 6.4+: what bpf_ksym_exists() on a kfunc compiles to)? An XDP program:
 * r1 = &bpf_fentry_test1; r0 = 0; exit.
 */
export function kfuncAddressProbe(): Probe {
  return probeLoad('kfunc address', "ld_imm64 of a FUNC's BTF id (Linux 6.4+ takes it)", (id) => {
    const insns = new Uint8Array(32);
    insns[0] = 0x18; insns[1] = (3 << 4) | 1; new DataView(insns.buffer).setInt32(4, id, true); // r1 = BTF_ID(func) ll, src 3 = BPF_PSEUDO_BTF_ID
    insns.set(RET0, 16);
    return progLoad({ type: 'xdp', insns, license: 'GPL' });
  });
}
