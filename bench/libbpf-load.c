// SPDX-License-Identifier: MIT
/*
 * libbpf-load: the libbpf reference for bench/load.ts.
 *
 *   ./libbpf-load [--warm W] [--samples] N file.bpf.o...
 *   ./libbpf-load --once file.bpf.o     one open + load + close, no output; exit 0 / 1
 *                                       (a whole process as a user's loader runs it: bench/cold.ts)
 *
 * For each object, W warm-up iterations (default max(3, N/10)), then N timed iterations of
 *   bpf_object__open_file(path)   "open"   (read + parse the ELF, BTF, relocations)
 *   bpf_object__load(obj)         "load"   (probe, BTF load, maps, relocate, programs: verifier)
 *                                          + bpf_map__attach_struct_ops of each plain struct_ops map
 *   bpf_object__close(obj)        "close"  (closes every fd; the kernel frees asynchronously),
 *                                          after bpf_link__destroy of those (see attach_struct_ops)
 * each phase timed with clock_gettime(CLOCK_MONOTONIC), plus getrusage user / system time
 * over the whole timed loop. libbpf's print callback is silenced (its DEBUG/INFO output
 * would otherwise be formatted and printed); the last warning is kept and reported when
 * open or load fails.
 *
 * After the timed loop, one more open + load reports what the kernel got, to check that
 * tsbpf is compared like for like: per program xlated / jited length, verified_insns,
 * nr_func_info / nr_line_info, btf_id set; the object's BTF fd; the number of maps.
 *
 * Time inside bpf(2): libbpf makes every bpf call through libc's syscall(__NR_bpf, ...).
 * This program defines syscall() itself and is linked with -rdynamic, so libbpf.so's calls
 * reach it first; it times the bpf ones (clock_gettime around the real call) and passes
 * everything to libc's. "load_bpf" is the time load and close spent inside bpf(2),
 * "bpf_calls" the number of calls per iteration; total - load_bpf is libbpf's user-space
 * overhead. (tsbpf measures the same at its chokepoint: src/sys/syscall.ts bpfClock.)
 *
 * Output: one JSON document on stdout (median / mean / min / max microseconds; with
 * --samples also every per-iteration sample, so several runs can be pooled).
 *
 * Build: gcc -O2 -rdynamic -o libbpf-load libbpf-load.c -lbpf -ldl
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libbpf-bench.h"

static double bpf_us;
static long bpf_calls;

/* libc's syscall(), timing bpf(2); interposes libc's for libbpf.so (see the top). */
long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_list ap;
	va_start(ap, nr);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	if (nr != __NR_bpf)
		return real(nr, a1, a2, a3, a4, a5, a6);
	double t0 = now_us();
	long r = real(nr, a1, a2, a3, a4, a5, a6);
	bpf_us += now_us() - t0;
	bpf_calls++;
	return r;
}

static double tv_us(struct timeval tv)
{
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

#ifndef BPF_F_LINK
#define BPF_F_LINK (1U << 13) /* Linux 6.4 uapi; the 6.1 header of Debian 12 lacks it */
#endif
#define MAX_STRUCT_OPS 16

/*
 * tsbpf registers a plain (not BPF_F_LINK) struct_ops map at load and unregisters it at
 * close; libbpf registers one only in bpf_map__attach_struct_ops (BPF_MAP_UPDATE_ELEM) and
 * unregisters it in the link's destroy (BPF_MAP_DELETE_ELEM, which waits for the kernel to
 * unregister it: ~11-14 ms here), which is what a libbpf user of such an object does
 * (bpftool struct_ops register). Both are done here, the attach inside "load" and the
 * destroy inside "close", so that both sides make the same kernel calls.
 */
static int attach_struct_ops(struct bpf_object *obj, struct bpf_link **links, int *n)
{
	struct bpf_map *map;
	*n = 0;
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS || (bpf_map__map_flags(map) & BPF_F_LINK) ||
		    bpf_map__fd(map) < 0)
			continue;
		if (*n == MAX_STRUCT_OPS)
			return -E2BIG;
		struct bpf_link *l = bpf_map__attach_struct_ops(map);
		long err = libbpf_get_error(l);
		if (err)
			return (int)err;
		links[(*n)++] = l;
	}
	return 0;
}

/* One iteration: open, load, close; phase times into t[0..2], time inside bpf(2) during load
 * into t[3] and the number of bpf calls into t[4]. Returns 0 or a negative errno. */
static int run_once(const char *path, double t[5], const char **stage)
{
	double t0 = now_us();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	double t1 = now_us();
	long err = libbpf_get_error(obj);
	if (err || !obj) {
		*stage = "open";
		return err ? (int)err : -errno;
	}
	double b0 = bpf_us;
	long c0 = bpf_calls;
	struct bpf_link *links[MAX_STRUCT_OPS];
	int nlinks = 0;
	err = bpf_object__load(obj);
	if (!err) {
		err = attach_struct_ops(obj, links, &nlinks);
		if (err)
			*stage = "attach struct_ops";
	} else
		*stage = "load";
	double t2 = now_us();
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	double t3 = now_us();
	/* bpf(2) during load and close (tsbpf's close of a registered struct_ops map is one) */
	t[3] = bpf_us - b0;
	t[4] = bpf_calls - c0;
	if (err)
		return (int)err;
	t[0] = t1 - t0;
	t[1] = t2 - t1;
	t[2] = t3 - t2;
	return 0;
}

