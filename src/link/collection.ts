/**
 * collection.attach(): every program of a loaded collection whose section names its
 * target (libbpf's bpf_object__attach_skeleton), plus explicit targets by program name.
 * Tail-call targets (programs in a statically initialised prog array) and programs whose
 * section names no target are skipped, with the reason. On a failure every link made so
 * far is closed again.
 */
import { TsbpfError } from '../errors.js';
import type { Collection } from '../load/collection.js';
import { attachProgram, type AttachPoint } from './attach.js';
import { sectionTarget } from './auto.js';
import { AttachError } from './errors.js';
import type { Link } from './link.js';
import { attachStructOps } from './struct-ops.js';
import { usdtMapsOf } from './usdt.js';
import type { ProgramSpec } from '../spec/types.js';

/** The links collection.attach() made, by program name (and `.struct_ops.link` map name). */
export class AttachedLinks extends Map<string, Link> {
  /** Programs not attached, with the reason (a tail-call target, no target in the section...). */
  readonly skipped = new Map<string, string>();

  /** Closes every link (detaches what is not pinned). */
  close(): void {
    let first: unknown;
    for (const l of this.values()) { try { l.close(); } catch (e) { first ??= e; } }
    if (first !== undefined) throw first;
  }
}

export interface CollectionAttachOptions {
  /** Explicit targets by program name (these programs attach even when their section names none). */
  targets?: Record<string, AttachPoint>;
  /** Attach only these programs (default: all that can be). */
  programs?: string[];
}

/** Programs placed in prog arrays by the object (`.values = { [n] = &prog }`). */
export function tailCallTargets(c: Collection): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of c.spec.maps.values()) {
    if (m.type !== 'prog_array') continue;
    for (const slot of m.contents ?? []) if (!out.has(slot.value)) out.set(slot.value, `${m.name}[${slot.key}]`);
  }
  return out;
}

/**
 * A USDT program's target with the collection's usdt.bpf.h maps added (libbpf's
 * usdt_manager finds them by name in the object): the section's target, or the explicit one.
 */
function withUsdtMaps(c: Collection, spec: ProgramSpec, explicit: AttachPoint | undefined): AttachPoint | undefined {
  const s = sectionTarget(spec);
  const t: AttachPoint | undefined = explicit ?? (s.kind === 'usdt' ? { binary: s.binary, provider: s.provider, name: s.name } : undefined);
  if (!t || !('provider' in t) || t.maps) return explicit;
  const maps = usdtMapsOf(c.maps);
  return maps ? { ...t, maps } : explicit;
}

export function attachCollection(c: Collection, opts: CollectionAttachOptions = {}): AttachedLinks {
  const links = new AttachedLinks();
  const targets = opts.targets ?? {};
  for (const name of [...Object.keys(targets), ...(opts.programs ?? [])]) {
    if (!c.programs.has(name)) {
      throw new AttachError(`no loaded program '${name}' to attach (loaded: ${[...c.programs.keys()].join(', ') || 'none'})`, { file: c.spec.file, symbol: name }, { reason: 'bad-target' });
    }
  }
  const only = opts.programs ? new Set(opts.programs) : undefined;
  const tails = tailCallTargets(c);
  try {
    for (const [name, prog] of c.programs) {
      if (only && !only.has(name)) continue;
      const explicit = targets[name];
      if (!explicit) {
        const tail = tails.get(name);
        if (tail) { links.skipped.set(name, `tail-call target (${tail})`); continue; }
        const s = sectionTarget(prog.spec);
        if (s.kind === 'none') { links.skipped.set(name, s.why); continue; }
        if (prog.type === 'ext' && !prog.target) { links.skipped.set(name, 'freplace program without a target program (LoadOptions.attachTargets)'); continue; }
        if (prog.type === 'tracing' && prog.spec.attachType === 'trace_iter' && ['bpf_map_elem', 'bpf_sk_storage_map', 'sockmap'].includes(prog.spec.attachTo ?? '')) {
          links.skipped.set(name, `map iterator: give { map } as its target`);
          continue;
        }
      }
      try { links.set(name, attachProgram(prog, withUsdtMaps(c, prog.spec, explicit))); } catch (e) { throw TsbpfError.wrap(e, { file: c.spec.file, symbol: name }); }
    }
    if (!only) {
      for (const [name, map] of c.maps) {
        if (map.type === 'struct_ops' && map.structOps?.link && !links.has(name)) links.set(name, attachStructOps(map));
      }
    }
  } catch (e) {
    try { links.close(); } catch { /* the attach error says more */ }
    throw e;
  }
  return links;
}
