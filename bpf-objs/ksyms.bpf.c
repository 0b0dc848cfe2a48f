// SPDX-License-Identifier: GPL-2.0
/* ksyms: typed .ksyms externs (kernel per-cpu variables with BTF). libbpf
 * finds the VAR in vmlinux BTF and emits ld_imm64 src_reg BPF_PSEUDO_BTF_ID
 * (imm = BTF id, next imm = BTF object fd, 0 for vmlinux); the kernel then
 * resolves the address with kallsyms_lookup_name, so loading FAILS (ENOENT,
 * "ldimm64 failed to find the address for kernel symbol") on kernels built
 * without CONFIG_KALLSYMS_ALL. Debian's kernels have it.
 *   runqueues        struct rq, via bpf_per_cpu_ptr(&runqueues, 0)
 *   bpf_prog_active  int, via bpf_this_cpu_ptr
 *   maybe_missing    __weak, absent from every kernel: resolves to 0
 *   ksym_rawtp (raw_tp/sys_enter): copies what it reads into .bss.
 *   xt_recseq        per-cpu seqcount_t of x_tables, a module on Debian kernels
 *                    (then the second half of the ld_imm64 is that module's BTF fd)
 *   ksym_module (raw_tp/sys_enter, run with BPF_PROG_TEST_RUN): 7 + (this CPU's
 *                    xt_recseq.sequence & 1) = 7 outside a table update; read with
 *                    bpf_probe_read_kernel (Linux 6.1's verifier refuses a direct load
 *                    through a pointer to a typedef: "Type 'seqcount_t' is not a struct"). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;
extern const int tsbpf_maybe_missing __ksym __weak;
extern const seqcount_t xt_recseq __ksym;

u32 nr_running0;
int prog_active;
u32 missing_is_null;

SEC("raw_tp/sys_enter")
int ksym_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 0);
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);

	if (rq)
		nr_running0 = rq->nr_running;
	prog_active = *active;
	missing_is_null = &tsbpf_maybe_missing == NULL;
	return 0;
}

SEC("raw_tp/sys_enter")
int ksym_module(struct bpf_raw_tracepoint_args *ctx)
{
	const seqcount_t *s = bpf_this_cpu_ptr(&xt_recseq);
	unsigned int seq = 1;

	bpf_probe_read_kernel(&seq, sizeof(seq), &s->sequence);
	return 7 + (seq & 1);
}

char LICENSE[] SEC("license") = "GPL";
