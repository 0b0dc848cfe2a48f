// SPDX-License-Identifier: GPL-2.0
/* global_data: every kind of global-data section a loader turns into a
 * one-element array map.
 *   .rodata        volatile const knobs a loader sets before load (frozen),
 *                  a const table, bpf_printk's static format string
 *   .data          initialised globals (base, counter, tag)
 *   .bss           zero-initialised globals (hits, last_len)
 *   .rodata.str1.1 string literals passed straight to a helper
 * Runnable (XDP):
 *   const_ret returns scale * 10 + base = 32 with the defaults
 *             (scale = 3, base = 2); with scale set to 5 it returns 52;
 *             + 100 if `verbose` is set (default 0).
 *   count_ret increments counter (.data, starts at 5) and hits (.bss) and
 *             returns the new counter: 6, 7, 8, ...
 *   table_ret returns primes[first packet byte & 7] (2,3,5,...,19). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* .rodata */
volatile const u32 scale = 3;
volatile const bool verbose;
const u32 primes[8] = { 2, 3, 5, 7, 11, 13, 17, 19 };

/* .data */
u32 base = 2;
u32 counter = 5;
char tag[8] = "tsbpf";

/* .bss */
u64 hits;
u32 last_len;

SEC("xdp")
int const_ret(struct xdp_md *ctx)
{
	u32 r = scale * 10 + base;

	if (verbose)
		r += 100;
	return r;
}

SEC("xdp")
int count_ret(struct xdp_md *ctx)
{
	u32 n = ++counter;

	hits++;
	last_len = ctx->data_end - ctx->data;
	/* format lands in .rodata (static const char[]) */
	bpf_printk("count_ret %u %s", n, tag);
	return n;
}

SEC("xdp")
int table_ret(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + 1 > data_end)
		return 0;
	if (verbose)
		/* a literal passed directly: lands in .rodata.str1.1 */
		bpf_trace_printk("table_ret\n", sizeof("table_ret\n"));
	return primes[*(u8 *)data & 7];
}

char LICENSE[] SEC("license") = "GPL";
