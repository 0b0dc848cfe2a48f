// SPDX-License-Identifier: GPL-2.0
/* kconfig: externs a loader resolves itself.
 *   .kconfig  LINUX_KERNEL_VERSION (u32, from uname), CONFIG_BPF_SYSCALL
 *             (bool, =y), CONFIG_HZ (int, __weak), CONFIG_TSBPF_NEVER_SET
 *             (bool, __weak, missing everywhere -> 0). A non-weak missing
 *             CONFIG_ is a load error. The .kconfig map is built by the
 *             loader (no ELF section; BTF DATASEC .kconfig only).
 *   .ksyms    _stext (typeless: its /proc/kallsyms address patched into
 *             ld_imm64 src_reg 0; a text symbol, because data symbols are
 *             absent from kallsyms without CONFIG_KALLSYMS_ALL). Typed ksyms
 *             are in ksyms.bpf.c (they need CONFIG_KALLSYMS_ALL).
 *   kconfig_ret (xdp, runnable): (LINUX_KERNEL_VERSION >> 16) * 10 +
 *             CONFIG_BPF_SYSCALL = 61 on any 6.x kernel; +1000 if
 *             CONFIG_TSBPF_NEVER_SET; + 100 if CONFIG_HZ == 0.
 *   ksym_rawtp (raw_tp/sys_enter): stores the typeless address and
 *             CONFIG_HZ into .bss. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern bool CONFIG_TSBPF_NEVER_SET __kconfig __weak;

extern const void _stext __ksym;

u64 stext_addr;
u32 hz;

SEC("xdp")
int kconfig_ret(struct xdp_md *ctx)
{
	u32 r = (LINUX_KERNEL_VERSION >> 16) * 10 + CONFIG_BPF_SYSCALL;

	if (CONFIG_TSBPF_NEVER_SET)
		r += 1000;
	if (CONFIG_HZ == 0)
		r += 100;
	return r;
}

SEC("raw_tp/sys_enter")
int ksym_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	stext_addr = (u64)&_stext;
	hz = CONFIG_HZ;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
