/**
 * The Linux release that brought each kernel name tsbpf knows: program types, map types,
 * attach types, link types, helpers and BTF kinds. Used to explain a refusal ("calls
 * bpf_loop (helper 181), which this kernel does not have (Linux 5.17+)") and shown by
 * `features()` / `--features`. Pure data, kept by hand.
 *
 * How it was checked (docs/features.md says more):
 * - each entry is the first kernel tag (vX.Y) whose tree holds the name, from the
 *   version-finder data of isovalent/ebpf-docs (data/feature-versions.yaml, made by
 *   walking the kernel's git tags), compared with iovisor/bcc's docs/kernel-versions.md;
 *   where they disagree the commit date decides (bpf_xdp_output: bcc says 5.6, the tags
 *   5.7; d831ee84bfc9 was committed on 2020-03-12, after 5.6-rc5, so it is in 5.7);
 * - helper ids only grow with time, so the helper table must be monotonic
 *   (test/unit/features.test.ts): that caught bpf_get_prandom_u32, which the tag data
 *   puts at 4.17 (its documentation moved then) although its id 7 sits among 4.1 helpers;
 * - names ebpf-docs does not track (newer link and attach types) come from the commit
 *   that added them to include/uapi/linux/bpf.h and its date (BPF_LINK_TYPE_STRUCT_OPS:
 *   f7e0beaf39d3, committed on 2022-05-10 during 5.18-rc, so in 5.19);
 * - every kernel of the VM matrix (5.10, 6.1, 6.12, sid's 7.x) and the host compare the
 *   whole table with the enums of their own BTF (enum bpf_func_id, bpf_map_type,
 *   bpf_prog_type, bpf_attach_type, bpf_link_type): a name is in the kernel's enum exactly
 *   when its release is not newer than the kernel (test/kernel/features.test.ts).
 */
import type { AttachTypeName, LinkTypeName, MapTypeName, ProgTypeName } from './enums.js';

import { HELPER_SINCE } from './helper-since.js';

export { HELPER_SINCE };

/** The Linux release of a helper name ('bpf_loop' -> '5.17'). */
export function helperSince(name: string): string | undefined {
  return HELPER_SINCE[name.replace(/^bpf_/, '')];
}

/** "5.17" or "6.1.0-57-amd64" -> major * 1000 + minor, for comparisons; 0 when unreadable. */
export function versionNumber(v: string): number {
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
}

/** Whether kernel `release` (uname -r) is at least `since` ("5.17"). */
export function releaseHas(release: string, since: string): boolean {
  return versionNumber(release) >= versionNumber(since);
}

export const PROG_TYPE_SINCE: Readonly<Record<Exclude<ProgTypeName, 'unspec'>, string>> = {
  socket_filter: '3.19',
  kprobe: '4.1',
  sched_cls: '4.1',
  sched_act: '4.1',
  tracepoint: '4.7',
  xdp: '4.8',
  perf_event: '4.9',
  cgroup_skb: '4.10',
  cgroup_sock: '4.10',
  lwt_in: '4.10',
  lwt_out: '4.10',
  lwt_xmit: '4.10',
  sock_ops: '4.13',
  sk_skb: '4.14',
  cgroup_device: '4.15',
  sk_msg: '4.17',
  raw_tracepoint: '4.17',
  cgroup_sock_addr: '4.17',
  lwt_seg6local: '4.18',
  lirc_mode2: '4.18',
  sk_reuseport: '4.19',
  flow_dissector: '4.20',
  cgroup_sysctl: '5.2',
  raw_tracepoint_writable: '5.2',
  cgroup_sockopt: '5.3',
  tracing: '5.5',
  struct_ops: '5.6',
  ext: '5.6',
  lsm: '5.7',
  sk_lookup: '5.9',
  syscall: '5.14',
  netfilter: '6.4',
};

export const MAP_TYPE_SINCE: Readonly<Record<Exclude<MapTypeName, 'unspec'>, string>> = {
  hash: '3.19',
  array: '3.19',
  prog_array: '4.2',
  perf_event_array: '4.3',
  percpu_hash: '4.6',
  percpu_array: '4.6',
  stack_trace: '4.6',
  cgroup_array: '4.8',
  lru_hash: '4.10',
  lru_percpu_hash: '4.10',
  lpm_trie: '4.11',
  array_of_maps: '4.12',
  hash_of_maps: '4.12',
  devmap: '4.14',
  sockmap: '4.14',
  cpumap: '4.15',
  xskmap: '4.18',
  sockhash: '4.18',
  cgroup_storage: '4.19',
  reuseport_sockarray: '4.19',
  percpu_cgroup_storage: '4.20',
  queue: '4.20',
  stack: '4.20',
  sk_storage: '5.2',
  devmap_hash: '5.4',
  struct_ops: '5.6',
  ringbuf: '5.8',
  inode_storage: '5.10',
  task_storage: '5.11',
  bloom_filter: '5.16',
  user_ringbuf: '6.1',
  cgrp_storage: '6.2',
  arena: '6.9',
};

