// SPDX-License-Identifier: GPL-2.0
/* map_types: one BTF-defined map of each common type, each with the .maps
 * attributes a loader must decode (type, key/value via __type or __uint
 * sizes, max_entries, map_flags, map_extra, pinning):
 *   hash_map, array_map, percpu_hash, percpu_array, lru_hash,
 *   ringbuf (256 KiB), perf_events (max_entries 0 -> nr CPUs),
 *   lpm_trie (BPF_F_NO_PREALLOC, key {prefixlen, addr}), queue, stack
 *   (key_size 0), bloom (key_size 0, map_extra 3 = nr hashes, 5.16+),
 *   tsbpf_pinned (hash, pinning LIBBPF_PIN_BY_NAME: libbpf pins it at
 *   /sys/fs/bpf/tsbpf_pinned and reuses a compatible pinned map).
 * use_all (xdp, runnable) touches every map and returns XDP_PASS (2). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u64);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} array_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, u64);
	__type(value, u32);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u32);
} lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

struct lpm_key {
	u32 prefixlen;
	u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, u32);
} lpm_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 32);
	__type(value, u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 32);
	__type(value, u64);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 100);
	__uint(map_extra, 3);
	__type(value, u32);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, u32);
	__type(value, u32);
} tsbpf_pinned SEC(".maps");

SEC("xdp")
int use_all(struct xdp_md *ctx)
{
	u32 k32 = 1, v32 = 2;
	u64 k64 = 3, v64 = 4;
	struct lpm_key lk = { .prefixlen = 32, .addr = 0x0100007f };
	u64 *p;

	bpf_map_update_elem(&hash_map, &k32, &v64, BPF_ANY);
	p = bpf_map_lookup_elem(&array_map, &k32);
	if (p)
		*p += 1;
	bpf_map_update_elem(&percpu_hash, &k64, &v32, BPF_ANY);
	p = bpf_map_lookup_elem(&percpu_array, &k32);
	if (p)
		*p += 1;
	bpf_map_update_elem(&lru_hash, &k32, &v32, BPF_ANY);
	bpf_ringbuf_output(&ringbuf, &v64, sizeof(v64), 0);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &v64, sizeof(v64));
	bpf_map_update_elem(&lpm_trie, &lk, &v32, BPF_ANY);
	bpf_map_push_elem(&queue, &v32, BPF_ANY);
	bpf_map_push_elem(&stack, &v64, BPF_ANY);
	bpf_map_push_elem(&bloom, &v32, BPF_ANY);
	/* The membership test reads its value from a map value, not the stack: Linux 7.x's
	 * stack liveness pass takes bpf_map_peek_elem's value argument as written only, drops
	 * the store of a stack variable before it and then refuses the read ("slot poisoned
	 * by dead code elimination", seen on 7.2.13), although the bloom filter reads it. */
	u32 *member = bpf_map_lookup_elem(&lru_hash, &k32);
	if (member && bpf_map_peek_elem(&bloom, member) == 0)
		bpf_map_update_elem(&tsbpf_pinned, &k32, member, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
