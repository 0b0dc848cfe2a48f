// SPDX-License-Identifier: MIT
/*
 * libbpf-verdict: libbpf's verdict on BPF objects, the reference of scripts/parity/bootstrap.sh.
 *
 *   ./libbpf-verdict file.bpf.o...
 *
 * For each object: bpf_object__open_file; if that fails, one line
 *   OBJ	-	open-failed	<errno name>	<libbpf's first warning>
 * else, for each program, the object opened again with only that program autoloaded and
 * bpf_object__load'ed (libbpf loads all-or-nothing; this gives one verdict per program,
 * as tsbpf's CLI reports them), then, when it loaded, bpf_program__attach'ed (auto-attach
 * from its SEC() name) and detached; one line
 *   OBJ	PROG	accepted|rejected	<errno name or ->	<libbpf's first warning or ->
 *   	attached|skipped|failed|-	<errno name or ->	<libbpf's first warning or ->
 * Lines are tab-separated. libbpf's DEBUG / INFO output and the verifier log are dropped;
 * the first WARN line of the attempt is kept as the reason.
 *
 * Build: gcc -O2 -o libbpf-verdict libbpf-verdict.c -lbpf
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

static char first_warn[512];

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[4096];
	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* skip the verifier log dump and the "-- BEGIN/END PROG LOAD LOG --" frame */
	if (strstr(line, "PROG LOAD LOG") || strchr(line, '\n') != strrchr(line, '\n'))
		return 0;
	line[strcspn(line, "\n")] = 0;
	for (char *p = line; *p; p++)
		if (*p == '\t')
			*p = ' ';
	/* the first warning says why; the ones after it only that the load failed */
	if (line[0] && !first_warn[0])
		snprintf(first_warn, sizeof(first_warn), "%.500s", line);
	return 0;
}

/* "EINVAL", or "E524" for numbers glibc has no name for (ENOTSUPP is kernel-internal) */
static const char *errname(int err)
{
	static char buf[16];
	const char *name;

	err = err < 0 ? -err : err;
	if (err == 524)
		return "ENOTSUPP";
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/*
 * The attach columns: bpf_program__attach (auto-attach from the SEC() name, as a skeleton's
 * attach does): attached, skipped (EOPNOTSUPP: the section names no target, which
 * bpf_object__attach_skeleton skips too) or failed with the errno and the first warning.
 */
static void print_attach(struct bpf_program *prog)
{
	struct bpf_link *link;
	int err;

	if (!prog) {
		printf("-\t-\t-\n");
		return;
	}
	first_warn[0] = 0;
	link = bpf_program__attach(prog);
	err = libbpf_get_error(link);
	if (!err) {
		printf("attached\t-\t-\n");
		bpf_link__destroy(link);
	} else if (err == -EOPNOTSUPP) {
		printf("skipped\t-\t-\n");
	} else {
		printf("failed\t%s\t%s\n", errname(err), first_warn[0] ? first_warn : "-");
	}
}

static void verdict(const char *path)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	int err, n = 0;

	first_warn[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	err = libbpf_get_error(obj);
	if (err) {
		printf("%s\t-\topen-failed\t%s\t%s\n", path, errname(err), first_warn[0] ? first_warn : "-");
		return;
	}
	bpf_object__for_each_program(p, obj) n++;
	bpf_object__close(obj);

	for (int i = 0; i < n; i++) {
		struct bpf_program *mine = NULL;
		int j = 0;

		first_warn[0] = 0;
		obj = bpf_object__open_file(path, NULL);
		if (libbpf_get_error(obj))
			return;
		bpf_object__for_each_program(p, obj) {
			bpf_program__set_autoload(p, j == i);
			if (j == i)
				mine = p;
			j++;
		}
		err = bpf_object__load(obj);
		printf("%s\t%s\t%s\t%s\t%s\t", path, bpf_program__name(mine), err ? "rejected" : "accepted",
		       err ? errname(err) : "-", err && first_warn[0] ? first_warn : "-");
		print_attach(err ? NULL : mine);
		bpf_object__close(obj);
	}
}

int main(int argc, char **argv)
{
	libbpf_set_print(print_fn);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	for (int i = 1; i < argc; i++)
		verdict(argv[i]);
	return 0;
}
