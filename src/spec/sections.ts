/**
 * libbpf's SEC() name table: which ELF section names are BPF programs, of which program
 * type, with which expected attach type and load flags.
 *
 * Source: `section_defs[]`, `sec_def_matches()` and `find_sec_def()` in libbpf's
 * src/libbpf.c (tools/lib/bpf/libbpf.c in the kernel), libbpf 1.6 — the 1.5 table as in
 * torvalds/linux plus the two `uprobe.session` entries of 1.6. `since` on each row says
 * which libbpf release first recognised it (used by the golden test against an older
 * system libbpf).
 *
 * Matching (libbpf 1.x, strict mode; the pre-1.0 "any prefix" fallback is gone):
 *  - pattern "type+": the section is exactly "type" or starts with "type/";
 *  - pattern "type/": the section starts with "type/" (none left in the 1.x table);
 *  - any other pattern: exact match;
 *  - the first matching row wins (order as in libbpf);
 *  - a leading '?' is stripped first and means "do not autoload" (SEC("?xdp")).
 * Sections that match nothing: libbpf keeps their programs without a type (open
 * succeeds; load fails with "missing BPF prog type, check ELF section name" unless the
 * user sets one): `sectionDef` returns undefined, and the spec keeps the program with
 * `type: undefined`. tsbpf also takes cilium's long forms ('socket/tail'): see
 * longFormEntry / programSectionDef.
 *
 * What libbpf records as a program's expected_attach_type is the row's attach type
 * (0, i.e. BPF_CGROUP_INET_INGRESS numerically, when the row has none). What it *sends*
 * to BPF_PROG_LOAD differs in three cases, left to the loader (src/load):
 *  - SEC_EXP_ATTACH_OPT (`expectedAttachTypeOptional`): sent as 0 when the kernel does
 *    not support expected_attach_type at all (feature probe FEAT_EXP_ATTACH_TYPE);
 *  - SEC_USDT (`usdt`): both recorded and sent as BPF_TRACE_UPROBE_MULTI when the kernel
 *    supports uprobe-multi links (FEAT_UPROBE_MULTI_LINK), else 0;
 *  - struct_ops programs: the expected attach type becomes the index of the struct
 *    member the program implements, set when .struct_ops relocations are read.
 * SEC_SLEEPABLE adds BPF_F_SLEEPABLE and SEC_XDP_FRAGS adds BPF_F_XDP_HAS_FRAGS to
 * prog_flags; SEC_ATTACH_BTF makes libbpf resolve the text after the first '/' (see
 * `attachTarget`) to a BTF id (with prefix btf_trace_ for tp_btf, bpf_lsm_ for lsm,
 * bpf_iter_ for iter), and fail when it is missing and no target was set by the user.
 */
import {
  ATTACH_TYPES, PROG_TYPES, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS,
  type AttachTypeName, type ProgTypeName,
} from '../kernel/enums.js';

/** libbpf's `enum sec_def_flags` (stored as sec_def->cookie). */
export const SEC_NONE = 0;
export const SEC_EXP_ATTACH_OPT = 1;
export const SEC_ATTACHABLE = 2;
export const SEC_ATTACHABLE_OPT = SEC_ATTACHABLE | SEC_EXP_ATTACH_OPT;
export const SEC_ATTACH_BTF = 4;
export const SEC_SLEEPABLE = 8;
export const SEC_XDP_FRAGS = 16;
export const SEC_USDT = 32;

/** The libbpf release the table was taken from. */
export const LIBBPF_SEC_TABLE_VERSION = '1.6';

