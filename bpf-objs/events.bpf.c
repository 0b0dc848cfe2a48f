// SPDX-License-Identifier: GPL-2.0
/* events: programs that send a known sequence each time they run, for
 * BPF_PROG_TEST_RUN with `repeat` (XDP; any packet of at least 14 bytes). Each
 * program numbers its records 0, 1, 2... with a global counter; a record is a
 * 64-byte struct event whose fill bytes follow from its number. The first 4
 * bytes of the packet are the `tag` of the run (a test puts its pid there).
 *   to_ringbuf         bpf_ringbuf_output of each record into `ring`
 *   to_ringbuf_reserve bpf_ringbuf_reserve + submit, but every number n with
 *                      n % 3 == 1 is discarded (bpf_ringbuf_discard)
 *   to_perf            bpf_perf_event_output(BPF_F_CURRENT_CPU) into `perf`
 *   to_ringbuf_short   13-byte records (a size no struct event has)
 *   say_hello          bpf_printk("tsbpf-events tag=%u seq=%llu")
 * Outputs that fail (ring full, no perf buffer on this CPU) are counted in
 * ring_dropped / perf_dropped. The numbers are taken with a plain increment,
 * not __sync_fetch_and_add: BPF_PROG_TEST_RUN runs a program once at a time,
 * and the fetch form of the atomic add needs Linux 5.12. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EVENT_MAGIC 0x65766e74 /* 'evnt' */

struct event {
	u64 seq;
	u32 cpu;
	u32 magic;
	u32 tag;
	char kind[12];
	u8 fill[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

/* Puts struct event into the object's BTF (types of locals are not there), so
 * that readers can decode records by name: the idiom of bpf2go's -type. */
struct event *unused_event __attribute__((unused));

u64 ring_seq, reserve_seq, perf_seq, short_seq, hello_seq;
u64 ring_dropped, perf_dropped;

static __always_inline u32 packet_tag(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(u32) > data_end)
		return 0;
	return *(u32 *)data;
}

static __always_inline void make(struct event *e, u64 seq, u32 tag, const char kind[12])
{
	e->seq = seq;
	e->cpu = bpf_get_smp_processor_id();
	e->magic = EVENT_MAGIC;
	e->tag = tag;
	__builtin_memcpy(e->kind, kind, sizeof(e->kind));
#pragma unroll
	for (int i = 0; i < 32; i++)
		e->fill[i] = (seq + i) & 0xff;
}

SEC("xdp")
int to_ringbuf(struct xdp_md *ctx)
{
	struct event e;

	make(&e, ring_seq++, packet_tag(ctx), "ringbuf");
	if (bpf_ringbuf_output(&ring, &e, sizeof(e), 0))
		__sync_fetch_and_add(&ring_dropped, 1);
	return XDP_PASS;
}

SEC("xdp")
int to_ringbuf_reserve(struct xdp_md *ctx)
{
	u64 seq = reserve_seq++;
	struct event *e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&ring_dropped, 1);
		return XDP_PASS;
	}
	make(e, seq, packet_tag(ctx), "reserve");
	if (seq % 3 == 1)
		bpf_ringbuf_discard(e, 0);
	else
		bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

SEC("xdp")
int to_perf(struct xdp_md *ctx)
{
	struct event e;

	make(&e, perf_seq++, packet_tag(ctx), "perf");
	if (bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		__sync_fetch_and_add(&perf_dropped, 1);
	return XDP_PASS;
}

SEC("xdp")
int to_ringbuf_short(struct xdp_md *ctx)
{
	u8 b[13] = {};

	b[0] = short_seq++ & 0xff;
	b[12] = 0x5a;
	if (bpf_ringbuf_output(&ring, b, sizeof(b), 0))
		__sync_fetch_and_add(&ring_dropped, 1);
	return XDP_PASS;
}

SEC("xdp")
int say_hello(struct xdp_md *ctx)
{
	bpf_printk("tsbpf-events tag=%u seq=%llu", packet_tag(ctx), hello_seq++);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
