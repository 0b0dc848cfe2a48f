import type { Instruction } from '../asm/types.js';
import type { Btf } from '../btf/index.js';
import type { CoreRelo, FuncInfo, LineInfo } from '../btf/types.js';
import type { AttachTypeName, MapTypeName, ProgTypeName } from '../kernel/enums.js';

/** LIBBPF_PIN_* as in the `pinning` member of a BTF map definition. */
export const PIN_NONE = 0;
export const PIN_BY_NAME = 1;

/** One statically initialised slot of a prog array or map-in-map: key -> program or inner map name. */
export interface MapContent { key: number; value: string }

/** A function-pointer member of a struct_ops map set to a program (a `.rel.struct_ops*` relocation). */
export interface StructOpsProgram {
  /** Member name in the object's struct ('ssthresh'). */
  member: string;
  /** Index of the member in the object's struct (the kernel's index may differ: the loader looks it up by name). */
  memberIndex: number;
  /** Byte offset of the member inside `data`. */
  offset: number;
  /** The program's name. */
  program: string;
}

/**
 * What a `SEC(".struct_ops")` / `SEC(".struct_ops.link")` variable implements (also
 * `SEC("?.struct_ops")` / `SEC("?.struct_ops.link")`: the same, with MapSpec.autocreate false).
 */
export interface StructOpsSpec {
  /** The struct's name without a `___flavour` suffix ('tcp_congestion_ops'); the kernel has `struct <name>` and `struct bpf_struct_ops_<name>`. */
  typeName: string;
  /** BTF type id of the variable's struct in the object's BTF. */
  typeId: number;
  /** `.struct_ops.link`: created with BPF_F_LINK; only a BPF link registers it. */
  link: boolean;
  /** Function pointers set to programs, in member order. */
  programs: StructOpsProgram[];
}

/** A variable of a global data section (.data, .rodata, .bss, .kconfig, ...). */
export interface DataVariable {
  name: string;
  /** Byte offset inside the section's value. */
  offset: number;
  size: number;
  /** BTF type id of the variable's type (0 without BTF). */
  type: number;
  /** 'static' | 'global' | 'extern' (from BTF linkage, or the ELF symbol binding without BTF). */
  linkage: 'static' | 'global' | 'extern';
  /** Externs declared __weak (missing at load: zero instead of an error). */
  weak?: boolean;
}

export interface MapSpec {
  /** Name in the object: the `.maps` variable, the legacy `maps` symbol, or the section name of a data map ('.rodata'). */
  name: string;
  /** Kernel map type name, lowercase without BPF_MAP_TYPE_: 'prog_array', 'hash', ... */
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags. */
  flags: number;
  numaNode: number;
  /** LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1). */
  pinning: number;
  /** map_extra (bloom filter hash count, arena address). */
  mapExtra: bigint;
  /** BTF type ids of key and value when declared with __type() (0 otherwise). */
  keyType: number;
  valueType: number;
  /** Where the definition came from. */
  kind: 'btf' | 'legacy' | 'data' | 'struct_ops';
  /** ELF section holding the definition ('.maps', 'maps', '.rodata', '?.struct_ops', ...). */
  section: string;
  /**
   * Whether Collection.load creates the map (libbpf's bpf_map__autocreate). true for every
   * map except those of `SEC("?.struct_ops")` / `SEC("?.struct_ops.link")`. Set it to turn
   * a map on or off before load (or use LoadOptions.autocreate). A map that is not created
   * is not in Collection.maps; a struct_ops program referenced only by struct_ops maps
   * that are not created is not loaded (see structOpsAutoload), and any other program
   * that references a map that is not created fails to load, naming the map.
   */
  autocreate: boolean;
  /** The inner map template of a map-in-map. */
  innerMap?: MapSpec;
  /** prog array / map-in-map: statically initialised slots. */
  contents?: MapContent[];
  /** Data maps: the initial value (one entry at key 0), zeros for .bss. */
  data?: Uint8Array;
  /** Data maps: the variables inside `data`, by name. */
  variables?: Map<string, DataVariable>;
  /** Data maps that the loader freezes (.rodata*, .kconfig) before programs are verified. */
  readOnly?: boolean;
  /**
   * struct_ops maps: the struct and which member holds which program. `data` is the
   * variable's initial bytes in the object's layout (function pointers 0); the loader
   * builds the kernel's value from it by member name. valueSize is the object's struct
   * size until load (the kernel's `bpf_struct_ops_<name>` size then).
   */
  structOps?: StructOpsSpec;
  /**
   * Legacy definitions: bytes after the 5 standard fields. iproute2's 36-byte `struct
   * bpf_elf_map` puts id / pinning / inner_id / inner_idx there (kept, not acted on); in any
   * other definition a non-zero byte there is refused at load (MapDefinitionError
   * 'unknown-fields', as cilium refuses it): clear them (or `extra = undefined`) to load anyway.
   */
  extra?: Uint8Array;
  /** Legacy definitions: where `extra` starts, in bytes from the start of the section. */
  extraOffset?: number;
}

