/** What Collection.load takes, and the stages it reports. */
import type { Btf } from '../btf/index.js';
import type { GlobalValues } from './globals.js';
import type { AttachTarget } from './kernel-refs.js';
import type { LoadLimits } from './limits.js';
import type { MemlockMode } from './memlock.js';
import type { LoadLogOptions } from './verifier.js';

export interface LoadOptions extends LoadLogOptions {
  /** Directory for maps with pinning = LIBBPF_PIN_BY_NAME (default /sys/fs/bpf). */
  pinRoot?: string;
  /**
   * Load only these programs (default: every program whose section allows autoload, and
   * the struct_ops programs of the struct_ops maps that are created; see
   * structOpsAutoload).
   */
  programs?: string[];
  /**
   * Map name -> create it or not, over MapSpec.autocreate: `{ tsbpf_opt: true }` creates
   * a `SEC("?.struct_ops")` map (and so loads its programs), `{ some_map: false }` leaves
   * a map out. Maps not created are not in Collection.maps.
   */
  autocreate?: Record<string, boolean>;
  /**
   * RLIMIT_MEMLOCK: 'auto' (default) removes the limit before the first map, program or
   * BTF is created when the kernel charges BPF memory to it (before Linux 5.11; probed as
   * libbpf does, once per process); 'keep' leaves it as it is. See removeMemlockLimit().
   */
  memlock?: MemlockMode;
  /** Do not load the object's BTF at all (maps and programs go without it). */
  noBtf?: boolean;
  /**
   * What the object may make the kernel allocate: `maxMapBytes` (default 1 GiB) refuses a
   * map whose estimated kernel memory is larger, before anything is created
   * (`{ maxMapBytes: Infinity }` lifts it). See mapMemoryBytes.
   */
  limits?: LoadLimits;
  /**
   * Target BTF for CO-RE relocations: a BTF file path (another kernel's vmlinux BTF) or a
   * parsed Btf. Default: /sys/kernel/btf/vmlinux (+ modules). kfuncs, ksyms, attach targets
   * and struct_ops types always come from the running kernel (libbpf's btf_custom_path).
   */
  targetBtf?: string | Btf;
  /**
   * Target programs of freplace programs (and of fentry / fexit programs that trace a BPF
   * function instead of a kernel one), by program name: `{ new_pick: { program: target } }`
   * or just `{ new_pick: target }`; the function is the one named in the section
   * (`freplace/<function>`) unless `function` is given. A program named here is loaded
   * even when its section starts with '?'. libbpf: bpf_program__set_attach_target.
   */
  attachTargets?: Record<string, AttachTarget | AttachTarget['program']>;
  /**
   * Initial values of global variables by data section, typed through BTF (see
   * withGlobals): `{ '.rodata': { scale: 5 } }`. The loader works on a copy of the spec
   * with them set (Collection.spec); .rodata is frozen after that. A generated skeleton
   * passes its `rodata` / `data` / `bss` options here.
   */
  globals?: GlobalValues;
}

/** Where a load stands, for error messages and tests ('maps', 'programs', ...). */
export type LoadStage = 'btf' | 'maps' | 'programs' | 'contents';
