/**
 * Collection.load: CollectionSpec -> kernel objects.
 *   1. BTF: sanitised for this kernel and loaded (a failure is not fatal: maps and
 *      programs then go without BTF, as libbpf does);
 *   2. maps: those with autocreate on (all but `SEC("?.struct_ops*")` ones, unless
 *      changed); pinned-by-name maps reused when compatible; inner map templates before
 *      their outer maps; global data written and .rodata / .kconfig frozen before any
 *      program is verified;
 *   3. programs: map fds patched in, loaded with the verifier log strategy; struct_ops
 *      programs that struct_ops maps reference load exactly when one of those maps is
 *      created (libbpf 1.4+, see structOpsAutoload);
 *   4. map-in-map slots and prog arrays filled from `contents`, after everything exists;
 *      struct_ops maps get their value (program fds in the function pointers): a plain
 *      `.struct_ops` map is registered by it, a `.struct_ops.link` map waits for a BPF
 *      link (BpfMap.attachStructOps, see struct-ops.ts).
 * A failure at any step closes every fd opened and removes every pin made so far.
 *
 * Kernel fact: a prog array is emptied when its last user reference goes (last fd
 * closed and not pinned), even if a program using it stays attached. Keep the
 * Collection open, or pin the prog array, for as long as the tail calls must work.
 */
import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { TsbpfError, type ErrorContext } from '../errors.js';
import { MAP_TYPES } from '../kernel/enums.js';
import { loadCollectionSpec } from '../spec/collection.js';
import { sectionDef } from '../spec/sections.js';
import { structOpsAutoload } from '../spec/struct-ops.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import { btfLoad, Fd, mapCreate, mapDelete, mapFreeze, mapInfo, mapUpdate, objGet, objPin, SyscallError } from '../sys/index.js';
import type { Btf } from '../btf/index.js';
import { kconfigData, kernelRelease, kernelVersionCode } from '../core/index.js';
import { sanitizeBtf } from './features.js';
import { attachBtf, explainCoreFailure, explainWeakKfunc, KernelTypes, relocateCore, resolveExterns, type AttachTarget, type KernelRef } from './kernel-refs.js';
import { BpfMap, numPossibleCpus } from './map.js';
import { Program } from './program.js';
import { explainMissingMap, funcInfoBytes, kernelMapName, kernelProgName, lineInfoBytes, objectName, patchInstructions } from './prepare.js';
import { loadWithLog, type LoadLogOptions } from './verifier.js';
import { planStructOps, STRUCT_OPS_LINK_NOTE, structOpsAttach, structOpsValue, type StructOpsPlan } from './struct-ops.js';

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


