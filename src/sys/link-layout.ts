/**
 * Layouts of the bpf(2) link commands beyond the base BPF_LINK_CREATE of layout.ts: one
 * table per member of link_create's union, BPF_LINK_UPDATE, BPF_PROG_ATTACH / _DETACH,
 * and the per-type parts of struct bpf_link_info. Checked against <linux/bpf.h> as the
 * others; fields with `since` are newer than that header (ADDED BY HAND from the kernel's
 * include/uapi/linux/bpf.h) and sit after the header's fields of their table.
 */
import { layout, ptr, u32, u64, type Field } from './layout.js';

const ATTR = 'union bpf_attr';
const INFO = 'struct bpf_link_info';

/** The head every link_create variant shares. */
const HEAD = {
  prog_fd: u32(0),
  target_fd: u32(4),
  target_ifindex: u32(4),
  attach_type: u32(8),
  flags: u32(12),
};

function linkCreate<F extends string>(name: string, fields: Record<F, Field>) {
  return layout(`BPF_LINK_CREATE(${name})`, ATTR, 'link_create.', { ...HEAD, ...fields });
}

/** kprobe / uprobe / tracepoint / perf_event programs on a perf event fd (Linux 5.15). */
export const LINK_CREATE_PERF_EVENT = linkCreate('perf_event', {
  'perf_event.bpf_cookie': u64(16),
});

/** BPF_TRACE_KPROBE_MULTI (Linux 5.18). */
export const LINK_CREATE_KPROBE_MULTI = linkCreate('kprobe_multi', {
  'kprobe_multi.flags': u32(16),
  'kprobe_multi.cnt': u32(20),
  'kprobe_multi.syms': ptr(24),
  'kprobe_multi.addrs': ptr(32),
  'kprobe_multi.cookies': ptr(40),
});

/** BPF_TCX_INGRESS / _EGRESS (Linux 6.6): ADDED BY HAND. */
export const LINK_CREATE_TCX = linkCreate('tcx', {
  'tcx.relative_fd': u32(16, '6.6'),
  'tcx.expected_revision': u64(24, '6.6'),
});

/** BPF_TRACE_UPROBE_MULTI (Linux 6.6): ADDED BY HAND. */
export const LINK_CREATE_UPROBE_MULTI = linkCreate('uprobe_multi', {
  'uprobe_multi.path': ptr(16, '6.6'),
  'uprobe_multi.offsets': ptr(24, '6.6'),
  'uprobe_multi.ref_ctr_offsets': ptr(32, '6.6'),
  'uprobe_multi.cookies': ptr(40, '6.6'),
  'uprobe_multi.cnt': u32(48, '6.6'),
  'uprobe_multi.flags': u32(52, '6.6'),
  'uprobe_multi.pid': u32(56, '6.6'),
});

/** BPF_LINK_UPDATE (Linux 5.7) */
export const LINK_UPDATE = layout('BPF_LINK_UPDATE', ATTR, 'link_update.', {
  link_fd: u32(0),
  new_prog_fd: u32(4),
  flags: u32(8),
  old_prog_fd: u32(12),
});

/** BPF_LINK_DETACH (Linux 5.9) */
export const LINK_DETACH = layout('BPF_LINK_DETACH', ATTR, 'link_detach.', {
  link_fd: u32(0),
});

/** BPF_PROG_ATTACH / BPF_PROG_DETACH */
export const PROG_ATTACH = layout('BPF_PROG_ATTACH', ATTR, '', {
  target_fd: u32(0),
  attach_bpf_fd: u32(4),
  attach_type: u32(8),
  attach_flags: u32(12),
  replace_bpf_fd: u32(16),
});

/** BPF_PROG_QUERY: the programs attached to a cgroup, map, netns or interface (tcx: also links). */
export const PROG_QUERY = layout('BPF_PROG_QUERY', ATTR, 'query.', {
  target_fd: u32(0),
  attach_type: u32(4),
  query_flags: u32(8),
  attach_flags: u32(12),
  prog_ids: ptr(16),
  prog_cnt: u32(24),
  prog_attach_flags: ptr(32),
});

const INFO_HEAD = { type: u32(0), id: u32(4), prog_id: u32(8) };

function info<F extends string>(name: string, fields: Record<F, Field>) {
  return layout(`bpf_link_info(${name})`, INFO, '', { ...INFO_HEAD, ...fields });
}

