// SPDX-License-Identifier: GPL-2.0
/* attach_trace: one program per tracing hook tsbpf attaches, each counting what it
 * sees from one process (target_tgid, written into .bss by the test before it starts
 * the process; 0 counts every process). The test's target is test/fixtures/attach_target.c:
 * N calls of tsbpf_target_add(i, 1), N getppid() syscalls, N openat() of /dev/null.
 *  - tracepoint/syscalls/sys_enter_getppid and ksyscall/getppid: getppid calls;
 *  - kprobe/do_sys_openat2 + kretprobe: openat calls (auto-attached from the section);
 *  - kprobe.multi/do_sys_openat2: the same through a kprobe_multi link;
 *  - uprobe / uretprobe: calls of tsbpf_target_add and the sum of its arguments and
 *    of its return values (explicit targets: the test builds the binary);
 *  - uprobe.multi: the same through a uprobe_multi link;
 *  - perf_event: samples of a software clock while the process runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

u32 target_tgid;
u64 tp_getppid;
u64 ksyscall_getppid;
u64 kprobe_openat;
u64 kretprobe_openat;
u64 kprobe_multi_openat;
u64 uprobe_calls;
u64 uprobe_arg_sum;
u64 uretprobe_calls;
u64 uretprobe_ret_sum;
u64 uprobe_multi_calls;
u64 perf_samples;

static __always_inline int mine(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return target_tgid == 0 || tgid == target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_enter_getppid(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&tp_getppid, 1);
	return 0;
}

SEC("ksyscall/getppid")
int ks_getppid(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&ksyscall_getppid, 1);
	return 0;
}

SEC("kprobe/do_sys_openat2")
int kp_openat(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kprobe_openat, 1);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int krp_openat(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kretprobe_openat, 1);
	return 0;
}

SEC("kprobe.multi/do_sys_openat2")
int kpm_openat(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kprobe_multi_openat, 1);
	return 0;
}

SEC("uprobe")
int up_add(struct pt_regs *ctx)
{
	if (mine()) {
		__sync_fetch_and_add(&uprobe_calls, 1);
		__sync_fetch_and_add(&uprobe_arg_sum, (u64)(u32)PT_REGS_PARM1(ctx));
	}
	return 0;
}

SEC("uretprobe")
int urp_add(struct pt_regs *ctx)
{
	if (mine()) {
		__sync_fetch_and_add(&uretprobe_calls, 1);
		__sync_fetch_and_add(&uretprobe_ret_sum, (u64)(u32)PT_REGS_RC(ctx));
	}
	return 0;
}

SEC("uprobe.multi")
int upm_add(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&uprobe_multi_calls, 1);
	return 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	if (mine())
		__sync_fetch_and_add(&perf_samples, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
