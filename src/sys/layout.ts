/**
 * Byte layouts of `union bpf_attr` (one table per command) and of the info structs,
 * taken from the uapi header <linux/bpf.h> (linux-libc-dev, Linux 6.1 here).
 *
 * Every field without `since` is checked by test/unit/sys-offsets.test.ts against the
 * header with a compiled `offsetof` probe. Fields with `since` are newer than that header
 * and were ADDED BY HAND from the kernel's include/uapi/linux/bpf.h; the probe skips them.
 * An attr is sent with the size of its last header field (like libbpf's
 * `offsetofend`), grown to cover a newer field only when that field is set, so older
 * kernels never see bytes they do not know (they would answer E2BIG).
 */

export type FieldKind =
  /** __u32 / __s32 */
  | 'u32'
  /** __u64 */
  | 'u64'
  /** __aligned_u64 holding a user pointer */
  | 'ptr'
  /** char[N] / __u8[N] */
  | 'bytes'
  /** __u16 (netlink and perf structs) */
  | 'u16'
  /** __u8 */
  | 'u8';

export interface Field {
  readonly off: number;
  readonly size: number;
  readonly kind: FieldKind;
  /** Linux release that added the field when it is newer than the header. */
  readonly since?: string;
}

export interface Layout<F extends string = string> {
  /** Name used in messages and by the probe, e.g. 'BPF_PROG_TEST_RUN'. */
  readonly name: string;
  /** C type: 'union bpf_attr' or 'struct bpf_prog_info'. */
  readonly ctype: string;
  /** Member path prefix inside `ctype` ('' for anonymous structs, 'test.' for named). */
  readonly member: string;
  readonly fields: Readonly<Record<F, Field>>;
  /** End of the last field known to the header: the size sent to the kernel. */
  readonly size: number;
  /** The uapi header that defines `ctype` (for the offset probe); default linux/bpf.h. */
  readonly header?: string;
}

export const u32 = (off: number, since?: string): Field => ({ off, size: 4, kind: 'u32', since });
export const u64 = (off: number, since?: string): Field => ({ off, size: 8, kind: 'u64', since });
export const ptr = (off: number, since?: string): Field => ({ off, size: 8, kind: 'ptr', since });
export const bytes = (off: number, size: number): Field => ({ off, size, kind: 'bytes' });
export const u16 = (off: number, since?: string): Field => ({ off, size: 2, kind: 'u16', since });
export const u8 = (off: number, since?: string): Field => ({ off, size: 1, kind: 'u8', since });

/** A table: its size is the end of the last field the header knows. */
export function layout<F extends string>(name: string, ctype: string, member: string, fields: Record<F, Field>, header?: string): Layout<F> {
  let size = 0;
  for (const f of Object.values<Field>(fields)) if (!f.since) size = Math.max(size, f.off + f.size);
  return header ? { name, ctype, member, fields, size, header } : { name, ctype, member, fields, size };
}

const ATTR = 'union bpf_attr';

/** BPF_MAP_CREATE */
export const MAP_CREATE = layout('BPF_MAP_CREATE', ATTR, '', {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: bytes(28, 16),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
  // ADDED BY HAND (Linux 6.9): BTF object fd of btf_vmlinux_value_type_id, BPF token fd.
  value_type_btf_obj_fd: u32(72, '6.9'),
  map_token_fd: u32(76, '6.9'),
});

/** BPF_MAP_LOOKUP_ELEM, _UPDATE_ELEM, _DELETE_ELEM, _GET_NEXT_KEY, _LOOKUP_AND_DELETE_ELEM */
export const MAP_ELEM = layout('BPF_MAP_*_ELEM', ATTR, '', {
  map_fd: u32(0),
  key: ptr(8),
  value: ptr(16),
  next_key: ptr(16),
  flags: u64(24),
});

/** BPF_MAP_FREEZE: only map_fd of the *_ELEM struct (libbpf sends offsetofend(map_fd)). */
export const MAP_FD = layout('BPF_MAP_FREEZE', ATTR, '', {
  map_fd: u32(0),
});

