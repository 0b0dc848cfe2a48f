// SPDX-License-Identifier: GPL-2.0
/* unknown_section: programs in sections libbpf's SEC() table does not know.
 *   custom_prog (SEC("tsbpf/custom")): no table knows the name, so the program is kept
 *     without a type, as libbpf keeps it: loading fails naming the section until a type
 *     is set (spec.programs.get('custom_prog').type = 'xdp', or --type custom_prog=xdp);
 *     slot 0 of jmp_table points at it (cilium's btf_map_init has the same shape).
 *   dispatch (xdp): tail call to jmp_table[0]: 7 once custom_prog is loaded as xdp, else
 *     falls through to 1.
 *   long_socket (SEC("socket/tail")), long_lookup (SEC("sk_lookup/select")): cilium's
 *     long forms of 'socket' and 'sk_lookup' (libbpf 1.x knows neither): socket_filter
 *     (returns 42) and sk_lookup (SK_PASS). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tsbpf/custom")
int custom_prog(struct xdp_md *ctx)
{
	return 7;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(u32));
	__array(values, int(void *));
} jmp_table SEC(".maps") = {
	.values = { [0] = (void *)&custom_prog },
};

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, 0);
	return 1;
}

SEC("socket/tail")
int long_socket(struct __sk_buff *skb)
{
	return 42;
}

SEC("sk_lookup/select")
int long_lookup(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
