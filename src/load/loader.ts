/**
 * CollectionLoader: CollectionSpec -> kernel objects, one method per stage (the shape of
 * cilium/ebpf's collectionLoader). It holds everything it has created, so that one
 * close() undoes a load that fails at any point: every fd opened is closed, every
 * struct_ops map registered is unregistered, every pin made is removed.
 *
 *   0. raiseMemlock: RLIMIT_MEMLOCK removed where the kernel charges BPF memory to it
 *      (before Linux 5.11), once per process (memlock.ts);
 *   1. loadBtf: the object's BTF, sanitised for this kernel (a refusal is not fatal: maps
 *      and programs then go without BTF, as libbpf does);
 *   2. createMaps: maps with autocreate on (all but `SEC("?.struct_ops*")` ones, unless
 *      changed); pinned-by-name maps reused when compatible; inner map templates before
 *      their outer maps; global data written and .rodata / .kconfig frozen before any
 *      program is verified; then fillMapInMap: map-in-map slots, once the inner maps exist;
 *   3. loadPrograms: map fds patched in, loaded with the verifier log strategy; struct_ops
 *      programs that struct_ops maps reference load exactly when one of those maps is
 *      created (libbpf 1.4+, see structOpsAutoload);
 *   4. fillProgArrays: prog-array slots from `contents`, after every program exists;
 *      registerStructOps: struct_ops maps get their value (program fds in the function
 *      pointers): a plain `.struct_ops` map is registered by it, a `.struct_ops.link` map
 *      waits for a BPF link (BpfMap.attachStructOps, see struct-ops.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TsbpfError, type ErrorContext } from '../errors.js';
import { MAP_TYPES, type MapTypeName } from '../kernel/enums.js';
import { kconfigData, kernelRelease, kernelVersionCode } from '../core/index.js';
import { LEGACY_MAP_DEF_SIZE } from '../spec/data-maps.js';
import { structOpsAutoload } from '../spec/struct-ops.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import { BPFFS_ROOT, btfLoad, ensureBpffs, Fd, mapCreate, mapDelete, mapFreeze, mapInfo, mapUpdate, objGetIfPinned, objPin, SyscallError, systemPageSize, type MapCreateOptions } from '../sys/index.js';
import { sanitizeBtf } from './features.js';
import { KernelTypes } from './kernel-refs.js';
import { BpfMap, numPossibleCpus } from './map.js';
import type { Program } from './program.js';
import { loadProgram, missingProgramType, type ProgramLoadContext } from './program-load.js';
import { progArrayOwner, progArrayRefusal } from './prog-array.js';
import { kernelMapName, objectName } from './prepare.js';
import { planStructOps, STRUCT_OPS_LINK_NOTE, structOpsAttach, structOpsValue, type StructOpsMember, type StructOpsPlan } from './struct-ops.js';
import { pathInDir, removePins } from './pin.js';
import { explainEperm, raiseMemlockOnce } from './memlock.js';
import { explainMapRefusal } from './missing.js';
import { readKconfig } from './kconfig-file.js';
import { checkMapSize, type MapShapeForSize } from './limits.js';
import { explainMapEinval, legacyExtraByte, MapDefinitionError, mapFieldMessage, mapFieldProblem, ringbufSize, type MapShape } from './map-rules.js';
import { slabBytes } from '../bytes.js';
import type { LoadOptions, LoadStage } from './options.js';

/** No map type can use BTF key/value types for these (libbpf sends none). */
const NO_BTF_VALUE: ReadonlySet<MapTypeName> = new Set<MapTypeName>([
  'perf_event_array', 'cgroup_array', 'stack_trace', 'array_of_maps', 'hash_of_maps', 'devmap',
  'devmap_hash', 'cpumap', 'xskmap', 'sockmap', 'sockhash', 'queue', 'stack', 'ringbuf', 'user_ringbuf',
  'prog_array',
]);

/** No program names (no attachTargets given). */
const NO_NAMES: ReadonlySet<string> = new Set();

