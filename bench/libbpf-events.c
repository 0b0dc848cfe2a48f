/* SPDX-License-Identifier: MIT */
/*
 * The libbpf reference for bench/events.ts: drains a pre-filled ring buffer or perf buffer.
 *
 *   ./libbpf-events ringbuf|perf MAP_PIN PROG_PIN RECORDS [PAGES_PER_CPU]
 *
 * Opens the pinned map and program (events.bpf.o's `ring` / `perf` and `to_ringbuf` /
 * `to_perf`, pinned by bench/events.ts), sets up ring_buffer__new or perf_buffer__new on the
 * map, fills it with BPF_PROG_TEST_RUN (repeat = RECORDS, not timed), then times one
 * ring_buffer__consume / perf_buffer__consume, whose callback adds each record's first 4
 * bytes (the low half of its sequence number) to a sum, as the JS side does. Prints one
 * JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libbpf-bench.h"

static unsigned long long sum, records, lost;

/* CPU time of this process: on a shared machine wall time also counts other processes' turns */
static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int on_ring(void *ctx, void *data, size_t size)
{
	sum += *(unsigned int *)data;
	records++;
	return 0;
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	sum += *(unsigned int *)data;
	records++;
}

static void on_lost(void *ctx, int cpu, __u64 cnt)
{
	lost += cnt;
}

static int fail(const char *what, int err)
{
	printf("{\"ok\":false,\"stage\":");
	json_str(what);
	printf(",\"errno\":%d,\"message\":", err);
	json_str(last_msg);
	printf("}\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s ringbuf|perf MAP_PIN PROG_PIN RECORDS [PAGES_PER_CPU]\n", argv[0]);
		return 2;
	}
	int ring = strcmp(argv[1], "ringbuf") == 0;
	unsigned int n = strtoul(argv[4], NULL, 10);
	size_t pages = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
	libbpf_set_print(silent_print);
	(void)cmp_double; /* shared header helper this reference does not need */

	int map_fd = bpf_obj_get(argv[2]);
	if (map_fd < 0)
		return fail("bpf_obj_get map", errno);
	int prog_fd = bpf_obj_get(argv[3]);
	if (prog_fd < 0)
		return fail("bpf_obj_get prog", errno);

	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	if (ring)
		rb = ring_buffer__new(map_fd, on_ring, NULL, NULL);
	else
		pb = perf_buffer__new(map_fd, pages, on_sample, on_lost, NULL, NULL);
	if (ring ? !rb : !pb)
		return fail(ring ? "ring_buffer__new" : "perf_buffer__new", errno);

	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = n);
	double t0 = now_us();
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return fail("bpf_prog_test_run_opts", errno);
	double fill_us = now_us() - t0;

	double c0 = cpu_us();
	t0 = now_us();
	int r = ring ? ring_buffer__consume(rb) : perf_buffer__consume(pb);
	double us = now_us() - t0;
	double cpu = cpu_us() - c0;
	if (r < 0)
		return fail("consume", -r);

	printf("{\"ok\":true,\"kind\":\"%s\",\"records\":%llu,\"lost\":%llu,\"us\":%.1f,\"cpu_us\":%.1f,\"fill_us\":%.1f,\"sum\":%llu,\"libbpf\":\"%u.%u\"}\n",
	       argv[1], records, lost, us, cpu, fill_us, sum, libbpf_major_version(), libbpf_minor_version());
	if (rb)
		ring_buffer__free(rb);
	if (pb)
		perf_buffer__free(pb);
	return 0;
}
