// SPDX-License-Identifier: GPL-2.0
/* weak_override: two sources statically linked by `bpftool gen object` (libbpf's linker),
 * this file and weak_override.strong.c. Both define pick(): this one __weak, the other
 * not. The linker keeps the strong pick() and drops the weak symbol, but the weak copy's
 * instructions and its relocation (against weak_calls in .bss) stay in .text, covered by
 * no function symbol: libbpf skips such relocations ("probably overridden weak
 * function"), and so must a loader.
 *   use_pick (xdp, this file):          pick(1) with the strong pick() = 101
 *   use_pick_too (xdp, the other file): pick(2) + 1000 = 1102 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

int weak_calls;

__weak __noinline int pick(int x)
{
	weak_calls++;
	return x + 1;
}

SEC("xdp")
int use_pick(struct xdp_md *ctx)
{
	return pick(1);
}

char LICENSE[] SEC("license") = "GPL";
