/**
 * Loads one object for the CLI and collects per-program verdicts.
 *
 * Collection.load is all-or-nothing, so a rejection is recorded and the load retried
 * without the rejected program (its prog-array slots then stay empty, as they would
 * with libbpf's autoload off). Errors that are about the environment (no privileges)
 * or the object as a whole (a map the kernel refuses) are not program verdicts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { makeDirs } from '../sys/mount.js';
import { pathInDir, removePins } from '../load/pin.js';
import { recordPins } from './manifest.js';
import { mapPinPath, programPinPath } from './pin-layout.js';
import path from 'node:path';
import { disassemble } from '../asm/disasm.js';
import { TsbpfError } from '../errors.js';
import { Collection, type LoadOptions } from '../load/collection.js';
import { VerifierError } from '../load/verifier.js';
import { MissingFeatureError } from '../load/missing.js';
import type { CollectionSpec, ProgramSpec } from '../spec/types.js';
import { PIN_BY_NAME } from '../spec/types.js';
import { SyscallError } from '../sys/error.js';
import { MemlockError } from '../sys/rlimit.js';
import { Fd } from '../sys/fd.js';
import { objGet, progGetFdById } from '../sys/api.js';
import { UsageError, type CliOptions } from './args.js';
import { EnvironmentError, PIN_ROOT, PRIVILEGE_FIX } from './env.js';
import { tailCallGraph } from './graph.js';
import type { ObjectResult, ProgramResult, RefusalWhy } from './result.js';
import { instructionAt, objectStem, selection, staticResult } from './static.js';

function isPermission(e: unknown): e is SyscallError {
  return e instanceof SyscallError && (e.code === 'EPERM' || (e.code === 'EACCES' && e.command !== 'BPF_PROG_LOAD'));
}

/** The typed part of a refusal: a missing kernel feature, or a TsbpfError reason. */
function refusalWhy(e: TsbpfError): RefusalWhy | undefined {
  if (e instanceof MissingFeatureError) return { missing: { kind: e.kind, feature: e.feature, reason: e.reason, ...(e.since ? { since: e.since } : {}) } };
  return e.reason !== undefined ? { reason: e.reason } : undefined;
}

function rejectionOf(p: ProgramSpec, e: TsbpfError): ProgramResult['rejection'] & { log?: string; processed?: number } {
  // a missing feature explains a verifier rejection: keep its details
  if (e instanceof MissingFeatureError && e.cause instanceof VerifierError) e = e.cause;
  if (e instanceof VerifierError) {
    const insn = e.insn !== undefined ? instructionAt(p, e.insn) : undefined;
    const m = /processed (\d+) insns/.exec(e.log);
    return {
      ...(e.insn !== undefined ? { insn: e.insn } : {}),
      ...(insn ? { disasm: disassemble(insn) } : {}),
      ...(e.source ? { source: e.source } : {}),
      ...(e.explanation ? { explanation: e.explanation } : {}),
      tail: e.tail(8),
      log: e.log,
      ...(m ? { processed: Number(m[1]) } : {}),
    };
  }
  return { tail: [] };
}

/** Where --pin and --log put each program and map of `spec` (names checked by pathInDir). */
function plannedPaths(spec: CollectionSpec, selected: Iterable<string>, opts: CliOptions, pinDir?: string) {
  const file = spec.file;
  const programs = new Map<string, string>(), maps = new Map<string, string>(), logs = new Map<string, string>();
  if (pinDir) {
    for (const n of selected) programs.set(n, programPinPath(pinDir, spec, n));
    for (const m of spec.maps.values()) if (m.pinning !== PIN_BY_NAME) maps.set(m.name, mapPinPath(pinDir, spec, m));
  }
  if (opts.logDir) {
    for (const n of selected) logs.set(n, pathInDir(opts.logDir, `${objectStem(file)}.${n}.log`, 'program', { file, section: spec.programs.get(n)!.section }));
  }
  return { programs, maps, logs };
}