/** Key 0: the one entry of global data and struct_ops maps. */
const KEY_0 = new Uint8Array(4);
/** A prog array's or map-in-map's value: the fd of the program or inner map, a u32. */

/** Where BPF maps are pinned by name unless LoadOptions.pinRoot says otherwise (libbpf's default). */
const DEFAULT_PIN_ROOT = BPFFS_ROOT;

/** Largest global data copied into a slab before BPF_MAP_UPDATE_ELEM. */
const SLAB_COPY_MAX = 4096;

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * `data` in a slab view (bytes.ts) when small: a global data map's bytes are a view into
 * the object file's buffer, new at every open, and taking a new buffer's address is a
 * native call (koffi.address) where a slab's is taken once.
 */
function slabCopy(data: Uint8Array): Uint8Array {
  if (data.length > SLAB_COPY_MAX) return data; // a copy would cost more than the address
  const b = slabBytes(data.length);
  b.set(data);
  return b;
}

/** The last release parsed by linuxVersionCode, and its code: the release is read once per process. */
let versionOf: { release: string; code: number } | undefined;

/**
 * LINUX_VERSION_CODE of the running kernel, for programs whose object gives none (kprobes
 * on old kernels check it); an unparsable release gives 0, as libbpf sends. Parsed once
 * per release string, not once per load.
 */
function linuxVersionCode(): number {
  const release = kernelRelease();
  if (versionOf?.release !== release) {
    let code = 0;
    try { code = kernelVersionCode(release); } catch { /* 0 */ }
    versionOf = { release, code };
  }
  return versionOf.code;
}

/** What a successful load hands to the Collection (which then owns it). */
export interface LoadedObjects {
  maps: Map<string, BpfMap>;
  programs: Map<string, Program>;
  btfFd: Fd | undefined;
  btfChanges: string[];
}

export class CollectionLoader {
  readonly file: string;
  /** The stage running (or the one that failed), for error messages. */
  stage: LoadStage = 'btf';
  readonly maps = new Map<string, BpfMap>();
  readonly programs = new Map<string, Program>();
  private btfFd?: Fd;
  /** Whether func_info / line_info may go with programs (the kernel has BTF FUNC). */
  private funcInfo = false;
  private btfChanges: string[] = [];
  /** Everything opened or registered so far, undone in reverse order by close(). */
  private readonly owned: Array<{ close(): void }> = [];
  /** Pins this load made (pinned-by-name maps it created), removed by close(). */
  private readonly pinned: string[] = [];
  /** Maps reused from a pin: their contents are the pinned map's, not the object's. */
  private readonly reused = new Set<string>();
  /** struct_ops maps that are created, with the kernel's types, by map name. */
  private readonly structOpsPlans = new Map<string, StructOpsPlan>();
  /** What each struct_ops program implements (attach_btf_id, member index), by program name. */
  private structOpsMembers = new Map<string, StructOpsMember>();
  private readonly types: KernelTypes;
  private readonly objName: string;

  constructor(readonly spec: CollectionSpec, readonly opts: LoadOptions = {}) {
    this.file = spec.file;
    this.objName = objectName(spec.file);
    this.types = new KernelTypes(opts.targetBtf);
  }

  /** Runs every stage. On failure close() undoes what was made and the error names the file. */
  load(): LoadedObjects {
    try {
      this.checkOptions();
      this.raiseMemlock();
      this.loadBtf();
      this.stage = 'maps';
      this.planStructOps();
      this.createMaps();
      this.fillMapInMap();
      this.stage = 'programs';
      this.loadPrograms();
      this.types.close(); // module BTF fds: the loaded programs hold their own references
      this.stage = 'contents';
      this.fillProgArrays();
      this.registerStructOps();
    } catch (e) {
      this.close();
      throw this.located(e);
    }
    // one literal (a spread of an optional key takes V8's slow path)
    const done: LoadedObjects = { maps: this.maps, programs: this.programs, btfChanges: this.btfChanges, btfFd: this.btfFd };
    this.owned.length = 0; // the Collection owns them now
    if (this.pinned.length) this.pinned.length = 0;
    return done;
  }

