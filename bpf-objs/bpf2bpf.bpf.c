// SPDX-License-Identifier: GPL-2.0
/* bpf2bpf: functions in .text shared by entry programs in different
 * sections. square is static, sum_sq is global (non-static, __noinline, so
 * the verifier checks it on its own from BTF func_info) and calls square
 * (nested call). loop_cb and elem_cb are callbacks whose address is taken by
 * ld_imm64 (BPF_PSEUDO_FUNC) for bpf_loop (5.17+) and bpf_for_each_map_elem
 * (5.13+). Runnable:
 *   calls_xdp   (xdp)            sum_sq(3, 4)                  = 25
 *   loop_sock   (socket)         bpf_loop 10 x loop_cb: 0+..+9 = 45, + square(2) = 49
 *   foreach_tc  (tc)             100 + elements visited (4) + sum of values
 *                                (104 on a fresh map) + sum_sq(1, 1) = 106
 * (socket/tc test runs need a packet of at least 14 bytes). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} vals SEC(".maps");

static __noinline int square(int x)
{
	return x * x;
}

__noinline int sum_sq(int a, int b)
{
	return square(a) + square(b);
}

struct loop_ctx {
	u64 acc;
};

static int loop_cb(u32 idx, void *data)
{
	struct loop_ctx *lc = data;

	lc->acc += idx;
	return 0;
}

static long elem_cb(void *map, u32 *key, u32 *val, void *data)
{
	struct loop_ctx *lc = data;

	lc->acc += 1 + *val;
	return 0;
}

SEC("xdp")
int calls_xdp(struct xdp_md *ctx)
{
	return sum_sq(3, 4);
}

SEC("socket")
int loop_sock(struct __sk_buff *skb)
{
	struct loop_ctx lc = { .acc = 0 };

	bpf_loop(10, loop_cb, &lc, 0);
	return lc.acc + square(2);
}

SEC("tc")
int foreach_tc(struct __sk_buff *skb)
{
	struct loop_ctx lc = { .acc = 100 };

	bpf_for_each_map_elem(&vals, elem_cb, &lc, 0);
	return lc.acc + sum_sq(1, 1);
}

char LICENSE[] SEC("license") = "GPL";
