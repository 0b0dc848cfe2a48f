// A tail-call object without CO-RE and a program the verifier refuses: the CLI's kernel
// tests (test/kernel/cli.test.ts) and the outputs in docs/cli.md (scripts/readme.mjs).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int tc_a(struct xdp_md *ctx) { return XDP_TX; }
SEC("xdp") int tc_b(struct xdp_md *ctx) { return XDP_DROP; }
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__array(values, int (void *));
} tc_table SEC(".maps") = { .values = { [2] = (void *)&tc_a, [5] = (void *)&tc_b } };
SEC("xdp") int tc_entry(struct xdp_md *ctx) { bpf_tail_call(ctx, &tc_table, 5); return XDP_PASS; }
SEC("xdp") int bad_read(struct xdp_md *ctx)
{
	int *p = (int *)(long)ctx->data;
	return *p; /* no bounds check */
}
char LICENSE[] SEC("license") = "GPL";
