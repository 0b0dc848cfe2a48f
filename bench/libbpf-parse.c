// SPDX-License-Identifier: MIT
/*
 * libbpf-parse: the libbpf reference for bench/parse.ts.
 *
 *   ./libbpf-parse N file...
 *
 * For a raw BTF file (magic 0xeb9f, e.g. /sys/kernel/btf/vmlinux) it times, N times each:
 *   btf__parse        btf__parse(path) + btf__free            (reads the file)
 *   btf__parse+touch  same, plus btf__type_by_id on every id and
 *                     btf__name_by_offset on every type, member, param and enumerator
 *                     name (comparable to tsbpf decoding every type)
 *   btf__new          btf__new(bytes already in memory) + btf__free   (no file read)
 *   btf__new+touch    same, plus the walk above
 *   btf__parse+find   btf__parse + btf__find_by_name_kind("task_struct", STRUCT) (the first
 *   btf__new+find     lookup through the public API; libbpf scans every type for it)
 * For an ELF object (a .bpf.o) it times:
 *   bpf_object__open_file  bpf_object__open_file(path) + bpf_object__close  (reads the file)
 *   bpf_object__open_mem   bpf_object__open_mem(bytes) + bpf_object__close   (no file read)
 *
 * Each op is warmed up first (max(3, N/10) runs), then timed per iteration with
 * clock_gettime(CLOCK_MONOTONIC). libbpf's print callback is silenced, but the last
 * warning is kept and reported when an open fails. Output: one JSON document on stdout.
 *
 * Build: gcc -O2 -o libbpf-parse libbpf-parse.c -lbpf
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define LAST_MSG_LEVEL LIBBPF_INFO
#include "libbpf-bench.h"

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

static volatile uintptr_t sink;

/* What btf__parse+find / btf__new+find look up (bench/parse.ts asks tsbpf for the same). */
#define FIND_NAME "task_struct"

/* Touch every type and every name in it, as a full decode would. */
static void touch_all(const struct btf *btf)
{
	uintptr_t acc = 0;
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		acc += (uintptr_t)btf__name_by_offset(btf, t->name_off)[0] + t->info;
		uint16_t vlen = btf_vlen(t);
		switch (btf_kind(t)) {
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION: {
			const struct btf_member *m = btf_members(t);
			for (uint16_t i = 0; i < vlen; i++, m++)
				acc += (uintptr_t)btf__name_by_offset(btf, m->name_off)[0] + m->type + m->offset;
			break;
		}
		case BTF_KIND_ENUM: {
			const struct btf_enum *e = btf_enum(t);
			for (uint16_t i = 0; i < vlen; i++, e++)
				acc += (uintptr_t)btf__name_by_offset(btf, e->name_off)[0] + (uint32_t)e->val;
			break;
		}
		case BTF_KIND_ENUM64: {
			const struct btf_enum64 *e = btf_enum64(t);
			for (uint16_t i = 0; i < vlen; i++, e++)
				acc += (uintptr_t)btf__name_by_offset(btf, e->name_off)[0] + e->val_lo32 + e->val_hi32;
			break;
		}
		case BTF_KIND_FUNC_PROTO: {
			const struct btf_param *p = btf_params(t);
			for (uint16_t i = 0; i < vlen; i++, p++)
				acc += (uintptr_t)btf__name_by_offset(btf, p->name_off)[0] + p->type;
			break;
		}
		case BTF_KIND_DATASEC: {
			const struct btf_var_secinfo *v = btf_var_secinfos(t);
			for (uint16_t i = 0; i < vlen; i++, v++)
				acc += v->type + v->offset + v->size;
			break;
		}
		default:
			break;
		}
	}
	sink += acc;
}

enum op { OP_BTF_PARSE, OP_BTF_PARSE_TOUCH, OP_BTF_PARSE_FIND, OP_BTF_NEW, OP_BTF_NEW_TOUCH, OP_BTF_NEW_FIND, OP_OBJ_FILE, OP_OBJ_MEM };
static const char *op_names[] = {
	"btf__parse", "btf__parse+touch", "btf__parse+find", "btf__new", "btf__new+touch", "btf__new+find",
	"bpf_object__open_file", "bpf_object__open_mem",
};

