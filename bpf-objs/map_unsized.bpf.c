// SPDX-License-Identifier: GPL-2.0
/* map_unsized: maps whose definitions the kernel refuses with a bare EINVAL, which tsbpf
 * must turn into the field to fix (issue 13, item 5), before BPF_MAP_CREATE:
 *   events  a ring buffer without max_entries: the object leaves its size for the user to
 *           set before load (spec.maps.get('events').maxEntries = 4096 * n, a power of
 *           two, as libbpf's bpf_map__set_max_entries);
 *   stacks  a stack trace map without value_size: one u64 per frame, so it must be a
 *           non-zero multiple of 8 (and at most kernel.perf_event_max_stack frames).
 *   count_stack (kprobe): counts a stack id in .bss; loads once both maps are sized. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(u32));
} stacks SEC(".maps");

long seen;

SEC("kprobe/do_nanosleep")
int count_stack(struct pt_regs *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, 0);
	long *slot;

	if (id >= 0)
		seen++;
	slot = bpf_ringbuf_reserve(&events, sizeof(*slot), 0);
	if (slot) {
		*slot = id;
		bpf_ringbuf_submit(slot, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
