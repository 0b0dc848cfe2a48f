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

/** Is `name` in /proc/kallsyms (typed ksyms of vmlinux need CONFIG_KALLSYMS_ALL for variables)? */
export function kallsymsHas(name: string): boolean {
  try { return new RegExp(`^[0-9a-f]+ \\S ${name}(\\s|$)`, 'm').test(readFileSync('/proc/kallsyms', 'utf8')); } catch { return false; }
}

let trampolines: { ok: boolean; why?: string } | undefined;
/**
 * Does the kernel load a BPF trampoline program? A two-instruction fentry program on
 * bpf_fentry_test1 (the kernel's own test target) sent with the raw syscall wrapper.
 */
export function trampolineProbe(): { ok: boolean; why?: string } {
  if (trampolines) return trampolines;
  const t = kernelBtf().typeByName('bpf_fentry_test1', 'func');
  if (!t) return (trampolines = { ok: false, why: 'no bpf_fentry_test1 in vmlinux BTF' });
  const insns = new Uint8Array(16);
  insns.set([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]); // r0 = 0; exit
  try {
    closeFd(progLoad({ type: 'tracing', expectedAttachType: 'trace_fentry', attachBtfId: t.id, insns, license: 'GPL' }));
    trampolines = { ok: true };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    trampolines = { ok: false, why: `a minimal fentry program on bpf_fentry_test1 is refused with ${e.code}` };
  }
  return trampolines;
}

let kfuncAddr: { ok: boolean; why?: string } | undefined;
/**
 * Does the verifier take the address of a kernel function (ld_imm64 BPF_PSEUDO_BTF_ID of a
 * FUNC, Linux 6.4+: what bpf_ksym_exists() on a kfunc compiles to)? Probed with
 * bpf_fentry_test1 in an XDP program: r1 = &func; r0 = 0; exit.
 */
export function kfuncAddressProbe(): { ok: boolean; why?: string } {
  if (kfuncAddr) return kfuncAddr;
  const t = kernelBtf().typeByName('bpf_fentry_test1', 'func');
  if (!t) return (kfuncAddr = { ok: false, why: 'no bpf_fentry_test1 in vmlinux BTF' });
  const insns = new Uint8Array(32);
  const dv = new DataView(insns.buffer);
  insns[0] = 0x18; insns[1] = (3 << 4) | 1; dv.setInt32(4, t.id, true); // r1 = BTF_ID(func) ll (src 3 = BPF_PSEUDO_BTF_ID)
  insns.set([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], 16); // r0 = 0; exit
  try {
    closeFd(progLoad({ type: 'xdp', insns, license: 'GPL' }));
    kfuncAddr = { ok: true };
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    kfuncAddr = { ok: false, why: `ld_imm64 of a FUNC's BTF id is refused with ${e.code} (Linux 6.4+ takes it)` };
  }
  return kfuncAddr;
}