export interface SectionDef {
  /** Program type, as in src/kernel/enums.ts PROG_TYPES ('kprobe', 'tracing', ...). */
  progType: ProgTypeName;
  /** Expected attach type as in ATTACH_TYPES ('trace_fentry', ...); undefined = 0 / none. */
  attachType?: AttachTypeName;
  /** SEC_SLEEPABLE: loaded with BPF_F_SLEEPABLE. */
  sleepable: boolean;
  /** SEC_XDP_FRAGS: loaded with BPF_F_XDP_HAS_FRAGS. */
  xdpFrags: boolean;
  /** SEC_ATTACH_BTF: attach target is a BTF id named after the '/'. */
  attachBtf: boolean;
  /** SEC_ATTACHABLE: legacy marker of BPF_PROG_ATTACH-able programs. */
  attachable: boolean;
  /** SEC_EXP_ATTACH_OPT: expected attach type may be dropped on kernels without it. */
  expectedAttachTypeOptional: boolean;
  /** SEC_USDT: expected attach type becomes trace_uprobe_multi when the kernel has it. */
  usdt?: boolean;
}

/** One row of libbpf's section_defs[]. */
export interface SectionTableEntry {
  /** libbpf's pattern: 'kprobe+', 'xdp', 'cgroup/connect4'. */
  pattern: string;
  progType: ProgTypeName;
  attachType?: AttachTypeName;
  /** SEC_* flags (libbpf's cookie). */
  flags: number;
  /** First libbpf release with this row (1.0 for everything older). */
  since: string;
}

type Row = [pattern: string, progType: ProgTypeName, attachType: AttachTypeName | 0, flags: number, since?: string];

