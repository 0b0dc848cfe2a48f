// SPDX-License-Identifier: GPL-2.0
/* legacy_extra: a legacy SEC("maps") definition with non-zero bytes past the five fields
 * of struct bpf_map_def, as cilium/ebpf's testdata/invalid_map.c: `struct { struct
 * bpf_map_def def; u32 dummy; }` with dummy = 1. Nothing reads those bytes, so a loader
 * that created the map would silently drop what the author meant by them: cilium refuses
 * to create it ("extra contains unhandled non-zero bytes"), libbpf 0.x refused to open it
 * ("has unrecognized, non-zero options"), libbpf 1.x refuses every legacy map. tsbpf refuses
 * it when parsing, naming the map and the offset of the first non-zero byte.
 *   pass   (xdp): returns XDP_PASS (2); never loaded (the object does not parse). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct {
	struct bpf_map_def def;
	__u32 dummy;
} invalid_map SEC("maps") = {
	.def = {
		.type = BPF_MAP_TYPE_HASH,
		.key_size = 4,
		.value_size = 2,
		.max_entries = 1,
	},
	.dummy = 1,
};

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