/** BPF_MAP_LOOKUP_BATCH, _LOOKUP_AND_DELETE_BATCH, _UPDATE_BATCH, _DELETE_BATCH */
export const MAP_BATCH = layout('BPF_MAP_*_BATCH', ATTR, 'batch.', {
  in_batch: ptr(0),
  out_batch: ptr(8),
  keys: ptr(16),
  values: ptr(24),
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
});

/** BPF_PROG_LOAD */
export const PROG_LOAD = layout('BPF_PROG_LOAD', ATTR, '', {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: ptr(8),
  license: ptr(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: ptr(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: bytes(48, 16),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: ptr(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: ptr(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  attach_prog_fd: u32(112),
  attach_btf_obj_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: ptr(120),
  core_relos: ptr(128),
  core_relo_rec_size: u32(136),
  // ADDED BY HAND: output, size the log needed (6.4); BPF token fd (6.9); fd_array length (6.14).
  log_true_size: u32(140, '6.4'),
  prog_token_fd: u32(144, '6.9'),
  fd_array_cnt: u32(148, '6.14'),
});

/** BPF_OBJ_PIN, BPF_OBJ_GET */
export const OBJ = layout('BPF_OBJ_*', ATTR, '', {
  pathname: ptr(0),
  bpf_fd: u32(8),
  file_flags: u32(12),
  // ADDED BY HAND (6.5): directory fd that a relative pathname is resolved against (BPF_F_PATH_FD).
  path_fd: u32(16, '6.5'),
});

/** BPF_PROG_TEST_RUN */
export const PROG_TEST_RUN = layout('BPF_PROG_TEST_RUN', ATTR, 'test.', {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  data_size_out: u32(12),
  data_in: ptr(16),
  data_out: ptr(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: ptr(48),
  ctx_out: ptr(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
});

/** BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID */
export const GET_ID = layout('BPF_*_GET_*_ID', ATTR, '', {
  start_id: u32(0),
  prog_id: u32(0),
  map_id: u32(0),
  btf_id: u32(0),
  link_id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
});

/** BPF_OBJ_GET_INFO_BY_FD */
export const OBJ_GET_INFO = layout('BPF_OBJ_GET_INFO_BY_FD', ATTR, 'info.', {
  bpf_fd: u32(0),
  info_len: u32(4),
  info: ptr(8),
});

/** BPF_BTF_LOAD */
export const BTF_LOAD = layout('BPF_BTF_LOAD', ATTR, '', {
  btf: ptr(0),
  btf_log_buf: ptr(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
  // ADDED BY HAND: output, size the log needed (6.4); flags and BPF token fd (6.9).
  btf_log_true_size: u32(28, '6.4'),
  btf_flags: u32(32, '6.9'),
  btf_token_fd: u32(36, '6.9'),
});

/** BPF_PROG_BIND_MAP */
export const PROG_BIND_MAP = layout('BPF_PROG_BIND_MAP', ATTR, 'prog_bind_map.', {
  prog_fd: u32(0),
  map_fd: u32(4),
  flags: u32(8),
});

/** BPF_RAW_TRACEPOINT_OPEN: raw_tp by name; tp_btf / fentry / fexit / fmod_ret / lsm / freplace with name NULL. */
export const RAW_TRACEPOINT_OPEN = layout('BPF_RAW_TRACEPOINT_OPEN', ATTR, 'raw_tracepoint.', {
  name: ptr(0),
  prog_fd: u32(8),
});

/** BPF_LINK_CREATE (the fields tsbpf sends). */
export const LINK_CREATE = layout('BPF_LINK_CREATE', ATTR, 'link_create.', {
  prog_fd: u32(0),
  target_fd: u32(4),
  attach_type: u32(8),
  flags: u32(12),
  // Linux 6.4+: with attach_type BPF_STRUCT_OPS, prog_fd is read as the struct_ops map's fd (union map_fd).
  target_btf_id: u32(16),
  // BPF_TRACE_ITER: union bpf_iter_link_info (map_fd, cgroup, task), in the same union as target_btf_id
  iter_info: ptr(16),
  iter_info_len: u32(24),
});

/** BPF_ITER_CREATE: a readable fd from an iterator link. */
export const ITER_CREATE = layout('BPF_ITER_CREATE', ATTR, 'iter_create.', {
  link_fd: u32(0),
  flags: u32(4),
});

/** struct bpf_btf_info */
export const BTF_INFO = layout('bpf_btf_info', 'struct bpf_btf_info', '', {
  btf: ptr(0),
  btf_size: u32(8),
  id: u32(12),
  name: ptr(16),
  name_len: u32(24),
  kernel_btf: u32(28),
});
/** sizeof(struct bpf_btf_info) in the header. */
export const BTF_INFO_SIZE = 32;

/** struct bpf_link_info: the common head (the per-type union follows). */
export const LINK_INFO = layout('bpf_link_info', 'struct bpf_link_info', '', {
  type: u32(0),
  id: u32(4),
  prog_id: u32(8),
});

/**
 * struct bpf_prog_info. `gpl_compatible` is bit 0 of the u32 at 84 (a bitfield:
 * offsetof cannot see it, the probe checks the word after `ifindex` instead).
 */
export const PROG_INFO = layout('bpf_prog_info', 'struct bpf_prog_info', '', {
  type: u32(0),
  id: u32(4),
  tag: bytes(8, 8),
  jited_prog_len: u32(16),
  xlated_prog_len: u32(20),
  jited_prog_insns: ptr(24),
  xlated_prog_insns: ptr(32),
  load_time: u64(40),
  created_by_uid: u32(48),
  nr_map_ids: u32(52),
  map_ids: ptr(56),
  name: bytes(64, 16),
  ifindex: u32(80),
  netns_dev: u64(88),
  netns_ino: u64(96),
  nr_jited_ksyms: u32(104),
  nr_jited_func_lens: u32(108),
  jited_ksyms: ptr(112),
  jited_func_lens: ptr(120),
  btf_id: u32(128),
  func_info_rec_size: u32(132),
  func_info: ptr(136),
  nr_func_info: u32(144),
  nr_line_info: u32(148),
  line_info: ptr(152),
  jited_line_info: ptr(160),
  nr_jited_line_info: u32(168),
  line_info_rec_size: u32(172),
  jited_line_info_rec_size: u32(176),
  nr_prog_tags: u32(180),
  prog_tags: ptr(184),
  run_time_ns: u64(192),
  run_cnt: u64(200),
  recursion_misses: u64(208),
  verified_insns: u32(216),
  attach_btf_obj_id: u32(220),
  attach_btf_id: u32(224),
});
/** Offset of the u32 whose bit 0 is bpf_prog_info.gpl_compatible. */
export const PROG_INFO_GPL_WORD = 84;
/** sizeof(struct bpf_prog_info) in the header (trailing pad included). */
export const PROG_INFO_SIZE = 232;

/**
 * struct bpf_map_info. Newer kernels (6.18) append `hash` / `hash_size` (map content
 * hash for signed programs); not requested here, so the kernel leaves them alone.
 */
export const MAP_INFO = layout('bpf_map_info', 'struct bpf_map_info', '', {
  type: u32(0),
  id: u32(4),
  key_size: u32(8),
  value_size: u32(12),
  max_entries: u32(16),
  map_flags: u32(20),
  name: bytes(24, 16),
  ifindex: u32(40),
  btf_vmlinux_value_type_id: u32(44),
  netns_dev: u64(48),
  netns_ino: u64(56),
  btf_id: u32(64),
  btf_key_type_id: u32(68),
  btf_value_type_id: u32(72),
  map_extra: u64(80),
});
/** sizeof(struct bpf_map_info) in the header. */
export const MAP_INFO_SIZE = 88;

/** Every table, for the offset probe. */
export const ALL_LAYOUTS: readonly Layout[] = [
  MAP_CREATE, MAP_ELEM, MAP_FD, MAP_BATCH, PROG_LOAD, OBJ, PROG_TEST_RUN, GET_ID,
  OBJ_GET_INFO, BTF_LOAD, PROG_BIND_MAP, PROG_INFO, MAP_INFO,
  RAW_TRACEPOINT_OPEN, LINK_CREATE, BTF_INFO, LINK_INFO, ITER_CREATE,
];
