/**
 * The text of a skeleton module: a header, the types (types.ts), and a class that loads
 * the object and gives its maps, programs, global data and event readers their types.
 * Pure: a CollectionSpec (with BTF) in, a string out.
 */
import type { Btf } from '../btf/index.js';
import { FD_MAPS, PERCPU_TYPES, plainKeyKind } from '../load/map-codec.js';
import type { CollectionSpec, MapSpec } from '../spec/types.js';
import { byName, propertyKey, quote } from './names.js';
import { TypeEmitter } from './types.js';

/** A data section of the skeleton: `rodata` for '.rodata'. */
export interface SectionView { property: string; section: string; datasec: number; readOnly: boolean }

/** An event map with the record type its reader decodes. */
export interface EventBinding { map: string; type: string; typeId: number }

export interface ModuleParts {
  spec: CollectionSpec;
  btf: Btf;
  /** PascalCase of the object's name ('GlobalData'). */
  base: string;
  /** Header lines (without comment markers). */
  header: string[];
  /** How the module finds the object's bytes. */
  object: { embed: string } | { path: string };
  /** Where the runtime comes from ('tsbpf'). */
  importFrom: string;
  sections: SectionView[];
  events: EventBinding[];
  /** Extra roots (--type) by BTF id. */
  extraTypes: number[];
}

const NO_LOOKUP = new Set(['ringbuf', 'user_ringbuf']);

/** The TypeScript type of a key without BTF, as decodeKey reads it back. */
const PLAIN_KEY_TYPES = { number: 'number', bigint: 'bigint', bytes: 'Uint8Array' } as const;

/** Key and value types of a map, as BpfMap's lookup / keys return them. */
function mapTypes(m: MapSpec, types: TypeEmitter): [string, string] {
  let key: string;
  if (m.keyType) key = types.expr(m.keyType);
  else if (m.keySize === 0 || NO_LOOKUP.has(m.type)) key = 'never';
  else key = PLAIN_KEY_TYPES[plainKeyKind(m.keySize)];
  if (NO_LOOKUP.has(m.type)) return [key, 'never'];
  if (FD_MAPS[m.type] && m.valueSize === 4) return [key, 'number'];
  const one = m.valueType ? types.expr(m.valueType) : 'Uint8Array';
  return [key, PERCPU_TYPES.has(m.type) ? (/^[A-Za-z0-9_$]+$/.test(one) ? `${one}[]` : `Array<${one}>`) : one];
}

function doc(lines: string[], indent = ''): string {
  if (lines.length === 1) return `${indent}/** ${lines[0]} */`;
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`].join('\n');
}

/** The whole module. Returns the text and the warnings (types written as Uint8Array). */
export function emitModule(p: ModuleParts): { code: string; warnings: string[] } {
  const { spec, btf, base } = p;
  const own = {
    skeleton: `${base}Skeleton`, maps: `${base}Maps`, programs: `${base}Programs`,
    options: `${base}LoadOptions`, events: `${base}Events`,
  };
  const sectionType = (s: SectionView): string => `${base}${s.property[0]!.toUpperCase()}${s.property.slice(1)}`;
  const taken = new Set<string>(['tsbpf', 'OBJECT', 'SECTIONS', 'EVENTS', ...Object.values(own), ...p.sections.map(sectionType)]);
  const types = new TypeEmitter(btf, taken);

  const maps = [...spec.maps.values()].filter((m) => m.kind !== 'data').sort((a, b) => byName(a.name, b.name));
  for (const m of maps) { if (m.keyType) types.reach(m.keyType); if (m.valueType) types.reach(m.valueType); }
  for (const s of p.sections) types.reach(s.datasec);
  for (const id of p.extraTypes) types.reach(id);
  for (const e of p.events) types.reach(e.typeId);

  const out: string[] = [];
  out.push(p.header.map((l) => `// ${l}`).join('\n'));
  out.push(`import * as tsbpf from ${quote(p.importFrom)};`);

  const decls = types.declarations();
  if (decls.length) out.push(`// ---- types of the object's BTF\n\n${decls.join('\n\n')}`);

  const mapLines = maps.map((m) => {
    const [k, v] = mapTypes(m, types);
    return `${doc([`${m.type}, ${m.maxEntries} entries, key ${m.keySize} bytes, value ${m.valueSize} bytes${PERCPU_TYPES.has(m.type) ? ' (one per possible CPU)' : ''}.`], '  ')}\n  readonly ${propertyKey(m.name)}: tsbpf.BpfMap<${k}, ${v}>;`;
  });
  const progs = [...spec.programs.values()].sort((a, b) => byName(a.name, b.name));
  const progLines = progs.map((pr) => `  /** SEC("${pr.autoload ? '' : '?'}${pr.section}"): ${pr.type ?? 'no program type (set one before load)'}. */\n  readonly ${propertyKey(pr.name)}: tsbpf.Program;`);
  const decl: string[] = [];
  decl.push(`/** The object's maps (global data sections are the skeleton's section properties). */\nexport type ${own.maps} = ${mapLines.length ? `{\n${mapLines.join('\n')}\n}` : '{}'};`);
  decl.push(`/** The object's programs; one that was not loaded (LoadOptions.programs, SEC("?...")) throws when used. */\nexport type ${own.programs} = ${progLines.length ? `{\n${progLines.join('\n')}\n}` : '{}'};`);
  for (const s of p.sections) {
    decl.push(`/** The variables of ${s.section}${s.readOnly ? ' (set before load; frozen after)' : ''}. */\nexport type ${sectionType(s)} = ${types.section(s.datasec)};`);
  }
  if (p.events.length) {
    const ev = p.events.map((e) => `  /** Records of map '${e.map}' as ${e.type}. */\n  ${propertyKey(e.map)}: ${types.expr(e.typeId)};`);
    decl.push(`/** The record type each event map's reader decodes. */\nexport type ${own.events} = {\n${ev.join('\n')}\n};`);
  }
  const opts = p.sections.map((s) => `  /** Initial values of ${s.section} variables (others keep the object's). */\n  ${s.property}?: Partial<${sectionType(s)}>;`);
  decl.push(`/** Collection.load's options, and initial values of global variables by section. */\nexport interface ${own.options} extends tsbpf.LoadOptions {\n${opts.join('\n')}${opts.length ? '\n' : ''}}`);
  out.push(`// ---- the skeleton\n\n${decl.join('\n\n')}`);

  const object = 'embed' in p.object
    ? `const OBJECT = { name: ${quote(objectFileName(spec.file))}, base64:\n  ${quote(p.object.embed)} };`
    : `const OBJECT = { name: ${quote(objectFileName(spec.file))}, path: ${quote(p.object.path)} };`;
  out.push(object);
  out.push(classText(p, own, sectionType, maps.map((m) => m.name), progs.map((x) => x.name)));
  return { code: `${out.join('\n\n')}\n`, warnings: types.warnings };
}

