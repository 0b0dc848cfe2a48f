/**
 * Target BTF for CO-RE: the running kernel's (/sys/kernel/btf/vmlinux, parsed lazily and
 * cached per process, modules as split BTF on top of it), another BTF file, or a `Btf`.
 *
 * Candidate lookup does not build a name index over all of vmlinux (that costs more than
 * libbpf's whole parse): the wanted names are searched in the string section with
 * Buffer.indexOf, then one pass over the raw type records picks the records whose
 * name offset is one of the hits.
 */
import { closeSync, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Btf, KIND_NAMES, type BtfKindName } from '../btf/index.js';
import { mapReadOnly } from '../sys/syscall.js';
import { CoreError } from './errors.js';
import { essentialName, kindsCompatible } from './names.js';

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

// Record sizes in u32 words: fixed part per kind and words per vlen entry (func: vlen is linkage).
const FIXED = new Uint8Array(32);
FIXED.set([0, 4, 3, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, 4, 3, 3]);
const PER_VLEN = new Uint8Array(32);
PER_VLEN.set([0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3]);

/** Up to this many wanted name offsets, lookupFew (one native indexOf pass over the records per offset) beats the walk. */
const FEW_OFFSETS = 8;

/**
 * The word offset of each own record of `btf` plus an end sentinel, as Btf.parse computed it
 * in its one pass over the records, so that a name lookup does not walk the ~130k records of
 * vmlinux again. Checked against the raw view (one entry per own type, from word 0 to the
 * type section's end); otherwise undefined and the caller walks the records itself.
 */
function recordIndex(btf: Btf, words: number): Readonly<Uint32Array> | undefined {
  const index = btf.recordOffsets();
  const n = btf.length - btf.firstTypeId;
  if (index.length !== n + 1 || index[0] !== 0 || index[n] !== words) return undefined;
  return index;
}

/** Raw view of one BTF blob for name scans (the module's blob scans its own records; names may live in the base's strings). */
class RawNames {
  private readonly w: Uint32Array;
  private readonly strings: Buffer;
  private readonly strBase: number;
  private readonly firstId: number;
  /** essential name -> [{ id, kind }] of own records */
  private readonly found = new Map<string, { id: number; kind: number }[]>();
  /** essential name -> string offsets whose essential name it is */
  private readonly hitCache = new Map<string, number[]>();

  constructor(readonly btf: Btf, bytes: Uint8Array, private readonly base?: RawNames) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = v.getUint16(0, true) === 0xeb9f;
    const hdr = v.getUint32(4, le), typeOff = v.getUint32(8, le), typeLen = v.getUint32(12, le);
    const strOff = v.getUint32(16, le), strLen = v.getUint32(20, le);
    const start = hdr + typeOff, n = typeLen >>> 2;
    const hostLe = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    if (le === hostLe && (bytes.byteOffset + start) % 4 === 0) this.w = new Uint32Array(bytes.buffer, bytes.byteOffset + start, n);
    else {
      this.w = new Uint32Array(n);
      for (let i = 0; i < n; i++) this.w[i] = v.getUint32(start + i * 4, le);
    }
    this.strings = Buffer.from(bytes.buffer, bytes.byteOffset + hdr + strOff, strLen);
    this.strBase = base ? base.btf.stringsLength : 0;
    this.firstId = btf.firstTypeId;
  }

  /** String offsets (in the shared string space) of names whose essential name is `ess`. */
  hits(ess: string): number[] {
    const have = this.hitCache.get(ess);
    if (have) return have;
    const out: number[] = [];
    const s = this.strings;
    const needle = Buffer.from(`\0${ess}`, 'latin1');
    const check = (start: number) => {
      const end = s.indexOf(0, start);
      if (end < 0) return;
      const name = s.toString('latin1', start, end);
      if (essentialName(name) === ess) out.push(this.strBase + start);
    };
    if (ess.length >= 4) {
      // Without the leading NUL the search is about twice as fast (NUL is the commonest
      // byte of a string section); an occurrence is a name when a NUL precedes it.
      const bare = needle.subarray(1);
      for (let p = s.indexOf(bare); p >= 0; p = s.indexOf(bare, p + 1)) {
        if (p === 0 || s[p - 1] === 0) check(p);
      }
    } else {
      if (s.length > ess.length && s.compare(needle, 1, needle.length, 0, ess.length) === 0) check(0);
      for (let p = s.indexOf(needle); p >= 0; p = s.indexOf(needle, p + 1)) check(p + 1);
    }
    this.hitCache.set(ess, out);
    return out;
  }

  /** Ids and kinds of own records named with essential name `ess`; many names in one pass. */
  lookup(names: Iterable<string>): void {
    const want = new Map<number, string>();
    const todo: string[] = [];
    for (const ess of names) {
      if (this.found.has(ess) || ess === '') continue;
      todo.push(ess);
      for (const off of [...(this.base?.hits(ess) ?? []), ...this.hits(ess)]) want.set(off, ess);
    }
    for (const ess of todo) this.found.set(ess, []);
    if (want.size === 0) return;
    const index = want.size <= FEW_OFFSETS ? recordIndex(this.btf, this.w.length) : undefined;
    if (index) this.lookupFew(want, index);
    else this.lookupWalk(want);
  }

  /**
   * Few wanted name offsets and Btf's record index at hand: find the words equal to each
   * offset (TypedArray indexOf, native speed) and keep those that start a record. Same
   * result as the walk: the ids of each name come out in ascending order.
   */
  private lookupFew(want: Map<number, string>, index: Uint32Array): void {
    const w = this.w, n = index.length - 1;
    const got = new Set<string>();
    for (const [off, ess] of want) {
      const out = this.found.get(ess)!;
      for (let p = w.indexOf(off); p >= 0; p = w.indexOf(off, p + 1)) {
        let lo = 0, hi = n - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >>> 1, at = index[mid]!;
          if (at === p) { out.push({ id: this.firstId + mid, kind: (w[p + 1]! >>> 24) & 0x1f }); break; }
          if (at < p) lo = mid + 1; else hi = mid - 1;
        }
      }
      got.add(ess);
    }
    for (const ess of got) this.found.get(ess)!.sort((a, b) => a.id - b.id);
  }

  /** One pass over the raw type records, picking those whose name offset is wanted. */
  private lookupWalk(want: Map<number, string>): void {
    const w = this.w, end = w.length;
    // Most records' names are not wanted: a range test on the name offset before the Map.
    let lo = Infinity, hi = -1;
    for (const off of want.keys()) { if (off < lo) lo = off; if (off > hi) hi = off; }
    let id = this.firstId;
    for (let pos = 0; pos + 3 <= end; id++) {
      const info = w[pos + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const nameOff = w[pos]!;
      if (nameOff >= lo && nameOff <= hi) {
        const ess = want.get(nameOff);
        if (ess !== undefined) this.found.get(ess)!.push({ id, kind });
      }
      const f = FIXED[kind]!;
      if (f === 0) break; // malformed: Btf.parse would have refused it
      pos += f + (info & 0xffff) * PER_VLEN[kind]!;
    }
  }

  get(ess: string): { id: number; kind: number }[] {
    if (!this.found.has(ess)) this.lookup([ess]);
    return this.found.get(ess)!;
  }
}