/* One iteration; returns 0 or a negative errno. */
static int run_once(enum op op, const char *path, const uint8_t *bytes, size_t len)
{
	struct btf *btf = NULL;
	struct bpf_object *obj = NULL;
	switch (op) {
	case OP_BTF_PARSE:
	case OP_BTF_PARSE_TOUCH:
	case OP_BTF_PARSE_FIND:
		btf = btf__parse(path, NULL);
		break;
	case OP_BTF_NEW:
	case OP_BTF_NEW_TOUCH:
	case OP_BTF_NEW_FIND:
		btf = btf__new(bytes, len);
		break;
	case OP_OBJ_FILE:
		obj = bpf_object__open_file(path, NULL);
		break;
	case OP_OBJ_MEM:
		obj = bpf_object__open_mem(bytes, len, NULL);
		break;
	}
	if (op <= OP_BTF_NEW_FIND) {
		long err = libbpf_get_error(btf);
		if (err || !btf)
			return err ? (int)err : -errno;
		if (op == OP_BTF_PARSE_TOUCH || op == OP_BTF_NEW_TOUCH)
			touch_all(btf);
		/* the first lookup of the public API's benchmark: a scan of every type in libbpf */
		if (op == OP_BTF_PARSE_FIND || op == OP_BTF_NEW_FIND)
			sink += btf__find_by_name_kind(btf, FIND_NAME, BTF_KIND_STRUCT);
		btf__free(btf);
	} else {
		long err = libbpf_get_error(obj);
		if (err || !obj)
			return err ? (int)err : -errno;
		bpf_object__close(obj);
	}
	return 0;
}

static int first_result = 1;

static void bench(enum op op, const char *path, const uint8_t *bytes, size_t len, int n, double *samples)
{
	int warm = n / 10 > 3 ? n / 10 : 3;
	int err = 0;
	last_msg[0] = 0;
	for (int i = 0; i < warm && !err; i++)
		err = run_once(op, path, bytes, len);
	for (int i = 0; i < n && !err; i++) {
		double t0 = now_us();
		err = run_once(op, path, bytes, len);
		samples[i] = now_us() - t0;
	}
	printf("%s\n    {\"file\": ", first_result ? "" : ",");
	first_result = 0;
	json_str(path);
	printf(", \"op\": \"%s\", ", op_names[op]);
	if (err) {
		printf("\"ok\": false, \"errno\": %d, \"error\": ", -err);
		json_str(strerror(-err));
		printf(", \"message\": ");
		json_str(last_msg);
		printf("}");
		return;
	}
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += samples[i];
	qsort(samples, n, sizeof(*samples), cmp_double);
	double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	printf("\"ok\": true, \"n\": %d, \"median_us\": %.2f, \"mean_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f}",
	       n, median, sum / n, samples[0], samples[n - 1]);
}

int main(int argc, char **argv)
{
	if (argc < 3 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: %s N file...\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[1]);
	double *samples = calloc(n, sizeof(double));
	libbpf_set_print(silent_print);

	printf("{\n  \"libbpf\": \"%u.%u\",\n  \"n\": %d,\n  \"results\": [", libbpf_major_version(),
	       libbpf_minor_version(), n);
	for (int a = 2; a < argc; a++) {
		const char *path = argv[a];
		size_t len = 0;
		uint8_t *bytes = read_all(path, &len);
		if (!bytes) {
			printf("%s\n    {\"file\": ", first_result ? "" : ",");
			first_result = 0;
			json_str(path);
			printf(", \"op\": \"read\", \"ok\": false, \"errno\": %d, \"error\": ", errno);
			json_str(strerror(errno));
			printf("}");
			continue;
		}
		int is_elf = len >= 4 && memcmp(bytes, "\x7f" "ELF", 4) == 0;
		if (is_elf) {
			bench(OP_OBJ_FILE, path, bytes, len, n, samples);
			bench(OP_OBJ_MEM, path, bytes, len, n, samples);
		} else {
			bench(OP_BTF_PARSE, path, bytes, len, n, samples);
			bench(OP_BTF_PARSE_TOUCH, path, bytes, len, n, samples);
			bench(OP_BTF_PARSE_FIND, path, bytes, len, n, samples);
			bench(OP_BTF_NEW, path, bytes, len, n, samples);
			bench(OP_BTF_NEW_TOUCH, path, bytes, len, n, samples);
			bench(OP_BTF_NEW_FIND, path, bytes, len, n, samples);
		}
		free(bytes);
		fflush(stdout);
	}
	printf("\n  ]\n}\n");
	free(samples);
	return 0;
}
