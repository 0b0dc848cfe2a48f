// Expected facts about every fixture in bpf-objs/, written from the C sources and from
// llvm-objdump-19 -dr / llvm-readelf-19 -S -s -r / bpftool (loadall + map dump) on the
// committed objects: an oracle independent of our own ELF/BTF parser. Plain data only.
//
// Conventions:
// - ProgramFact.type / attachType: libbpf 1.x SEC() table (or cilium's long form of one of
//   its exact names, e.g. socket/tail), lowercased, without BPF_PROG_TYPE_
//   / BPF_ prefix ("xdp" has expected attach type BPF_XDP; socket/tc/classifier/kprobe/
//   uretprobe/raw_tp set none; tp_btf/* is tracing + trace_raw_tp).
// - insns: instructions of the program's own symbol PLUS every .text function reachable from
//   it through BPF_PSEUDO_CALL (with or without a relocation) and through ld_imm64 of a .text
//   address (callbacks for bpf_loop / bpf_for_each_map_elem), each appended once; ld_imm64
//   counts as ONE instruction. subprograms: the appended names in depth-first order of first
//   call (for these fixtures identical to libbpf's append order, which scans the growing
//   buffer).
// - MapFact.type: lowercased without BPF_MAP_TYPE_. maxEntries 0 on a perf_event_array means
//   "not given": libbpf sets it to the number of possible CPUs at creation.
// - Global data (.data, .rodata, .bss, .rodata.str1.1, .kconfig): named by ELF section, array,
//   keySize 4, valueSize = section size, maxEntries 1. flags are what libbpf creates them with:
//   BPF_F_MMAPABLE (0x400), plus BPF_F_RDONLY_PROG (0x80) for .rodata* and .kconfig.
//   .kconfig has no ELF section: its size (10) is libbpf's layout of the externs (4-byte ones
//   first, then bools). libbpf's kernel-side names are "<first 8 chars of object name up to
//   the first dot>.<section>" (e.g. "global_d.rodata", "kconfig.kconfig"), but a section name
//   with a second dot is used as-is (".rodata.str1.1").
// - innerMap: the name libbpf gives the inner-map template ("<outer>.inner"); the template is
//   `struct inner_map` (array, 4 x u32 -> u32).
// - contents: statically initialised slots; value = program name (prog_array) or inner map name.
// - pinning 1 = LIBBPF_PIN_BY_NAME. mapExtra for bloom_filter = number of hash functions.
// - autocreate (default true): libbpf's bpf_map__autocreate() after open; false for the
//   variables of SEC("?.struct_ops") / SEC("?.struct_ops.link"). autoload (default true):
//   bpf_program__autoload() after open, false for a SEC("?...") program; section is then
//   the name without the '?'. struct_ops maps' section is the ELF section, '?' included.

export interface ProgramFact {
  name: string;
  section: string;
  /** undefined: a section no table knows (kept without a type, as libbpf keeps it) */
  type: string | undefined;
  attachType?: string;
  /** after appending all reachable subprograms from .text, counting ld_imm64 as ONE instruction */
  insns: number;
  /** names appended, depth-first order of first call */
  subprograms: string[];
  /** false for SEC("?...") (default true) */
  autoload?: boolean;
}

export interface MapFact {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  pinning?: number;
  mapExtra?: number;
  innerMap?: string;
  contents?: Array<{ key: number; value: string }>;
  /** ELF section of the definition, when checked */
  section?: string;
  /** false for SEC("?.struct_ops*") variables (default true) */
  autocreate?: boolean;
}

export interface FixtureFact {
  file: string;
  programs: ProgramFact[];
  maps: MapFact[];
  license: string;
  btf: boolean;
}