/** Candidates from a `Btf` without its bytes: scans decoded names (fine for small BTF; pass bytes for vmlinux). */
class DecodedNames {
  private index: Map<string, number[]> | undefined;
  constructor(readonly btf: Btf) {}
  get(ess: string): { id: number; kind: number }[] {
    if (!this.index) {
      this.index = new Map();
      for (let id = 1; id < this.btf.length; id++) {
        const name = this.btf.typeById(id).name;
        if (name === '') continue;
        const e = essentialName(name);
        const a = this.index.get(e);
        if (a) a.push(id); else this.index.set(e, [id]);
      }
    }
    return (this.index.get(ess) ?? []).map((id) => ({ id, kind: KIND_NAMES.indexOf(this.btf.kindOf(id)) }));
  }
}

function pick(names: RawNames | DecodedNames, btf: Btf, source: string, ess: string, kind: BtfKindName): CoreCandidate[] {
  const out: CoreCandidate[] = [];
  for (const r of names.get(ess)) {
    if (kindsCompatible(KIND_NAMES[r.kind] as BtfKindName, kind)) out.push({ btf, id: r.id, source });
  }
  return out;
}

/** A single BTF (no modules): a file given by the user, or a parsed `Btf`. */
export class SingleBtfSource implements TargetBtfSource {
  private readonly names: RawNames | DecodedNames;
  constructor(readonly btf: Btf, readonly name: string, bytes?: Uint8Array) {
    this.names = bytes ? new RawNames(btf, bytes) : new DecodedNames(btf);
  }
  candidates(essential: string, kind: BtfKindName): CoreCandidate[] {
    return pick(this.names, this.btf, this.name, essential, kind);
  }
  prefetch(essentials: Iterable<string>): void {
    if (this.names instanceof RawNames) this.names.lookup(essentials);
  }
}

export interface KernelBtfOptions {
  /** vmlinux BTF path (default /sys/kernel/btf/vmlinux). A path other than the default disables modules, as libbpf's btf_custom_path. */
  path?: string;
  /** Directory of module BTF (default: the directory of `path` when it is the default, i.e. /sys/kernel/btf). */
  modulesDir?: string;
  /** Look in module BTF when vmlinux has no candidate (default true for the running kernel). */
  modules?: boolean;
}

const DEFAULT_VMLINUX = '/sys/kernel/btf/vmlinux';

/**
 * The kernel's vmlinux BTF mapped read-only (Linux 6.16+), or undefined (older kernels,
 * no koffi, any error): the caller then reads the file. A read() of it returns one page
 * per call (~1350 calls, ~11 ms here); the mapping costs well under a millisecond.
 */