// The table, in libbpf's order (src/libbpf.c, section_defs[]).
const ROWS: Row[] = [
  ['socket', 'socket_filter', 0, SEC_NONE],
  ['sk_reuseport/migrate', 'sk_reuseport', 'sk_reuseport_select_or_migrate', SEC_ATTACHABLE],
  ['sk_reuseport', 'sk_reuseport', 'sk_reuseport_select', SEC_ATTACHABLE],
  ['kprobe+', 'kprobe', 0, SEC_NONE],
  ['uprobe+', 'kprobe', 0, SEC_NONE],
  ['uprobe.s+', 'kprobe', 0, SEC_SLEEPABLE],
  ['kretprobe+', 'kprobe', 0, SEC_NONE],
  ['uretprobe+', 'kprobe', 0, SEC_NONE],
  ['uretprobe.s+', 'kprobe', 0, SEC_SLEEPABLE],
  ['kprobe.multi+', 'kprobe', 'trace_kprobe_multi', SEC_NONE],
  ['kretprobe.multi+', 'kprobe', 'trace_kprobe_multi', SEC_NONE],
  ['kprobe.session+', 'kprobe', 'trace_kprobe_session', SEC_NONE, '1.5'],
  ['uprobe.multi+', 'kprobe', 'trace_uprobe_multi', SEC_NONE, '1.3'],
  ['uretprobe.multi+', 'kprobe', 'trace_uprobe_multi', SEC_NONE, '1.3'],
  ['uprobe.session+', 'kprobe', 'trace_uprobe_session', SEC_NONE, '1.6'],
  ['uprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', SEC_SLEEPABLE, '1.3'],
  ['uretprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', SEC_SLEEPABLE, '1.3'],
  ['uprobe.session.s+', 'kprobe', 'trace_uprobe_session', SEC_SLEEPABLE, '1.6'],
  ['ksyscall+', 'kprobe', 0, SEC_NONE],
  ['kretsyscall+', 'kprobe', 0, SEC_NONE],
  ['usdt+', 'kprobe', 0, SEC_USDT],
  ['usdt.s+', 'kprobe', 0, SEC_USDT | SEC_SLEEPABLE, '1.3'],
  ['tc/ingress', 'sched_cls', 'tcx_ingress', SEC_NONE, '1.3'], // alias for tcx
  ['tc/egress', 'sched_cls', 'tcx_egress', SEC_NONE, '1.3'], // alias for tcx
  ['tcx/ingress', 'sched_cls', 'tcx_ingress', SEC_NONE, '1.3'],
  ['tcx/egress', 'sched_cls', 'tcx_egress', SEC_NONE, '1.3'],
  ['tc', 'sched_cls', 0, SEC_NONE], // deprecated / legacy, use tcx
  ['classifier', 'sched_cls', 0, SEC_NONE], // deprecated / legacy, use tcx
  ['action', 'sched_act', 0, SEC_NONE], // deprecated / legacy, use tcx
  ['netkit/primary', 'sched_cls', 'netkit_primary', SEC_NONE, '1.3'],
  ['netkit/peer', 'sched_cls', 'netkit_peer', SEC_NONE, '1.3'],
  ['tracepoint+', 'tracepoint', 0, SEC_NONE],
  ['tp+', 'tracepoint', 0, SEC_NONE],
  ['raw_tracepoint+', 'raw_tracepoint', 0, SEC_NONE],
  ['raw_tp+', 'raw_tracepoint', 0, SEC_NONE],
  ['raw_tracepoint.w+', 'raw_tracepoint_writable', 0, SEC_NONE],
  ['raw_tp.w+', 'raw_tracepoint_writable', 0, SEC_NONE],
  ['tp_btf+', 'tracing', 'trace_raw_tp', SEC_ATTACH_BTF],
  ['fentry+', 'tracing', 'trace_fentry', SEC_ATTACH_BTF],
  ['fmod_ret+', 'tracing', 'modify_return', SEC_ATTACH_BTF],
  ['fexit+', 'tracing', 'trace_fexit', SEC_ATTACH_BTF],
  ['fentry.s+', 'tracing', 'trace_fentry', SEC_ATTACH_BTF | SEC_SLEEPABLE],
  ['fmod_ret.s+', 'tracing', 'modify_return', SEC_ATTACH_BTF | SEC_SLEEPABLE],
  ['fexit.s+', 'tracing', 'trace_fexit', SEC_ATTACH_BTF | SEC_SLEEPABLE],
  ['freplace+', 'ext', 0, SEC_ATTACH_BTF],
  ['lsm+', 'lsm', 'lsm_mac', SEC_ATTACH_BTF],
  ['lsm.s+', 'lsm', 'lsm_mac', SEC_ATTACH_BTF | SEC_SLEEPABLE],
  ['lsm_cgroup+', 'lsm', 'lsm_cgroup', SEC_ATTACH_BTF],
  ['iter+', 'tracing', 'trace_iter', SEC_ATTACH_BTF],
  ['iter.s+', 'tracing', 'trace_iter', SEC_ATTACH_BTF | SEC_SLEEPABLE],
  ['syscall', 'syscall', 0, SEC_SLEEPABLE],
  ['xdp.frags/devmap', 'xdp', 'xdp_devmap', SEC_XDP_FRAGS],
  ['xdp/devmap', 'xdp', 'xdp_devmap', SEC_ATTACHABLE],
  ['xdp.frags/cpumap', 'xdp', 'xdp_cpumap', SEC_XDP_FRAGS],
  ['xdp/cpumap', 'xdp', 'xdp_cpumap', SEC_ATTACHABLE],
  ['xdp.frags', 'xdp', 'xdp', SEC_XDP_FRAGS],
  ['xdp', 'xdp', 'xdp', SEC_ATTACHABLE_OPT],
  ['perf_event', 'perf_event', 0, SEC_NONE],
  ['lwt_in', 'lwt_in', 0, SEC_NONE],
  ['lwt_out', 'lwt_out', 0, SEC_NONE],
  ['lwt_xmit', 'lwt_xmit', 0, SEC_NONE],
  ['lwt_seg6local', 'lwt_seg6local', 0, SEC_NONE],
  ['sockops', 'sock_ops', 'cgroup_sock_ops', SEC_ATTACHABLE_OPT],
  ['sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser', SEC_ATTACHABLE_OPT],
  ['sk_skb/stream_verdict', 'sk_skb', 'sk_skb_stream_verdict', SEC_ATTACHABLE_OPT],
  ['sk_skb/verdict', 'sk_skb', 'sk_skb_verdict', SEC_ATTACHABLE_OPT, '1.4'],
  ['sk_skb', 'sk_skb', 0, SEC_NONE],
  ['sk_msg', 'sk_msg', 'sk_msg_verdict', SEC_ATTACHABLE_OPT],
  ['lirc_mode2', 'lirc_mode2', 'lirc_mode2', SEC_ATTACHABLE_OPT],
  ['flow_dissector', 'flow_dissector', 'flow_dissector', SEC_ATTACHABLE_OPT],
  ['cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress', SEC_ATTACHABLE_OPT],
  ['cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress', SEC_ATTACHABLE_OPT],
  ['cgroup/skb', 'cgroup_skb', 0, SEC_NONE],
  ['cgroup/sock_create', 'cgroup_sock', 'cgroup_inet_sock_create', SEC_ATTACHABLE],
  ['cgroup/sock_release', 'cgroup_sock', 'cgroup_inet_sock_release', SEC_ATTACHABLE],
  ['cgroup/sock', 'cgroup_sock', 'cgroup_inet_sock_create', SEC_ATTACHABLE_OPT],
  ['cgroup/post_bind4', 'cgroup_sock', 'cgroup_inet4_post_bind', SEC_ATTACHABLE],
  ['cgroup/post_bind6', 'cgroup_sock', 'cgroup_inet6_post_bind', SEC_ATTACHABLE],
  ['cgroup/bind4', 'cgroup_sock_addr', 'cgroup_inet4_bind', SEC_ATTACHABLE],
  ['cgroup/bind6', 'cgroup_sock_addr', 'cgroup_inet6_bind', SEC_ATTACHABLE],
  ['cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect', SEC_ATTACHABLE],
  ['cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect', SEC_ATTACHABLE],
  ['cgroup/connect_unix', 'cgroup_sock_addr', 'cgroup_unix_connect', SEC_ATTACHABLE, '1.3'],
  ['cgroup/sendmsg4', 'cgroup_sock_addr', 'cgroup_udp4_sendmsg', SEC_ATTACHABLE],
  ['cgroup/sendmsg6', 'cgroup_sock_addr', 'cgroup_udp6_sendmsg', SEC_ATTACHABLE],
  ['cgroup/sendmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_sendmsg', SEC_ATTACHABLE, '1.3'],
  ['cgroup/recvmsg4', 'cgroup_sock_addr', 'cgroup_udp4_recvmsg', SEC_ATTACHABLE],
  ['cgroup/recvmsg6', 'cgroup_sock_addr', 'cgroup_udp6_recvmsg', SEC_ATTACHABLE],
  ['cgroup/recvmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_recvmsg', SEC_ATTACHABLE, '1.3'],
  ['cgroup/getpeername4', 'cgroup_sock_addr', 'cgroup_inet4_getpeername', SEC_ATTACHABLE],
  ['cgroup/getpeername6', 'cgroup_sock_addr', 'cgroup_inet6_getpeername', SEC_ATTACHABLE],
  ['cgroup/getpeername_unix', 'cgroup_sock_addr', 'cgroup_unix_getpeername', SEC_ATTACHABLE, '1.3'],
  ['cgroup/getsockname4', 'cgroup_sock_addr', 'cgroup_inet4_getsockname', SEC_ATTACHABLE],
  ['cgroup/getsockname6', 'cgroup_sock_addr', 'cgroup_inet6_getsockname', SEC_ATTACHABLE],
  ['cgroup/getsockname_unix', 'cgroup_sock_addr', 'cgroup_unix_getsockname', SEC_ATTACHABLE, '1.3'],
  ['cgroup/sysctl', 'cgroup_sysctl', 'cgroup_sysctl', SEC_ATTACHABLE],
  ['cgroup/getsockopt', 'cgroup_sockopt', 'cgroup_getsockopt', SEC_ATTACHABLE],
  ['cgroup/setsockopt', 'cgroup_sockopt', 'cgroup_setsockopt', SEC_ATTACHABLE],
  ['cgroup/dev', 'cgroup_device', 'cgroup_device', SEC_ATTACHABLE_OPT],
  ['struct_ops+', 'struct_ops', 0, SEC_NONE],
  ['struct_ops.s+', 'struct_ops', 0, SEC_SLEEPABLE, '1.2'],
  ['sk_lookup', 'sk_lookup', 'sk_lookup', SEC_ATTACHABLE],
  ['netfilter', 'netfilter', 'netfilter', SEC_NONE, '1.3'],
];

