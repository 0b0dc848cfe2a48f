/**
 * BTF types as TypeScript types, exactly as decodeValue (src/load/values.ts) returns
 * them at run time:
 *  - int: `boolean` for bool, `number` up to 4 bytes, `bigint` above; a pointer `bigint`;
 *  - float / double: `number` (other float sizes: `Uint8Array`, as the decoder gives bytes);
 *  - enum: `number` (8-byte enums `bigint`); a named enum is a type alias plus a const
 *    object of its values (`kind.KIND_EXEC`): TS `enum` is not used, so the output also
 *    runs under Node's type stripping;
 *  - char array: `string`; other arrays: a tuple up to TUPLE_MAX elements, `T[]` above;
 *  - struct / union: an object type of every member (a union decodes every member too);
 *    an anonymous member is `_<index>`, an anonymous type is written inline; bitfields are
 *    `number` (`bigint` beyond 32 bits);
 *  - typedef: an alias (`export type u32 = number`), modifiers (const, volatile) dropped.
 * Named types become `export type X = { ... }`, not interfaces: a type literal has an
 * implicit index signature, so a typed BpfMap<K, V> stays assignable to the untyped one.
 * What the decoder gives as bytes (forward declarations, functions, void) is `Uint8Array`,
 * with a warning naming the type.
 */
import type { Btf } from '../btf/index.js';
import type { BtfType } from '../btf/types.js';
import { BTF_INT_BOOL } from '../btf/types.js';
import { isCharArray } from '../load/values.js';
import { byName, propertyKey, typeName } from './names.js';

/** Longest array written as a tuple; longer ones are `T[]`. */
export const TUPLE_MAX = 16;

const NAMED = new Set(['struct', 'union', 'enum', 'enum64', 'typedef']);
/** Which kind keeps a contested name: tags before typedefs. */
const CLAIM_ORDER: Readonly<Record<string, number>> = { struct: 0, union: 0, enum: 0, enum64: 0, typedef: 1 };

export class TypeEmitter {
  /** Named BTF types reached, by id. */
  readonly #reached = new Set<number>();
  #names?: Map<number, string>;
  readonly warnings: string[] = [];
  readonly #warned = new Set<number>();

  constructor(readonly btf: Btf, private readonly taken: ReadonlySet<string>) {}

  /** Records every named type reachable from `id` (call for every root before naming). */
  reach(id: number, depth = 0): void {
    if (id === 0 || depth > 64) return;
    const t = this.btf.typeById(id);
    if (NAMED.has(t.kind) && t.name) {
      if (this.#reached.has(id)) return;
      this.#reached.add(id);
    }
    switch (t.kind) {
      case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag': case 'var': case 'array':
        this.reach(t.type, depth + 1); return;
      case 'struct': case 'union':
        for (const m of t.members) if (!m.bitfieldSize) this.reach(m.type, depth + 1);
        return;
      case 'datasec':
        for (const v of t.vars) this.reach(v.type, depth + 1);
        return;
      default:
    }
  }

  /** Gives every reached type its TypeScript name (deterministic: by C name, kind, id). */
  #naming(): Map<number, string> {
    if (this.#names) return this.#names;
    const ids = [...this.#reached].sort((a, b) => {
      const ta = this.btf.typeById(a), tb = this.btf.typeById(b);
      return byName(ta.name, tb.name) || CLAIM_ORDER[ta.kind]! - CLAIM_ORDER[tb.kind]! || a - b;
    });
    const used = new Set<string>();
    const names = new Map<number, string>();
    for (const id of ids) {
      const t = this.btf.typeById(id);
      // `typedef struct foo foo;`: the typedef is the struct's own name, not a second type
      if (t.kind === 'typedef' && this.#sameNamedTarget(t)) continue;
      const base = typeName(t.name, this.taken);
      let n = base;
      for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
      used.add(n);
      names.set(id, n);
    }
    this.#names = names;
    return names;
  }

  /** A typedef whose target is a tag of the same name (`typedef struct foo foo`). */
  #sameNamedTarget(t: BtfType & { type: number }): boolean {
    const target = this.btf.typeById(this.btf.resolve(t.type));
    return target.name === t.name && target.kind !== 'typedef' && NAMED.has(target.kind) && this.#reached.has(target.id);
  }

