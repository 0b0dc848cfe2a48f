// SPDX-License-Identifier: GPL-2.0
/* freplace: programs whose attach target is a function of another BPF program, found in
 * that program's BTF (attach_prog_fd + attach_btf_id). Load the object once for `entry`
 * (the '?' programs are not loaded by default), then again for `new_pick` / `after_pick`
 * with `entry` as their target program.
 *   entry      (xdp)               pick(ctx) + 100 = packet length + 100 (164 for 64 bytes)
 *   new_pick   (?freplace/pick)    replaces the global function pick: entry returns 142
 *   after_pick (?fexit/pick)       records pick's return value (the length) in `seen_ret`
 * pick's result must be opaque to clang: with a known range (say 0 or 1) it compiles the
 * `+ 100` into an `|= 100`, which a replacement returning 42 would turn into 110.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Global and __noinline: the verifier checks it on its own, and freplace can replace it. */
__noinline int pick(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

SEC("xdp")
int entry(struct xdp_md *ctx)
{
	return pick(ctx) + 100;
}

SEC("?freplace/pick")
int new_pick(struct xdp_md *ctx)
{
	return 42;
}

int seen_ret = -1;

SEC("?fexit/pick")
int BPF_PROG(after_pick, struct xdp_md *xdp, int ret)
{
	seen_ret = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
