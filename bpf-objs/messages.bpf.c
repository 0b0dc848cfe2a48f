// SPDX-License-Identifier: GPL-2.0
/* messages: programs whose refusal must say why in words a user can act on (issue 13,
 * item 5). Both are in "?xdp" sections: they load only when asked for (they never load).
 *   core_poisoned  reads xdp_md___tsbpf.no_such_field, a field the kernel's struct xdp_md
 *                  does not have, without bpf_core_field_exists: the CO-RE relocation is
 *                  poisoned (call unknown#195896080) and the verifier reaches it. The
 *                  CLI's text report must say which relocation poisoned which instruction.
 *   plain_extern   calls tsbpf_not_linked(), declared `extern int f(int);` without __ksym
 *                  and defined nowhere: an unresolved extern function that needs static
 *                  linking (bpftool gen object), not a kfunc the kernel lacks.
 *   fine           returns XDP_PASS (2): the object loads by default. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct xdp_md___tsbpf {
	__u32 no_such_field;
} __attribute__((preserve_access_index));

extern int tsbpf_not_linked(int x);

SEC("?xdp")
int core_poisoned(struct xdp_md *ctx)
{
	struct xdp_md___tsbpf *m = (void *)ctx;

	return m->no_such_field;
}

SEC("?xdp")
int plain_extern(struct xdp_md *ctx)
{
	return tsbpf_not_linked(2);
}

SEC("xdp")
int fine(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
