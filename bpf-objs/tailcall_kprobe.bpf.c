// SPDX-License-Identifier: GPL-2.0
/* tailcall_kprobe: a plain kprobe dispatcher on x64_sys_call(regs, nr)
 * (x86_64, 6.1.94+ / 6.9+; the program loads on any kernel, only attaching
 * needs the symbol) keyed by the syscall number into a 1024-slot prog array.
 * Statically placed handlers, x86_64 numbers: read=0, write=1, open=2 and
 * openat=257 (open and openat share handle_open). Every other slot is empty,
 * so the dispatcher falls through. Handlers count calls per slot. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} syscall_counts SEC(".maps");

static __always_inline int count(u32 nr)
{
	u64 *c = bpf_map_lookup_elem(&syscall_counts, &nr);

	if (c)
		__sync_fetch_and_add(c, 1);
	return 0;
}

SEC("kprobe")
int handle_read(struct pt_regs *ctx)
{
	return count(0);
}

SEC("kprobe")
int handle_write(struct pt_regs *ctx)
{
	return count(1);
}

SEC("kprobe")
int handle_open(struct pt_regs *ctx)
{
	return count((u32)PT_REGS_PARM2(ctx));
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} syscall_table SEC(".maps") = {
	.values = {
		[0] = (void *)&handle_read,
		[1] = (void *)&handle_write,
		[2] = (void *)&handle_open,
		[257] = (void *)&handle_open,
	},
};

SEC("kprobe/x64_sys_call")
int syscall_dispatch(struct pt_regs *ctx)
{
	u32 nr = (u32)PT_REGS_PARM2(ctx);

	bpf_tail_call(ctx, &syscall_table, nr);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
