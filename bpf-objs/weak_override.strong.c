// SPDX-License-Identifier: GPL-2.0
/* The second source of weak_override.bpf.o (see weak_override.bpf.c): the strong pick(),
 * which the linker keeps. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__noinline int pick(int x)
{
	return x + 100;
}

SEC("xdp")
int use_pick_too(struct xdp_md *ctx)
{
	return pick(2) + 1000;
}
