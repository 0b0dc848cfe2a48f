// SPDX-License-Identifier: GPL-2.0
/* iter: BPF iterators (tracing programs with BPF_TRACE_ITER, attach BTF id of
 * bpf_iter_<target>). Attached through an iterator link (BPF_LINK_CREATE) and read from
 * a BPF_ITER_CREATE fd.
 *   dump_task (iter/task):           one line "<tgid> <pid>" per task
 *   dump_vals (iter/bpf_map_elem):   one line "<key>=<value>" per element of the map given
 *                                    at attach time (bpf_iter_link_info.map.map_fd) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} vals SEC(".maps");

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d %d\n", task->tgid, task->pid);
	return 0;
}

SEC("iter/bpf_map_elem")
int dump_vals(struct bpf_iter__bpf_map_elem *ctx)
{
	u32 *key = ctx->key;
	u64 *val = ctx->value;

	if (!key || !val)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%u=%llu\n", *key, *val);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