function objectFileName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

function classText(p: ModuleParts, own: Record<'skeleton' | 'maps' | 'programs' | 'options' | 'events', string>,
  sectionType: (s: SectionView) => string, mapNames: string[], progNames: string[]): string {
  const list = (names: string[]): string => `[${names.map(quote).join(', ')}]`;
  const fields: string[] = [
    '  /** The loaded object (maps, programs, close()). */',
    '  readonly collection: tsbpf.Collection;',
    `  readonly maps: ${own.maps};`,
    `  readonly programs: ${own.programs};`,
  ];
  const init: string[] = [
    '    this.collection = collection;',
    `    this.maps = tsbpf.skeletonMembers(collection, 'map', ${list(mapNames)}) as ${own.maps};`,
    `    this.programs = tsbpf.skeletonMembers(collection, 'program', ${list(progNames)}) as ${own.programs};`,
  ];
  for (const s of p.sections) {
    const cls = s.readOnly ? 'ReadonlyGlobalData' : 'GlobalData';
    fields.push(`  /** ${s.section}: ${s.readOnly ? 'read after load (frozen: set it before load through LoadOptions)' : 'read and written after load'}. */`);
    fields.push(`  readonly ${s.property}: tsbpf.${cls}<${sectionType(s)}>;`);
    init.push(`    this.${s.property} = new tsbpf.${cls}<${sectionType(s)}>(collection, ${quote(s.section)});`);
  }
  if (p.events.length) {
    fields.push('  /** Typed readers of the event maps: `for await (const e of skel.events.reader(name))`. */');
    fields.push(`  readonly events: tsbpf.SkeletonEvents<${own.events}>;`);
    const bound = p.events.map((e) => `${propertyKey(e.map)}: ${quote(e.type)}`).join(', ');
    init.push(`    this.events = new tsbpf.SkeletonEvents<${own.events}>(collection, { ${bound} });`);
  }
  const picked = p.sections.map((s, i) => `${s.property}: s${i}`).join(', ');
  const sectionArgs = p.sections.map((s, i) => `${quote(s.section)}: s${i}`).join(', ');
  const load = p.sections.length
    ? [
      `    const { ${picked}, ...rest } = opts;`,
      `    return new ${own.skeleton}(tsbpf.Collection.load(spec, { ...rest, globals: { ${sectionArgs} } }));`,
    ]
    : [`    return new ${own.skeleton}(tsbpf.Collection.load(spec, opts));`];
  const source = 'embed' in p.object ? 'tsbpf.skeletonSpec(OBJECT)' : 'tsbpf.skeletonSpec(OBJECT, import.meta.url)';
  return [
    `/** ${objectFileName(p.spec.file)}, typed. \`${own.skeleton}.load()\` loads it; close() frees it. */`,
    `export class ${own.skeleton} {`,
    ...fields,
    '',
    `  /** The object's CollectionSpec, read afresh: edit it, then pass it to load(). */`,
    '  static spec(): tsbpf.CollectionSpec {',
    `    return ${source};`,
    '  }',
    '',
    '  /** Loads the object (global variables set first from `opts`); on failure nothing is left behind. */',
    `  static load(opts: ${own.options} = {}, spec: tsbpf.CollectionSpec = ${own.skeleton}.spec()): ${own.skeleton} {`,
    ...load,
    '  }',
    '',
    '  private constructor(collection: tsbpf.Collection) {',
    ...init,
    '  }',
    '',
    '  /** Closes every map and program of the object. */',
    '  close(): void {',
    '    this.collection.close();',
    '  }',
    '}',
  ].join('\n');
}