export const fixtures: Record<string, FixtureFact> = {
  tailcall_uretprobe: {
    file: 'bpf-objs/tailcall_uretprobe.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      // llvm-objdump-19 -d: handle_odd / handle_even 28 instructions each, plus the static
      // __noinline send (6) that carries struct event in its BTF signature
      { name: 'handle_odd', section: 'uretprobe', type: 'kprobe', insns: 34, subprograms: ['send'] },
      { name: 'handle_even', section: 'uretprobe', type: 'kprobe', insns: 34, subprograms: ['send'] },
      { name: 'uretprobe_entry', section: 'uretprobe', type: 'kprobe', insns: 9, subprograms: [] },
    ],
    maps: [
      { name: 'jmp_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1024, contents: [{ key: 135, value: 'handle_odd' }, { key: 146, value: 'handle_even' }] },
      { name: 'events', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 },
    ],
  },
  tailcall_xdp: {
    file: 'bpf-objs/tailcall_xdp.bpf.o',
    license: 'Dual MIT/GPL',
    btf: true,
    programs: [
      { name: 'xdp_target', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
      { name: 'xdp_entry', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 5, subprograms: [] },
    ],
    maps: [
      { name: 'xdp_progs', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1 },
    ],
  },
  tailcall_kprobe: {
    file: 'bpf-objs/tailcall_kprobe.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'handle_read', section: 'kprobe', type: 'kprobe', insns: 11, subprograms: [] },
      { name: 'handle_write', section: 'kprobe', type: 'kprobe', insns: 10, subprograms: [] },
      { name: 'handle_open', section: 'kprobe', type: 'kprobe', insns: 11, subprograms: [] },
      { name: 'syscall_dispatch', section: 'kprobe/x64_sys_call', type: 'kprobe', insns: 5, subprograms: [] },
    ],
    maps: [
      { name: 'syscall_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1024, contents: [{ key: 0, value: 'handle_read' }, { key: 1, value: 'handle_write' }, { key: 2, value: 'handle_open' }, { key: 257, value: 'handle_open' }] },
      { name: 'syscall_counts', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1024 },
    ],
  },
  tailcall_rawtp: {
    file: 'bpf-objs/tailcall_rawtp.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'handle_io', section: 'raw_tp', type: 'raw_tracepoint', insns: 5, subprograms: [] },
      { name: 'handle_open', section: 'raw_tp', type: 'raw_tracepoint', insns: 5, subprograms: [] },
      { name: 'handle_close', section: 'raw_tp', type: 'raw_tracepoint', insns: 5, subprograms: [] },
      { name: 'handle_ignore', section: 'raw_tp', type: 'raw_tracepoint', insns: 6, subprograms: [] },
      { name: 'sys_enter_dispatch', section: 'raw_tp/sys_enter', type: 'raw_tracepoint', insns: 5, subprograms: [] },
    ],
    maps: [
      { name: 'sys_enter_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 300, contents: [{ key: 0, value: 'handle_io' }, { key: 1, value: 'handle_io' }, { key: 2, value: 'handle_open' }, { key: 3, value: 'handle_close' }, { key: 17, value: 'handle_io' }, { key: 18, value: 'handle_io' }, { key: 24, value: 'handle_ignore' }, { key: 35, value: 'handle_ignore' }, { key: 39, value: 'handle_ignore' }, { key: 186, value: 'handle_ignore' }, { key: 257, value: 'handle_open' }] },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 32, maxEntries: 1, flags: 0x400 },
    ],
  },
  tailcall_run: {
    file: 'bpf-objs/tailcall_run.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'ret_10', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
      { name: 'ret_11', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
      { name: 'ret_12', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
      { name: 'ret_13', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
      { name: 'tail_loop', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 18, subprograms: [] },
      { name: 'run_entry', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 23, subprograms: [] },
    ],
    maps: [
      { name: 'run_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 8, contents: [{ key: 0, value: 'ret_10' }, { key: 1, value: 'ret_11' }, { key: 2, value: 'ret_12' }, { key: 3, value: 'ret_13' }, { key: 5, value: 'tail_loop' }] },
      { name: 'loop_count', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 },
    ],
  },
  map_in_map: {
    file: 'bpf-objs/map_in_map.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'lookup_arr', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 27, subprograms: [] },
      { name: 'lookup_hash', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 27, subprograms: [] },
      { name: 'seed', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 22, subprograms: [] },
    ],
    maps: [
      { name: 'inner_a', type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 },
      { name: 'inner_b', type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 },
      { name: 'outer_arr', type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: 'outer_arr.inner', contents: [{ key: 0, value: 'inner_a' }, { key: 2, value: 'inner_b' }] },
      { name: 'outer_hash', type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 8, innerMap: 'outer_hash.inner', contents: [{ key: 1, value: 'inner_b' }, { key: 5, value: 'inner_a' }] },
    ],
  },
  global_data: {
    file: 'bpf-objs/global_data.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'const_ret', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 13, subprograms: [] },
      { name: 'count_ret', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 20, subprograms: [] },
      { name: 'table_ret', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 19, subprograms: [] },
    ],
    maps: [
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 53, maxEntries: 1, flags: 0x480 },
      { name: '.data', type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, flags: 0x400 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 12, maxEntries: 1, flags: 0x400 },
      { name: '.rodata.str1.1', type: 'array', keySize: 4, valueSize: 11, maxEntries: 1, flags: 0x480 },
    ],
  },
  bpf2bpf: {
    file: 'bpf-objs/bpf2bpf.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'calls_xdp', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 14, subprograms: ['sum_sq', 'square'] },
      { name: 'loop_sock', section: 'socket', type: 'socket_filter', insns: 23, subprograms: ['loop_cb', 'square'] },
      { name: 'foreach_tc', section: 'tc', type: 'sched_cls', insns: 33, subprograms: ['elem_cb', 'sum_sq', 'square'] },
    ],
    maps: [
      { name: 'vals', type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 },
    ],
  },
  legacy_maps: {
    file: 'bpf-objs/legacy_maps.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'count_packets', section: 'classifier', type: 'sched_cls', insns: 38, subprograms: [] },
      { name: 'xdp_legacy', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 19, subprograms: [] },
    ],
    maps: [
      { name: 'pkt_total', type: 'array', keySize: 4, valueSize: 8, maxEntries: 2 },
      { name: 'proto_counts', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 256, flags: 1 },
    ],
  },
  core: {
    file: 'bpf-objs/core.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'on_switch_btf', section: 'tp_btf/sched_switch', type: 'tracing', attachType: 'trace_raw_tp', insns: 55, subprograms: [] },
      { name: 'on_switch_raw', section: 'raw_tp/sched_switch', type: 'raw_tracepoint', insns: 66, subprograms: [] },
    ],
    maps: [
      { name: '.bss', type: 'array', keySize: 4, valueSize: 56, maxEntries: 1, flags: 0x400 },
    ],
  },
  kconfig: {
    file: 'bpf-objs/kconfig.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'kconfig_ret', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 20, subprograms: [] },
      { name: 'ksym_rawtp', section: 'raw_tp/sys_enter', type: 'raw_tracepoint', insns: 9, subprograms: [] },
    ],
    maps: [
      { name: '.bss', type: 'array', keySize: 4, valueSize: 12, maxEntries: 1, flags: 0x400 },
      { name: '.kconfig', type: 'array', keySize: 4, valueSize: 10, maxEntries: 1, flags: 0x480 },
    ],
  },
  ksyms: {
    file: 'bpf-objs/ksyms.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'ksym_rawtp', section: 'raw_tp/sys_enter', type: 'raw_tracepoint', insns: 21, subprograms: [] },
      { name: 'ksym_module', section: 'raw_tp/sys_enter', type: 'raw_tracepoint', insns: 15, subprograms: [] },
    ],
    maps: [
      { name: '.bss', type: 'array', keySize: 4, valueSize: 12, maxEntries: 1, flags: 0x400 },
    ],
  },
  map_types: {
    file: 'bpf-objs/map_types.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'use_all', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 98, subprograms: [] },
    ],
    maps: [
      { name: 'hash_map', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 128 },
      { name: 'array_map', type: 'array', keySize: 4, valueSize: 8, maxEntries: 16 },
      { name: 'percpu_hash', type: 'percpu_hash', keySize: 8, valueSize: 4, maxEntries: 64 },
      { name: 'percpu_array', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4 },
      { name: 'lru_hash', type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 1024 },
      { name: 'ringbuf', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 262144 },
      { name: 'perf_events', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 },
      { name: 'lpm_trie', type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 256, flags: 1 },
      { name: 'queue', type: 'queue', keySize: 0, valueSize: 4, maxEntries: 32 },
      { name: 'stack', type: 'stack', keySize: 0, valueSize: 8, maxEntries: 32 },
      { name: 'bloom', type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 100, mapExtra: 3 },
      { name: 'tsbpf_pinned', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8, pinning: 1 },
    ],
  },
  struct_ops: {
    file: 'bpf-objs/struct_ops.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'tsbpf_ssthresh', section: 'struct_ops/tsbpf_ssthresh', type: 'struct_ops', insns: 6, subprograms: [] },
      { name: 'tsbpf_cong_avoid', section: 'struct_ops/tsbpf_cong_avoid', type: 'struct_ops', insns: 8, subprograms: [] },
      { name: 'tsbpf_undo_cwnd', section: 'struct_ops/tsbpf_undo_cwnd', type: 'struct_ops', insns: 3, subprograms: [] },
    ],
    maps: [
      // libbpf: one map per .struct_ops* variable, key 4, the object's struct as value
      // (sizeof(struct tcp_congestion_ops) = 192 in vmlinux.h), max_entries 1, BPF_F_LINK
      // (0x2000) for .struct_ops.link. At load the value becomes the kernel's
      // struct bpf_struct_ops_tcp_congestion_ops.
      { name: 'tsbpf_cc', type: 'struct_ops', keySize: 4, valueSize: 192, maxEntries: 1, flags: 0 },
      { name: 'tsbpf_cc_link', type: 'struct_ops', keySize: 4, valueSize: 192, maxEntries: 1, flags: 0x2000 },
    ],
  },
  kfuncs: {
    file: 'bpf-objs/kfuncs.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      // two kfunc calls (call -1 with R_BPF_64_32 against the extern symbols), one ld_imm64
      { name: 'ct_lookup', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 25, subprograms: [] },
      { name: 'on_ct_lookup', section: 'fentry/bpf_xdp_ct_lookup', type: 'tracing', attachType: 'trace_fentry', insns: 5, subprograms: [] },
    ],
    maps: [
      // .rodata: clang's 12-byte initialiser of `opts`; .ksyms gets no map
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 12, maxEntries: 1, flags: 0x480 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, flags: 0x400 },
    ],
  },
  freplace: {
    file: 'bpf-objs/freplace.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'entry', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 7, subprograms: ['pick'] },
      // '?' sections: autoload off; the section name is kept without the '?'
      { name: 'new_pick', section: 'freplace/pick', type: 'ext', insns: 2, subprograms: [], autoload: false },
      { name: 'after_pick', section: 'fexit/pick', type: 'tracing', attachType: 'trace_fexit', insns: 5, subprograms: [], autoload: false },
    ],
    maps: [
      { name: '.data', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x400 },
    ],
  },
  struct_ops_optional: {
    // llvm-readelf-19 -S -s -r: sections ?.struct_ops (0xc0 bytes, symbol tsbpf_opt size 192)
    // and ?.struct_ops.link (0x28 bytes, tsbpf_opt_link size 40), relocated by
    // .rel?.struct_ops (0 -> opt_ssthresh, 8 -> opt_cong_avoid, 0x40 -> opt_cwnd) and
    // .rel?.struct_ops.link (0 -> opt_cwnd, 8 -> opt_cong_avoid, 0x10 -> opt_link_undo_cwnd);
    // the program sections struct_ops/opt_ssthresh, struct_ops/opt_cong_avoid,
    // struct_ops/opt_cwnd and ?struct_ops/opt_link_undo_cwnd (llvm-objdump-19 -d: 6, 8, 7
    // and 3 instructions). bpftool btf dump: DATASEC '?.struct_ops' holds VAR tsbpf_opt
    // (STRUCT tcp_congestion_ops, size 192), DATASEC '?.struct_ops.link' holds
    // tsbpf_opt_link (STRUCT tcp_congestion_ops___v2, size 40).
    file: 'bpf-objs/struct_ops_optional.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'opt_ssthresh', section: 'struct_ops/opt_ssthresh', type: 'struct_ops', insns: 6, subprograms: [] },
      { name: 'opt_cong_avoid', section: 'struct_ops/opt_cong_avoid', type: 'struct_ops', insns: 8, subprograms: [] },
      { name: 'opt_cwnd', section: 'struct_ops/opt_cwnd', type: 'struct_ops', insns: 7, subprograms: [] },
      { name: 'opt_link_undo_cwnd', section: 'struct_ops/opt_link_undo_cwnd', type: 'struct_ops', insns: 3, subprograms: [], autoload: false },
    ],
    maps: [
      { name: 'tsbpf_opt', type: 'struct_ops', keySize: 4, valueSize: 192, maxEntries: 1, flags: 0, section: '?.struct_ops', autocreate: false },
      { name: 'tsbpf_opt_link', type: 'struct_ops', keySize: 4, valueSize: 40, maxEntries: 1, flags: 0x2000, section: '?.struct_ops.link', autocreate: false },
    ],
  },
  kfunc_weak: {
    // llvm-objdump-19 -dr: weak_absent 7 instructions (ld_imm64 + call against the weak
    // extern tsbpf_no_such_kfunc), weak_present 5 (ld_imm64 against bpf_ct_release),
    // weak_unguarded 3 (call); no data sections, so no maps
    file: 'bpf-objs/kfunc_weak.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'weak_absent', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 7, subprograms: [] },
      { name: 'weak_present', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 5, subprograms: [], autoload: false },
      { name: 'weak_unguarded', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 3, subprograms: [], autoload: false },
    ],
    maps: [],
  },
  optional_map: {
    // llvm-objdump-19 -dr: count 15 instructions (ld_imm64 of use_stats in .rodata, ld_imm64
    // of stats, helper call 1 = map_lookup_elem); llvm-readelf-19: .rodata 1 byte, .maps 0x20
    file: 'bpf-objs/optional_map.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'count', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 15, subprograms: [] },
    ],
    maps: [
      { name: 'stats', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 1, maxEntries: 1, flags: 0x480 },
    ],
  },
  iter: {
    // llvm-objdump-19 -d: dump_task 20 instructions, dump_vals 18 (BPF_SEQ_PRINTF: an
    // ld_imm64 of its format in .rodata + helper bpf_seq_printf); llvm-readelf-19: .rodata
    // 0x10 bytes (the two format strings), .maps 0x20 (vals)
    file: 'bpf-objs/iter.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'dump_task', section: 'iter/task', type: 'tracing', attachType: 'trace_iter', insns: 20, subprograms: [] },
      { name: 'dump_vals', section: 'iter/bpf_map_elem', type: 'tracing', attachType: 'trace_iter', insns: 18, subprograms: [] },
    ],
    maps: [
      { name: 'vals', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8, flags: 0 },
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, flags: 0x480 },
    ],
  },
  hidden_func: {
    // llvm-readelf-19 -s: fill (WEAK HIDDEN, .text, 32 bytes), twice (GLOBAL HIDDEN, 40),
    // exposed (GLOBAL DEFAULT, 32); llvm-objdump-19 -dr: hidden_calls 15 instructions
    // (calls fill, then twice), visible_call 7 (calls exposed); fill 4, twice 5, exposed 4;
    // no data sections
    file: 'bpf-objs/hidden_func.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'hidden_calls', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 24, subprograms: ['fill', 'twice'] },
      { name: 'visible_call', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 11, subprograms: ['exposed'], autoload: false },
    ],
    maps: [],
  },
  events: {
    // llvm-objdump-19 -d: to_ringbuf 128 instructions, to_ringbuf_reserve 151, to_perf 129,
    // to_ringbuf_short 32, say_hello 17 (ld_imm64 counted once); llvm-readelf-19 -S: .bss 0x40
    // (unused_event + 7 u64 counters), .rodata 0x1d (the kind strings), .rodata.str1.1 0x15
    // (the bpf_printk format), .maps 0x28 (ring, perf)
    file: 'bpf-objs/events.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'to_ringbuf', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 128, subprograms: [] },
      { name: 'to_ringbuf_reserve', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 151, subprograms: [] },
      { name: 'to_perf', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 129, subprograms: [] },
      { name: 'to_ringbuf_short', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 32, subprograms: [] },
      { name: 'say_hello', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 17, subprograms: [] },
    ],
    maps: [
      { name: 'ring', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 262144 },
      { name: 'perf', type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: 0 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 64, maxEntries: 1, flags: 0x400 },
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 29, maxEntries: 1, flags: 0x480 },
      { name: '.rodata.str1.1', type: 'array', keySize: 4, valueSize: 21, maxEntries: 1, flags: 0x480 },
    ],
  },
  user_ringbuf: {
    // llvm-objdump-19 -d: drain 12 instructions (bpf_user_ringbuf_drain with the ld_imm64 of
    // the .text callback take, 21 instructions); .maps 0x10 (user_ring), .bss 0x10 (sum, count)
    file: 'bpf-objs/user_ringbuf.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'drain', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 33, subprograms: ['take'] },
    ],
    maps: [
      { name: 'user_ring', type: 'user_ringbuf', keySize: 0, valueSize: 0, maxEntries: 16384 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, flags: 0x400 },
      ],
    },
  weak_override: {
    // bpftool gen object of weak_override.bpf.c + weak_override.strong.c; llvm-readelf-19 -s
    // -r: one pick (GLOBAL, .text offset 0x40, 24 bytes), the dropped weak copy's 8 slots at
    // 0..0x40 with its .rel.text entry (offset 8 -> weak_calls) and no symbol;
    // llvm-objdump-19 -d: use_pick 3 instructions, use_pick_too 4, pick 3; .bss 4 bytes
    file: 'bpf-objs/weak_override.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'use_pick', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 6, subprograms: ['pick'] },
      { name: 'use_pick_too', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 7, subprograms: ['pick'] },
    ],
    maps: [
      { name: '.bss', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x400 },
    ],
  },
  usdt: {
    // llvm-objdump-19 -d: on_args 47 instructions (one lddw), on_auto 11; .text holds
    // usdt.bpf.h's bpf_usdt_arg_cnt 31, bpf_usdt_arg 111, bpf_usdt_cookie 28 (on_args calls
    // all three: 47 + 111 + 31 + 28); llvm-readelf-19 -S: .maps 0x60 (three maps), .kconfig
    // holds LINUX_HAS_BPF_COOKIE (1 byte); struct __bpf_usdt_spec of libbpf 1.1 is 208 bytes
    file: 'bpf-objs/usdt.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'on_args', section: 'usdt', type: 'kprobe', insns: 217, subprograms: ['bpf_usdt_arg', 'bpf_usdt_arg_cnt', 'bpf_usdt_cookie'] },
      { name: 'on_auto', section: 'usdt/usdt_target:tsbpf:args', type: 'kprobe', insns: 11, subprograms: [] },
    ],
    maps: [
      { name: '__bpf_usdt_specs', type: 'array', keySize: 4, valueSize: 208, maxEntries: 256, flags: 0 },
      { name: '__bpf_usdt_ip_to_spec_id', type: 'hash', keySize: 8, valueSize: 4, maxEntries: 1024, flags: 0 },
      { name: 'seen', type: 'array', keySize: 4, valueSize: 56, maxEntries: 1, flags: 0 },
      { name: '.kconfig', type: 'array', keySize: 4, valueSize: 1, maxEntries: 1, flags: 0x480 },
    ],
  },
  unknown_section: {
    // llvm-readelf-19 -S: program sections tsbpf/custom, xdp, socket/tail, sk_lookup/select,
    // .maps 0x20 (jmp_table) with .rel.maps (24 -> custom_prog: slot 0 of values at 24);
    // llvm-objdump-19 -d: custom_prog 2 instructions, dispatch 5 (ld_imm64 of jmp_table,
    // tail call), long_socket 2, long_lookup 2
    file: 'bpf-objs/unknown_section.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'custom_prog', section: 'tsbpf/custom', type: undefined, insns: 2, subprograms: [] },
      { name: 'dispatch', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 5, subprograms: [] },
      // cilium's long forms of libbpf's exact names 'socket' and 'sk_lookup'
      { name: 'long_socket', section: 'socket/tail', type: 'socket_filter', insns: 2, subprograms: [] },
      { name: 'long_lookup', section: 'sk_lookup/select', type: 'sk_lookup', attachType: 'sk_lookup', insns: 2, subprograms: [] },
    ],
    maps: [
      { name: 'jmp_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, contents: [{ key: 0, value: 'custom_prog' }] },
    ],
  },
  nobtf: {
    file: 'bpf-objs/nobtf.bpf.o',
    license: 'GPL',
    btf: false,
    programs: [
      { name: 'sock_nobtf', section: 'socket', type: 'socket_filter', insns: 10, subprograms: ['add3'] },
      { name: 'xdp_nobtf', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 10, subprograms: ['add3'] },
    ],
    maps: [
      { name: '.data', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x400 },
    ],
  },
  attach_trace: {
    file: 'bpf-objs/attach_trace.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'tp_enter_getppid', section: 'tracepoint/syscalls/sys_enter_getppid', type: 'tracepoint', insns: 11, subprograms: [] },
      { name: 'ks_getppid', section: 'ksyscall/getppid', type: 'kprobe', insns: 11, subprograms: [] },
      { name: 'kp_openat', section: 'kprobe/do_sys_openat2', type: 'kprobe', insns: 11, subprograms: [] },
      { name: 'krp_openat', section: 'kretprobe/do_sys_openat2', type: 'kprobe', insns: 11, subprograms: [] },
      { name: 'kpm_openat', section: 'kprobe.multi/do_sys_openat2', type: 'kprobe', attachType: 'trace_kprobe_multi', insns: 11, subprograms: [] },
      { name: 'up_add', section: 'uprobe', type: 'kprobe', insns: 17, subprograms: [] },
      { name: 'urp_add', section: 'uretprobe', type: 'kprobe', insns: 17, subprograms: [] },
      { name: 'upm_add', section: 'uprobe.multi', type: 'kprobe', attachType: 'trace_uprobe_multi', insns: 11, subprograms: [] },
      { name: 'on_sample', section: 'perf_event', type: 'perf_event', insns: 11, subprograms: [] },
    ],
    maps: [
      { name: '.bss', type: 'array', keySize: 4, valueSize: 92, maxEntries: 1, flags: 0x400 },
    ],
  },
  attach_net: {
    file: 'bpf-objs/attach_net.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'xdp_udp', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 5, subprograms: [] },
      { name: 'xdp_count', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 31, subprograms: [] },
      { name: 'xdp_count2', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 28, subprograms: [] },
      { name: 'tc_udp_in', section: 'tcx/ingress', type: 'sched_cls', attachType: 'tcx_ingress', insns: 5, subprograms: [] },
      { name: 'tc_udp_out', section: 'tcx/egress', type: 'sched_cls', attachType: 'tcx_egress', insns: 5, subprograms: [] },
      { name: 'tc_in', section: 'tcx/ingress', type: 'sched_cls', attachType: 'tcx_ingress', insns: 31, subprograms: [] },
      { name: 'tc_out', section: 'tcx/egress', type: 'sched_cls', attachType: 'tcx_egress', insns: 31, subprograms: [] },
      { name: 'cg_egress', section: 'cgroup_skb/egress', type: 'cgroup_skb', attachType: 'cgroup_inet_egress', insns: 26, subprograms: [] },
      { name: 'cg_ingress', section: 'cgroup_skb/ingress', type: 'cgroup_skb', attachType: 'cgroup_inet_ingress', insns: 26, subprograms: [] },
      { name: 'lookup', section: 'sk_lookup', type: 'sk_lookup', attachType: 'sk_lookup', insns: 11, subprograms: [] },
      { name: 'msg_verdict', section: 'sk_msg', type: 'sk_msg', attachType: 'sk_msg_verdict', insns: 5, subprograms: [] },
    ],
    maps: [
      { name: 'xdp_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, contents: [{ key: 0, value: 'xdp_udp' }] },
      { name: 'tc_in_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1, contents: [{ key: 0, value: 'tc_udp_in' }] },
      { name: 'tc_out_table', type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 1, contents: [{ key: 0, value: 'tc_udp_out' }] },
      { name: 'sock_map', type: 'sockmap', keySize: 4, valueSize: 8, maxEntries: 4 },
      { name: '.rodata', type: 'array', keySize: 4, valueSize: 2, maxEntries: 1, flags: 0x480 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 88, maxEntries: 1, flags: 0x400 },
    ],
  },
  messages: {
    // llvm-objdump-19 -dr: core_poisoned 2 instructions (the LDX carries a CO-RE byte_off
    // relocation of xdp_md___tsbpf::no_such_field), plain_extern 3 (call -1 with R_BPF_64_32
    // against tsbpf_not_linked, a BTF FUNC of linkage extern in no DATASEC), fine 2; no maps
    file: 'bpf-objs/messages.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'core_poisoned', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [], autoload: false },
      { name: 'plain_extern', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 3, subprograms: [], autoload: false },
      { name: 'fine', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
    ],
    maps: [],
  },
  map_unsized: {
    // llvm-objdump-19 -d: count_stack 21 instructions; llvm-readelf-19 -S: .maps 0x20
    // (stacks, events), .bss 8 (seen); bpftool btf dump: stacks has no value_size, events no max_entries
    file: 'bpf-objs/map_unsized.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'count_stack', section: 'kprobe/do_nanosleep', type: 'kprobe', insns: 21, subprograms: [] },
    ],
    maps: [
      { name: 'stacks', type: 'stack_trace', keySize: 4, valueSize: 0, maxEntries: 64 },
      { name: 'events', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 0 },
      { name: '.bss', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, flags: 0x400 },
    ],
  },
  legacy_extra: {
    // llvm-readelf-19 -s: invalid_map (OBJECT, maps, 24 bytes: struct bpf_map_def + u32 dummy = 1);
    // llvm-objdump-19 -d: pass 2 instructions
    file: 'bpf-objs/legacy_extra.bpf.o',
    license: 'GPL',
    btf: true,
    programs: [
      { name: 'pass', section: 'xdp', type: 'xdp', attachType: 'xdp', insns: 2, subprograms: [] },
    ],
    maps: [
      { name: 'invalid_map', type: 'hash', keySize: 4, valueSize: 2, maxEntries: 1, section: 'maps' },
    ],
  },
};