export interface ProgramSpec {
  /** The function's symbol name. */
  name: string;
  /** ELF section name, as written in SEC() (without a leading '?'). */
  section: string;
  /**
   * Kernel program type name, lowercase without BPF_PROG_TYPE_: 'xdp', 'kprobe', ...
   * undefined when the section name is not one libbpf's SEC() table (or a cilium long form,
   * see programSectionDef) knows: the program is kept, as libbpf keeps it, and loading it
   * fails naming the section unless a type is set here first (the CLI: --type PROG=TYPE).
   */
  type: ProgTypeName | undefined;
  /** Expected attach type name, lowercase without BPF_ ('trace_fentry'), when the SEC() table sets one. */
  attachType?: AttachTypeName;
  /** Attach target from the section name ('do_sys_open' for 'kprobe/do_sys_open'). */
  attachTo?: string;
  /** BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS from the SEC() table. */
  flags: number;
  sleepable: boolean;
  /**
   * false for `SEC("?...")` sections: not loaded unless asked for. struct_ops programs
   * that struct_ops maps reference are the exception (libbpf 1.4+): they load exactly when
   * one of those maps is created, whatever this says (see structOpsAutoload).
   */
  autoload: boolean;
  /**
   * The program with its subprograms appended (depth-first), calls and callbacks patched.
   * In a spec from loadCollectionSpec this and the three record lists are made on first
   * read (checked at open); each program has its own copy, free to change or replace.
   */
  instructions: Instruction[];
  /** Subprograms appended after the entry, in order. */
  subprograms: string[];
  license: string;
  kernelVersion: number;
  /** func_info / line_info / CO-RE records, re-based to `instructions` (offsets in 8-byte slots). */
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelos: CoreRelo[];
  /** The object's BTF (shared by all programs of the collection), when it has one. */
  btf?: Btf;
  /**
   * struct_ops programs used by a struct_ops map: the struct ('tcp_congestion_ops') and
   * member ('ssthresh') they implement, from the first map (in section order) that uses
   * them. The loader sends attach_btf_id = the kernel's struct and expected_attach_type =
   * the member's index in the kernel's struct. A program may implement other members in
   * other maps (each map's `structOps.programs` lists its own): as in libbpf, only the
   * maps that are created must agree, which the loader checks.
   */
  structOps?: { typeName: string; member: string };
}

export interface CollectionSpec {
  /** The path given, or '<buffer>'. */
  file: string;
  maps: Map<string, MapSpec>;
  programs: Map<string, ProgramSpec>;
  license: string;
  kernelVersion: number;
  btf?: Btf;
  /** Sections skipped as libbpf skips them (unknown executable sections), with the reason. */
  warnings: string[];
}
