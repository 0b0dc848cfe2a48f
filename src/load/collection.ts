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
import { ensureBpffs, type Fd } from '../sys/index.js';
import { withGlobals } from './globals.js';
import { CollectionLoader } from './loader.js';
import type { LoadOptions } from './options.js';
import type { BpfMap } from './map.js';
import { pathInDir, pinName, removePins } from './pin.js';
import type { Program } from './program.js';

export type { LoadOptions, LoadStage } from './options.js';

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
    if (opts.globals) spec = withGlobals(spec, opts.globals);
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
