/* SPDX-License-Identifier: MIT */
/*
 * What bench/libbpf-load.c and bench/libbpf-parse.c share: libbpf's print callback
 * (silenced, the last message kept for error reports), a monotonic clock, a qsort
 * comparator and a JSON string writer. Define LAST_MSG_LEVEL before including to keep
 * messages up to that level (default LIBBPF_WARN). bench/common.ts hashes this header
 * with each source, so changing it rebuilds both references.
 */
#ifndef TSBPF_LIBBPF_BENCH_H
#define TSBPF_LIBBPF_BENCH_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#ifndef LAST_MSG_LEVEL
#define LAST_MSG_LEVEL LIBBPF_WARN
#endif

static char last_msg[512];
static int silent_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level > LAST_MSG_LEVEL)
		return 0;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, args);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (n > 0)
		memcpy(last_msg, buf, n + 1);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#endif
