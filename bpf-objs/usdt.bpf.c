// SPDX-License-Identifier: GPL-2.0
/* usdt: USDT programs as libbpf's usdt.bpf.h writes them (BPF_USDT reads the arguments
 * through __bpf_usdt_specs, which the attach fills from the probe's .note.stapsdt).
 *   on_args (SEC("usdt")): the probe tsbpf:args of test/data/usdt_target.c, three
 *     arguments of three kinds (-4@$-42 constant, -4@%eax register, -8@-8(%rbp) memory):
 *     stores them, the argument count and the USDT cookie in `seen`, and counts hits.
 *   on_auto (SEC("usdt/usdt_target:tsbpf:args")): the same probe named in the section
 *     (libbpf's auto-attach form BINARY:PROVIDER:NAME); counts hits. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct seen {
	s64 args[3];
	s64 arg_cnt;
	u64 cookie;
	u64 hits;
	u64 auto_hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct seen);
} seen SEC(".maps");

SEC("usdt")
int BPF_USDT(on_args, int constant, int in_reg, long on_stack)
{
	u32 key = 0;
	struct seen *s = bpf_map_lookup_elem(&seen, &key);

	if (!s)
		return 0;
	s->args[0] = constant;
	s->args[1] = in_reg;
	s->args[2] = on_stack;
	s->arg_cnt = bpf_usdt_arg_cnt(ctx);
	s->cookie = bpf_usdt_cookie(ctx);
	__sync_fetch_and_add(&s->hits, 1);
	return 0;
}

SEC("usdt/usdt_target:tsbpf:args")
int BPF_USDT(on_auto)
{
	u32 key = 0;
	struct seen *s = bpf_map_lookup_elem(&seen, &key);

	if (s)
		__sync_fetch_and_add(&s->auto_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
