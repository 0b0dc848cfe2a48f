// SPDX-License-Identifier: GPL-2.0
/* tailcall_rawtp: a raw_tp/sys_enter dispatcher keyed by syscall id (args[1])
 * into a 300-slot prog array. Several slots share one handler (handle_io for
 * read 0, write 1, pread64 17, pwrite64 18; handle_open for open 2 and
 * openat 257) and several point at handle_ignore (getpid 39, gettid 186,
 * sched_yield 24, nanosleep 35). Slot 3 (close) has its own handler. Ids
 * >= 300 and unset slots fall through. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

u64 io_calls;
u64 open_calls;
u64 close_calls;
u64 ignored;

SEC("raw_tp")
int handle_io(struct bpf_raw_tracepoint_args *ctx)
{
	__sync_fetch_and_add(&io_calls, 1);
	return 0;
}

SEC("raw_tp")
int handle_open(struct bpf_raw_tracepoint_args *ctx)
{
	__sync_fetch_and_add(&open_calls, 1);
	return 0;
}

SEC("raw_tp")
int handle_close(struct bpf_raw_tracepoint_args *ctx)
{
	__sync_fetch_and_add(&close_calls, 1);
	return 0;
}

SEC("raw_tp")
int handle_ignore(struct bpf_raw_tracepoint_args *ctx)
{
	ignored++;
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 300);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} sys_enter_table SEC(".maps") = {
	.values = {
		[0] = (void *)&handle_io,
		[1] = (void *)&handle_io,
		[2] = (void *)&handle_open,
		[3] = (void *)&handle_close,
		[17] = (void *)&handle_io,
		[18] = (void *)&handle_io,
		[24] = (void *)&handle_ignore,
		[35] = (void *)&handle_ignore,
		[39] = (void *)&handle_ignore,
		[186] = (void *)&handle_ignore,
		[257] = (void *)&handle_open,
	},
};

SEC("raw_tp/sys_enter")
int sys_enter_dispatch(struct bpf_raw_tracepoint_args *ctx)
{
	u32 id = (u32)ctx->args[1];

	bpf_tail_call(ctx, &sys_enter_table, id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
