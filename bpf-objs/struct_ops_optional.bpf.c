// SPDX-License-Identifier: GPL-2.0
/* Optional struct_ops maps (libbpf 1.4+): a variable in SEC("?.struct_ops") or
 * SEC("?.struct_ops.link") is a struct_ops map like the ones without '?', but with
 * autocreate off: it is not created unless the user turns it on. A struct_ops program
 * referenced by maps is loaded exactly when at least one of those maps is created
 * (libbpf's bpf_object_adjust_struct_ops_autoload), whatever its SEC() says.
 *
 *   tsbpf_opt      SEC("?.struct_ops"), struct tcp_congestion_ops:
 *                  ssthresh = opt_ssthresh, cong_avoid = opt_cong_avoid,
 *                  undo_cwnd = opt_cwnd, .name = "tsbpf_opt", .flags = 1
 *                  (TCP_CONG_NON_RESTRICTED).
 *   tsbpf_opt_link SEC("?.struct_ops.link"), a local flavour of the struct
 *                  (struct tcp_congestion_ops___v2: only the members it sets, in its own
 *                  layout; the loader matches members by name):
 *                  ssthresh = opt_cwnd, cong_avoid = opt_cong_avoid,
 *                  undo_cwnd = opt_link_undo_cwnd, .name = "tsbpf_opt_link".
 *
 *   opt_ssthresh        used only by tsbpf_opt
 *   opt_link_undo_cwnd  used only by tsbpf_opt_link; its section starts with '?'
 *                       (autoload off), yet it is loaded when tsbpf_opt_link is created
 *   opt_cong_avoid      the same member (cong_avoid) in both maps, of two local types
 *   opt_cwnd            undo_cwnd in tsbpf_opt but ssthresh in tsbpf_opt_link: fine while
 *                       only one of the two maps is created; with both, the program would
 *                       need two attach points (expected_attach_type), which is refused.
 *
 * Reno-like and harmless: nothing selects these unless a socket asks for them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("struct_ops/opt_ssthresh")
__u32 BPF_PROG(opt_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	return half > 2 ? half : 2;
}

SEC("struct_ops/opt_cong_avoid")
void BPF_PROG(opt_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	if (tp->snd_cwnd < tp->snd_cwnd_clamp)
		tp->snd_cwnd++;
}

SEC("struct_ops/opt_cwnd")
__u32 BPF_PROG(opt_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd > 2 ? tp->snd_cwnd : 2;
}

SEC("?struct_ops/opt_link_undo_cwnd")
__u32 BPF_PROG(opt_link_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	return tp->snd_cwnd;
}

SEC("?.struct_ops")
struct tcp_congestion_ops tsbpf_opt = {
	.ssthresh   = (void *)opt_ssthresh,
	.cong_avoid = (void *)opt_cong_avoid,
	.undo_cwnd  = (void *)opt_cwnd,
	.flags      = 1, /* TCP_CONG_NON_RESTRICTED */
	.name       = "tsbpf_opt",
};

struct tcp_congestion_ops___v2 {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
};

SEC("?.struct_ops.link")
struct tcp_congestion_ops___v2 tsbpf_opt_link = {
	.ssthresh   = (void *)opt_cwnd,
	.cong_avoid = (void *)opt_cong_avoid,
	.undo_cwnd  = (void *)opt_link_undo_cwnd,
	.name       = "tsbpf_opt_link",
};