/** libbpf's section_defs[], in order. */
export const SECTION_DEFS: readonly SectionTableEntry[] = Object.freeze(ROWS.map(([pattern, progType, attachType, flags, since]) => {
  const e: SectionTableEntry = { pattern, progType, flags, since: since ?? '1.0' };
  if (attachType !== 0) e.attachType = attachType;
  return Object.freeze(e);
}));

/** libbpf's sec_def_matches(). */
export function sectionPatternMatches(pattern: string, secName: string): boolean {
  if (pattern.endsWith('/')) return secName.startsWith(pattern);
  if (pattern.endsWith('+')) {
    const base = pattern.slice(0, -1);
    if (!secName.startsWith(base)) return false;
    return secName.length === base.length || secName[base.length] === '/';
  }
  return secName === pattern;
}

function splitAutoload(secName: string): { name: string; autoload: boolean } {
  return secName.startsWith('?') ? { name: secName.slice(1), autoload: false } : { name: secName, autoload: true };
}

/** Rows answered per section name (objects repeat a few names); bounded, as names come from input. */
const entryCache = new Map<string, SectionTableEntry | null>();
const ENTRY_CACHE_MAX = 1024;

/** The table row libbpf's find_sec_def() picks for a name (no '?' handling). */
export function findSectionEntry(name: string): SectionTableEntry | undefined {
  const have = entryCache.get(name);
  if (have !== undefined) return have ?? undefined;
  let found: SectionTableEntry | null = null;
  for (const e of SECTION_DEFS) if (sectionPatternMatches(e.pattern, name)) { found = e; break; }
  if (entryCache.size >= ENTRY_CACHE_MAX) entryCache.clear();
  entryCache.set(name, found);
  return found ?? undefined;
}

