// SPDX-License-Identifier: GPL-2.0
/* core: CO-RE relocations through vmlinux.h (.BTF.ext core_relo records).
 *   on_switch_btf (tp_btf/sched_switch: tracing, attach trace_raw_tp, BTF id
 *                 of btf_trace_sched_switch resolved at load): direct BTF
 *                 reads of task fields (field byte offsets), a
 *                 BPF_CORE_READ_BITFIELD (direct), bpf_core_field_exists on
 *                 the flavour struct task_struct___old (`state`, renamed
 *                 `__state` in 5.14) and on task_struct.__state.
 *   on_switch_raw (raw_tp/sched_switch): the same through BPF_CORE_READ
 *                 (bpf_probe_read_kernel chains, nested prev->real_parent->tgid),
 *                 BPF_CORE_READ_BITFIELD_PROBED (byte size / lshift / rshift
 *                 relocations), bpf_core_type_exists (struct task_struct: 1;
 *                 struct bpf_iter_num: 0 on 6.1, 1 on 6.4+),
 *                 bpf_core_enum_value (enum pid_type PIDTYPE_TGID) and
 *                 bpf_core_enum_value_exists, bpf_core_type_size.
 * Results land in .bss (`seen`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* the pre-5.14 layout: a "flavour" matched to task_struct by name prefix */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct core_seen {
	u32 prev_pid;
	u32 next_pid;
	u32 parent_tgid;
	u32 has_old_state;
	u32 has_new_state;
	u32 reset_on_fork;
	u32 contributes;
	u32 has_task;
	u32 has_iter_num;
	u32 tgid_enum;
	u32 has_tgid_enum;
	u32 task_size;
	u64 state;
};

struct core_seen seen;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	seen.prev_pid = prev->pid;
	seen.next_pid = next->pid;
	seen.contributes = BPF_CORE_READ_BITFIELD(prev, sched_contributes_to_load);
	if (bpf_core_field_exists(((struct task_struct___old *)prev)->state)) {
		seen.has_old_state = 1;
		seen.state = BPF_CORE_READ((struct task_struct___old *)prev, state);
	} else if (bpf_core_field_exists(prev->__state)) {
		seen.has_new_state = 1;
		seen.state = prev->__state;
	}
	return 0;
}

SEC("raw_tp/sched_switch")
int on_switch_raw(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];

	seen.prev_pid = BPF_CORE_READ(prev, pid);
	seen.next_pid = BPF_CORE_READ(next, pid);
	seen.parent_tgid = BPF_CORE_READ(prev, real_parent, tgid);
	seen.reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(prev, sched_reset_on_fork);
	seen.has_task = bpf_core_type_exists(struct task_struct);
	seen.has_iter_num = bpf_core_type_exists(struct bpf_iter_num);
	seen.tgid_enum = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	seen.has_tgid_enum = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	seen.task_size = bpf_core_type_size(struct task_struct);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
