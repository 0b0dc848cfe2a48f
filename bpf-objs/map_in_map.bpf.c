// SPDX-License-Identifier: GPL-2.0
/* map_in_map: BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS whose
 * inner maps are statically initialised with gaps:
 *   outer_arr  = { [0] = inner_a, [2] = inner_b }  (slots 1, 3 empty)
 *   outer_hash = { [1] = inner_b, [5] = inner_a }  (keys 1 and 5)
 * The inner-map template is `struct inner_map` (ARRAY, 4 x u32).
 * Runnable (XDP, packet >= 14 bytes): k = first packet byte.
 *   lookup_arr:  outer_arr[k]  -> inner[0]; no inner map -> 200
 *   lookup_hash: outer_hash[k] -> inner[0]; no inner map -> 201
 * Both return the inner value + 1000 (so 1000 on fresh maps); 202 if the
 * packet is empty. seed sets inner_a[0] = 7 and inner_b[0] = 9 and returns 0:
 * after running it, lookup_arr returns 1007 for k=0, 1009 for k=2. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [1] = &inner_b, [5] = &inner_a },
};

static __always_inline int first_byte(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + 1 > data_end)
		return -1;
	return *(u8 *)data;
}

static __always_inline int read_inner(void *inner)
{
	u32 zero = 0;
	u32 *v = bpf_map_lookup_elem(inner, &zero);

	return v ? 1000 + *v : 203;
}

SEC("xdp")
int lookup_arr(struct xdp_md *ctx)
{
	int k = first_byte(ctx);
	void *inner;
	u32 key;

	if (k < 0)
		return 202;
	key = k;
	inner = bpf_map_lookup_elem(&outer_arr, &key);
	if (!inner)
		return 200;
	return read_inner(inner);
}

SEC("xdp")
int lookup_hash(struct xdp_md *ctx)
{
	int k = first_byte(ctx);
	void *inner;
	u32 key;

	if (k < 0)
		return 202;
	key = k;
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	if (!inner)
		return 201;
	return read_inner(inner);
}

SEC("xdp")
int seed(struct xdp_md *ctx)
{
	u32 zero = 0, seven = 7, nine = 9;

	bpf_map_update_elem(&inner_a, &zero, &seven, BPF_ANY);
	bpf_map_update_elem(&inner_b, &zero, &nine, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
