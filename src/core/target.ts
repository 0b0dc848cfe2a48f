/**
 * Target BTF for CO-RE: the running kernel's (/sys/kernel/btf/vmlinux, parsed lazily and
 * cached per process, modules as split BTF on top of it), another BTF file, or a `Btf`.
 *
 * Candidates are found by Btf's byte-level name search (src/btf/names.ts): no name
 * index of all of vmlinux is decoded, and all of an object's names are looked up in one
 * pass (prefetch). Pure: the kernel's BTF files are read by a function the caller may
 * give (src/load maps vmlinux), by a plain file read otherwise.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Btf, type BtfKindName } from '../btf/index.js';
import { readWholeFile } from '../file.js';
import { CoreError } from './errors.js';
import { kindsCompatible } from './names.js';

export interface CoreCandidate {
  btf: Btf;
  id: number;
  /** 'vmlinux', a module name, or the BTF file's path. */
  source: string;
}

/** Where CO-RE looks for target types. */
export interface TargetBtfSource {
  /** Short name for messages. */
  readonly name: string;
  /**
   * Types whose essential name (before `___flavour`) equals `essential` and whose kind is
   * compatible with `kind` (equal, or enum vs enum64); vmlinux first, modules only when
   * vmlinux has none (libbpf's rule).
   */
  candidates(essential: string, kind: BtfKindName): CoreCandidate[];
  /** Optional: look up many names in one pass before `candidates` is asked for each. */
  prefetch?(essentials: Iterable<string>): void;
}

/** Candidates of kind `kind` (or compatible) among `ids` of `btf`. */
function pick(btf: Btf, source: string, ids: readonly number[], kind: BtfKindName): CoreCandidate[] {
  const out: CoreCandidate[] = [];
  for (const id of ids) if (kindsCompatible(btf.kindOf(id), kind)) out.push({ btf, id, source });
  return out;
}

/** Ids of types defined by `btf` itself (not its base) whose essential name is `ess`. */
function ownEssential(btf: Btf, ess: string): number[] {
  const ids = btf.idsByEssentialName(ess);
  return btf.base ? ids.filter((id) => id >= btf.firstTypeId) : ids;
}

/** A single BTF (no modules): a file given by the user, or a parsed `Btf`. */
export class SingleBtfSource implements TargetBtfSource {
  constructor(readonly btf: Btf, readonly name: string) {}
  candidates(essential: string, kind: BtfKindName): CoreCandidate[] {
    return pick(this.btf, this.name, this.btf.idsByEssentialName(essential), kind);
  }
  prefetch(essentials: Iterable<string>): void {
    this.btf.prefetchNames(essentials, { essential: true });
  }
}

export interface KernelBtfOptions {
  /** vmlinux BTF path (default /sys/kernel/btf/vmlinux). A path other than the default disables modules, as libbpf's btf_custom_path. */
  path?: string;
  /** Directory of module BTF (default: the directory of `path` when it is the default, i.e. /sys/kernel/btf). */
  modulesDir?: string;
  /** Look in module BTF when vmlinux has no candidate (default true for the running kernel). */
  modules?: boolean;
  /**
   * Reads vmlinux and module BTF files (default readBtfFile). src/load gives one that maps
   * /sys/kernel/btf/vmlinux instead of reading it. Used by the first kernelBtf() call of a
   * path: later calls share its cached instance.
   */
  read?: (file: string) => Uint8Array;
}

const DEFAULT_VMLINUX = '/sys/kernel/btf/vmlinux';

/** Reads a BTF file whole (the default of KernelBtfOptions.read). */
export const readBtfFile: (file: string) => Uint8Array = readWholeFile;

/** The running kernel's BTF: vmlinux plus module BTF, each read and parsed on first use. */
export class KernelBtf implements TargetBtfSource {
  readonly name: string;
  private vm: Btf | undefined;
  private mods: ModuleEntry[] | undefined;

  constructor(private readonly opts: KernelBtfOptions = {}) {
    this.name = opts.path ?? 'vmlinux';
  }

  /** The vmlinux BTF (read and parsed on first use). */
  get vmlinux(): Btf {
    if (this.vm) return this.vm;
    const file = this.opts.path ?? DEFAULT_VMLINUX;
    let bytes: Uint8Array;
    try { bytes = (this.opts.read ?? readBtfFile)(file); } catch (e) {
      throw new CoreError(`cannot read kernel BTF: ${(e as Error).message}${file === DEFAULT_VMLINUX ? ' (kernel built without CONFIG_DEBUG_INFO_BTF? give a BTF file with the path option)' : ''}`, { file }, { cause: e });
    }
    this.vm = Btf.parse(bytes, { file });
    return this.vm;
  }