static void stats(const char *name, double *s, int n, int with_samples)
{
	double sum = 0;
	if (with_samples) {
		printf("\"%s_samples_us\": [", name);
		for (int i = 0; i < n; i++)
			printf("%s%.2f", i ? "," : "", s[i]);
		printf("], ");
	}
	for (int i = 0; i < n; i++)
		sum += s[i];
	qsort(s, n, sizeof(*s), cmp_double);
	double median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	printf("\"%s\": {\"median_us\": %.2f, \"mean_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f}", name,
	       median, sum / n, s[0], s[n - 1]);
}

/* What the kernel got from one libbpf load of `path`. */
static void describe(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (libbpf_get_error(obj) || !obj || bpf_object__load(obj)) {
		printf("null");
		if (obj && !libbpf_get_error(obj))
			bpf_object__close(obj);
		return;
	}
	struct bpf_program *prog;
	struct bpf_map *map;
	int nmaps = 0;
	bpf_object__for_each_map(map, obj) nmaps++;
	printf("{\"btf_fd\": %s, \"maps\": %d, \"programs\": [", bpf_object__btf_fd(obj) >= 0 ? "true" : "false",
	       nmaps);
	int first = 1;
	bpf_object__for_each_program(prog, obj) {
		int fd = bpf_program__fd(prog);
		if (fd < 0)
			continue;
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		printf("%s{\"name\": ", first ? "" : ", ");
		first = 0;
		json_str(bpf_program__name(prog));
		printf(", \"xlated\": %u, \"jited\": %u, \"verified_insns\": %u, \"nr_func_info\": %u, "
		       "\"nr_line_info\": %u, \"btf\": %s}",
		       info.xlated_prog_len, info.jited_prog_len, info.verified_insns, info.nr_func_info,
		       info.nr_line_info, info.btf_id ? "true" : "false");
	}
	printf("]}");
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	int warm = -1, with_samples = 0, a = 1;
	if (argc == 3 && !strcmp(argv[1], "--once")) {
		double t[5];
		const char *stage = "";
		libbpf_set_print(silent_print);
		return run_once(argv[2], t, &stage) ? 1 : 0;
	}
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--warm") && a + 1 < argc)
			warm = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--samples"))
			with_samples = 1;
		else
			break;
	}
	if (argc - a < 2 || atoi(argv[a]) <= 0) {
		fprintf(stderr, "usage: %s [--warm W] [--samples] N file.bpf.o...\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[a++]);
	if (warm < 0)
		warm = n / 10 > 3 ? n / 10 : 3;
	double *tot = calloc(n, sizeof(double)), *open = calloc(n, sizeof(double));
	double *load = calloc(n, sizeof(double)), *cls = calloc(n, sizeof(double));
	double *kern = calloc(n, sizeof(double));
	double calls = 0;
	libbpf_set_print(silent_print);

	printf("{\n  \"libbpf\": \"%u.%u\",\n  \"n\": %d,\n  \"warm\": %d,\n  \"results\": [", libbpf_major_version(),
	       libbpf_minor_version(), n, warm);
	for (int f = a; f < argc; f++) {
		const char *path = argv[f];
		const char *stage = "";
		double t[5];
		int err = 0;
		last_msg[0] = 0;
		for (int i = 0; i < warm && !err; i++)
			err = run_once(path, t, &stage);
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		for (int i = 0; i < n && !err; i++) {
			err = run_once(path, t, &stage);
			open[i] = t[0];
			load[i] = t[1];
			cls[i] = t[2];
			kern[i] = t[3];
			calls = t[4];
			tot[i] = t[0] + t[1] + t[2];
		}
		getrusage(RUSAGE_SELF, &r1);
		printf("%s\n    {\"file\": ", f == a ? "" : ",");
		json_str(path);
		if (err) {
			printf(", \"ok\": false, \"stage\": \"%s\", \"errno\": %d, \"error\": ", stage, -err);
			json_str(strerror(-err));
			printf(", \"message\": ");
			json_str(last_msg);
			printf("}");
			fflush(stdout);
			continue;
		}
		printf(", \"ok\": true, \"n\": %d, \"user_us_per_iter\": %.2f, \"sys_us_per_iter\": %.2f, ", n,
		       (tv_us(r1.ru_utime) - tv_us(r0.ru_utime)) / n, (tv_us(r1.ru_stime) - tv_us(r0.ru_stime)) / n);
		stats("total", tot, n, with_samples);
		printf(", ");
		stats("open", open, n, with_samples);
		printf(", ");
		stats("load", load, n, with_samples);
		printf(", ");
		stats("close", cls, n, with_samples);
		printf(", ");
		stats("load_bpf", kern, n, with_samples);
		printf(", \"bpf_calls\": %.0f", calls);
		printf(", \"kernel\": ");
		describe(path);
		printf("}");
		fflush(stdout);
	}
	printf("\n  ]\n}\n");
	return 0;
}
