// Golden data for src/spec/sections.ts from the system libbpf (libbpf-dev).
//   gcc -O2 -o /tmp/sec-golden scripts/sec-golden.c -lbpf && /tmp/sec-golden > test/data/sec-golden.json
// Prints, for each section name below, what libbpf_prog_type_by_name() says:
// {"name", "ok", "prog_type", "expected_attach_type"} (numbers of the uapi enums).
// The names: every pattern of libbpf 1.6 section_defs[] with and without extras
// (exact, "/", "/x", "/a/b", glued suffix), plus sections that are not programs.
// Note: libbpf_prog_type_by_name() does not strip a leading "?" (bpf_object__open does).
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static const char *const names[] = {
	"socket", "socket/", "socket/x", "socketx",
	"sk_reuseport/migrate", "sk_reuseport/migrate/", "sk_reuseport/migrate/x", "sk_reuseport/migratex",
	"sk_reuseport", "sk_reuseport/", "sk_reuseport/x", "sk_reuseportx",
	"kprobe", "kprobe/", "kprobe/x", "kprobe/a/b",
	"kprobex", "kprobe.x/y", "uprobe", "uprobe/",
	"uprobe/x", "uprobe/a/b", "uprobex", "uprobe.x/y",
	"uprobe.s", "uprobe.s/", "uprobe.s/x", "uprobe.s/a/b",
	"uprobe.sx", "uprobe.s.x/y", "kretprobe", "kretprobe/",
	"kretprobe/x", "kretprobe/a/b", "kretprobex", "kretprobe.x/y",
	"uretprobe", "uretprobe/", "uretprobe/x", "uretprobe/a/b",
	"uretprobex", "uretprobe.x/y", "uretprobe.s", "uretprobe.s/",
	"uretprobe.s/x", "uretprobe.s/a/b", "uretprobe.sx", "uretprobe.s.x/y",
	"kprobe.multi", "kprobe.multi/", "kprobe.multi/x", "kprobe.multi/a/b",
	"kprobe.multix", "kprobe.multi.x/y", "kretprobe.multi", "kretprobe.multi/",
	"kretprobe.multi/x", "kretprobe.multi/a/b", "kretprobe.multix", "kretprobe.multi.x/y",
	"kprobe.session", "kprobe.session/", "kprobe.session/x", "kprobe.session/a/b",
	"kprobe.sessionx", "kprobe.session.x/y", "uprobe.multi", "uprobe.multi/",
	"uprobe.multi/x", "uprobe.multi/a/b", "uprobe.multix", "uprobe.multi.x/y",
	"uretprobe.multi", "uretprobe.multi/", "uretprobe.multi/x", "uretprobe.multi/a/b",
	"uretprobe.multix", "uretprobe.multi.x/y", "uprobe.session", "uprobe.session/",
	"uprobe.session/x", "uprobe.session/a/b", "uprobe.sessionx", "uprobe.session.x/y",
	"uprobe.multi.s", "uprobe.multi.s/", "uprobe.multi.s/x", "uprobe.multi.s/a/b",
	"uprobe.multi.sx", "uprobe.multi.s.x/y", "uretprobe.multi.s", "uretprobe.multi.s/",
	"uretprobe.multi.s/x", "uretprobe.multi.s/a/b", "uretprobe.multi.sx", "uretprobe.multi.s.x/y",
	"uprobe.session.s", "uprobe.session.s/", "uprobe.session.s/x", "uprobe.session.s/a/b",
	"uprobe.session.sx", "uprobe.session.s.x/y", "ksyscall", "ksyscall/",
	"ksyscall/x", "ksyscall/a/b", "ksyscallx", "ksyscall.x/y",
	"kretsyscall", "kretsyscall/", "kretsyscall/x", "kretsyscall/a/b",
	"kretsyscallx", "kretsyscall.x/y", "usdt", "usdt/",
	"usdt/x", "usdt/a/b", "usdtx", "usdt.x/y",
	"usdt.s", "usdt.s/", "usdt.s/x", "usdt.s/a/b",
	"usdt.sx", "usdt.s.x/y", "tc/ingress", "tc/ingress/",
	"tc/ingress/x", "tc/ingressx", "tc/egress", "tc/egress/",
	"tc/egress/x", "tc/egressx", "tcx/ingress", "tcx/ingress/",
	"tcx/ingress/x", "tcx/ingressx", "tcx/egress", "tcx/egress/",
	"tcx/egress/x", "tcx/egressx", "tc", "tc/",
	"tc/x", "tcx", "classifier", "classifier/",
	"classifier/x", "classifierx", "action", "action/",
	"action/x", "actionx", "netkit/primary", "netkit/primary/",
	"netkit/primary/x", "netkit/primaryx", "netkit/peer", "netkit/peer/",
	"netkit/peer/x", "netkit/peerx", "tracepoint", "tracepoint/",
	"tracepoint/x", "tracepoint/a/b", "tracepointx", "tracepoint.x/y",
	"tp", "tp/", "tp/x", "tp/a/b",
	"tpx", "tp.x/y", "raw_tracepoint", "raw_tracepoint/",
	"raw_tracepoint/x", "raw_tracepoint/a/b", "raw_tracepointx", "raw_tracepoint.x/y",
	"raw_tp", "raw_tp/", "raw_tp/x", "raw_tp/a/b",
	"raw_tpx", "raw_tp.x/y", "raw_tracepoint.w", "raw_tracepoint.w/",
	"raw_tracepoint.w/x", "raw_tracepoint.w/a/b", "raw_tracepoint.wx", "raw_tracepoint.w.x/y",
	"raw_tp.w", "raw_tp.w/", "raw_tp.w/x", "raw_tp.w/a/b",
	"raw_tp.wx", "raw_tp.w.x/y", "tp_btf", "tp_btf/",
	"tp_btf/x", "tp_btf/a/b", "tp_btfx", "tp_btf.x/y",
	"fentry", "fentry/", "fentry/x", "fentry/a/b",
	"fentryx", "fentry.x/y", "fmod_ret", "fmod_ret/",
	"fmod_ret/x", "fmod_ret/a/b", "fmod_retx", "fmod_ret.x/y",
	"fexit", "fexit/", "fexit/x", "fexit/a/b",
	"fexitx", "fexit.x/y", "fentry.s", "fentry.s/",
	"fentry.s/x", "fentry.s/a/b", "fentry.sx", "fentry.s.x/y",
	"fmod_ret.s", "fmod_ret.s/", "fmod_ret.s/x", "fmod_ret.s/a/b",
	"fmod_ret.sx", "fmod_ret.s.x/y", "fexit.s", "fexit.s/",
	"fexit.s/x", "fexit.s/a/b", "fexit.sx", "fexit.s.x/y",
	"freplace", "freplace/", "freplace/x", "freplace/a/b",
	"freplacex", "freplace.x/y", "lsm", "lsm/",
	"lsm/x", "lsm/a/b", "lsmx", "lsm.x/y",
	"lsm.s", "lsm.s/", "lsm.s/x", "lsm.s/a/b",
	"lsm.sx", "lsm.s.x/y", "lsm_cgroup", "lsm_cgroup/",
	"lsm_cgroup/x", "lsm_cgroup/a/b", "lsm_cgroupx", "lsm_cgroup.x/y",
	"iter", "iter/", "iter/x", "iter/a/b",
	"iterx", "iter.x/y", "iter.s", "iter.s/",
	"iter.s/x", "iter.s/a/b", "iter.sx", "iter.s.x/y",
	"syscall", "syscall/", "syscall/x", "syscallx",
	"xdp.frags/devmap", "xdp.frags/devmap/", "xdp.frags/devmap/x", "xdp.frags/devmapx",
	"xdp/devmap", "xdp/devmap/", "xdp/devmap/x", "xdp/devmapx",
	"xdp.frags/cpumap", "xdp.frags/cpumap/", "xdp.frags/cpumap/x", "xdp.frags/cpumapx",
	"xdp/cpumap", "xdp/cpumap/", "xdp/cpumap/x", "xdp/cpumapx",
	"xdp.frags", "xdp.frags/", "xdp.frags/x", "xdp.fragsx",
	"xdp", "xdp/", "xdp/x", "xdpx",
	"perf_event", "perf_event/", "perf_event/x", "perf_eventx",
	"lwt_in", "lwt_in/", "lwt_in/x", "lwt_inx",
	"lwt_out", "lwt_out/", "lwt_out/x", "lwt_outx",
	"lwt_xmit", "lwt_xmit/", "lwt_xmit/x", "lwt_xmitx",
	"lwt_seg6local", "lwt_seg6local/", "lwt_seg6local/x", "lwt_seg6localx",
	"sockops", "sockops/", "sockops/x", "sockopsx",
	"sk_skb/stream_parser", "sk_skb/stream_parser/", "sk_skb/stream_parser/x", "sk_skb/stream_parserx",
	"sk_skb/stream_verdict", "sk_skb/stream_verdict/", "sk_skb/stream_verdict/x", "sk_skb/stream_verdictx",
	"sk_skb/verdict", "sk_skb/verdict/", "sk_skb/verdict/x", "sk_skb/verdictx",
	"sk_skb", "sk_skb/", "sk_skb/x", "sk_skbx",
	"sk_msg", "sk_msg/", "sk_msg/x", "sk_msgx",
	"lirc_mode2", "lirc_mode2/", "lirc_mode2/x", "lirc_mode2x",
	"flow_dissector", "flow_dissector/", "flow_dissector/x", "flow_dissectorx",
	"cgroup_skb/ingress", "cgroup_skb/ingress/", "cgroup_skb/ingress/x", "cgroup_skb/ingressx",
	"cgroup_skb/egress", "cgroup_skb/egress/", "cgroup_skb/egress/x", "cgroup_skb/egressx",
	"cgroup/skb", "cgroup/skb/", "cgroup/skb/x", "cgroup/skbx",
	"cgroup/sock_create", "cgroup/sock_create/", "cgroup/sock_create/x", "cgroup/sock_createx",
	"cgroup/sock_release", "cgroup/sock_release/", "cgroup/sock_release/x", "cgroup/sock_releasex",
	"cgroup/sock", "cgroup/sock/", "cgroup/sock/x", "cgroup/sockx",
	"cgroup/post_bind4", "cgroup/post_bind4/", "cgroup/post_bind4/x", "cgroup/post_bind4x",
	"cgroup/post_bind6", "cgroup/post_bind6/", "cgroup/post_bind6/x", "cgroup/post_bind6x",
	"cgroup/bind4", "cgroup/bind4/", "cgroup/bind4/x", "cgroup/bind4x",
	"cgroup/bind6", "cgroup/bind6/", "cgroup/bind6/x", "cgroup/bind6x",
	"cgroup/connect4", "cgroup/connect4/", "cgroup/connect4/x", "cgroup/connect4x",
	"cgroup/connect6", "cgroup/connect6/", "cgroup/connect6/x", "cgroup/connect6x",
	"cgroup/connect_unix", "cgroup/connect_unix/", "cgroup/connect_unix/x", "cgroup/connect_unixx",
	"cgroup/sendmsg4", "cgroup/sendmsg4/", "cgroup/sendmsg4/x", "cgroup/sendmsg4x",
	"cgroup/sendmsg6", "cgroup/sendmsg6/", "cgroup/sendmsg6/x", "cgroup/sendmsg6x",
	"cgroup/sendmsg_unix", "cgroup/sendmsg_unix/", "cgroup/sendmsg_unix/x", "cgroup/sendmsg_unixx",
	"cgroup/recvmsg4", "cgroup/recvmsg4/", "cgroup/recvmsg4/x", "cgroup/recvmsg4x",
	"cgroup/recvmsg6", "cgroup/recvmsg6/", "cgroup/recvmsg6/x", "cgroup/recvmsg6x",
	"cgroup/recvmsg_unix", "cgroup/recvmsg_unix/", "cgroup/recvmsg_unix/x", "cgroup/recvmsg_unixx",
	"cgroup/getpeername4", "cgroup/getpeername4/", "cgroup/getpeername4/x", "cgroup/getpeername4x",
	"cgroup/getpeername6", "cgroup/getpeername6/", "cgroup/getpeername6/x", "cgroup/getpeername6x",
	"cgroup/getpeername_unix", "cgroup/getpeername_unix/", "cgroup/getpeername_unix/x", "cgroup/getpeername_unixx",
	"cgroup/getsockname4", "cgroup/getsockname4/", "cgroup/getsockname4/x", "cgroup/getsockname4x",
	"cgroup/getsockname6", "cgroup/getsockname6/", "cgroup/getsockname6/x", "cgroup/getsockname6x",
	"cgroup/getsockname_unix", "cgroup/getsockname_unix/", "cgroup/getsockname_unix/x", "cgroup/getsockname_unixx",
	"cgroup/sysctl", "cgroup/sysctl/", "cgroup/sysctl/x", "cgroup/sysctlx",
	"cgroup/getsockopt", "cgroup/getsockopt/", "cgroup/getsockopt/x", "cgroup/getsockoptx",
	"cgroup/setsockopt", "cgroup/setsockopt/", "cgroup/setsockopt/x", "cgroup/setsockoptx",
	"cgroup/dev", "cgroup/dev/", "cgroup/dev/x", "cgroup/devx",
	"struct_ops", "struct_ops/", "struct_ops/x", "struct_ops/a/b",
	"struct_opsx", "struct_ops.x/y", "struct_ops.s", "struct_ops.s/",
	"struct_ops.s/x", "struct_ops.s/a/b", "struct_ops.sx", "struct_ops.s.x/y",
	"sk_lookup", "sk_lookup/", "sk_lookup/x", "sk_lookupx",
	"netfilter", "netfilter/", "netfilter/x", "netfilterx",
	".text", "license", ".maps", "maps",
	"foo", "", "/", ".rodata",
	".data", ".bss", ".BTF", ".BTF.ext",
	".struct_ops", ".struct_ops.link", ".kconfig", ".ksyms",
	"version", "xdpfoo", "xdp_devmap/x", "xdp_cpumap/x",
	"?xdp", "?kprobe/foo", "?fentry/bpf_fentry_test1", "??xdp",
	"kprobe/do_sys_open", "kretprobe/do_sys_open", "kprobe/do_sys_open+0x10", "uprobe//bin/bash:readline",
	"uretprobe//proc/self/exe:foo", "uprobe.s//bin/true:main", "usdt/libc.so.6:libc:setjmp", "fentry/bpf_fentry_test1",
	"fexit/bpf_fentry_test1", "fmod_ret/bpf_modify_return_test", "tp_btf/sched_switch", "lsm/file_open",
	"lsm.s/file_open", "lsm_cgroup/socket_bind", "iter/task", "iter.s/task",
	"iter/bpf_map_elem", "raw_tp/sys_enter", "raw_tracepoint/sys_enter", "raw_tp.w/bpf_test_finish",
	"tp/syscalls/sys_enter_write", "tracepoint/sched/sched_switch", "ksyscall/openat", "kretsyscall/openat",
	"kprobe.multi/bpf_fentry_test*", "uprobe.multi//bin/bash:readline", "uprobe.session//bin/bash:readline", "struct_ops/ssthresh",
	"freplace/new_get_skb_len", "sk_skb/skb_verdict", "socket1", "socket/0",
	"tc/foo", "xdp/foo", "kprobe.multi2/x", "KPROBE/x",
	" kprobe/x", "kprobe /x",
};

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level; (void)fmt; (void)args;
	return 0;
}

int main(void)
{
	size_t i, n = sizeof(names) / sizeof(names[0]);

	libbpf_set_print(quiet);
	printf("{\n  \"libbpf\": \"%s\",\n  \"names\": [\n", libbpf_version_string());
	for (i = 0; i < n; i++) {
		enum bpf_prog_type pt = 0;
		enum bpf_attach_type at = 0;
		int err = libbpf_prog_type_by_name(names[i], &pt, &at);

		printf("    {\"name\": ");
		json_str(names[i]);
		if (err)
			printf(", \"ok\": false, \"prog_type\": null, \"expected_attach_type\": null}");
		else
			printf(", \"ok\": true, \"prog_type\": %d, \"expected_attach_type\": %d}", (int)pt, (int)at);
		printf("%s\n", i + 1 < n ? "," : "");
	}
	printf("  ]\n}\n");
	return 0;
}
