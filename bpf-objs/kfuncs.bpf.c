// SPDX-License-Identifier: GPL-2.0
/* kfuncs: kfunc calls and a BTF attach target in nf_conntrack, which Debian kernels build
 * as a module (/sys/kernel/btf/nf_conntrack) and other kernels build in (vmlinux). In a
 * module, the loader must pass the module's BTF fd: fd_array + insn.off for the kfunc
 * calls, attach_btf_obj_fd for the fentry target.
 *   ct_lookup    (xdp)  bpf_xdp_ct_lookup of an all-zero TCP tuple in the current netns:
 *                       no such connection, so it returns NULL with opts.error = -ENOENT;
 *                       the program returns -opts.error = 2 (1 if a connection was found)
 *   on_ct_lookup (fentry/bpf_xdp_ct_lookup) counts calls of the kfunc in `lookups`
 * (test runs need a packet of at least 14 bytes). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The 12-byte bpf_ct_opts of Linux 6.0-6.11, which later kernels still accept by size. */
struct ct_opts12 {
	s32 netns_id;
	s32 error;
	u8 l4proto;
	u8 dir;
	u8 reserved[2];
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					 u32 tuple__sz, struct bpf_ct_opts *opts, u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

u64 lookups;

SEC("xdp")
int ct_lookup(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tup = {};
	struct ct_opts12 opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_TCP };
	struct nf_conn *ct;

	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), (struct bpf_ct_opts *)&opts, sizeof(opts));
	if (ct) {
		bpf_ct_release(ct);
		return 1;
	}
	return -opts.error;
}

SEC("fentry/bpf_xdp_ct_lookup")
int BPF_PROG(on_ct_lookup)
{
	__sync_fetch_and_add(&lookups, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
