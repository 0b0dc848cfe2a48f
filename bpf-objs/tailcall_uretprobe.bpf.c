// SPDX-License-Identifier: GPL-2.0
/* tailcall_uretprobe: the DESIGN.md example. A uretprobe entry program picks a
 * slot of a 1024-slot BPF_MAP_TYPE_PROG_ARRAY from the parity of the probed
 * function's return value. The table is statically initialised in .maps with
 * slots 135 (handle_odd) and 146 (handle_even): .rel.maps holds one
 * R_BPF_64_ABS64 per filled slot. Both handlers emit an event through a
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY (max_entries left 0: the loader sizes it to
 * the number of CPUs): the slot (the mark of the handler the tail call
 * reached), the pid, the return value and, when it points to a string (bash's
 * readline returns the line typed), its first 63 bytes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct event {
	u32 slot;
	u32 pid;
	s64 rc;
	char line[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* Not inlined: its BTF signature puts struct event into the object's BTF, so
 * that a reader can decode the records by name (types of locals are not in
 * BTF). */
static __noinline int send(struct pt_regs *ctx, struct event *ev)
{
	return bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
}

static __always_inline int emit(struct pt_regs *ctx, u32 slot)
{
	struct event ev = {
		.slot = slot,
		.pid = bpf_get_current_pid_tgid() >> 32,
		.rc = PT_REGS_RC(ctx),
	};

	bpf_probe_read_user_str(ev.line, sizeof(ev.line), (void *)PT_REGS_RC(ctx));
	send(ctx, &ev);
	return 0;
}

SEC("uretprobe")
int handle_odd(struct pt_regs *ctx)
{
	return emit(ctx, 135);
}

SEC("uretprobe")
int handle_even(struct pt_regs *ctx)
{
	return emit(ctx, 146);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = {
		[135] = (void *)&handle_odd,
		[146] = (void *)&handle_even,
	},
};

SEC("uretprobe")
int uretprobe_entry(struct pt_regs *ctx)
{
	long rc = PT_REGS_RC(ctx);

	bpf_tail_call(ctx, &jmp_table, (rc & 1) ? 135 : 146);
	/* only reached when the slot is empty */
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
