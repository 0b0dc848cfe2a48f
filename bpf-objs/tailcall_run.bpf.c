// SPDX-License-Identifier: GPL-2.0
/* tailcall_run: tail calls you can watch under BPF_PROG_TEST_RUN (XDP; the
 * test packet must be at least 14 bytes). run_entry reads k = first packet
 * byte and tail-calls slot k of an 8-slot statically initialised prog array:
 *   slots 0..3 -> ret_10 .. ret_13 (return 10 + k)
 *   slot 4     -> empty: run_entry falls through and returns 99
 *   slot 5     -> tail_loop: tail-calls itself through slot 5, counting in
 *                 loop_count[0]; the 34th tail call fails, so it returns 33
 *   slots 6, 7 -> empty (99); k >= 8 -> out of range (99)
 * An empty packet (data_end - data < 1) returns 98. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} loop_count SEC(".maps");

SEC("xdp")
int ret_10(struct xdp_md *ctx) { return 10; }
SEC("xdp")
int ret_11(struct xdp_md *ctx) { return 11; }
SEC("xdp")
int ret_12(struct xdp_md *ctx) { return 12; }
SEC("xdp")
int ret_13(struct xdp_md *ctx) { return 13; }

SEC("xdp")
int tail_loop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} run_table SEC(".maps") = {
	.values = {
		[0] = (void *)&ret_10,
		[1] = (void *)&ret_11,
		[2] = (void *)&ret_12,
		[3] = (void *)&ret_13,
		[5] = (void *)&tail_loop,
	},
};

SEC("xdp")
int tail_loop(struct xdp_md *ctx)
{
	u32 zero = 0, n;
	u32 *c = bpf_map_lookup_elem(&loop_count, &zero);

	if (!c)
		return 97;
	n = *c + 1;
	*c = n;
	bpf_tail_call(ctx, &run_table, 5);
	return n;
}

SEC("xdp")
int run_entry(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 zero = 0;
	u32 *c;
	u8 k;

	if (data + 1 > data_end)
		return 98;
	k = *(u8 *)data;
	c = bpf_map_lookup_elem(&loop_count, &zero);
	if (c)
		*c = 0;
	bpf_tail_call(ctx, &run_table, k);
	return 99;
}

char LICENSE[] SEC("license") = "GPL";
