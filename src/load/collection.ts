/**
 * Collection: the maps and programs of one object in the kernel, with close(). Loading is
 * CollectionLoader's work (loader.ts, one method per stage); a load that fails leaves
 * nothing behind.
 *
 * Kernel fact: a prog array is emptied when its last user reference goes (last fd
 * closed and not pinned), even if a program using it stays attached. Keep the
 * Collection open, or pin the prog array, for as long as the tail calls must work.
 */
import { loadCollectionSpec } from '../spec/collection.js';
import type { CollectionSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import type { Btf } from '../btf/index.js';
import { ensureBpffs, type Fd } from '../sys/index.js';
import type { AttachTarget } from './kernel-refs.js';
import { CollectionLoader } from './loader.js';
import type { MemlockMode } from './memlock.js';
import type { BpfMap } from './map.js';
import { pathInDir, pinName, removePins } from './pin.js';
import type { Program } from './program.js';
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
}

/** Where a load stands, for error messages and tests ('maps', 'programs', ...). */
export type LoadStage = 'btf' | 'maps' | 'programs' | 'contents';

export class Collection {
  readonly maps: Map<string, BpfMap>;
  readonly programs: Map<string, Program>;
  readonly spec: CollectionSpec;
  /** The object's BTF in the kernel, if it loaded. */
  readonly btfFd?: Fd;
  /** What BTF sanitisation changed for this kernel. */
  readonly btfChanges: string[];

  private constructor(spec: CollectionSpec, maps: Map<string, BpfMap>, programs: Map<string, Program>, btfFd: Fd | undefined, btfChanges: string[]) {
    this.spec = spec;
    this.maps = maps;
    this.programs = programs;
    if (btfFd) this.btfFd = btfFd;
    this.btfChanges = btfChanges;
  }

  /** Reads the object at `file` and loads it. */
  static loadFile(file: string, opts: LoadOptions = {}): Collection {
    return Collection.load(loadCollectionSpec(file), opts);
  }

  /** Loads a spec into the kernel (CollectionLoader). On failure nothing is left behind. */
  static load(spec: CollectionSpec, opts: LoadOptions = {}): Collection {
    const loaded = new CollectionLoader(spec, opts).load();
    return new Collection(spec, loaded.maps, loaded.programs, loaded.btfFd, loaded.btfChanges);
  }

  /**
   * Pins every program and map under `dir` (created if missing; bpffs mounted at
   * /sys/fs/bpf when `dir` is under it and it is not there), libbpf's
   * bpf_object__pin layout: `dir/<map name>` ('.' -> '_': bpffs refuses dots) and
   * `dir/<program name>`.
   * Maps already pinned by name stay where they are.
   */
  pin(dir: string): string[] {
    // every path first: a name that would leave `dir` is refused before anything is pinned
    const plan: Array<[{ pin(path: string): void }, string]> = [];
    for (const m of this.maps.values()) if (!m.pinnedAt) plan.push([m, pathInDir(dir, pinName(m.kernelName), 'map', { file: this.spec.file, symbol: m.name })]);
    for (const p of this.programs.values()) plan.push([p, pathInDir(dir, p.name, 'program', { file: this.spec.file, section: p.spec.section })]);
    ensureBpffs(dir, { create: true });
    const done: string[] = [];
    try {
      for (const [o, at] of plan) { o.pin(at); done.push(at); }
    } catch (e) {
      removePins(done);
      throw e;
    }
    return done;
  }

  /** Removes the pins `pin(dir)` made (and pinned-by-name maps of this collection when `all`). */
  unpin(all = false): void {
    for (const m of this.maps.values()) if (all || m.spec.pinning !== PIN_BY_NAME) m.unpin();
    for (const p of this.programs.values()) p.unpin();
  }

  /**
   * Closes every fd. Prog arrays that are not pinned are emptied by the kernel; registered
   * struct_ops maps that are not pinned are unregistered first (key 0 deleted).
   */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    this.btfFd?.close();
  }
}