/** No map type can use BTF key/value types for these (libbpf sends none). */
const NO_BTF_VALUE = new Set([
  'perf_event_array', 'cgroup_array', 'stack_trace', 'array_of_maps', 'hash_of_maps', 'devmap',
  'devmap_hash', 'cpumap', 'xskmap', 'sockmap', 'sockhash', 'queue', 'stack', 'ringbuf', 'user_ringbuf',
  'prog_array',
]);

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

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

  /** Loads a spec into the kernel. On failure nothing is left behind. */
  static load(spec: CollectionSpec, opts: LoadOptions = {}): Collection {
    const owned: Array<{ close(): void }> = [];
    const pinnedNow: string[] = [];
    const file = spec.file;
    let stage: LoadStage = 'btf';
    const types = new KernelTypes(opts.targetBtf);
    try {
      // ---- 1. BTF
      let btfFd: Fd | undefined;
      let funcInfo = false;
      let btfChanges: string[] = [];
      if (spec.btf && !opts.noBtf) {
        const s = sanitizeBtf(spec.btf);
        btfChanges = s.changes;
        try {
          btfFd = new Fd(btfLoad(s.bytes), `btf of ${file}`);
          owned.push(btfFd);
          funcInfo = s.funcInfo;
        } catch (e) {
          if (!(e instanceof SyscallError) || e.code === 'EPERM') throw e;
          btfChanges.push(`BTF rejected by the kernel (${e.code}): loading without BTF`);
        }
      }

      // ---- 2. maps
      stage = 'maps';
      for (const n of Object.keys(opts.autocreate ?? {})) {
        if (!spec.maps.has(n)) throw new TsbpfError(`autocreate: no map '${n}' in the object (have: ${[...spec.maps.keys()].join(', ')})`, { file });
      }
      const created = (m: MapSpec): boolean => opts.autocreate?.[m.name] ?? m.autocreate;
      // struct_ops: the kernel's types and the value's scalars, before anything is created
      const plans = new Map<string, StructOpsPlan>();
      for (const m of spec.maps.values()) {
        if (m.type !== 'struct_ops' || !m.structOps || !created(m)) continue;
        if (!spec.btf) throw new TsbpfError(`struct_ops map '${m.name}' needs the object's BTF`, { file, section: m.section, symbol: m.name });
        plans.set(m.name, planStructOps(m, spec.btf, types, file));
      }
      const stAttach = structOpsAttach([...plans.values()], file);
      const objName = objectName(file);
      const maps = new Map<string, BpfMap>();
      const reused = new Set<string>();
      const pinPathOf = (m: MapSpec) => (m.pinning === PIN_BY_NAME ? path.join(opts.pinRoot ?? '/sys/fs/bpf', m.name) : undefined);
      const create = (m: MapSpec, innerFd?: Fd): { fd: Fd; maxEntries: number; reused: boolean } => {
        const ctx: ErrorContext = { file, section: m.section, symbol: m.name };
        let maxEntries = m.maxEntries;
        if (m.type === 'perf_event_array' && maxEntries === 0) maxEntries = numPossibleCpus();
        const kname = kernelMapName(objName, m);
        const pinPath = pinPathOf(m);
        if (pinPath && existsSync(pinPath)) {
          const fd = new Fd(objGet(pinPath), `map ${m.name} (pinned)`);
          owned.push(fd);
          const info = mapInfo(fd);
          const want = { type: MAP_TYPES[m.type as keyof typeof MAP_TYPES], keySize: m.keySize, valueSize: m.valueSize, maxEntries, flags: m.flags };
          const diffs = (Object.keys(want) as Array<keyof typeof want>).filter((k) => info[k] !== want[k]).map((k) => `${k} ${info[k]} (pinned) vs ${want[k]} (object)`);
          if (diffs.length) throw new TsbpfError(`map '${m.name}' pinned at ${pinPath} does not match the object: ${diffs.join(', ')}`, ctx);
          return { fd, maxEntries, reused: true };
        }
        const plan = plans.get(m.name);
        if (plan) {
          if (!btfFd) throw new TsbpfError(`struct_ops map '${m.name}' needs the object's BTF in the kernel (the map is created with btf_fd), but ${opts.noBtf ? 'noBtf was given' : 'the kernel refused the BTF'}`, ctx);
          let raw: number;
          try {
            raw = mapCreate({
              type: 'struct_ops', keySize: 4, valueSize: plan.valueSize, maxEntries: 1, flags: m.flags, name: kname,
              btfFd, btfVmlinuxValueTypeId: plan.kernValueTypeId,
            });
          } catch (e) {
            // struct_ops links (BPF_F_LINK on the map) came with Linux 6.4, with struct bpf_struct_ops_link
            if (e instanceof SyscallError && e.code === 'EINVAL' && m.structOps?.link && !types.find('bpf_struct_ops_link', 'struct')) {
              throw new TsbpfError(`struct_ops map '${m.name}' (${m.section}) needs struct_ops links (BPF_F_LINK), which this kernel does not have (its BTF has no struct bpf_struct_ops_link; Linux 6.4+)`, ctx, { cause: e });
            }
            throw TsbpfError.wrap(e, ctx);
          }
          const fd = new Fd(raw, `map ${m.name}`);
          owned.push(fd);
          return { fd, maxEntries: 1, reused: false };
        }
        const base = {
          type: m.type as keyof typeof MAP_TYPES, keySize: m.keySize, valueSize: m.valueSize, maxEntries,
          flags: m.flags, name: kname, numaNode: m.numaNode, mapExtra: m.mapExtra,
          ...(innerFd ? { innerMapFd: innerFd } : {}),
        };
        const withBtf = btfFd && !NO_BTF_VALUE.has(m.type) && (m.keyType || m.valueType)
          ? { ...base, btfFd, btfKeyTypeId: m.keyType, btfValueTypeId: m.valueType } : undefined;
        let raw: number;
        try {
          raw = mapCreate(withBtf ?? base);
        } catch (e) {
          if (!withBtf || !(e instanceof SyscallError) || e.code === 'EPERM') throw TsbpfError.wrap(e, ctx);
          try { raw = mapCreate(base); } catch (e2) { throw TsbpfError.wrap(e2, ctx); }
        }
        const fd = new Fd(raw, `map ${m.name}`);
        owned.push(fd);
        if (pinPath) {
          pinChecked(fd, pinPath, ctx);
          pinnedNow.push(pinPath);
        }
        return { fd, maxEntries, reused: false };
      };
      const order = [...spec.maps.values()].filter(created).sort((a, b) => Number(!!a.innerMap) - Number(!!b.innerMap));
      for (const m of order) {
        let innerFd: Fd | undefined;
        if (m.innerMap) {
          innerFd = create({ ...m.innerMap, pinning: 0 }).fd;
        }
        const { fd, maxEntries, reused: wasReused } = create(m, innerFd);
        if (innerFd) innerFd.close(); // the template is only needed at creation
        const plan = plans.get(m.name);
        // a struct_ops map's value is the kernel's struct bpf_struct_ops_<name>, not the object's struct
        const bm = plan
          ? new BpfMap({ ...m, valueSize: plan.valueSize }, fd, kernelMapName(objName, m), maxEntries)
          : new BpfMap(m, fd, kernelMapName(objName, m), maxEntries, btfFd ? spec.btf : undefined);
        const pinnedAt = pinPathOf(m);
        if (pinnedAt) bm.pinnedAt = pinnedAt;
        if (wasReused) reused.add(m.name);
        maps.set(m.name, bm);
        if (m.kind === 'data' && !wasReused) {
          let data = m.data;
          if (m.name === '.kconfig' && spec.btf && m.variables) {
            // the values of .kconfig externs come from the running kernel, now
            data = kconfigData(m.variables.values(), m.valueSize, spec.btf, { weak: (n) => m.variables!.get(n)?.weak ?? false, file });
          }
          try {
            if (data && data.some((b) => b !== 0)) mapUpdate(fd, u32(0), data);
            if (m.readOnly) mapFreeze(fd);
          } catch (e) { throw TsbpfError.wrap(e, { file, section: m.section, symbol: m.name }); }
        }
      }
      // map-in-map slots: the inner maps exist now
      for (const bm of maps.values()) {
        if (reused.has(bm.name) || !bm.spec.innerMap || !bm.spec.contents) continue;
        for (const c of bm.spec.contents) {
          const inner = maps.get(c.value);
          if (!inner) {
            const off = spec.maps.has(c.value) ? ', which is not created (autocreate off)' : ', which is not in the collection';
            throw new TsbpfError(`map '${bm.name}' slot ${c.key} names map '${c.value}'${off}`, { file, symbol: bm.name });
          }
          try { bm.update(c.key, u32(inner.fd.value)); } catch (e) { throw TsbpfError.wrap(e, { file, section: '.maps', symbol: `${bm.name}[${c.key}]` }); }
        }
      }

      // ---- 3. programs
      stage = 'programs';
      const wanted = opts.programs ? new Set(opts.programs) : undefined;
      if (wanted) for (const n of wanted) if (!spec.programs.has(n)) throw new TsbpfError(`no program '${n}' in the object (have: ${[...spec.programs.keys()].join(', ')})`, { file });
      // a program given a target is loaded even when its section starts with '?'
      const targeted = new Set(Object.keys(opts.attachTargets ?? {}));
      for (const n of targeted) {
        if (!spec.programs.has(n)) throw new TsbpfError(`attachTargets names program '${n}', which is not in the object (have: ${[...spec.programs.keys()].join(', ')})`, { file });
        if (wanted && !wanted.has(n)) throw new TsbpfError(`attachTargets names program '${n}', which is not among the programs to load (${[...wanted].join(', ')})`, { file });
      }
      const programs = new Map<string, Program>();
      // LINUX_VERSION_CODE: kprobes on old kernels check it; an unparsable release sends 0, as libbpf does
      let kver = 0;
      try { kver = kernelVersionCode(kernelRelease()); } catch { /* 0 */ }
      // libbpf 1.4+: a struct_ops program that maps reference loads iff one of them is created
      const stUses = structOpsAutoload(spec, created);
      for (const p of spec.programs.values()) {
        const use = stUses.get(p.name);
        if (wanted ? !wanted.has(p.name) : !(use ? use.load : p.autoload) && !targeted.has(p.name)) continue;
        const ctx = { file, section: p.section, symbol: p.name };
        let st: { btfId: number; memberIndex: number } | undefined;
        if (p.type === 'struct_ops') {
          st = stAttach.get(p.name);
          if (!st) {
            if (use?.created.length) {
              // the created maps use it only in members this kernel lacks: not loaded, as libbpf does
              if (!wanted) continue;
              throw new TsbpfError(`struct_ops program '${p.name}': the member it implements in ${use.created.join(', ')} is not in this kernel's struct ${p.structOps?.typeName}`, ctx);
            }
            if (use) {
              throw new TsbpfError(`struct_ops program '${p.name}' is used only by struct_ops maps that are not created (${use.maps.join(', ')}: autocreate off): create one (MapSpec.autocreate / LoadOptions.autocreate) so that the kernel knows the struct and member it implements`, ctx);
            }
            throw new TsbpfError(`struct_ops program '${p.name}' is not used by any struct_ops map of the object: the kernel needs the struct and member it implements (attach_btf_id, expected_attach_type)`, ctx);
          }
        }
        programs.set(p.name, loadProgram(p, maps, [...spec.maps.keys()], btfFd, funcInfo, kver, opts, file, owned, types, st));
      }
      types.close(); // module BTF fds: the loaded programs hold their own references

      // ---- 4. prog arrays
      stage = 'contents';
      for (const bm of maps.values()) {
        if (bm.type !== 'prog_array' || !bm.spec.contents?.length) continue;
        let owner: Program | undefined;
        for (const c of bm.spec.contents) {
          const p = programs.get(c.value);
          if (!p) {
            if (spec.programs.has(c.value)) continue; // not loaded (autoload off / not selected): slot stays empty
            throw new TsbpfError(`prog array '${bm.name}' slot ${c.key} names program '${c.value}', which is not in the object`, { file, symbol: bm.name });
          }
          owner ??= p;
          if (p.type !== owner.type) {
            throw new TsbpfError(`prog array '${bm.name}': slot ${c.key} holds '${p.name}' of type ${p.type}, but '${owner.name}' (type ${owner.type}) already owns the array; a prog array only takes programs of one type`, { file, section: '.maps', symbol: bm.name });
          }
          try { bm.update(c.key, u32(p.fd.value)); } catch (e) { throw TsbpfError.wrap(e, { file, section: '.maps', symbol: `${bm.name}[${c.key}] -> ${p.name}` }); }
        }
      }
      // struct_ops values: registers plain .struct_ops maps; .struct_ops.link ones wait for a link
      for (const plan of plans.values()) {
        const bm = maps.get(plan.map.name)!;
        const link = plan.map.structOps!.link;
        const ctx = { file, section: plan.map.section, symbol: plan.map.name };
        const value = structOpsValue(plan, (n) => programs.get(n)?.fd.value, file);
        try {
          mapUpdate(bm.fd, u32(0), value);
        } catch (e) {
          const why = e instanceof SyscallError && e.code === 'EEXIST'
            ? `: the kernel refused to register ${plan.map.structOps!.typeName} '${bm.name}' (EEXIST): one of that name is probably registered already (bpftool struct_ops list)`
            : '';
          throw why ? new TsbpfError(`struct_ops map '${bm.name}'${why}`, ctx, { cause: e }) : TsbpfError.wrap(e, ctx);
        }
        if (!link) owned.push({ close: () => { mapDelete(bm.fd, u32(0)); } }); // a later failure unregisters it
        bm.structOps = {
          typeName: plan.map.structOps!.typeName, kernelTypeId: plan.kernTypeId, registered: !link, link,
          programs: plan.slots.map((x) => ({ member: x.member, program: x.program })), skipped: plan.skipped,
          note: link ? STRUCT_OPS_LINK_NOTE : `registered as ${plan.map.structOps!.typeName} by the map update; unregistered (key 0 deleted) at close() unless the map is pinned`,
        };
      }
      return new Collection(spec, maps, programs, btfFd, btfChanges);
    } catch (e) {
      types.close();
      for (const o of owned.reverse()) { try { o.close(); } catch { /* closing what we opened: nothing more to do */ } }
      for (const p of pinnedNow) { try { unlinkSync(p); } catch { /* already gone */ } }
      if (e instanceof TsbpfError) {
        if (e.file === undefined) throw TsbpfError.wrap(e, { file });
        throw e;
      }
      throw new TsbpfError(`loading failed at stage '${stage}': ${(e as Error)?.message ?? e}`, { file }, { cause: e });
    }
  }

  /**
   * Pins every program and map under `dir` (created if missing), libbpf's
   * bpf_object__pin layout: `dir/<map name>` and `dir/<program name>`.
   * Maps already pinned by name stay where they are.
   */
  pin(dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    const done: string[] = [];
    try {
      for (const m of this.maps.values()) {
        if (m.pinnedAt) continue;
        const p = path.join(dir, m.kernelName);
        m.pin(p); done.push(p);
      }
      for (const p of this.programs.values()) {
        const at = path.join(dir, p.name);
        p.pin(at); done.push(at);
      }
    } catch (e) {
      for (const p of done) { try { unlinkSync(p); } catch { /* gone */ } }
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

function pinChecked(fd: Fd, pinPath: string, ctx: ErrorContext): void {
  const dir = path.dirname(pinPath);
  if (!existsSync(dir)) throw new TsbpfError(`pin directory ${dir} does not exist (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)`, ctx);
  try {
    objPin(fd, pinPath);
  } catch (e) {
    throw TsbpfError.wrap(e, ctx);
  }
}

function loadProgram(
  p: ProgramSpec, maps: Map<string, BpfMap>, mapNames: readonly string[], btfFd: Fd | undefined, funcInfo: boolean, kver: number,
  opts: LoadOptions, file: string, owned: Array<{ close(): void }>, types: KernelTypes,
  structOps?: { btfId: number; memberIndex: number },
): Program {
  const ctx: ErrorContext = { file, section: p.section, symbol: p.name };
  const def = sectionDef(p.section);
  const core = relocateCore(p, types, file);
  const refs: KernelRef[] = [];
  const final: ProgramSpec = { ...p, instructions: resolveExterns(p, core ? core.instructions : p.instructions, types, file, refs) };
  // a map of the object that was not created (autocreate off): poisoned, as libbpf does
  const notCreated = (n: string) => (mapNames.includes(n) && !maps.has(n) ? mapNames.indexOf(n) : undefined);
  const insns = patchInstructions(final, (n) => maps.get(n)?.fd.value, file, notCreated);
  const withInfo = btfFd && funcInfo && p.funcInfo.length > 0;
  const t = opts.attachTargets?.[p.name];
  const target: AttachTarget | undefined = t === undefined ? undefined : typeof t === 'object' && 'program' in t ? t : { program: t };
  const at = def?.attachBtf || target ? attachBtf(p, types, file, target) : undefined;
  if (at) refs.push(at.ref);
  const fdArray = types.fdArray();
  const base = {
    type: p.type as never,
    insns,
    license: p.license,
    name: kernelProgName(p),
    flags: p.flags,
    kernVersion: p.kernelVersion || kver,
    ...(at ? { attachBtfId: at.attachBtfId } : {}),
    ...(at?.attachBtfObjFd ? { attachBtfObjFd: at.attachBtfObjFd } : {}),
    ...(at?.attachProgFd !== undefined ? { attachProgFd: at.attachProgFd } : {}),
    ...(fdArray ? { fdArray } : {}),
    ...(p.attachType ? { expectedAttachType: p.attachType as never } : {}),
    // struct_ops: the kernel's struct and the index of the member the program implements
    ...(structOps ? { attachBtfId: structOps.btfId, expectedAttachType: structOps.memberIndex } : {}),
    ...(withInfo ? {
      btfFd,
      funcInfo: { recSize: 8, data: funcInfoBytes(p.funcInfo), count: p.funcInfo.length },
      ...(p.lineInfo.length ? { lineInfo: { recSize: 16, data: lineInfoBytes(p.lineInfo), count: p.lineInfo.length } } : {}),
    } : {}),
  };
  const explain = (log: string) => explainCoreFailure(core, log) ?? explainWeakKfunc(refs, log) ?? explainMissingMap(mapNames, log);
  const t0 = performance.now();
  let r: { fd: number; log?: string };
  try {
    r = loadWithLog(base, final, opts, ctx, explain);
  } catch (e) {
    // libbpf: an optional expected attach type is dropped when the kernel refuses it
    if (def?.expectedAttachTypeOptional && p.attachType && e instanceof TsbpfError && /EINVAL/.test(e.message)) {
      const { expectedAttachType: _drop, ...rest } = base as typeof base & { expectedAttachType?: never };
      void _drop;
      r = loadWithLog(rest, final, opts, ctx, explain);
    } else throw e;
  }
  const fd = new Fd(r.fd, `prog ${p.name}`);
  owned.push(fd);
  const prog = new Program(p, fd, performance.now() - t0, r.log, refs);
  if (at?.targetProgId !== undefined) prog.target = { progId: at.targetProgId, btfId: at.attachBtfId };
  return prog;
}
