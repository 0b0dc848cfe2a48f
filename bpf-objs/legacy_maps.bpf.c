// SPDX-License-Identifier: GPL-2.0
/* legacy_maps: pre-BTF map definitions, as in iproute2 / old samples/bpf:
 * `struct bpf_map_def` (defined here: libbpf 1.x headers dropped it) placed
 * in SEC("maps"). Each map is an ELF symbol in "maps"; its 20-byte struct
 * gives type, key_size, value_size, max_entries, map_flags. libbpf 1.x
 * refuses the object ("legacy map definitions in 'maps' section are not
 * supported"); cilium/ebpf and iproute2 load it. Built with -g, so .BTF
 * exists but holds no .maps DATASEC.
 *   count_packets (classifier = sched_cls): counts packets per protocol in
 *                 proto_counts (a hash with BPF_F_NO_PREALLOC) and in
 *                 pkt_total[0]; returns TC_ACT_OK (0).
 *   xdp_legacy    (xdp): bumps pkt_total[1] and returns XDP_PASS (2). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") pkt_total = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(u32),
	.value_size = sizeof(u64),
	.max_entries = 2,
};

struct bpf_map_def SEC("maps") proto_counts = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(u32),
	.value_size = sizeof(u64),
	.max_entries = 256,
	.map_flags = BPF_F_NO_PREALLOC,
};

static __always_inline void bump(void *map, u32 key)
{
	u64 one = 1, *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}

SEC("classifier")
int count_packets(struct __sk_buff *skb)
{
	bump(&proto_counts, skb->protocol);
	bump(&pkt_total, 0);
	return 0; /* TC_ACT_OK */
}

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	bump(&pkt_total, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