/**
 * What libbpf makes of SEC(secName): undefined when the section is not a program
 * ('.text', 'license', '.maps', 'xdpfoo', 'kprobe.multi2/x' ...). A leading '?' turns
 * autoload off and is otherwise ignored.
 */
export function sectionDef(secName: string): (SectionDef & { autoload: boolean; pattern: string }) | undefined {
  const { name, autoload } = splitAutoload(secName);
  const e = findSectionEntry(name);
  return e ? defOf(e, autoload) : undefined;
}

/**
 * cilium/ebpf's long forms, for objects written for cilium: cilium matches a table row
 * whose pattern ends in neither '+' nor '/' (an exact name such as 'socket', 'sk_lookup',
 * 'xdp', 'tc', 'cgroup/skb') as a plain prefix of the section name, as libbpf did before
 * 1.0, so SEC("socket/tail") is a socket filter there; libbpf 1.x knows no such section.
 * tsbpf accepts `<pattern>/<name>` (a non-empty name after the slash) for such a row when
 * it is the row cilium picks (the first exact row that is a prefix of the section name),
 * so both loaders agree: 'socket/tail' -> socket_filter, 'sk_lookup/lookup' -> sk_lookup,
 * 'xdp/prog' -> xdp, 'tc/filter' -> sched_cls, 'cgroup/skb/egress' -> cgroup_skb.
 * Ambiguous names stay unknown: 'xdp/devmap2' (cilium: xdp/devmap; as a long form: xdp),
 * 'tc/ingress_v2' (cilium: tc/ingress), 'tcx/foo' (cilium: tc), 'socket1', 'xdpfoo' (no
 * slash after the pattern).
 * Undefined for sections libbpf knows (sectionDef) and for every other name.
 */
