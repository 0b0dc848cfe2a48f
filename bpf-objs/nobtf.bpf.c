// SPDX-License-Identifier: GPL-2.0
/* nobtf: built WITHOUT -g, so the object has no .BTF and no .BTF.ext (no
 * func_info / line_info / CO-RE; maps must not be BTF-defined). Covers:
 * a .data global (a loader creates its map without BTF), a static
 * __noinline subprogram in .text shared by two programs in two sections.
 *   sock_nobtf (socket): add3(20) + bias = 23 + 7 = 30
 *   xdp_nobtf  (xdp):    add3(1) + bias = 4 + 7 = 11 */

#define SEC(name) __attribute__((section(name), used))
#define __noinline __attribute__((noinline))

struct __sk_buff;
struct xdp_md;

int bias = 7;

static __noinline int add3(int x)
{
	return x + 3;
}

SEC("socket")
int sock_nobtf(struct __sk_buff *skb)
{
	return add3(20) + bias;
}

SEC("xdp")
int xdp_nobtf(struct xdp_md *ctx)
{
	return add3(1) + bias;
}

char LICENSE[] SEC("license") = "GPL";