  #fallback(t: BtfType, why: string): string {
    if (!this.#warned.has(t.id)) {
      this.#warned.add(t.id);
      this.warnings.push(`type id ${t.id} (${t.kind}${t.name ? ` ${t.name}` : ''}): ${why}; typed as Uint8Array (the decoder gives its bytes)`);
    }
    return 'Uint8Array';
  }

  /** The TypeScript type of a value of BTF type `id`. */
  expr(id: number, depth = 0): string {
    if (depth > 32) return this.#fallback(this.btf.typeById(id), 'nested more than 32 levels deep (the decoder refuses it)');
    const t = this.btf.typeById(id);
    const named = this.#naming().get(id);
    if (named !== undefined) return named;
    switch (t.kind) {
      case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag': case 'var':
        return this.expr(t.type, depth + 1);
      case 'int':
        if (t.encoding & BTF_INT_BOOL) return 'boolean';
        return t.size <= 4 ? 'number' : 'bigint';
      case 'ptr': return 'bigint';
      case 'float': return t.size === 4 || t.size === 8 ? 'number' : 'Uint8Array';
      case 'enum': case 'enum64': return t.size <= 4 ? 'number' : 'bigint';
      case 'array': {
        if (isCharArray(this.btf, t)) return 'string';
        const elem = this.expr(t.type, depth + 1);
        if (t.nelems <= TUPLE_MAX) return `[${Array.from({ length: t.nelems }, () => elem).join(', ')}]`;
        return /^[A-Za-z0-9_$]+$/.test(elem) ? `${elem}[]` : `Array<${elem}>`;
      }
      case 'struct': case 'union': return this.#object(t, depth);
      case 'datasec': {
        const fields = t.vars.map((v) => {
          const vt = this.btf.typeById(v.type);
          return `${propertyKey(vt.name)}: ${this.expr(v.type, depth + 1)}`;
        });
        return layout(fields, false);
      }
      case 'void': return this.#fallback(t, 'void has no value');
      case 'fwd': return this.#fallback(t, `a forward declaration (${t.union ? 'union' : 'struct'} without a body in this object's BTF)`);
      default: return this.#fallback(t, `a ${t.kind} is not a value type`);
    }
  }

  #object(t: BtfType & { kind: 'struct' | 'union' }, depth: number, multiline = false): string {
    const fields = t.members.map((m, i) => {
      const key = propertyKey(m.name || `_${i}`);
      if (m.bitfieldSize) return `${key}: ${m.bitfieldSize > 32 ? 'bigint' : 'number'}`;
      return `${key}: ${this.expr(m.type, depth + 1)}`;
    });
    return layout(fields, multiline);
  }

  /** A DATASEC's variables as an object type, one per line. */
  section(id: number): string {
    const t = this.btf.typeById(id);
    if (t.kind !== 'datasec') return this.expr(id);
    return layout(t.vars.map((v) => `${propertyKey(this.btf.typeById(v.type).name)}: ${this.expr(v.type, 1)}`), true);
  }

  /** `export` declarations of every named type reached, sorted by name. */
  declarations(): string[] {
    const out: Array<[string, string]> = [];
    for (const [id, name] of this.#naming()) {
      const t = this.btf.typeById(id);
      const c = `${t.kind === 'typedef' ? 'typedef' : t.kind === 'enum64' ? 'enum' : t.kind} ${t.name}`;
      const lines = [`/** C \`${c}\` (BTF id ${id}). */`];
      switch (t.kind) {
        case 'typedef': lines.push(`export type ${name} = ${this.expr(t.type)};`); break;
        case 'struct': case 'union': lines.push(`export type ${name} = ${this.#object(t, 0, true)};`); break;
        case 'enum': case 'enum64': {
          const big = t.size > 4;
          const values = t.values.map((v) => {
            const n = typeof v.value === 'number' && !t.signed && v.value < 0 ? v.value >>> 0 : v.value;
            return `${propertyKey(v.name)}: ${big ? `${BigInt(n)}n` : String(n)}`;
          });
          lines.push(`export type ${name} = ${big ? 'bigint' : 'number'};`);
          lines.push(`export const ${name} = { ${values.join(', ')} } as const;`);
          break;
        }
        default:
      }
      out.push([name, lines.join('\n')]);
    }
    return out.sort((a, b) => byName(a[0], b[0])).map((x) => x[1]);
  }
}

function layout(fields: string[], multiline: boolean): string {
  if (!fields.length) return '{}';
  return multiline ? `{\n${fields.map((f) => `  ${f};`).join('\n')}\n}` : `{ ${fields.join('; ')} }`;
}