function mapVmlinux(file: string): Uint8Array | undefined {
  if (process.platform !== 'linux') return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    return mapReadOnly(fd, fstatSync(fd).size);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* nothing to do */ }
  }
}

/** The running kernel's BTF: vmlinux plus module BTF, each read and parsed on first use. */
export class KernelBtf implements TargetBtfSource {
  readonly name: string;
  private vm: { btf: Btf; names: RawNames } | undefined;
  private mods: { name: string; file: string; loaded?: { btf: Btf; names: RawNames } }[] | undefined;

  constructor(private readonly opts: KernelBtfOptions = {}) {
    this.name = opts.path ?? 'vmlinux';
  }

  /** The vmlinux BTF (read and parsed on first use). */
  get vmlinux(): Btf { return this.vmlinuxNames().btf; }

  private vmlinuxNames(): { btf: Btf; names: RawNames } {
    if (this.vm) return this.vm;
    const file = this.opts.path ?? DEFAULT_VMLINUX;
    let bytes: Uint8Array | undefined = file === DEFAULT_VMLINUX ? mapVmlinux(file) : undefined;
    if (!bytes) try { bytes = readFileSync(file); } catch (e) {
      throw new CoreError(`cannot read kernel BTF: ${(e as Error).message}${file === DEFAULT_VMLINUX ? ' (kernel built without CONFIG_DEBUG_INFO_BTF? give a BTF file with the path option)' : ''}`, { file }, { cause: e });
    }
    const btf = Btf.parse(bytes, { file });
    this.vm = { btf, names: new RawNames(btf, bytes) };
    return this.vm;
  }

  /** Module names with BTF (files next to vmlinux), without reading them. */
  moduleNames(): string[] {
    return this.moduleList().map((m) => m.name);
  }

  /** A module's split BTF (parsed on first use), or undefined when there is none. */
  module(name: string): Btf | undefined {
    const m = this.moduleList().find((x) => x.name === name);
    return m ? this.loadModule(m).btf : undefined;
  }

  private moduleList(): { name: string; file: string; loaded?: { btf: Btf; names: RawNames } }[] {
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
  private refreshModules(): { name: string; file: string; loaded?: { btf: Btf; names: RawNames } }[] {
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

  private loadModule(m: { name: string; file: string; loaded?: { btf: Btf; names: RawNames } }): { btf: Btf; names: RawNames } {
    if (m.loaded) return m.loaded;
    const vm = this.vmlinuxNames();
    const bytes = readFileSync(m.file);
    const btf = Btf.parse(bytes, { file: m.file, base: vm.btf });
    m.loaded = { btf, names: new RawNames(btf, bytes, vm.names) };
    return m.loaded;
  }

  prefetch(essentials: Iterable<string>): void {
    this.vmlinuxNames().names.lookup(essentials);
  }

  candidates(essential: string, kind: BtfKindName): CoreCandidate[] {
    const vm = this.vmlinuxNames();
    const found = pick(vm.names, vm.btf, 'vmlinux', essential, kind);
    if (found.length > 0) return found;
    for (const m of this.moduleList()) {
      let l: { btf: Btf; names: RawNames };
      try { l = this.loadModule(m); } catch { continue; } // an unreadable module is skipped, as libbpf does
      found.push(...pick(l.names, l.btf, m.name, essential, kind));
    }
    return found;
  }

  /** Exact-name lookup (ksyms, attach targets): vmlinux first, then modules. */
  findType(name: string, kind?: BtfKindName): CoreCandidate | undefined {
    const ess = essentialName(name);
    const scan = (names: RawNames, btf: Btf, source: string) => {
      for (const r of names.get(ess)) {
        if (kind !== undefined && KIND_NAMES[r.kind] !== kind) continue;
        if (btf.typeById(r.id).name === name) return { btf, id: r.id, source };
      }
      return undefined;
    };
    const vm = this.vmlinuxNames();
    const hit = scan(vm.names, vm.btf, 'vmlinux');
    if (hit) return hit;
    const inModules = (mods: { name: string; file: string; loaded?: { btf: Btf; names: RawNames } }[]) => {
      for (const m of mods) {
        let l: { btf: Btf; names: RawNames };
        try { l = this.loadModule(m); } catch { continue; }
        const h = scan(l.names, l.btf, m.name);
        if (h) return h;
      }
      return undefined;
    };
    return inModules(this.moduleList()) ?? inModules(this.refreshModules());
  }
}

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

/** A target from BTF bytes (fast name scans) or a parsed `Btf` (decoded name scan). */
export function btfTarget(btf: Btf | Uint8Array, name = 'target'): SingleBtfSource {
  if (btf instanceof Btf) return new SingleBtfSource(btf, name);
  return new SingleBtfSource(Btf.parse(btf, { file: name }), name, btf);
}
