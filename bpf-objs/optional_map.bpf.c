// SPDX-License-Identifier: GPL-2.0
/* optional_map: a map the program uses only on a path a .rodata flag turns off, the
 * libbpf way of making a map optional: set `use_stats` false and the map's autocreate off,
 * and the reference to the map is poisoned (call unknown#2001000000 + n) on a path the
 * verifier proves dead.
 *   count (xdp): use_stats (default true): stats[0]++, returns 1; otherwise returns 2 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile bool use_stats = true;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

SEC("xdp")
int count(struct xdp_md *ctx)
{
	if (use_stats) {
		u32 k = 0;
		u64 *v = bpf_map_lookup_elem(&stats, &k);

		if (v)
			__sync_fetch_and_add(v, 1);
		return 1;
	}
	return 2;
}

char LICENSE[] SEC("license") = "GPL";
