// SPDX-License-Identifier: GPL-2.0
/* tailcall_xdp: an XDP entry tail-calls slot 0 of a 1-slot prog array.
 * The table is NOT statically initialised: it is empty after load, so
 * xdp_entry falls through and returns XDP_PASS (2). Put xdp_target (returns
 * XDP_TX, 3) into slot 0 by hand and xdp_entry returns 3 under
 * BPF_PROG_TEST_RUN. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} xdp_progs SEC(".maps");

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &xdp_progs, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