export const ATTACH_TYPE_SINCE: Readonly<Record<AttachTypeName, string>> = {
  cgroup_inet_ingress: '4.10',
  cgroup_inet_egress: '4.10',
  cgroup_inet_sock_create: '4.10',
  cgroup_sock_ops: '4.13',
  sk_skb_stream_parser: '4.14',
  sk_skb_stream_verdict: '4.14',
  cgroup_device: '4.15',
  sk_msg_verdict: '4.17',
  cgroup_inet4_bind: '4.17',
  cgroup_inet6_bind: '4.17',
  cgroup_inet4_connect: '4.17',
  cgroup_inet6_connect: '4.17',
  cgroup_inet4_post_bind: '4.17',
  cgroup_inet6_post_bind: '4.17',
  cgroup_udp4_sendmsg: '4.18',
  cgroup_udp6_sendmsg: '4.18',
  lirc_mode2: '4.18',
  flow_dissector: '4.20',
  cgroup_sysctl: '5.2',
  cgroup_udp4_recvmsg: '5.2',
  cgroup_udp6_recvmsg: '5.2',
  cgroup_getsockopt: '5.3',
  cgroup_setsockopt: '5.3',
  trace_raw_tp: '5.5',
  trace_fentry: '5.5',
  trace_fexit: '5.5',
  modify_return: '5.7',
  lsm_mac: '5.7',
  trace_iter: '5.8',
  cgroup_inet4_getpeername: '5.8',
  cgroup_inet6_getpeername: '5.8',
  cgroup_inet4_getsockname: '5.8',
  cgroup_inet6_getsockname: '5.8',
  xdp_devmap: '5.8',
  cgroup_inet_sock_release: '5.9',
  xdp_cpumap: '5.9',
  sk_lookup: '5.9',
  xdp: '5.9',
  sk_skb_verdict: '5.13',
  sk_reuseport_select: '5.14',
  sk_reuseport_select_or_migrate: '5.14',
  perf_event: '5.15',
  trace_kprobe_multi: '5.18',
  lsm_cgroup: '6.0',
  struct_ops: '6.4',
  netfilter: '6.4',
  tcx_ingress: '6.6',
  tcx_egress: '6.6',
  trace_uprobe_multi: '6.6',
  cgroup_unix_connect: '6.7',
  cgroup_unix_sendmsg: '6.7',
  cgroup_unix_recvmsg: '6.7',
  cgroup_unix_getpeername: '6.7',
  cgroup_unix_getsockname: '6.7',
  netkit_primary: '6.7',
  netkit_peer: '6.7',
  trace_kprobe_session: '6.10',
  trace_uprobe_session: '6.13',
};

export const LINK_TYPE_SINCE: Readonly<Record<Exclude<LinkTypeName, 'unspec'>, string>> = {
  raw_tracepoint: '5.8',
  tracing: '5.8',
  cgroup: '5.8',
  iter: '5.8',
  netns: '5.8',
  xdp: '5.9',
  perf_event: '5.15',
  kprobe_multi: '5.18',
  struct_ops: '5.19',
  netfilter: '6.4',
  tcx: '6.6',
  uprobe_multi: '6.6',
  netkit: '6.7',
  sockmap: '6.10',
};

/**
 * BTF kinds, and BTF features that are not kinds, by the names of src/load/features.ts:
 * btf: BTF itself and its base kinds (INT ... RESTRICT); func: FUNC and FUNC_PROTO;
 * datasec: VAR and DATASEC; globalFunc: FUNC with global linkage; qmarkDatasec: DATASEC
 * names starting with '?' (bd70a8fb7ca4, 2024-02, in 6.9).
 */
export const BTF_FEATURE_SINCE = {
  btf: '4.18',
  func: '5.0',
  datasec: '5.2',
  globalFunc: '5.6',
  float: '5.13',
  declTag: '5.16',
  typeTag: '5.17',
  enum64: '6.0',
  qmarkDatasec: '6.9',
} as const;

/**
 * Instruction-set extensions: jmp32 (BPF_JMP32 class, 092ed0968bb6, 2019-01), atomics
 * (BPF_ATOMIC with fetch, xchg, cmpxchg, and, or, xor; 5ca419f2864a and following,
 * 2021-01), isa_v4 (sign-extending loads / moves, sdiv / smod, bswap, gotol; the "cpu v4"
 * series of 2023-07).
 */
export const ISA_SINCE = {
  jmp32: '5.1',
  atomics: '5.12',
  isa_v4: '6.6',
} as const;

/** Kernel behaviour that is not a name. memcgAccounting: BPF memory charged to the memory cgroup, not RLIMIT_MEMLOCK. */
export const KERNEL_FEATURE_SINCE = {
  memcgAccounting: '5.11',
} as const;