  /** Undoes the load so far: unregisters, closes every fd (newest first), removes the pins made. */
  close(): void {
    this.types.close();
    for (const o of this.owned.splice(0).reverse()) { try { o.close(); } catch { /* closing what we opened: nothing more to do */ } }
    removePins(this.pinned.splice(0));
  }

  /** The error of a failed stage, with the object's file named. */
  private located(e: unknown): unknown {
    if (e instanceof TsbpfError) return e.file === undefined ? TsbpfError.wrap(e, { file: this.file }) : e;
    return new TsbpfError(`loading failed at stage '${this.stage}': ${(e as Error)?.message ?? e}`, { file: this.file }, { cause: e });
  }

  private own<T extends { close(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /** Names given in LoadOptions must be in the object. */
  private checkOptions(): void {
    const { spec, opts, file } = this;
    if (opts.autocreate) for (const n of Object.keys(opts.autocreate)) {
      if (!spec.maps.has(n)) throw new TsbpfError(`autocreate: no map '${n}' in the object (have: ${[...spec.maps.keys()].join(', ')})`, { file });
    }
    if (opts.memlock !== undefined && opts.memlock !== 'auto' && opts.memlock !== 'keep') throw new TsbpfError(`memlock: '${String(opts.memlock)}' is not 'auto' or 'keep'`, { file });
    const have = () => [...spec.programs.keys()].join(', ');
    const wanted = opts.programs ? new Set(opts.programs) : undefined;
    if (wanted) for (const n of wanted) if (!spec.programs.has(n)) throw new TsbpfError(`no program '${n}' in the object (have: ${have()})`, { file });
    if (opts.attachTargets) for (const n of Object.keys(opts.attachTargets)) {
      if (!spec.programs.has(n)) throw new TsbpfError(`attachTargets names program '${n}', which is not in the object (have: ${have()})`, { file });
      if (wanted && !wanted.has(n)) throw new TsbpfError(`attachTargets names program '${n}', which is not among the programs to load (${[...wanted].join(', ')})`, { file });
    }
    for (const m of spec.maps.values()) {
      if (!this.created(m)) continue;
      // a pinned-by-name map whose name would leave pinRoot: refused before anything is created
      this.pinPath(m);
      // a map (or inner map template) over the size limit: refused before any BPF_MAP_CREATE
      this.checkSize(m);
      if (m.innerMap) this.checkSize(m.innerMap, m);
      // a field BPF_MAP_CREATE refuses with a bare EINVAL: named before anything is created
      this.checkDefinition(m);
      if (m.innerMap) this.checkDefinition(m.innerMap, m);
    }
    // libbpf's "missing BPF prog type": a program to load whose section gave it no type
    const targeted: ReadonlySet<string> = opts.attachTargets ? new Set(Object.keys(opts.attachTargets)) : NO_NAMES;
    for (const p of spec.programs.values()) {
      if (p.type !== undefined || (wanted ? !wanted.has(p.name) : !p.autoload && !targeted.has(p.name))) continue;
      throw missingProgramType(p, file);
    }
  }

  /**
   * The fields the checks read, max_entries as created: a small object of one shape (a
   * spread of the MapSpec, with its every key, cost ~1-2 us per map and check).
   */
  private shape(m: MapSpec): MapShape & MapShapeForSize {
    return { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: this.maxEntries(m), flags: m.flags, mapExtra: m.mapExtra };
  }

  private checkSize(m: MapSpec, outer?: MapSpec): void {
    if (m.type === 'struct_ops') return; // one value of a kernel struct
    checkMapSize(outer ? `${outer.name}.inner` : m.name, this.shape(m), numPossibleCpus(), this.opts.limits, this.context(outer ?? m));
  }

  /** The fields of `m` as BPF_MAP_CREATE would get them, against the rules every kernel applies (map-rules.ts). */
  private checkDefinition(m: MapSpec, outer?: MapSpec): void {
    if (m.type === 'struct_ops') return; // sized from the kernel's struct at load
    const name = outer ? `${outer.name}.inner` : m.name;
    const extra = legacyExtraByte(m.extra);
    if (extra) {
      const size = LEGACY_MAP_DEF_SIZE + m.extra!.length;
      const offset = m.extraOffset === undefined ? undefined : m.extraOffset + extra.index;
      throw new MapDefinitionError(
        `legacy map '${m.name}' has non-zero bytes past the five fields of struct bpf_map_def: byte ${LEGACY_MAP_DEF_SIZE + extra.index} of its ${size}-byte definition is 0x${extra.value.toString(16).padStart(2, '0')}; ` +
        `no loader reads those bytes, so what they ask for would be dropped ` +
        `(cilium/ebpf refuses such a map too): remove them from the definition, or clear them (spec.maps.get('${m.name}').extra = undefined) to load the map without them`,
        { ...this.context(outer ?? m), ...(offset === undefined ? {} : { offset }) },
        { reason: 'unknown-fields', map: name, mapType: m.type, field: 'extra', value: extra.value },
      );
    }
    const p = mapFieldProblem(this.shape(m));
    if (p) throw new MapDefinitionError(mapFieldMessage(name, m.type, p), this.context(outer ?? m), { reason: p.reason, map: name, mapType: m.type, field: p.field, value: p.value });
  }

  private created(m: MapSpec): boolean {
    return this.opts.autocreate?.[m.name] ?? m.autocreate;
  }

  // ---------------------------------------------------------------- 0. memlock

  /**
   * Before the first object is created: on kernels that charge BPF memory to
   * RLIMIT_MEMLOCK (before 5.11) the limit is removed, once per process, unless
   * LoadOptions.memlock is 'keep' (memlock.ts).
   */
  raiseMemlock(): void {
    raiseMemlockOnce(this.opts.memlock ?? 'auto');
  }

  // ---------------------------------------------------------------- 1. BTF

  loadBtf(): void {
    const { spec, opts } = this;
    if (!spec.btf || opts.noBtf) return;
    // the bytes are needed only for BPF_BTF_LOAD: a slab view (no array of its own, no native address lookup)
    const s = sanitizeBtf(spec.btf, undefined, slabBytes);
    this.btfChanges = s.changes;
    try {
      this.btfFd = this.own(new Fd(btfLoad(s.bytes), `btf of ${this.file}`));
      this.funcInfo = s.funcInfo;
    } catch (e) {
      if (!(e instanceof SyscallError) || e.code === 'EPERM') throw explainEperm(e);
      this.btfChanges.push(`BTF rejected by the kernel (${e.code}): loading without BTF`);
    }
  }

  // ---------------------------------------------------------------- 2. maps

  /** struct_ops: the kernel's types and the value's scalars, before anything is created. */
  private planStructOps(): void {
    const { spec, file } = this;
    for (const m of spec.maps.values()) {
      if (m.type !== 'struct_ops' || !m.structOps || !this.created(m)) continue;
      if (!spec.btf) throw new TsbpfError(`struct_ops map '${m.name}' needs the object's BTF`, { file, section: m.section, symbol: m.name });
      this.structOpsPlans.set(m.name, planStructOps(m, spec.btf, this.types, file));
    }
    if (this.structOpsPlans.size > 0) this.structOpsMembers = structOpsAttach([...this.structOpsPlans.values()], file);
  }

  /** Every map to create, inner map templates' outer maps last. */
  createMaps(): void {
    // two passes in spec order (the order a stable sort on "has an inner map" gave), without
    // the array copies and the comparator sort
    let outer = false;
    for (const m of this.spec.maps.values()) {
      if (m.innerMap) outer = true;
      else if (this.created(m)) this.loadMap(m);
    }
    if (outer) for (const m of this.spec.maps.values()) if (m.innerMap && this.created(m)) this.loadMap(m);
  }

  private pinPath(m: MapSpec): string | undefined {
    return m.pinning === PIN_BY_NAME ? pathInDir(this.opts.pinRoot ?? DEFAULT_PIN_ROOT, m.name, 'map (pinned by name)', this.context(m)) : undefined;
  }

  /** One map: reused from its pin, or created (from its inner map template), then its data written. */
  loadMap(m: MapSpec): BpfMap {
    const pinPath = this.pinPath(m);
    const pinned = pinPath === undefined ? undefined : this.openPinned(m, pinPath);
    const kernelName = kernelMapName(this.objName, m);
    let fd: Fd;
    let maxEntries: number;
    if (pinned) ({ fd, maxEntries } = this.reusePinned(m, pinPath!, pinned));
    else {
      // the inner map template is only needed while the outer map is created
      const inner = m.innerMap ? this.createMap({ ...m.innerMap, pinning: 0 }) : undefined;
      ({ fd, maxEntries } = this.createMap(m, inner?.fd, kernelName));
      inner?.fd.close();
    }
    const plan = this.structOpsPlans.get(m.name);
    // a struct_ops map's value is the kernel's struct bpf_struct_ops_<name>, not the object's struct
    const bm = plan
      ? new BpfMap({ ...m, valueSize: plan.valueSize }, fd, kernelName, maxEntries)
      : new BpfMap(m, fd, kernelName, maxEntries, this.btfFd ? this.spec.btf : undefined);
    if (pinPath) bm.pinnedAt = pinPath;
    if (pinned) this.reused.add(m.name);
    this.maps.set(m.name, bm);
    if (m.kind === 'data' && !pinned) this.writeData(m, fd);
    return bm;
  }

  private context(m: MapSpec): ErrorContext {
    return { file: this.file, section: m.section, symbol: m.name };
  }

  /**
   * max_entries as created, as libbpf creates it: a perf event array without one gets one
   * slot per possible CPU; a ring buffer's size is rounded up to a power of two times the
   * page size (ringbufSize).
   */
  private maxEntries(m: MapSpec): number {
    if (m.type === 'perf_event_array' && m.maxEntries === 0) return numPossibleCpus();
    if (m.type === 'ringbuf' || m.type === 'user_ringbuf') return ringbufSize(m.maxEntries, systemPageSize());
    return m.maxEntries;
  }

  /**
   * The map pinned at `pinPath`, or undefined when nothing is pinned there (ENOENT): one
   * BPF_OBJ_GET, as libbpf's bpf_object__reuse_map, without a stat of the path first.
   */
  private openPinned(m: MapSpec, pinPath: string): Fd | undefined {
    const raw = objGetIfPinned(pinPath);
    return raw === undefined ? undefined : this.own(new Fd(raw, `map ${m.name} (pinned)`));
  }

  /** A map pinned by name that exists already: checked against the object's definition. */
  private reusePinned(m: MapSpec, pinPath: string, fd: Fd): { fd: Fd; maxEntries: number } {
    const info = mapInfo(fd);
    const maxEntries = this.maxEntries(m);
    const want = { type: MAP_TYPES[m.type], keySize: m.keySize, valueSize: m.valueSize, maxEntries, flags: m.flags };
    // the list of differences only when there is one (its closures and arrays cost ~1-2 us)
    if (info.type === want.type && info.keySize === want.keySize && info.valueSize === want.valueSize && info.maxEntries === want.maxEntries && info.flags === want.flags) return { fd, maxEntries };
    const diffs = (Object.keys(want) as Array<keyof typeof want>).filter((k) => info[k] !== want[k]).map((k) => `${k} ${info[k]} (pinned) vs ${want[k]} (object)`);
    if (diffs.length) throw new TsbpfError(`map '${m.name}' pinned at ${pinPath} does not match the object: ${diffs.join(', ')}`, this.context(m));
    return { fd, maxEntries };
  }

  /** BPF_MAP_CREATE's fields for a map (struct_ops maps: the kernel's value type, no key/value BTF). */
  private mapCreateOptions(m: MapSpec, innerFd?: Fd, name = kernelMapName(this.objName, m)): MapCreateOptions {
    const plan = this.structOpsPlans.get(m.name);
    if (plan) {
      return { type: 'struct_ops', keySize: 4, valueSize: plan.valueSize, maxEntries: 1, flags: m.flags, name, btfFd: this.btfFd, btfVmlinuxValueTypeId: plan.kernValueTypeId };
    }
    return {
      type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: this.maxEntries(m),
      flags: m.flags, name, numaNode: m.numaNode, mapExtra: m.mapExtra,
      // every key present, undefined where unused: no spread into the literal, and createMap's
      // `{ ...o, btfFd }` only overrides keys (V8 makes a spread object that gets new keys
      // slowly, ~3 us)
      innerMapFd: innerFd, btfFd: undefined, btfKeyTypeId: undefined, btfValueTypeId: undefined,
    };
  }

  /**
   * Checks before BPF_MAP_CREATE: what the kernel would refuse with an errno that explains
   * less than we can. Throws a TsbpfError naming the map.
   */
  private checkMapCreate(m: MapSpec, o: MapCreateOptions): void {
    if (o.type === 'struct_ops' && !o.btfFd) {
      throw new TsbpfError(`struct_ops map '${m.name}' needs the object's BTF in the kernel (the map is created with btf_fd), but ${this.opts.noBtf ? 'noBtf was given' : 'the kernel refused the BTF'}`, this.context(m));
    }
  }

  /**
   * BPF_MAP_CREATE, with the object's key / value BTF types where the map type takes them
   * (retried without them when the kernel refuses, as libbpf does); pinned by name after.
   */
  private createMap(m: MapSpec, innerFd?: Fd, name?: string): { fd: Fd; maxEntries: number } {
    const o = this.mapCreateOptions(m, innerFd, name);
    this.checkMapCreate(m, o);
    const withBtf = this.btfFd && o.type !== 'struct_ops' && !NO_BTF_VALUE.has(m.type) && (m.keyType || m.valueType)
      ? { ...o, btfFd: this.btfFd, btfKeyTypeId: m.keyType, btfValueTypeId: m.valueType } : undefined;
    let raw: number;
    try {
      raw = mapCreate(withBtf ?? o);
    } catch (e) {
      if (!withBtf || !(e instanceof SyscallError) || e.code === 'EPERM') throw this.mapCreateFailure(m, e);
      try { raw = mapCreate(o); } catch (e2) { throw this.mapCreateFailure(m, e2); }
    }
    const fd = this.own(new Fd(raw, `map ${m.name}`));
    const pinPath = o.type === 'struct_ops' ? undefined : this.pinPath(m);
    if (pinPath) this.pin(m, fd, pinPath);
    return { fd, maxEntries: o.maxEntries };
  }

  /** A refused BPF_MAP_CREATE, explained where we know why. */
  private mapCreateFailure(m: MapSpec, e: unknown): unknown {
    e = explainEperm(e);
    const missing = explainMapRefusal(m.name, m.type, e, this.context(m));
    if (missing) return missing;
    // struct_ops links (BPF_F_LINK on the map) came with Linux 6.4, with struct bpf_struct_ops_link
    if (m.type === 'struct_ops' && e instanceof SyscallError && e.code === 'EINVAL' && m.structOps?.link && !this.types.find('bpf_struct_ops_link', 'struct')) {
      return new TsbpfError(`struct_ops map '${m.name}' (${m.section}) needs struct_ops links (BPF_F_LINK), which this kernel does not have (its BTF has no struct bpf_struct_ops_link; Linux 6.4+)`, this.context(m), { cause: e, reason: 'struct-ops-link-unsupported' });
    }
    // an EINVAL a field explains that only the running kernel decides (kernel.perf_event_max_stack)
    if (e instanceof SyscallError && e.code === 'EINVAL') {
      const p = explainMapEinval(this.shape(m));
      if (p) return new MapDefinitionError(mapFieldMessage(m.name, m.type, p, e.code), this.context(m), { reason: p.reason, map: m.name, mapType: m.type, field: p.field, value: p.value, errnoName: e.code }, e);
    }
    return TsbpfError.wrap(e, this.context(m));
  }

  private pin(m: MapSpec, fd: Fd, pinPath: string): void {
    const dir = path.dirname(pinPath);
    ensureBpffs(dir, { ctx: this.context(m) });
    if (!existsSync(dir)) throw new TsbpfError(`pin directory ${dir} does not exist (create it on bpffs first)`, this.context(m));
    try { objPin(fd, pinPath); } catch (e) { throw TsbpfError.wrap(e, this.context(m)); }
    this.pinned.push(pinPath);
  }

  /** A global data map's initial value (.kconfig: computed from the running kernel now), frozen when read-only. */
  private writeData(m: MapSpec, fd: Fd): void {
    const { spec, file } = this;
    let data = m.data;
    if (m.name === '.kconfig' && spec.btf && m.variables) {
      data = kconfigData(m.variables.values(), m.valueSize, spec.btf, { weak: (n) => m.variables!.get(n)?.weak ?? false, readConfig: readKconfig, file });
    }
    try {
      if (data && !allZero(data)) mapUpdate(fd, KEY_0, slabCopy(data));
      if (m.readOnly) mapFreeze(fd);
    } catch (e) { throw TsbpfError.wrap(e, this.context(m)); }
  }

  /** Map-in-map slots from `contents`: the inner maps exist now. */
  fillMapInMap(): void {
    const { spec, file } = this;
    for (const bm of this.maps.values()) {
      if (this.reused.has(bm.name) || !bm.spec.innerMap || !bm.spec.contents) continue;
      for (const c of bm.spec.contents) {
        const inner = this.maps.get(c.value);
        if (!inner) {
          const why = spec.maps.has(c.value) ? ', which is not created (autocreate off)' : ', which is not in the collection';
          throw new TsbpfError(`map '${bm.name}' slot ${c.key} names map '${c.value}'${why}`, { file, symbol: bm.name });
        }
        try { bm.update(c.key, inner); } catch (e) { throw TsbpfError.wrap(e, { file, section: '.maps', symbol: `${bm.name}[${c.key}]` }); }
      }
    }
  }

  // ---------------------------------------------------------------- 3. programs

  /** The programs to load: those asked for, else those that autoload (and targeted ones, and used struct_ops ones). */
  loadPrograms(): void {
    const { spec, opts, file } = this;
    const wanted = opts.programs ? new Set(opts.programs) : undefined;
    // a program given a target is loaded even when its section starts with '?'
    const targeted: ReadonlySet<string> = opts.attachTargets ? new Set(Object.keys(opts.attachTargets)) : NO_NAMES;
    const kernelVersion = linuxVersionCode();
    const context: ProgramLoadContext = {
      file, maps: this.maps, mapNames: [...spec.maps.keys()], btfFd: this.funcInfo ? this.btfFd : undefined,
      kernelVersion, opts, types: this.types, own: (fd) => this.own(fd),
    };
    // libbpf 1.4+: a struct_ops program that maps reference loads iff one of them is created
    const structOpsUses = structOpsAutoload(spec, (m) => this.created(m));
    for (const p of spec.programs.values()) {
      const use = structOpsUses.get(p.name);
      if (wanted ? !wanted.has(p.name) : !(use ? use.load : p.autoload) && !targeted.has(p.name)) continue;
      let member: StructOpsMember | undefined;
      if (p.type === 'struct_ops') {
        member = this.structOpsMembers.get(p.name);
        if (!member) {
          // the created maps use it only in members this kernel lacks: not loaded, as libbpf does
          if (use?.created.length && !wanted) continue;
          throw this.structOpsProgramUnused(p, use);
        }
      }
      this.programs.set(p.name, loadProgram(p, context, member));
    }
  }

  /** Why a struct_ops program cannot be loaded: no created map gives it a kernel struct and member. */
  private structOpsProgramUnused(p: ProgramSpec, use: { created: string[]; maps: string[] } | undefined): TsbpfError {
    const ctx = { file: this.file, section: p.section, symbol: p.name };
    if (use?.created.length) {
      return new TsbpfError(`struct_ops program '${p.name}': the member it implements in ${use.created.join(', ')} is not in this kernel's struct ${p.structOps?.typeName}`, ctx, { reason: 'struct-ops-member-missing' });
    }
    if (use) {
      return new TsbpfError(`struct_ops program '${p.name}' is used only by struct_ops maps that are not created (${use.maps.join(', ')}: autocreate off): create one (MapSpec.autocreate / LoadOptions.autocreate) so that the kernel knows the struct and member it implements`, ctx);
    }
    return new TsbpfError(`struct_ops program '${p.name}' is not used by any struct_ops map of the object: the kernel needs the struct and member it implements (attach_btf_id, expected_attach_type)`, ctx);
  }

  // ---------------------------------------------------------------- 4. prog arrays, struct_ops

  /** Prog-array slots from `contents`: every program exists now. */
  fillProgArrays(): void {
    const { spec, file } = this;
    for (const bm of this.maps.values()) {
      if (bm.type !== 'prog_array' || !bm.spec.contents?.length) continue;
      let owner: Program | undefined;
      for (const c of bm.spec.contents) {
        const p = this.programs.get(c.value);
        if (!p) {
          if (spec.programs.has(c.value)) continue; // not loaded (autoload off / not selected): slot stays empty
          throw new TsbpfError(`prog array '${bm.name}' slot ${c.key} names program '${c.value}', which is not in the object`, { file, symbol: bm.name });
        }
        owner ??= progArrayOwner(bm.name, this.programs.values(), p);
        if (p.type !== owner.type) {
          throw new TsbpfError(`prog array '${bm.name}': slot ${c.key} holds '${p.name}' of type ${p.type}, but '${owner.name}' (type ${owner.type}) already owns the array; a prog array only takes programs of one type`, { file, section: '.maps', symbol: bm.name });
        }
        try { bm.update(c.key, p); } catch (e) { throw progArrayRefusal(e, bm.name, c.key, p, owner, { file, section: '.maps' }); }
      }
    }
  }

  /** struct_ops values: registers plain .struct_ops maps; .struct_ops.link ones wait for a link. */
  registerStructOps(): void {
    for (const plan of this.structOpsPlans.values()) {
      const bm = this.maps.get(plan.map.name)!;
      const { typeName, link } = plan.map.structOps!;
      const ctx = this.context(plan.map);
      const value = structOpsValue(plan, (n) => this.programs.get(n)?.fd.value, this.file);
      try {
        mapUpdate(bm.fd, KEY_0, value);
      } catch (e) {
        if (e instanceof SyscallError && e.code === 'EEXIST') {
          const taken = plan.valueName === undefined ? typeName : `${typeName} '${plan.valueName}'`; // the value's name, not the map's, is what is registered
          throw new TsbpfError(`struct_ops map '${bm.name}': the kernel refused to register ${taken} (EEXIST): one of that name is probably registered already (bpftool struct_ops list)`, ctx, { cause: e, reason: 'struct-ops-name-taken' });
        }
        throw TsbpfError.wrap(e, ctx);
      }
      if (!link) this.own({ close: () => { mapDelete(bm.fd, KEY_0); } }); // a later failure unregisters it
      bm.structOps = {
        typeName, kernelTypeId: plan.kernTypeId, registered: !link, link,
        programs: plan.slots.map((x) => ({ member: x.member, program: x.program })), skipped: plan.skipped,
        note: link ? STRUCT_OPS_LINK_NOTE : `registered as ${typeName} by the map update; unregistered (key 0 deleted) at close() unless the map is pinned`,
      };
    }
  }
}
