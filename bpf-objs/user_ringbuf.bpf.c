// SPDX-License-Identifier: GPL-2.0
/* user_ringbuf: a BPF_MAP_TYPE_USER_RINGBUF (Linux 6.1+) that user space
 * writes and `drain` (XDP, for BPF_PROG_TEST_RUN) empties with
 * bpf_user_ringbuf_drain: each record's first 8 bytes are a u64 added to
 * `sum` (a shorter record adds nothing); `count` counts records. drain returns
 * the number of records drained (or 200 + the error when the drain failed). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 16 * 1024);
} user_ring SEC(".maps");

u64 sum, count;

static long take(struct bpf_dynptr *dynptr, void *ctx)
{
	u64 v = 0;

	if (bpf_dynptr_read(&v, sizeof(v), dynptr, 0, 0) == 0)
		sum += v;
	count++;
	return 0;
}

SEC("xdp")
int drain(struct xdp_md *ctx)
{
	long n = bpf_user_ringbuf_drain(&user_ring, take, NULL, 0);

	return n < 0 ? 200 - n : n;
}

char LICENSE[] SEC("license") = "GPL";
