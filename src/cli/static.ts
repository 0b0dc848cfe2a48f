/** Reading and editing the specs, and the report of an object that is not loaded. No loader imports. */
import path from 'node:path';
import { encodedSize, rawOffsets, slotToIndex } from '../asm/codec.js';
import { isProgTypeName, PROG_TYPES } from '../kernel/enums.js';
import { loadCollectionSpec } from '../spec/collection.js';
import { setVariable } from '../spec/edit.js';
import { programSectionDef, sectionLoadAttrs } from '../spec/sections.js';
import { loadsByDefault, structOpsAutoload } from '../spec/struct-ops.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../spec/types.js';
import { parseValue, UsageError, type CliOptions } from './args.js';
import { tailCallGraph } from './graph.js';
import type { MapResult, ObjectResult, ProgramResult } from './result.js';

export function slots(p: ProgramSpec): number {
  return encodedSize(p.instructions) / 8;
}

export function instructionAt(p: ProgramSpec, slot: number) {
  return p.instructions[slotToIndex(rawOffsets(p.instructions), slot)];
}

/** Object name for file names: basename without .o and .bpf. */
export function objectStem(file: string): string {
  return path.basename(file).replace(/\.o$/, '').replace(/\.bpf$/, '');
}

function applyEdits(spec: CollectionSpec, opts: CliOptions, found: { set: Set<string>; type: Set<string>; only: Set<string>; create: Set<string> }): void {
  for (const { name, value } of opts.set) {
    const has = [...spec.maps.values()].some((m) => m.kind === 'data' && m.variables?.has(name));
    if (!has && opts.files.length > 1) continue; // checked across objects by the caller
    setVariable(spec, name, parseValue(value));
    found.set.add(name);
  }
  for (const { program, type } of opts.types) {
    const p = spec.programs.get(program);
    if (!p) continue;
    found.type.add(program);
    // a SEC() name first: 'xdp' or 'sk_lookup' is also a kernel type, but the section
    // gives the expected attach type the kernel wants (sk_lookup, netfilter) or compares
    // (prog arrays of Linux 6.17+ take only programs of the owner's attach type)
    const def = programSectionDef(type);
    if (!def) {
      if (!isProgTypeName(type)) throw new UsageError(`--type ${program}=${type}: '${type}' is neither a program type (${Object.keys(PROG_TYPES).join(', ')}) nor a SEC() name`);
      if (p.type !== type) { p.type = type; delete p.attachType; }
      continue;
    }
    p.type = def.progType;
    if (def.attachType) p.attachType = def.attachType; else delete p.attachType;
    p.flags = sectionLoadAttrs(def).progFlags;
    p.sleepable = def.sleepable;
  }
  for (const n of opts.only) if (spec.programs.has(n)) found.only.add(n);
  for (const n of opts.create) {
    const m = spec.maps.get(n);
    if (!m) continue;
    m.autocreate = true;
    found.create.add(n);
  }
}

/** Reads and edits the specs of every object first: nothing is loaded when a file or option is wrong. */
export function readSpecs(opts: CliOptions): CollectionSpec[] {
  const found = { set: new Set<string>(), type: new Set<string>(), only: new Set<string>(), create: new Set<string>() };
  const specs = opts.files.map((f) => {
    const spec = loadCollectionSpec(f);
    applyEdits(spec, opts, found);
    return spec;
  });
  const where = opts.files.length > 1 ? 'in any of the objects' : `in ${opts.files[0]}`;
  const programs = () => specs.flatMap((s) => [...s.programs.keys()]).join(', ');
  for (const { name } of opts.set) {
    if (!found.set.has(name)) {
      const vars = specs.flatMap((s) => [...s.maps.values()].flatMap((m) => (m.kind === 'data' ? [...(m.variables?.keys() ?? [])] : [])));
      throw new UsageError(`--set ${name}: no global variable '${name}' ${where} (have: ${vars.join(', ') || 'none'})`);
    }
  }
  for (const { program } of opts.types) if (!found.type.has(program)) throw new UsageError(`--type ${program}: no program '${program}' ${where} (have: ${programs()})`);
  for (const n of opts.only) if (!found.only.has(n)) throw new UsageError(`--only ${n}: no program '${n}' ${where} (have: ${programs()})`);
  for (const n of opts.create) if (!found.create.has(n)) throw new UsageError(`--create ${n}: no map '${n}' ${where} (have: ${specs.flatMap((s) => [...s.maps.keys()]).join(', ')})`);
  for (const t of opts.targets) {
    if (!specs.some((s) => s.programs.has(t.program))) throw new UsageError(`--target ${t.program}=${t.ref}: no program '${t.program}' ${where} (have: ${programs()})`);
  }
  for (const t of opts.attachTargets) {
    if (!specs.some((s) => s.programs.has(t.program))) throw new UsageError(`--attach ${t.program}=${t.target}: no program '${t.program}' ${where} (have: ${programs()})`);
  }
  return specs;
}

/** The programs to load: --only, else those that load by default (autoload; struct_ops ones: of the maps created). */
export function selection(spec: CollectionSpec, opts: CliOptions): Set<string> {
  if (opts.only.length) return new Set(opts.only.filter((n) => spec.programs.has(n)));
  // a program given a --target or an --attach target is wanted even when its section starts with '?'
  const targeted = new Set([...opts.targets.map((t) => t.program), ...opts.attachTargets.map((t) => t.program)]);
  const uses = structOpsAutoload(spec);
  return new Set([...spec.programs.keys()].filter((n) => loadsByDefault(spec, n, uses) || targeted.has(n)));
}

/** Why a map is not created, or undefined when it is. */
function notCreated(m: MapSpec): string | undefined {
  if (m.autocreate) return undefined;
  return m.section.startsWith('?') ? `not created: SEC("${m.section}") (autocreate off; --create ${m.name} creates it)` : 'not created (autocreate off)';
}

/** The report of an object that is not loaded (--no-load, or before the load). */
export function staticResult(spec: CollectionSpec, opts: CliOptions): ObjectResult {
  const selected = selection(spec, opts);
  const uses = structOpsAutoload(spec);
  const whySkipped = (p: ProgramSpec): string => {
    if (opts.only.length) return 'not selected (--only)';
    const u = uses.get(p.name);
    if (u) return `used only by struct_ops maps that are not created (${u.maps.join(', ')})`;
    return 'autoload off (SEC("?..."))';
  };
  const programs: ProgramResult[] = [...spec.programs.values()].map((p) => ({
    name: p.name, section: p.section, type: p.type ?? null, ...(p.attachType ? { attachType: p.attachType } : {}),
    verdict: 'skipped', insns: slots(p), verifiedInsns: null, loadMs: null,
    ...(selected.has(p.name) ? {} : { error: whySkipped(p) }),
  }));
  const maps: MapResult[] = [...spec.maps.values()].map((m) => {
    const why = notCreated(m);
    return {
      name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
      ...(m.contents ? { contents: m.contents.map((c) => ({ ...c })) } : {}),
      ...(why ? { notCreated: why } : {}),
    };
  });
  const tailCalls = [...spec.maps.values()].filter((m) => m.type === 'prog_array')
    .flatMap((m) => (m.contents ?? []).map((c) => ({ map: m.name, slot: c.key, program: c.value })));
  return { file: spec.file, license: spec.license, loaded: false, programs, maps, tailCalls, graph: tailCallGraph(spec), warnings: [...spec.warnings], atExit: [] };
}

