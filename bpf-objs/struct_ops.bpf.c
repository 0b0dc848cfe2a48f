// SPDX-License-Identifier: GPL-2.0
/* struct_ops: a TCP congestion control written in BPF (kernel 5.6+; this one loads on 6.1+).
 *   tsbpf_cc      SEC(".struct_ops"): struct tcp_congestion_ops with .ssthresh,
 *                 .cong_avoid and .undo_cwnd set to the three programs below (the
 *                 .rel.struct_ops relocations say which member holds which program),
 *                 .name = "tsbpf_cc" and .flags = 1 (TCP_CONG_NON_RESTRICTED, a #define
 *                 that vmlinux.h cannot carry): scalars the loader copies by member name
 *                 into the kernel's struct bpf_struct_ops_tcp_congestion_ops. Registered
 *                 by BPF_MAP_UPDATE_ELEM: it then shows in
 *                 /proc/sys/net/ipv4/tcp_available_congestion_control (and, being
 *                 non-restricted, in tcp_allowed_congestion_control).
 *   tsbpf_cc_link SEC(".struct_ops.link"): the same programs again (allowed: same struct,
 *                 same members), created with BPF_F_LINK; only a BPF link registers it.
 *   tsbpf_ssthresh / tsbpf_cong_avoid / tsbpf_undo_cwnd: SEC("struct_ops/..."): program
 *                 type struct_ops, attach_btf_id = the kernel's struct tcp_congestion_ops,
 *                 expected_attach_type = the index of the member in the kernel's struct.
 * Reno-like and harmless: nothing selects it unless a socket asks for "tsbpf_cc". */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("struct_ops/tsbpf_ssthresh")
__u32 BPF_PROG(tsbpf_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops/tsbpf_cong_avoid")
void BPF_PROG(tsbpf_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	if (tp->snd_cwnd < tp->snd_cwnd_clamp)
		tp->snd_cwnd++;
}

SEC("struct_ops/tsbpf_undo_cwnd")
__u32 BPF_PROG(tsbpf_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops tsbpf_cc = {
	.ssthresh   = (void *)tsbpf_ssthresh,
	.cong_avoid = (void *)tsbpf_cong_avoid,
	.undo_cwnd  = (void *)tsbpf_undo_cwnd,
	.flags      = 1, /* TCP_CONG_NON_RESTRICTED */
	.name       = "tsbpf_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops tsbpf_cc_link = {
	.ssthresh   = (void *)tsbpf_ssthresh,
	.cong_avoid = (void *)tsbpf_cong_avoid,
	.undo_cwnd  = (void *)tsbpf_undo_cwnd,
	.name       = "tsbpf_cc_link",
};