export interface LoadedObject {
  result: ObjectResult;
  /** The loaded collection (undefined when the object failed to load). */
  collection?: Collection;
  /** Where its pins go (--pin), if pinning. */
  pinDir?: string;
  /** Closes fds and removes what should not outlive the run. */
  close(): void;
}

/**
 * Loads `spec` and returns the report, keeping the collection open until close().
 * `pinDir`: where to pin (bpftool layout), if pinning. `pinRoot`: where maps pinned by
 * name go (default /sys/fs/bpf; tests give a private directory).
 */
export function loadObject(spec: CollectionSpec, opts: CliOptions, pinDir?: string, pinRoot = PIN_ROOT): LoadedObject {
  const file = spec.file;
  const selected = selection(spec, opts);
  const result = staticResult(spec, opts);
  const byName = new Map(result.programs.map((p) => [p.name, p]));
  const want = new Set(selected);
  const loadOpts: LoadOptions = {
    ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
    ...(opts.logDir ? { alwaysLog: true, logLevel: opts.logLevel ?? 1 } : {}),
    ...(opts.btf ? { targetBtf: opts.btf } : {}),
    ...(pinRoot !== PIN_ROOT ? { pinRoot } : {}),
    ...(opts.maxMapBytes !== undefined ? { limits: { maxMapBytes: opts.maxMapBytes } } : {}),
  };
  const byNamePins = [...spec.maps.values()].filter((m) => m.pinning === PIN_BY_NAME).map((m) => m.name);
  const preexisting = new Set(byNamePins.filter((n) => existsSync(pathInDir(pinRoot, n, 'map (pinned by name)', { file, symbol: n }))));
  // every path built from the object's names, before anything is loaded: a name that would
  // leave its directory ('../../x' in .strtab) is refused here, naming it
  const paths = plannedPaths(spec, selected, opts, pinDir);

  // --target: the target programs, open while loading (the kernel keeps its own reference)
  const targetFds: Fd[] = [];
  const attachTargets: NonNullable<LoadOptions['attachTargets']> = {};
  try {
    for (const t of opts.targets) {
      if (!spec.programs.has(t.program)) continue; // another object's program (readSpecs checked that one has it)
      let raw: number;
      try {
        raw = t.ref.startsWith('id:') ? progGetFdById(Number(t.ref.slice(3))) : objGet(t.ref);
      } catch (e) {
        if (isPermission(e)) throw new EnvironmentError(`--target ${t.program}=${t.ref}: ${e.command} failed with ${e.code}; ${PRIVILEGE_FIX}`);
        throw new UsageError(`--target ${t.program}=${t.ref}: no program there (${e instanceof SyscallError ? e.code : (e as Error).message})`);
      }
      const fd = new Fd(raw, `target ${t.ref}`);
      targetFds.push(fd);
      attachTargets[t.program] = { program: fd, ...(t.function ? { function: t.function } : {}) };
    }
  } catch (e) {
    for (const fd of targetFds) fd.close();
    throw e;
  }
  if (targetFds.length) loadOpts.attachTargets = attachTargets;

  let coll: Collection | undefined;
  try {
    for (;;) {
      try {
        coll = Collection.load(spec, { ...loadOpts, programs: [...want] });
        break;
      } catch (e) {
        // the locked-memory limit (kernels before 5.11), not privileges: its own hint says so
        if (e instanceof MemlockError) throw new EnvironmentError(`${file}: ${e.command} failed with ${e.code}: ${e.hint}`);
        if (isPermission(e)) throw new EnvironmentError(`${file}: ${e.command} failed with ${e.code}: not permitted; ${PRIVILEGE_FIX}`);
        if (!(e instanceof TsbpfError)) throw e;
        const p = e instanceof VerifierError ? spec.programs.get(e.program)
          : e.symbol !== undefined && want.has(e.symbol) && spec.programs.get(e.symbol)?.section === e.section ? spec.programs.get(e.symbol) : undefined;
        if (!p || !want.has(p.name)) {
          result.error = e.message;
          const ow = refusalWhy(e);
          if (ow) result.errorWhy = ow;
          for (const r of result.programs) if (want.has(r.name)) r.error = `not loaded: the object failed to load (${e.detail})`;
          result.tailCalls = [];
          result.atExit = ['nothing stays loaded: the object failed to load'];
          return { result, close() {} };
        }
        want.delete(p.name);
        delete attachTargets[p.name]; // the retry loads without it: its target is not asked for
        const r = byName.get(p.name)!;
        if (!opts.only.length && e.reason === 'struct-ops-member-missing') {
          // a struct_ops program whose member this kernel lacks: libbpf leaves it out rather than failing
          r.verdict = 'skipped';
          r.error = e.detail;
          continue;
        }
        const rej = rejectionOf(p, e);
        r.verdict = 'rejected';
        r.error = e.detail;
        const why = refusalWhy(e);
        if (why) r.why = why;
        if (rej.log) r.log = rej.log;
        if (rej.processed !== undefined) r.verifiedInsns = rej.processed;
        r.rejection = { ...(rej.insn !== undefined ? { insn: rej.insn } : {}), ...(rej.disasm ? { disasm: rej.disasm } : {}), ...(rej.source ? { source: rej.source } : {}), ...(rej.explanation ? { explanation: rej.explanation } : {}), tail: rej.tail };
      }
    }
  } finally {
    for (const fd of targetFds) fd.close();
  }
  result.loaded = true;
  for (const [name, prog] of coll.programs) {
    const r = byName.get(name)!;
    r.verdict = 'accepted';
    delete r.error;
    if (prog.kernelRefs.length) r.kernelRefs = prog.kernelRefs.map((k) => `${k.kind} ${k.name} in ${k.source}`);
    r.loadMs = Math.round(prog.loadMs * 1000) / 1000;
    try {
      const info = prog.info();
      r.verifiedInsns = info.verifiedInsns || null;
      r.id = info.id;
    } catch { /* info is best effort */ }
    if (prog.verifierLog !== undefined) {
      r.log = prog.verifierLog;
      const m = /processed (\d+) insns/.exec(prog.verifierLog);
      if (r.verifiedInsns === null && m) r.verifiedInsns = Number(m[1]);
    }
  }
  for (const r of result.maps) {
    const m = coll.maps.get(r.name);
    if (!m) continue;
    r.maxEntries = m.maxEntries;
    try { r.id = m.info().id; } catch { /* best effort */ }
    if (m.pinnedAt) { r.pinnedAt = m.pinnedAt; r.byName = preexisting.has(r.name) ? 'reused' : 'created'; }
  }
  // slots really filled: contents whose program loaded
  result.tailCalls = result.tailCalls.filter((t) => coll!.programs.has(t.program));
  const filled = new Map<string, Map<number, string>>();
  for (const t of result.tailCalls) {
    if (!filled.has(t.map)) filled.set(t.map, new Map());
    filled.get(t.map)!.set(t.slot, t.program);
  }
  for (const m of spec.maps.values()) if (m.type === 'prog_array' && !filled.has(m.name)) filled.set(m.name, new Map());
  // the graph of what runs: loaded programs against the slots really filled
  result.graph = tailCallGraph(spec, filled, [...coll.programs.values()].map((p) => p.spec));
  for (const m of spec.maps.values()) {
    if (m.type !== 'prog_array') continue;
    for (const c of m.contents ?? []) {
      if (!coll.programs.has(c.value)) {
        const why = byName.get(c.value)?.verdict === 'rejected' ? 'was rejected' : 'was not loaded';
        result.warnings.push(`${m.name}[${c.key}] -> ${c.value}: ${c.value} ${why}, so the slot is empty and a tail call to it falls through`);
      }
    }
  }

  // ---- pin (bpftool prog loadall OBJ DIR pinmaps DIR/maps)
  const pinned: string[] = [];
  if (pinDir) {
    try {
      makeDirs(path.join(pinDir, 'maps')); // on bpffs: checkPinDir made sure of it
      for (const [name, prog] of coll.programs) {
        const pinPath = paths.programs.get(name)!;
        if (existsSync(pinPath)) throw new EnvironmentError(`--pin: ${pinPath} already exists: remove it first (node bin/load.js --unpin ${opts.pin})`);
        prog.pin(pinPath); pinned.push(pinPath);
        byName.get(name)!.pinnedAt = pinPath;
      }
      for (const r of result.maps) {
        const m = coll.maps.get(r.name);
        if (!m || m.pinnedAt) continue;
        const pinPath = paths.maps.get(r.name)!;
        if (existsSync(pinPath)) throw new EnvironmentError(`--pin: ${pinPath} already exists: remove it first (node bin/load.js --unpin ${opts.pin})`);
        m.pin(pinPath); pinned.push(pinPath);
        r.pinnedAt = pinPath;
      }
      recordPins(opts.pin!, pinned); // --unpin removes these and nothing else
    } catch (e) {
      removePins(pinned);
      coll.close();
      if (e instanceof EnvironmentError) throw e;
      if (isPermission(e)) throw new EnvironmentError(`--pin ${pinDir}: ${e.command} failed with ${e.code}; ${PRIVILEGE_FIX}`);
      throw new EnvironmentError(`--pin ${pinDir}: ${(e as Error).message}`);
    }
  }

  // ---- logs
  if (opts.logDir) {
    makeDirs(opts.logDir);
    for (const r of result.programs) {
      if (r.log === undefined) continue;
      writeFileSync(paths.logs.get(r.name)!, r.log);
    }
  }

  // ---- what happens at exit
  const arrays = result.maps.filter((m) => m.type === 'prog_array');
  const createdByName = result.maps.filter((m) => m.byName === 'created');
  if (pinDir) {
    result.atExit.push(`pinned under ${pinDir}: ${coll.programs.size} program(s) at ${pinDir}/<prog>, maps at ${pinDir}/maps/<map>; they stay loaded after exit`);
    for (const a of arrays) result.atExit.push(`${a.name} keeps its ${result.tailCalls.filter((t) => t.map === a.name).length} filled slot(s) (the pin holds it)`);
    result.atExit.push(`remove with: node bin/load.js --unpin ${opts.pin}${createdByName.length ? ` ${file}` : ''}`);
  } else {
    result.atExit.push(coll.programs.size || coll.maps.size ? 'every program and map is unloaded (the last fds close)' : 'nothing was loaded');
    for (const a of arrays) {
      const n = result.tailCalls.filter((t) => t.map === a.name).length;
      if (n) result.atExit.push(`${a.name}: its ${n} filled slot(s) are emptied by the kernel (a prog array is cleared when its last user reference goes); use --pin DIR to keep them`);
    }
  }
  for (const m of result.maps) {
    if (m.byName === 'reused') result.atExit.push(`${m.name}: was already pinned at ${m.pinnedAt} (pinning by name) and stays there`);
    else if (m.byName === 'created') result.atExit.push(pinDir ? `${m.name}: pinned by name at ${m.pinnedAt} and stays there` : `${m.name}: pinned by name at ${m.pinnedAt} by this run; unpinned at exit (use --pin DIR to keep it)`);
  }

  const c = coll;
  return {
    result,
    collection: c,
    ...(pinDir ? { pinDir } : {}),
    close() {
      if (!pinDir) for (const m of c.maps.values()) if (m.spec.pinning === PIN_BY_NAME && !preexisting.has(m.name)) m.unpin();
      c.close();
    },
  };
}