/** Per-type parts of struct bpf_link_info. */
export const LINK_INFO_RAW_TRACEPOINT = info('raw_tracepoint', {
  'raw_tracepoint.tp_name': ptr(16),
  'raw_tracepoint.tp_name_len': u32(24),
});
export const LINK_INFO_TRACING = info('tracing', {
  'tracing.attach_type': u32(16),
  'tracing.target_obj_id': u32(20),
  'tracing.target_btf_id': u32(24),
});
export const LINK_INFO_CGROUP = info('cgroup', {
  'cgroup.cgroup_id': u64(16),
  'cgroup.attach_type': u32(24),
});
export const LINK_INFO_ITER = info('iter', {
  'iter.target_name': ptr(16),
  'iter.target_name_len': u32(24),
});
export const LINK_INFO_NETNS = info('netns', {
  'netns.netns_ino': u32(16),
  'netns.attach_type': u32(20),
});
export const LINK_INFO_XDP = info('xdp', {
  'xdp.ifindex': u32(16),
});
/** Linux 6.4: ADDED BY HAND. */
export const LINK_INFO_STRUCT_OPS = info('struct_ops', {
  'struct_ops.map_id': u32(16, '6.4'),
});
/** Linux 6.4 (missed: 6.9): ADDED BY HAND. */
export const LINK_INFO_KPROBE_MULTI = info('kprobe_multi', {
  'kprobe_multi.addrs': ptr(16, '6.4'),
  'kprobe_multi.count': u32(24, '6.4'),
  'kprobe_multi.flags': u32(28, '6.4'),
  'kprobe_multi.missed': u64(32, '6.9'),
});
/** Linux 6.8: ADDED BY HAND. */
export const LINK_INFO_UPROBE_MULTI = info('uprobe_multi', {
  'uprobe_multi.path': ptr(16, '6.8'),
  'uprobe_multi.offsets': ptr(24, '6.8'),
  'uprobe_multi.path_size': u32(48, '6.8'),
  'uprobe_multi.count': u32(52, '6.8'),
  'uprobe_multi.flags': u32(56, '6.8'),
  'uprobe_multi.pid': u32(60, '6.8'),
});
/**
 * Linux 6.6: ADDED BY HAND. The union after `type` (at 24) is read as the member the type
 * says: uprobe { file_name, name_len, offset }, kprobe { func_name, name_len, offset, addr },
 * tracepoint { tp_name, name_len }, event { config, type }.
 */
export const LINK_INFO_PERF_EVENT = info('perf_event', {
  'perf_event.type': u32(16, '6.6'),
  'perf_event.name': ptr(24, '6.6'),
  'perf_event.name_len': u32(32, '6.6'),
  'perf_event.offset': u32(36, '6.6'),
  'perf_event.addr': u64(40, '6.6'),
  'perf_event.event.config': u64(24, '6.6'),
  'perf_event.event.type': u32(32, '6.6'),
});
/** Linux 6.6 / 6.7: ADDED BY HAND. tcx and netkit share the layout. */
export const LINK_INFO_TCX = info('tcx', {
  'tcx.ifindex': u32(16, '6.6'),
  'tcx.attach_type': u32(20, '6.6'),
});
/** Linux 6.10: ADDED BY HAND. */
export const LINK_INFO_SOCKMAP = info('sockmap', {
  'sockmap.map_id': u32(16, '6.10'),
  'sockmap.attach_type': u32(20, '6.10'),
});

/** sizeof(struct bpf_link_info) in Linux 6.18 (older kernels take a larger buffer with a zero tail). */
export const LINK_INFO_BUF_SIZE = 64;

/** enum bpf_perf_event_type (Linux 6.6): ADDED BY HAND. */
export const BPF_PERF_EVENT_TYPES = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'] as const;

/** Attach flags (<linux/bpf.h> BPF_F_* of BPF_PROG_ATTACH / BPF_LINK_CREATE). */
export const BPF_F_ALLOW_OVERRIDE = 1;
export const BPF_F_ALLOW_MULTI = 2;
export const BPF_F_REPLACE = 4;
/** BPF_F_KPROBE_MULTI_RETURN / BPF_F_UPROBE_MULTI_RETURN */
export const BPF_F_KPROBE_MULTI_RETURN = 1;
export const BPF_F_UPROBE_MULTI_RETURN = 1;
/** <linux/if_link.h> XDP_FLAGS_* */
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;
export const XDP_FLAGS_HW_MODE = 8;

/** The constants above that the system headers define, for the probe. */
export const LINK_CONSTANTS = {
  'linux/bpf.h': { BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BPF_F_KPROBE_MULTI_RETURN },
  'linux/if_link.h': { XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE },
} as const;

/** The tables here, for the offset probe. */
export const LINK_LAYOUTS = [
  LINK_CREATE_PERF_EVENT, LINK_CREATE_KPROBE_MULTI, LINK_CREATE_TCX, LINK_CREATE_UPROBE_MULTI,
  LINK_UPDATE, LINK_DETACH, PROG_ATTACH, PROG_QUERY,
  LINK_INFO_RAW_TRACEPOINT, LINK_INFO_TRACING, LINK_INFO_CGROUP, LINK_INFO_ITER, LINK_INFO_NETNS,
  LINK_INFO_XDP, LINK_INFO_STRUCT_OPS, LINK_INFO_KPROBE_MULTI, LINK_INFO_UPROBE_MULTI,
  LINK_INFO_PERF_EVENT, LINK_INFO_TCX, LINK_INFO_SOCKMAP,
];
