/** A C type name ('struct event', 'u32') -> its BTF id, as users write types for tsbpf. */
import type { Btf } from './btf.js';
import type { BtfKindName } from './types.js';

const KINDS: Readonly<Record<string, BtfKindName>> = { struct: 'struct', union: 'union', enum: 'enum' };

/**
 * The BTF id `type` names: 'struct event', 'union u', 'enum e' (an enum64 too), a bare tag
 * or typedef name (the first type of that name that is not a function, variable or
 * section), or a type id.
 * The event readers (src/events) decode records as it, the skeleton generator (src/gen)
 * types them with it: one lookup, so the two agree.
 */
export function findType(btf: Btf, type: string | number): number | undefined {
  if (typeof type === 'number') return Number.isInteger(type) && type > 0 && type < btf.length ? type : undefined;
  const m = /^\s*(?:(struct|union|enum)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(type);
  if (!m) return undefined;
  const kind = m[1] ? KINDS[m[1]] : undefined;
  for (const id of btf.idsByName(m[2]!)) {
    const k = btf.kindOf(id);
    if (kind ? k === kind || (kind === 'enum' && k === 'enum64') : k !== 'func' && k !== 'var' && k !== 'datasec' && k !== 'func_proto') return id;
  }
  return undefined;
}
