/**
 * tsbpf-gen: a typed TypeScript module (a "skeleton", after `bpftool gen skeleton`) for a
 * BPF object. Pure: the object's bytes in, the module's text out; no syscalls, no files.
 *
 *   const { code, warnings } = generateSkeleton(bytes, { file: 'prog.bpf.o', path: './prog.bpf.o' });
 *
 * The same bytes and options always give the same text.
 */
import { createHash } from 'node:crypto';
import type { Btf } from '../btf/index.js';
import { loadCollectionSpec } from '../spec/collection.js';
import type { CollectionSpec } from '../spec/types.js';
import { TSBPF_VERSION } from '../version.js';
import { GenError } from './errors.js';
import { emitModule, type EventBinding, type SectionView } from './module.js';
import { objectTypeName, sectionProperty } from './names.js';

export { GenError, type GenErrorReason } from './errors.js';
export { TUPLE_MAX } from './types.js';

/** A --type: a C type name ('struct event', 'union u', 'enum e', a typedef), bound to event maps or not. */
export interface GenType {
  type: string;
  /** The perf event array / ring buffer whose reader decodes records as this type. */
  map?: string;
}

export interface GenOptions {
  /** The object's file name, for the header and messages (default '<buffer>'). */
  file?: string;
  /**
   * Embed the object's bytes (base64) in the module, or load it from `path` (resolved
   * relative to the module: `new URL(path, import.meta.url)`). Default: embed.
   */
  path?: string;
  /** Extra types to generate (and to decode event records as). */
  types?: GenType[];
  /** Module the generated code imports the runtime from (default 'tsbpf'). */
  importFrom?: string;
}

export interface GeneratedSkeleton {
  code: string;
  /** Types the generator could not express (typed as Uint8Array), one line each. */
  warnings: string[];
  /** The class's name ('GlobalDataSkeleton'). */
  className: string;
}

const TAGS: Readonly<Record<string, ReadonlyArray<string>>> = { struct: ['struct'], union: ['union'], enum: ['enum', 'enum64'] };
const EVENT_MAPS = new Set(['perf_event_array', 'ringbuf']);

/** The BTF id of a C type name: 'struct event', 'union u', 'enum e', or a typedef / bare tag name. */
export function findType(btf: Btf, type: string): number | undefined {
  const m = /^\s*(?:(struct|union|enum)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(type);
  if (!m) return undefined;
  const kinds = m[1] ? TAGS[m[1]]! : ['typedef', 'struct', 'union', 'enum', 'enum64'];
  for (const kind of kinds) {
    const hit = btf.idsByName(m[2]!).find((id) => btf.kindOf(id) === kind);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function dataSections(spec: CollectionSpec): SectionView[] {
  const out: SectionView[] = [];
  const used = new Set<string>();
  const data = [...spec.maps.values()].filter((m) => m.kind === 'data' && m.valueType && [...(m.variables?.values() ?? [])].some((v) => v.linkage !== 'extern'));
  for (const m of data.sort((a, b) => (a.section < b.section ? -1 : a.section > b.section ? 1 : 0))) {
    let property = sectionProperty(m.section);
    while (used.has(property)) property += '_';
    used.add(property);
    out.push({ property, section: m.section, datasec: m.valueType, readOnly: m.readOnly === true });
  }
  return out;
}

function eventBindings(spec: CollectionSpec, types: Array<GenType & { id: number }>): EventBinding[] {
  const eventMaps = [...spec.maps.values()].filter((m) => EVENT_MAPS.has(m.type)).map((m) => m.name).sort();
  const out = new Map<string, EventBinding>();
  for (const t of types) {
    if (t.map === undefined) continue;
    if (!eventMaps.includes(t.map)) {
      throw new GenError(`--type ${t.map}=${t.type}: '${t.map}' is not a perf event array or ring buffer of the object (those are: ${eventMaps.join(', ') || 'none'})`, { file: spec.file, symbol: t.map }, 'event-map-unknown');
    }
    out.set(t.map, { map: t.map, type: t.type.trim(), typeId: t.id });
  }
  const unbound = types.filter((t) => t.map === undefined);
  // one type without a map: the record type of every event map not bound otherwise
  if (unbound.length === 1) for (const map of eventMaps) if (!out.has(map)) out.set(map, { map, type: unbound[0]!.type.trim(), typeId: unbound[0]!.id });
  return [...out.values()].sort((a, b) => (a.map < b.map ? -1 : 1));
}

/** The skeleton module of the object in `bytes`. Throws GenError (no BTF, unknown --type) or the parser's errors. */
export function generateSkeleton(bytes: Uint8Array, opts: GenOptions = {}): GeneratedSkeleton {
  const file = opts.file ?? '<buffer>';
  const spec = loadCollectionSpec(bytes, { file });
  const btf = spec.btf;
  if (!btf) throw new GenError('the object has no BTF (.BTF section): compile it with clang -g to give maps and variables their types', { file }, 'no-btf');
  const types = (opts.types ?? []).map((t) => {
    const id = findType(btf, t.type);
    if (id === undefined) {
      throw new GenError(`--type '${t.type}' is not in the object's BTF: BTF holds only the types the program uses in maps, globals and function signatures; ` +
        `to put a record type there, declare a pointer to it, e.g. \`struct event *unused __attribute__((unused));\``, { file, symbol: t.type }, 'type-unknown');
    }
    return { ...t, id };
  });
  const base = objectTypeName(file);
  const name = file.slice(file.lastIndexOf('/') + 1);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const { code, warnings } = emitModule({
    spec, btf, base,
    header: [
      `Generated by tsbpf-gen ${TSBPF_VERSION} from ${name} (sha256 ${sha.slice(0, 16)}, ${bytes.length} bytes). Do not edit:`,
      'run tsbpf-gen again when the object changes.',
    ],
    object: opts.path === undefined ? { embed: Buffer.from(bytes).toString('base64') } : { path: opts.path },
    importFrom: opts.importFrom ?? 'tsbpf',
    sections: dataSections(spec),
    events: eventBindings(spec, types),
    extraTypes: types.map((t) => t.id),
  });
  return { code, warnings, className: `${base}Skeleton` };
}