export function longFormEntry(secName: string): SectionTableEntry | undefined {
  const name = secName.startsWith('?') ? secName.slice(1) : secName;
  const have = longFormCache.get(name);
  if (have !== undefined) return have ?? undefined;
  let found: SectionTableEntry | null = null;
  if (!findSectionEntry(name)) {
    for (const r of EXACT_ROWS) {
      if (!name.startsWith(r.pattern)) continue;
      if (name[r.pattern.length] === '/' && name.length > r.pattern.length + 1) found = r;
      break;
    }
  }
  if (longFormCache.size >= ENTRY_CACHE_MAX) longFormCache.clear();
  longFormCache.set(name, found);
  return found ?? undefined;
}

/** The rows a long form can extend: exact patterns (neither '+' nor '/' at the end), in table order. */
const EXACT_ROWS = SECTION_DEFS.filter((r) => !r.pattern.endsWith('+') && !r.pattern.endsWith('/'));
/** longFormEntry's answers per section name (without '?'); bounded like entryCache. */
const longFormCache = new Map<string, SectionTableEntry | null>();

function defOf(e: SectionTableEntry, autoload: boolean): SectionDef & { autoload: boolean; pattern: string } {
  const def: SectionDef & { autoload: boolean; pattern: string } = {
    progType: e.progType,
    sleepable: (e.flags & SEC_SLEEPABLE) !== 0,
    xdpFrags: (e.flags & SEC_XDP_FRAGS) !== 0,
    attachBtf: (e.flags & SEC_ATTACH_BTF) !== 0,
    attachable: (e.flags & SEC_ATTACHABLE) !== 0,
    expectedAttachTypeOptional: (e.flags & SEC_EXP_ATTACH_OPT) !== 0,
    autoload,
    pattern: e.pattern,
  };
  if (e.attachType !== undefined) def.attachType = e.attachType;
  if (e.flags & SEC_USDT) def.usdt = true;
  return def;
}

/**
 * What tsbpf makes of a program's section: libbpf's SEC() table (sectionDef), else a
 * cilium long form (longFormEntry, `longForm: true`); undefined when neither knows it (the
 * program is kept without a type).
 */
export function programSectionDef(secName: string): (SectionDef & { autoload: boolean; pattern: string; longForm?: true }) | undefined {
  const def = sectionDef(secName);
  if (def) return def;
  const e = longFormEntry(secName);
  if (!e) return undefined;
  // not `{ ...defOf(), longForm }`: adding a key to a spread's copy costs ~1 us in V8 11
  const long: SectionDef & { autoload: boolean; pattern: string; longForm?: true } = defOf(e, !secName.startsWith('?'));
  long.longForm = true;
  return long;
}

/**
 * The attach target written in the section name: the text after "prefix/" for "type+"
 * rows ('kprobe/do_sys_open' -> 'do_sys_open', 'tp/syscalls/sys_enter_write' ->
 * 'syscalls/sys_enter_write', 'usdt/path:provider:name' -> 'path:provider:name').
 * Undefined when the section has no extras ('kprobe'), when the '/' is part of the
 * pattern itself ('cgroup/connect4') or when the section is not a program.
 * For attachBtf programs libbpf takes the text after the first '/', which is the same.
 */
export function attachTarget(secName: string): string | undefined {
  const { name } = splitAutoload(secName);
  const e = findSectionEntry(name);
  if (!e || !e.pattern.endsWith('+')) return undefined;
  const base = e.pattern.length - 1;
  return name.length > base ? name.slice(base + 1) : undefined;
}

/** Numbers for BPF_PROG_LOAD: prog_type, expected_attach_type (as recorded) and the flag bits the SEC() adds. */
export function sectionLoadAttrs(def: SectionDef): { progType: number; expectedAttachType: number; progFlags: number } {
  const progType = PROG_TYPES[def.progType];
  const expectedAttachType = def.attachType === undefined ? 0 : ATTACH_TYPES[def.attachType];
  let progFlags = 0;
  if (def.sleepable) progFlags |= BPF_F_SLEEPABLE;
  if (def.xdpFrags) progFlags |= BPF_F_XDP_HAS_FRAGS;
  return { progType, expectedAttachType, progFlags };
}
