// SPDX-License-Identifier: GPL-2.0
/* hidden_func: global subprograms with hidden visibility (__hidden, as libbpf's
 * usdt.bpf.h declares bpf_usdt_arg, bpf_usdt_arg_cnt and bpf_usdt_cookie). libbpf turns
 * the BTF FUNC linkage of a global or weak .text function with STV_HIDDEN (or
 * STV_INTERNAL) visibility into static, so the verifier checks it inside its caller,
 * where the pointer it writes through is known to be a stack slot. Verified alone (as a
 * global function), the same pointer argument may be NULL and the store is refused.
 *   hidden_calls (xdp):   fill() stores 40, twice() doubles it, + 2 = 82
 *   visible_call (?xdp):  exposed() is a plain global function doing the same store:
 *                         the verifier refuses it (on 6.x "invalid mem access
 *                         'mem_or_null'"; before 5.12 global functions take no pointers) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* __weak __hidden, as bpf_usdt_arg() in usdt.bpf.h */
__weak __hidden int fill(void *ctx, long *res)
{
	*res = 40;
	return 0;
}

/* non-weak __hidden */
__noinline __hidden int twice(long *v)
{
	*v *= 2;
	return 1;
}

__noinline int exposed(long *res)
{
	*res = 7;
	return 0;
}

SEC("xdp")
int hidden_calls(struct xdp_md *ctx)
{
	long v = 0;

	if (fill(ctx, &v))
		return 0;
	if (!twice(&v))
		return 0;
	return v + 2;
}

SEC("?xdp")
int visible_call(struct xdp_md *ctx)
{
	long v = 0;

	exposed(&v);
	return v;
}

char LICENSE[] SEC("license") = "GPL";
