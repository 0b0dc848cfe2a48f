// SPDX-License-Identifier: GPL-2.0
/* attach_net: networking hooks counting the UDP datagrams sent to one port (udp_port,
 * a .rodata constant the test sets before load), each through a tail call where the
 * hook allows it, so that a test sees both the entry program and the tail-called one run:
 *  - xdp_count (SEC xdp) -> slot 0 of xdp_table -> xdp_udp; xdp_count2 for link updates;
 *  - tc_in (tcx/ingress) and tc_out (tcx/egress) -> tc_in_table / tc_out_table -> tc_udp_in / tc_udp_out
 *    (also attached as cls_bpf filters over netlink by the legacy path);
 *  - cg_egress / cg_ingress (cgroup_skb): datagrams of processes in the cgroup;
 *  - lookup (sk_lookup): socket lookups for the port in a network namespace;
 *  - msg_verdict (sk_msg): messages sent on sockets in sock_map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0

const volatile u16 udp_port = 0;

u64 xdp_hits;
u64 xdp_tail_hits;
u64 xdp2_hits;
u64 tc_in_hits;
u64 tc_in_tail_hits;
u64 tc_out_hits;
u64 tc_out_tail_hits;
u64 cg_egress_hits;
u64 cg_ingress_hits;
u64 lookup_hits;
u64 msg_hits;

/* Is this an IPv4 UDP datagram to udp_port? `l3` is the IP header's offset. */
static __always_inline int is_ours(void *data, void *end, u32 l3)
{
	struct iphdr *ip = data + l3;
	struct udphdr *udp;

	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
		return 0;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return 0;
	return udp->dest == bpf_htons(udp_port);
}

static __always_inline int eth_ours(void *data, void *end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return is_ours(data, end, sizeof(*eth));
}

SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_tail_hits, 1);
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} xdp_table SEC(".maps") = {
	.values = { [0] = (void *)&xdp_udp },
};

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (!eth_ours(data, end))
		return XDP_PASS;
	__sync_fetch_and_add(&xdp_hits, 1);
	bpf_tail_call(ctx, &xdp_table, 0);
	return XDP_PASS;
}

SEC("xdp")
int xdp_count2(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (eth_ours(data, end))
		__sync_fetch_and_add(&xdp2_hits, 1);
	return XDP_PASS;
}

/* Tail-call targets have the expected attach type of their caller: a prog array takes
 * only programs that agree with its first user on it (checked by Linux 6.16+). */
SEC("tcx/ingress")
int tc_udp_in(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_in_tail_hits, 1);
	return TC_ACT_OK;
}

SEC("tcx/egress")
int tc_udp_out(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_out_tail_hits, 1);
	return TC_ACT_OK;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} tc_in_table SEC(".maps") = {
	.values = { [0] = (void *)&tc_udp_in },
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__array(values, int (void *));
} tc_out_table SEC(".maps") = {
	.values = { [0] = (void *)&tc_udp_out },
};

SEC("tcx/ingress")
int tc_in(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (!eth_ours(data, end))
		return TC_ACT_OK;
	__sync_fetch_and_add(&tc_in_hits, 1);
	bpf_tail_call(skb, &tc_in_table, 0);
	return TC_ACT_OK;
}

SEC("tcx/egress")
int tc_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (!eth_ours(data, end))
		return TC_ACT_OK;
	__sync_fetch_and_add(&tc_out_hits, 1);
	bpf_tail_call(skb, &tc_out_table, 0);
	return TC_ACT_OK;
}

/* cgroup_skb sees the packet from the IP header on */
static __always_inline int skb_ours(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	return skb->protocol == bpf_htons(ETH_P_IP) && is_ours(data, end, 0);
}

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	if (skb_ours(skb))
		__sync_fetch_and_add(&cg_egress_hits, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb)
{
	if (skb_ours(skb))
		__sync_fetch_and_add(&cg_ingress_hits, 1);
	return 1;
}

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol == IPPROTO_UDP && ctx->local_port == udp_port)
		__sync_fetch_and_add(&lookup_hits, 1);
	return SK_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} sock_map SEC(".maps");

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&msg_hits, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
