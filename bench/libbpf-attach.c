/* SPDX-License-Identifier: MIT */
/*
 * The reference for bench/attach.ts: attach + detach of one uprobe and one kprobe with
 * libbpf, N times, from one loaded object.
 *
 *   ./libbpf-attach [--warm W] N uprobe OBJ PROG BINARY FUNC
 *   ./libbpf-attach [--warm W] N kprobe OBJ PROG FUNC
 *
 * uprobe: bpf_program__attach_uprobe_opts(prog, -1, BINARY, 0, { .func_name = FUNC })
 * (libbpf resolves the symbol to its file offset, opens the uprobe PMU event and makes a
 * BPF link, or uses the perf ioctls where the kernel has none); kprobe:
 * bpf_program__attach_kprobe(prog, false, FUNC). Each iteration ends with
 * bpf_link__destroy. Prints one JSON object: median / mean / min / max microseconds per
 * attach + detach, the median of the attach alone, and the libbpf version.
 */
#include <errno.h>
#include <stdlib.h>
#include "libbpf-bench.h"

int main(int argc, char **argv)
{
	int a = 1, warm = 20;
	if (argc > 2 && strcmp(argv[1], "--warm") == 0) {
		warm = atoi(argv[2]);
		a = 3;
	}
	if (argc - a < 4 || (strcmp(argv[a + 1], "uprobe") == 0 && argc - a < 6)) {
		fprintf(stderr, "usage: %s [--warm W] N uprobe OBJ PROG BINARY FUNC | N kprobe OBJ PROG FUNC\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[a]);
	int uprobe = strcmp(argv[a + 1], "uprobe") == 0;
	const char *file = argv[a + 2], *progname = argv[a + 3];
	libbpf_set_print(silent_print);

	struct bpf_object *obj = bpf_object__open_file(file, NULL);
	if (!obj) { fprintf(stderr, "open %s: %s\n", file, last_msg); return 1; }
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, strcmp(bpf_program__name(p), progname) == 0);
	int err = bpf_object__load(obj);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, progname);
	if (err || !prog) { fprintf(stderr, "load %s: %d %s\n", file, err, last_msg); return 1; }

	double *s = calloc(n, sizeof(double)), *sa = calloc(n, sizeof(double));
	for (int i = -warm; i < n; i++) {
		double t0 = now_us();
		struct bpf_link *link;
		if (uprobe) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = argv[a + 5]);
			link = bpf_program__attach_uprobe_opts(prog, -1, argv[a + 4], 0, &o);
		} else {
			link = bpf_program__attach_kprobe(prog, false, argv[a + 4]);
		}
		if (!link) { fprintf(stderr, "attach: %s (errno %d)\n", last_msg, errno); return 1; }
		double t1 = now_us();
		bpf_link__destroy(link);
		double t = now_us() - t0;
		if (i >= 0) {
			s[i] = t;
			sa[i] = t1 - t0;
		}
	}
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += s[i];
	qsort(s, n, sizeof(double), cmp_double);
	qsort(sa, n, sizeof(double), cmp_double);
	printf("{\"libbpf\": \"%u.%u\", \"kind\": \"%s\", \"n\": %d, \"median_us\": %.2f, \"attach_median_us\": %.2f, \"mean_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f}\n",
	       libbpf_major_version(), libbpf_minor_version(), argv[a + 1], n, n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
	       n % 2 ? sa[n / 2] : (sa[n / 2 - 1] + sa[n / 2]) / 2, sum / n, s[0], s[n - 1]);
	bpf_object__close(obj);
	return 0;
}
