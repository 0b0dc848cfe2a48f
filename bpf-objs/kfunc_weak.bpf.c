// SPDX-License-Identifier: GPL-2.0
/* kfunc_weak: __weak kfuncs and bpf_ksym_exists (libbpf 1.2+ idiom). The address of a
 * kfunc is an ld_imm64 against the extern: the loader makes it BPF_PSEUDO_BTF_ID of the
 * kernel's FUNC when the kernel has it (the verifier takes that from Linux 6.4), 0 when a
 * __weak one is absent. A call of an absent __weak kfunc is turned into a call of an
 * invalid helper (libbpf: unknown#2002000000 + n), which the verifier accepts only on a
 * path it proves dead.
 *   weak_absent (xdp):     100 + 0: tsbpf_no_such_kfunc is absent, its call is never made;
 *                          loads on every kernel
 *   weak_present (?xdp):   100 + 1: bpf_ct_release exists (built in, or in nf_conntrack);
 *                          Linux 6.4+
 *   weak_unguarded (?xdp): calls the absent kfunc unguarded: the verifier refuses it, and
 *                          the loader says which weak kfunc it reached */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* libbpf 1.2's bpf_ksym_exists(), without its static assert */
#define ksym_exists(sym) (!!(sym))

extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
extern int tsbpf_no_such_kfunc(int x) __ksym __weak;

SEC("xdp")
int weak_absent(struct xdp_md *ctx)
{
	int r = 100;

	if (ksym_exists(tsbpf_no_such_kfunc))
		r += tsbpf_no_such_kfunc(r);
	return r;
}

SEC("?xdp")
int weak_present(struct xdp_md *ctx)
{
	return ksym_exists(bpf_ct_release) ? 101 : 100;
}

SEC("?xdp")
int weak_unguarded(struct xdp_md *ctx)
{
	return tsbpf_no_such_kfunc(1);
}

char LICENSE[] SEC("license") = "GPL";