  /** Module names with BTF (files next to vmlinux), without reading them. */
  moduleNames(): string[] {
    return this.moduleList().map((m) => m.name);
  }

  /** A module's split BTF (parsed on first use), or undefined when there is none. */
  module(name: string): Btf | undefined {
    const m = this.moduleList().find((x) => x.name === name);
    return m ? this.loadModule(m) : undefined;
  }

  private moduleList(): ModuleEntry[] {
    if (this.mods) return this.mods;
    this.mods = [];
    this.refreshModules();
    return this.mods;
  }

  /**
   * Re-reads the module directory (modules loaded since the last look) and returns the
   * new entries; called when a lookup found nothing, so a long-running process sees
   * modules loaded after its first load.
   */
  private refreshModules(): ModuleEntry[] {
    const mods = this.mods ?? (this.mods = []);
    const useMods = this.opts.modules ?? (this.opts.path === undefined || this.opts.path === DEFAULT_VMLINUX);
    const dir = this.opts.modulesDir ?? (useMods ? path.dirname(this.opts.path ?? DEFAULT_VMLINUX) : undefined);
    if (!useMods || !dir) return [];
    let names: string[];
    try { names = readdirSync(dir).filter((n) => n !== 'vmlinux').sort(); } catch { return []; }
    const have = new Set(mods.map((m) => m.name));
    const added = names.filter((n) => !have.has(n)).map((n) => ({ name: n, file: path.join(dir, n) }));
    mods.push(...added);
    return added;
  }

  private loadModule(m: ModuleEntry): Btf {
    if (m.loaded) return m.loaded;
    const base = this.vmlinux;
    m.loaded = Btf.parse((this.opts.read ?? readBtfFile)(m.file), { file: m.file, base });
    return m.loaded;
  }

  prefetch(essentials: Iterable<string>): void {
    this.vmlinux.prefetchNames(essentials, { essential: true });
  }

  candidates(essential: string, kind: BtfKindName): CoreCandidate[] {
    const vm = this.vmlinux;
    const found = pick(vm, 'vmlinux', vm.idsByEssentialName(essential), kind);
    if (found.length > 0) return found;
    for (const m of this.moduleList()) {
      let btf: Btf;
      try { btf = this.loadModule(m); } catch { continue; } // an unreadable module is skipped, as libbpf does
      found.push(...pick(btf, m.name, ownEssential(btf, essential), kind));
    }
    return found;
  }

  /** Exact-name lookup (ksyms, attach targets): vmlinux first, then modules. */
  findType(name: string, kind?: BtfKindName): CoreCandidate | undefined {
    const scan = (btf: Btf, source: string, ownOnly: boolean): CoreCandidate | undefined => {
      for (const id of btf.idsByName(name)) {
        if (ownOnly && id < btf.firstTypeId) continue;
        if (kind === undefined || btf.kindOf(id) === kind) return { btf, id, source };
      }
      return undefined;
    };
    const hit = scan(this.vmlinux, 'vmlinux', false);
    if (hit) return hit;
    const inModules = (mods: ModuleEntry[]) => {
      for (const m of mods) {
        let btf: Btf;
        try { btf = this.loadModule(m); } catch { continue; }
        const h = scan(btf, m.name, true);
        if (h) return h;
      }
      return undefined;
    };
    return inModules(this.moduleList()) ?? inModules(this.refreshModules());
  }
}

/** A module with BTF in the modules directory, parsed on first use. */
interface ModuleEntry { name: string; file: string; loaded?: Btf }

const cached = new Map<string, KernelBtf>();

/**
 * The running kernel's BTF (cached per process and per path). `kernelBtf({ path })` reads
 * another vmlinux BTF file instead (no modules unless `modulesDir` is given).
 */
export function kernelBtf(opts: KernelBtfOptions = {}): KernelBtf {
  const key = JSON.stringify([opts.path ?? DEFAULT_VMLINUX, opts.modulesDir ?? '', opts.modules ?? '']);
  let k = cached.get(key);
  if (!k) { k = new KernelBtf(opts); cached.set(key, k); }
  return k;
}

/** A target from BTF bytes or a parsed `Btf`. */
export function btfTarget(btf: Btf | Uint8Array, name = 'target'): SingleBtfSource {
  return new SingleBtfSource(btf instanceof Btf ? btf : Btf.parse(btf, { file: name }), name);
}
